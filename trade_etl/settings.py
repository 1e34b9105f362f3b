"""Where trade_etl reads raw releases and writes the warehouse.

Both paths come from the environment so that the CLI, the Dagster UI and the sensor agree:
`TRADE_ETL_RAW_DIR` (default `data/raw`) and `TRADE_ETL_WAREHOUSE` (default
`data/warehouse/trade.duckdb`), relative to the working directory. The fiscal year's first month
is `TRADE_ETL_FISCAL_START_MONTH` (default 4, April, as in Japan). DuckDB's memory limit for
builds is `TRADE_ETL_DUCKDB_MEMORY_LIMIT` (default 512MB; larger work spills to disk), and the
loader reads `TRADE_ETL_LOAD_BATCH_MB` of CSV at a time (default 8).
"""

from __future__ import annotations

import importlib.resources
import os
import re
from dataclasses import dataclass
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


def apply_env_defaults() -> None:
    """Fill in the default paths for any variable the user has not set."""
    os.environ.setdefault(RAW_DIR_ENV, DEFAULT_RAW_DIR)
    os.environ.setdefault(WAREHOUSE_ENV, DEFAULT_WAREHOUSE)


def raw_dir() -> Path:
    return Path(os.environ.get(RAW_DIR_ENV, DEFAULT_RAW_DIR))


def warehouse_path() -> Path:
    return Path(os.environ.get(WAREHOUSE_ENV, DEFAULT_WAREHOUSE))


def dagster_home() -> Path:
    """The Dagster instance that `trade-etl build`, `trade-etl ui` and the sensor share:
    `$DAGSTER_HOME`, or `data/dagster_home` beside the default raw folder and warehouse."""
    return Path(os.environ.get(DAGSTER_HOME_ENV) or DEFAULT_DAGSTER_HOME)


class SettingError(ValueError):
    """An environment setting with a value trade_etl cannot use (the message says which)."""


def reports_dir() -> Path:
    """`TRADE_ETL_REPORTS_DIR`, by default `reports/` beside the warehouse file."""
    text = os.environ.get(REPORTS_DIR_ENV, "").strip()
    return Path(text) if text else warehouse_path().parent / "reports"


def report_partner() -> str | None:
    """`TRADE_ETL_REPORT_PARTNER` (default USA); empty: the world only."""
    return os.environ.get(REPORT_PARTNER_ENV, DEFAULT_REPORT_PARTNER).strip() or None


def fiscal_start_month() -> int:
    """First month of the fiscal year (1-12), from `TRADE_ETL_FISCAL_START_MONTH` (default 4)."""
    text = os.environ.get(FISCAL_START_ENV, str(DEFAULT_FISCAL_START_MONTH))
    if not text.strip().isdigit() or not 1 <= int(text) <= 12:
        raise SettingError(f"{FISCAL_START_ENV} must be a month number 1-12 (4 = April, "
                           f"Japan's fiscal year), not {text!r}")
    return int(text)


def _seconds(name: str, default: float, most: float) -> float:
    text = os.environ.get(name, str(default))
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:
        raise SettingError(f"{name} must be a number of seconds from 0 to {most:g}, "
                           f"not {text!r}")
    return value


def quiet_seconds() -> float:
    """How long a file must be untouched before a build reads it (`TRADE_ETL_QUIET_SECONDS`)."""
    return _seconds(QUIET_ENV, DEFAULT_QUIET_S, 3600)


def settle_timeout() -> float:
    return _seconds(SETTLE_TIMEOUT_ENV, DEFAULT_SETTLE_TIMEOUT_S, 86400)


def load_batch_bytes() -> int:
    """How many bytes of CSV the loader reads and validates at once (`TRADE_ETL_LOAD_BATCH_MB`,
    default 8): memory holds about 15 times that, twice; smaller batches pay pandera's fixed
    cost (~25 ms) more often. The result is the same whatever the size."""
    text = os.environ.get(LOAD_BATCH_ENV, str(DEFAULT_LOAD_BATCH_MB))
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 4096:
        raise SettingError(f"{LOAD_BATCH_ENV} must be a number of megabytes above 0 and up to "
                           f"4096, not {text!r}")
    return max(int(value * 1e6), 1)


def debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


def allow_dates() -> bool:
    """Whether release folders dated after today or before 1988 load (`--allow-dates`)."""
    return os.environ.get(ALLOW_DATES_ENV, "").strip().lower() in ("1", "true", "yes")


def check_all() -> None:
    """Raise SettingError for the first setting that cannot be used (before a build starts)."""
    fiscal_start_month()
    duckdb_memory_limit()
    load_batch_bytes()
    quiet_seconds()
    settle_timeout()
    executor()
    lake_config()


@dataclass(frozen=True)
class LakeConfig:
    """Where the Iceberg lake lives: its catalog (a SQLAlchemy URL: sqlite locally, PostgreSQL
    shared) and the location of its data files (a file:// URI or a path; s3:// and the like
    through pyiceberg's file IO)."""

    catalog_uri: str
    warehouse_uri: str


EXECUTORS = ("in_process", "multiprocess", "k8s", "celery")


def executor() -> str:
    """How Dagster runs a build's steps: `in_process` (default: one process, one connection),
    `multiprocess` (each step its own process), `k8s` (a pod per step, dagster-k8s) or `celery`
    (dagster-celery workers); the pool warehouse_writer keeps writers one at a time."""
    choice = os.environ.get(EXECUTOR_ENV, "").strip() or EXECUTORS[0]
    if choice not in EXECUTORS:
        raise SettingError(f"{EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)} (default "
                           f"in_process), not {choice!r}")
    return choice


def lake_enabled() -> bool:
    """Whether builds publish the lake (either lake variable set; off by default)."""
    return any(os.environ.get(name, "").strip() for name in (LAKE_CATALOG_ENV, LAKE_WAREHOUSE_ENV))


def lake_config(catalog_uri: str | None = None, warehouse_uri: str | None = None,
                default_dir: Path | None = None) -> LakeConfig | None:
    """The lake from the arguments, else from `TRADE_ETL_LAKE_CATALOG_URI` and
    `TRADE_ETL_LAKE_WAREHOUSE`, else in `default_dir` (None: no lake, the default of builds).

    A local warehouse location alone implies a sqlite catalog inside it
    (`<dir>/catalog.sqlite`); a catalog needs a warehouse location to write to."""
    catalog = catalog_uri or os.environ.get(LAKE_CATALOG_ENV, "").strip() or None
    location = warehouse_uri or os.environ.get(LAKE_WAREHOUSE_ENV, "").strip() or None
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


def estat_base_url() -> str:
    return os.environ.get(ESTAT_BASE_URL_ENV) or DEFAULT_ESTAT_BASE_URL


def fetch_pause() -> float:
    """Seconds between two requests to e-Stat, from `TRADE_ETL_FETCH_PAUSE` (default 1)."""
    return _seconds(FETCH_PAUSE_ENV, DEFAULT_FETCH_PAUSE_S, 60)


def fetch_backoff() -> float:
    """Seconds before the first retry (doubling each time), `TRADE_ETL_FETCH_BACKOFF` (2)."""
    return _seconds(FETCH_BACKOFF_ENV, DEFAULT_FETCH_BACKOFF_S, 60)


_MEMORY = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*(kb|mb|gb|tb|kib|mib|gib|tib)\s*$", re.I)


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for the pipeline's connection, e.g. `1GB` or `4GB`."""
    text = os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
    if not _MEMORY.match(text):
        raise SettingError(f"{MEMORY_LIMIT_ENV} must be an amount of memory such as 1GB or "
                           f"512MB, not {text!r}")
    return text.strip()


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


def _number(name: str, default: float, low: float, most: float, what: str) -> float:
    """A number from the environment above `low` and up to `most` (SettingError otherwise)."""
    text = os.environ.get(name, "").strip() or str(default)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low < value <= most:
        raise SettingError(f"{name} must be {what} above {low:g} and up to {most:g}, "
                           f"not {text!r}")
    return value


def fetch_attempts() -> int:
    """Tries per request, the first included (`TRADE_ETL_FETCH_ATTEMPTS`, default 5)."""
    text = os.environ.get(FETCH_ATTEMPTS_ENV, "").strip() or str(DEFAULT_FETCH_ATTEMPTS)
    if not text.isdigit() or not 1 <= int(text) <= 20:
        raise SettingError(f"{FETCH_ATTEMPTS_ENV} must be a whole number from 1 to 20, "
                           f"not {text!r}")
    return int(text)


def fetch_deadline() -> float:
    """Seconds one attempt at a download may take in all (`TRADE_ETL_FETCH_DEADLINE`, 900)."""
    return _number(FETCH_DEADLINE_ENV, DEFAULT_FETCH_DEADLINE_S, 0, 86400, "a number of seconds")


def fetch_page_deadline() -> float:
    """Seconds one attempt at a page may take (`TRADE_ETL_FETCH_PAGE_DEADLINE`, 60)."""
    return _number(FETCH_PAGE_DEADLINE_ENV, DEFAULT_FETCH_PAGE_DEADLINE_S, 0, 3600,
                   "a number of seconds")


def fetch_min_rate() -> float:
    """Bytes per second a response must average after the grace (`TRADE_ETL_FETCH_MIN_RATE`,
    10000; 0 turns the check off)."""
    return _number(FETCH_MIN_RATE_ENV, DEFAULT_FETCH_MIN_RATE, -1, 1e10,
                   "a number of bytes per second (0: no minimum)") or 0.0


def fetch_rate_grace() -> float:
    """Seconds before the minimum rate applies (`TRADE_ETL_FETCH_RATE_GRACE`, 30)."""
    return _seconds(FETCH_RATE_GRACE_ENV, DEFAULT_FETCH_RATE_GRACE_S, 3600)


def fetch_max_page_bytes() -> int:
    """The size cap of a listing or year page (`TRADE_ETL_FETCH_MAX_PAGE_MB`, default 8)."""
    mb = _number(FETCH_MAX_PAGE_ENV, DEFAULT_FETCH_MAX_PAGE_MB, 0, 1024, "a number of megabytes")
    return max(int(mb * 1e6), 1)


def fetch_redirect_hosts() -> tuple[str, ...]:
    """Hosts (and their subdomains) redirects may lead to besides e-stat.go.jp and the base
    URL's host: `TRADE_ETL_FETCH_REDIRECT_HOSTS`, comma-separated."""
    text = os.environ.get(FETCH_REDIRECT_HOSTS_ENV, "")
    hosts = tuple(h.strip().lower() for h in text.split(",") if h.strip())
    bad = [h for h in hosts if not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", h)]
    if bad:
        raise SettingError(f"{FETCH_REDIRECT_HOSTS_ENV} must be host names separated by commas "
                           f"(e.g. e-stat.go.jp,mirror.example.org), not {bad[0]!r}")
    return hosts


# ---- issue 21: bounded input for `trade-etl sql --file` -------------------------------------
SQL_MAX_BYTES_ENV = "TRADE_ETL_SQL_MAX_BYTES"  # the largest `sql --file` read (bytes)
DEFAULT_SQL_MAX_BYTES = 1 << 20  # 1 MiB: any hand-written script; not /dev/zero or a dump


def sql_max_bytes() -> int:
    """How many bytes `trade-etl sql --file` reads at most (`TRADE_ETL_SQL_MAX_BYTES`, 1 MiB)."""
    text = os.environ.get(SQL_MAX_BYTES_ENV, "").strip() or str(DEFAULT_SQL_MAX_BYTES)
    if not text.isdigit() or not 0 < int(text) <= 1 << 40:
        raise SettingError(f"{SQL_MAX_BYTES_ENV} must be a number of bytes above 0 (default "
                           f"{DEFAULT_SQL_MAX_BYTES}, 1 MiB), not {text!r}")
    return int(text)


# ---- issue 22: exchange rates fetched from FRED (`trade-etl fetch --fx`) -------------------
FX_BASE_URL_ENV = "TRADE_ETL_FX_BASE_URL"  # the rates' site; tests point it at a local one
DEFAULT_FX_BASE_URL = "https://fred.stlouisfed.org"


def fx_base_url() -> str:
    """Where `trade-etl fetch --fx` downloads FRED's CSVs (`TRADE_ETL_FX_BASE_URL`)."""
    return (os.environ.get(FX_BASE_URL_ENV, "").strip() or DEFAULT_FX_BASE_URL).rstrip("/")
