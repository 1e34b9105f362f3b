"""trade_etl's settings: one typed, validated object (`Settings`), built once per command or run.

`Settings.from_env(os.environ, **overrides)` reads every `TRADE_ETL_*` variable (and
`DAGSTER_HOME`) once: a flag given to the command (an override) wins over the environment, which
wins over the default; the first value that cannot be used raises `SettingError` with the one-line
message users see. Code receives the object (a parameter, or the Dagster resource
`trade_etl.defs.resources.TradeEtlConfig` whose fields mirror it) instead of reading the
environment. Nothing here writes the environment.

The paths: `TRADE_ETL_RAW_DIR` (default `data/raw`) and `TRADE_ETL_WAREHOUSE` (default
`data/warehouse/trade.duckdb`), relative to the working directory. The fiscal year's first month
is `TRADE_ETL_FISCAL_START_MONTH` (default 4, April, as in Japan). DuckDB's memory limit for
builds is `TRADE_ETL_DUCKDB_MEMORY_LIMIT` (default 512MB; larger work spills to disk; half of it
while the loader runs, trade_etl/defs/ingest/assets.py), and the loader reads
`TRADE_ETL_LOAD_BATCH_MB` of CSV at a time (default 8). Reporters other than Japan are read by
the layouts the modules named in `TRADE_ETL_LAYOUT_MODULES` register (default none).
"""

from __future__ import annotations

import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

RAW_DIR_ENV = "TRADE_ETL_RAW_DIR"
WAREHOUSE_ENV = "TRADE_ETL_WAREHOUSE"
DEFAULT_RAW_DIR = "data/raw"
DEFAULT_WAREHOUSE = "data/warehouse/trade.duckdb"

FISCAL_START_ENV = "TRADE_ETL_FISCAL_START_MONTH"
DEFAULT_FISCAL_START_MONTH = 4  # Japan's fiscal year starts in April

MEMORY_LIMIT_ENV = "TRADE_ETL_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "512MB"  # the run keeps one connection: this bounds its cache too
LOAD_BATCH_ENV = "TRADE_ETL_LOAD_BATCH_MB"  # CSV megabytes the loader reads and validates at once
DEFAULT_LOAD_BATCH_MB = 8.0
DEFAULT_LOAD_BATCH_BYTES = int(DEFAULT_LOAD_BATCH_MB * 1e6)

ESTAT_BASE_URL_ENV = "TRADE_ETL_ESTAT_BASE_URL"  # the fetcher's site; tests point it at a local one
DEFAULT_ESTAT_BASE_URL = "https://www.e-stat.go.jp"
FETCH_PAUSE_ENV = "TRADE_ETL_FETCH_PAUSE"  # seconds between two requests to the site
DEFAULT_FETCH_PAUSE_S = 1.0
FETCH_BACKOFF_ENV = "TRADE_ETL_FETCH_BACKOFF"  # seconds before the first retry; doubles after
DEFAULT_FETCH_BACKOFF_S = 2.0

QUIET_ENV = "TRADE_ETL_QUIET_SECONDS"  # a file is read only once untouched for this long
DEFAULT_QUIET_S = 3.0
SETTLE_TIMEOUT_ENV = "TRADE_ETL_SETTLE_TIMEOUT"  # give up waiting for files after this long
DEFAULT_SETTLE_TIMEOUT_S = 600.0
LAKE_CATALOG_ENV = "TRADE_ETL_LAKE_CATALOG_URI"  # the Iceberg catalog (SQLAlchemy URL)
LAKE_WAREHOUSE_ENV = "TRADE_ETL_LAKE_WAREHOUSE"  # where the lake's data files go (URI or path)
REPORTS_DIR_ENV = "TRADE_ETL_REPORTS_DIR"  # where the asset marts/report writes its page
REPORT_PARTNER_ENV = "TRADE_ETL_REPORT_PARTNER"  # the partner it reports on (default USA)
DEFAULT_REPORT_PARTNER = "USA"
EXECUTOR_ENV = "TRADE_ETL_EXECUTOR"  # in_process (default) or multiprocess, for Dagster runs
DEBUG_ENV = "TRADE_ETL_DEBUG"  # 1: show tracebacks instead of one-line errors
ALLOW_DATES_ENV = "TRADE_ETL_ALLOW_DATES"  # 1: load release folders dated in the future or < 1988
DAGSTER_HOME_ENV = "DAGSTER_HOME"  # the Dagster instance: run history, partitions, the UI's
DEFAULT_DAGSTER_HOME = "data/dagster_home"

# --- the fetcher's limits (a slow, broken or hostile server must not hold or fool a fetch) ---

FETCH_ATTEMPTS_ENV = "TRADE_ETL_FETCH_ATTEMPTS"  # tries per request, retries included
DEFAULT_FETCH_ATTEMPTS = 5
FETCH_DEADLINE_ENV = "TRADE_ETL_FETCH_DEADLINE"  # seconds one attempt at a download may take
DEFAULT_FETCH_DEADLINE_S = 900.0
FETCH_PAGE_DEADLINE_ENV = "TRADE_ETL_FETCH_PAGE_DEADLINE"  # the same for a listing or year page
DEFAULT_FETCH_PAGE_DEADLINE_S = 60.0
FETCH_MIN_RATE_ENV = "TRADE_ETL_FETCH_MIN_RATE"  # bytes/s on average after the grace; 0: off
DEFAULT_FETCH_MIN_RATE = 10_000.0
FETCH_RATE_GRACE_ENV = "TRADE_ETL_FETCH_RATE_GRACE"  # seconds before the minimum rate applies
DEFAULT_FETCH_RATE_GRACE_S = 30.0
FETCH_MAX_PAGE_ENV = "TRADE_ETL_FETCH_MAX_PAGE_MB"  # a page larger than this fails
DEFAULT_FETCH_MAX_PAGE_MB = 8.0
FETCH_REDIRECT_HOSTS_ENV = "TRADE_ETL_FETCH_REDIRECT_HOSTS"  # more hosts redirects may go to


# --- the mirror marts' assumptions (docs/mirror.md): how the gap between Japan's figures and
# the US's own is split ---
MIRROR_CIF_FOB_ENV = "TRADE_ETL_MIRROR_CIF_FOB_MARGIN"  # freight+insurance / f.o.b. value
DEFAULT_MIRROR_CIF_FOB = 0.06  # the IMF's Direction of Trade Statistics factor, 1.06
MIRROR_TRANSIT_ENV = "TRADE_ETL_MIRROR_TRANSIT_SHARE"  # of a month, recorded next month
DEFAULT_MIRROR_TRANSIT = 0.3
MIRROR_RATE_LAG_ENV = "TRADE_ETL_MIRROR_CUSTOMS_RATE_LAG_DAYS"  # Japan's customs rate's lag
DEFAULT_MIRROR_RATE_LAG = 14


SQL_MAX_BYTES_ENV = "TRADE_ETL_SQL_MAX_BYTES"  # the largest `sql --file` read (bytes)
DEFAULT_SQL_MAX_BYTES = 1 << 20  # 1 MiB: any hand-written script; not /dev/zero or a dump
FX_BASE_URL_ENV = "TRADE_ETL_FX_BASE_URL"  # the rates' site; tests point it at a local one
DEFAULT_FX_BASE_URL = "https://fred.stlouisfed.org"
# Modules registering more reporters' file layouts (trade_etl/ingest/layouts.py), beside Japan's.
LAYOUT_MODULES_ENV = "TRADE_ETL_LAYOUT_MODULES"

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout, when run from one


def package_data(inside: str, in_checkout: str) -> Path:
    """A folder of the project's data: the repository's own (`sql/`, `data/ref/`) when trade_etl
    runs from a checkout (an editable install), else the copy the wheel carries inside the
    package (`trade_etl/_data/...`, mapped there when the wheel is built; pyproject.toml)."""
    checkout = PROJECT_ROOT / in_checkout
    if (PROJECT_ROOT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return Path(str(importlib.resources.files("trade_etl") / "_data" / inside))


SQL_DIR = package_data("sql", "sql")
REF_DATA_DIR = package_data("ref", "data/ref")
DAGSTER_YAML = package_data("", ".") / "dagster.yaml"  # the instance settings runs use


class SettingError(ValueError):
    """An environment setting with a value trade_etl cannot use (the message says which)."""


@dataclass(frozen=True)
class LakeConfig:
    """Where the Iceberg lake lives: its catalog (a SQLAlchemy URL: sqlite locally, PostgreSQL
    shared) and the location of its data files (a file:// URI or a path; s3:// and the like
    through pyiceberg's file IO)."""

    catalog_uri: str
    warehouse_uri: str


EXECUTORS = ("in_process", "multiprocess", "k8s", "celery")
_MEMORY = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*(kb|mb|gb|tb|kib|mib|gib|tib)\s*$", re.I)
_TRUE = ("1", "true", "yes")


# ---- one parser per setting: the text of its variable (None: unset) to its value -----------

def _seconds(name: str, default: float, most: float):
    def parse(text: str | None) -> float:
        text = str(default) if text is None else text
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value <= most:
            raise SettingError(f"{name} must be a number of seconds from 0 to {most:g}, "
                               f"not {text!r}")
        return value
    return parse


def _number(name: str, default: float, low: float, most: float, what: str):
    """A number above `low` and up to `most` (SettingError otherwise)."""
    def parse(text: str | None) -> float:
        text = (text or "").strip() or str(default)
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low < value <= most:
            raise SettingError(f"{name} must be {what} above {low:g} and up to {most:g}, "
                               f"not {text!r}")
        return value
    return parse


def _fiscal_start_month(text: str | None) -> int:
    text = str(DEFAULT_FISCAL_START_MONTH) if text is None else text
    if not text.strip().isdigit() or not 1 <= int(text) <= 12:
        raise SettingError(f"{FISCAL_START_ENV} must be a month number 1-12 (4 = April, "
                           f"Japan's fiscal year), not {text!r}")
    return int(text)


def _load_batch_mb(text: str | None) -> float:
    text = str(DEFAULT_LOAD_BATCH_MB) if text is None else text
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 4096:
        raise SettingError(f"{LOAD_BATCH_ENV} must be a number of megabytes above 0 and up to "
                           f"4096, not {text!r}")
    return value


def _memory_limit(text: str | None) -> str:
    text = DEFAULT_MEMORY_LIMIT if text is None else text
    if not _MEMORY.match(text):
        raise SettingError(f"{MEMORY_LIMIT_ENV} must be an amount of memory such as 1GB or "
                           f"512MB, not {text!r}")
    return text.strip()


_UNITS = {"kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_bytes(text: str) -> int:
    """An amount of memory as DuckDB reads it (`512MB` is 512 × 1000², `1GiB` 1024³), in bytes."""
    match = _MEMORY.match(text)
    if not match:
        raise SettingError(f"not an amount of memory such as 1GB or 512MB: {text!r}")
    return int(float(text[:match.start(2)]) * _UNITS[match.group(2).lower()])


def _executor(text: str | None) -> str:
    choice = (text or "").strip() or EXECUTORS[0]
    if choice not in EXECUTORS:
        raise SettingError(f"{EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)} (default "
                           f"in_process), not {choice!r}")
    return choice


def _fetch_attempts(text: str | None) -> int:
    text = (text or "").strip() or str(DEFAULT_FETCH_ATTEMPTS)
    if not text.isdigit() or not 1 <= int(text) <= 20:
        raise SettingError(f"{FETCH_ATTEMPTS_ENV} must be a whole number from 1 to 20, "
                           f"not {text!r}")
    return int(text)


def _redirect_hosts(text: str | None) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in (text or "").split(",") if h.strip())
    bad = [h for h in hosts if not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", h)]
    if bad:
        raise SettingError(f"{FETCH_REDIRECT_HOSTS_ENV} must be host names separated by commas "
                           f"(e.g. e-stat.go.jp,mirror.example.org), not {bad[0]!r}")
    return hosts


def _sql_max_bytes(text: str | None) -> int:
    text = (text or "").strip() or str(DEFAULT_SQL_MAX_BYTES)
    if not text.isdigit() or not 0 < int(text) <= 1 << 40:
        raise SettingError(f"{SQL_MAX_BYTES_ENV} must be a number of bytes above 0 (default "
                           f"{DEFAULT_SQL_MAX_BYTES}, 1 MiB), not {text!r}")
    return int(text)


_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _layout_modules(text: str | None) -> tuple[str, ...]:
    """Python module names, comma-separated; whether they import is checked where the layouts
    are registered (trade_etl.ingest.layouts.registry), with the same kind of one-line error."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    bad = [n for n in names if not _MODULE.fullmatch(n)]
    if bad:
        raise SettingError(f"{LAYOUT_MODULES_ENV} must be Python module names separated by "
                           f"commas (e.g. mypackage.usa_layout), not {bad[0]!r}")
    return tuple(dict.fromkeys(names))


def _lag_days(text: str | None) -> int:
    text = (text or "").strip() or str(DEFAULT_MIRROR_RATE_LAG)
    if not text.isdigit() or int(text) > 366:
        raise SettingError(f"{MIRROR_RATE_LAG_ENV} must be whole days from 0 (no lag: no "
                           f"currency part) to 366 (default {DEFAULT_MIRROR_RATE_LAG}), "
                           f"not {text!r}")
    return int(text)


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in _TRUE


def _optional(text: str | None) -> str | None:
    return (text or "").strip() or None


def _min_rate(text: str | None) -> float:
    return _number(FETCH_MIN_RATE_ENV, DEFAULT_FETCH_MIN_RATE, -1, 1e10,
                   "a number of bytes per second (0: no minimum)")(text) or 0.0


# field name: (its environment variable, its parser); the order is the order of validation
_FIELDS = {
    "raw_dir": (RAW_DIR_ENV, lambda t: Path(DEFAULT_RAW_DIR if t is None else t)),
    "warehouse": (WAREHOUSE_ENV, lambda t: Path(DEFAULT_WAREHOUSE if t is None else t)),
    "dagster_home": (DAGSTER_HOME_ENV, lambda t: Path(t or DEFAULT_DAGSTER_HOME)),
    "reports_dir": (REPORTS_DIR_ENV, lambda t: Path(t.strip()) if (t or "").strip() else None),
    "report_partner": (REPORT_PARTNER_ENV,
                       lambda t: (DEFAULT_REPORT_PARTNER if t is None else t).strip() or None),
    "fiscal_start_month": (FISCAL_START_ENV, _fiscal_start_month),
    "duckdb_memory_limit": (MEMORY_LIMIT_ENV, _memory_limit),
    "load_batch_mb": (LOAD_BATCH_ENV, _load_batch_mb),
    "quiet_seconds": (QUIET_ENV, _seconds(QUIET_ENV, DEFAULT_QUIET_S, 3600)),
    "settle_timeout": (SETTLE_TIMEOUT_ENV,
                       _seconds(SETTLE_TIMEOUT_ENV, DEFAULT_SETTLE_TIMEOUT_S, 86400)),
    "executor": (EXECUTOR_ENV, _executor),
    "lake_catalog_uri": (LAKE_CATALOG_ENV, _optional),
    "lake_warehouse": (LAKE_WAREHOUSE_ENV, _optional),
    "allow_dates": (ALLOW_DATES_ENV, _flag),
    "debug": (DEBUG_ENV, _flag),
    "estat_base_url": (ESTAT_BASE_URL_ENV, lambda t: t or DEFAULT_ESTAT_BASE_URL),
    "fetch_pause": (FETCH_PAUSE_ENV, _seconds(FETCH_PAUSE_ENV, DEFAULT_FETCH_PAUSE_S, 60)),
    "fetch_backoff": (FETCH_BACKOFF_ENV,
                      _seconds(FETCH_BACKOFF_ENV, DEFAULT_FETCH_BACKOFF_S, 60)),
    "fetch_attempts": (FETCH_ATTEMPTS_ENV, _fetch_attempts),
    "fetch_deadline": (FETCH_DEADLINE_ENV, _number(
        FETCH_DEADLINE_ENV, DEFAULT_FETCH_DEADLINE_S, 0, 86400, "a number of seconds")),
    "fetch_page_deadline": (FETCH_PAGE_DEADLINE_ENV, _number(
        FETCH_PAGE_DEADLINE_ENV, DEFAULT_FETCH_PAGE_DEADLINE_S, 0, 3600, "a number of seconds")),
    "fetch_min_rate": (FETCH_MIN_RATE_ENV, _min_rate),
    "fetch_rate_grace": (FETCH_RATE_GRACE_ENV,
                         _seconds(FETCH_RATE_GRACE_ENV, DEFAULT_FETCH_RATE_GRACE_S, 3600)),
    "fetch_max_page_mb": (FETCH_MAX_PAGE_ENV, _number(
        FETCH_MAX_PAGE_ENV, DEFAULT_FETCH_MAX_PAGE_MB, 0, 1024, "a number of megabytes")),
    "fetch_redirect_hosts": (FETCH_REDIRECT_HOSTS_ENV, _redirect_hosts),
    "sql_max_bytes": (SQL_MAX_BYTES_ENV, _sql_max_bytes),
    "fx_base_url": (FX_BASE_URL_ENV,
                    lambda t: ((t or "").strip() or DEFAULT_FX_BASE_URL).rstrip("/")),
    "layout_modules": (LAYOUT_MODULES_ENV, _layout_modules),
    "mirror_cif_fob_margin": (MIRROR_CIF_FOB_ENV, _number(
        MIRROR_CIF_FOB_ENV, DEFAULT_MIRROR_CIF_FOB, -1e-12, 1, "a share (0.06: 6 %)")),
    "mirror_transit_share": (MIRROR_TRANSIT_ENV, _number(
        MIRROR_TRANSIT_ENV, DEFAULT_MIRROR_TRANSIT, -1e-12, 1, "a share (0.3: 30 %)")),
    "mirror_customs_rate_lag_days": (MIRROR_RATE_LAG_ENV, _lag_days),
}


def _as_text(value: object) -> str:
    """An override as its variable would spell it (so it is checked the same way)."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Settings:
    """Every setting of trade_etl, typed and validated: build it with `Settings.from_env`.

    The field names are the variables' names without `TRADE_ETL_` (docs/design.md, "Settings"
    lists them), in the variables' units (the properties `load_batch_bytes` and
    `fetch_max_page_bytes` give the two sizes in bytes). `reports_dir` is already resolved
    (`reports/` beside the warehouse unless set); the lake is `lake` (None: no lake)."""

    raw_dir: Path
    warehouse: Path
    dagster_home: Path
    reports_dir: Path
    report_partner: str | None  # None: the report covers the world only
    fiscal_start_month: int
    duckdb_memory_limit: str
    load_batch_mb: float
    quiet_seconds: float
    settle_timeout: float
    executor: str
    lake_catalog_uri: str | None
    lake_warehouse: str | None
    allow_dates: bool
    debug: bool
    estat_base_url: str
    fetch_pause: float
    fetch_backoff: float
    fetch_attempts: int
    fetch_deadline: float
    fetch_page_deadline: float
    fetch_min_rate: float
    fetch_rate_grace: float
    fetch_max_page_mb: float
    fetch_redirect_hosts: tuple[str, ...]
    sql_max_bytes: int
    fx_base_url: str
    layout_modules: tuple[str, ...]  # modules registering other reporters' layouts
    mirror_cif_fob_margin: float
    mirror_transit_share: float
    mirror_customs_rate_lag_days: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """The settings from `environ` (default: this process's environment), each override
        that is not None winning over its variable; SettingError for the first value that
        cannot be used, with the same one-line message whatever gave it."""
        environ = os.environ if environ is None else environ
        unknown = set(overrides) - set(_FIELDS)
        if unknown:
            raise TypeError(f"no setting named {', '.join(sorted(unknown))}")
        values = {}
        for name, (variable, parse) in _FIELDS.items():
            given = overrides.get(name)
            values[name] = parse(environ.get(variable) if given is None else _as_text(given))
        if values["reports_dir"] is None:
            values["reports_dir"] = values["warehouse"].parent / "reports"
        settings = cls(**values)
        settings.lake  # noqa: B018 - checks the two lake variables agree
        return settings

    @property
    def load_batch_bytes(self) -> int:
        """CSV bytes the loader reads and validates at once: memory holds about 15 times that,
        twice; smaller batches pay pandera's fixed cost (~25 ms) more often. The result is the
        same whatever the size."""
        return max(int(self.load_batch_mb * 1e6), 1)

    @property
    def fetch_max_page_bytes(self) -> int:
        """The size cap of a listing or year page."""
        return max(int(self.fetch_max_page_mb * 1e6), 1)

    @property
    def lake(self) -> LakeConfig | None:
        """The lake builds publish to (None: no lake, the default)."""
        return lake_config(self.lake_catalog_uri, self.lake_warehouse, environ={})

    def lake_or_beside_warehouse(self, warehouse: Path | None = None) -> LakeConfig:
        """The configured lake, else `lake/` beside the warehouse (`trade-etl lake`)."""
        return lake_config(self.lake_catalog_uri, self.lake_warehouse, environ={},
                           default_dir=(warehouse or self.warehouse).absolute().parent / "lake")


SETTING_NAMES = tuple(f.name for f in fields(Settings))


def lake_config(catalog_uri: str | None = None, warehouse_uri: str | None = None,
                default_dir: Path | None = None,
                environ: Mapping[str, str] | None = None) -> LakeConfig | None:
    """The lake from the arguments, else from `environ`'s `TRADE_ETL_LAKE_CATALOG_URI` and
    `TRADE_ETL_LAKE_WAREHOUSE` (default: this process's environment), else in `default_dir`
    (None: no lake, the default of builds).

    A local warehouse location alone implies a sqlite catalog inside it
    (`<dir>/catalog.sqlite`); a catalog needs a warehouse location to write to."""
    environ = os.environ if environ is None else environ
    catalog = catalog_uri or environ.get(LAKE_CATALOG_ENV, "").strip() or None
    location = warehouse_uri or environ.get(LAKE_WAREHOUSE_ENV, "").strip() or None
    if catalog is None and location is None:
        if default_dir is None:
            return None
        location = str(default_dir)
    if location is None:
        raise SettingError(f"{LAKE_CATALOG_ENV} is set but {LAKE_WAREHOUSE_ENV} is not: set it "
                           "to where the lake's data files go (a folder, file:///…, s3://…)")
    if "://" not in location:  # a local folder
        location = Path(location).absolute().as_uri()
    if catalog is None:
        if not location.startswith("file://"):
            raise SettingError(f"{LAKE_WAREHOUSE_ENV} is {location}, not a local folder: set "
                               f"{LAKE_CATALOG_ENV} too (e.g. postgresql+psycopg2://…)")
        folder = Path(location.removeprefix("file://"))
        catalog = f"sqlite:///{folder / 'catalog.sqlite'}"
    if "://" not in catalog:
        raise SettingError(f"{LAKE_CATALOG_ENV} must be a SQLAlchemy URL such as "
                           f"sqlite:////path/catalog.sqlite or postgresql+psycopg2://…, "
                           f"not {catalog!r}")
    return LakeConfig(catalog, location)


# ---- compatibility: one setting read from the environment on its own ------------------------
# Kept for code not yet handed a Settings (docs/design.md, "Settings": what remains); each
# parses its one variable exactly as Settings.from_env does.

def _one(name: str):
    variable, parse = _FIELDS[name]

    def read():
        return parse(os.environ.get(variable))
    read.__name__ = name
    read.__doc__ = f"`{variable}` alone, as Settings.from_env reads it (compatibility)."
    return read


# The few settings read before a Settings object exists, alone (each as from_env reads it):
# the instance folder for `prepare_instance()` called without one, the executor when the
# definitions load, and TRADE_ETL_DEBUG so that a bad setting's own error honours it.
dagster_home = _one("dagster_home")
executor = _one("executor")
debug = _one("debug")


def lake_enabled() -> bool:
    """Whether the environment configures a lake (either lake variable set; off by default)."""
    return any(os.environ.get(name, "").strip() for name in (LAKE_CATALOG_ENV, LAKE_WAREHOUSE_ENV))
