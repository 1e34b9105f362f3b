"""Resources and executor shared by every asset.

One DuckDB file has one writer. Every asset that writes it is in the pool `warehouse_writer`
(`WAREHOUSE_WRITER`); by default runs use the in-process executor, so a run's assets run one
after the other in its process, on one connection to the working copy. On a cluster
(`TRADE_ETL_EXECUTOR=multiprocess`, or Dagster's k8s or celery executors in its place) each step
is its own process: a limit of 1 on the pool keeps the writers to one at a time, while steps
outside it (staging, the lake) run beside them (docs/lake.md, "Beyond one machine").
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from trade_etl import settings
from trade_etl.errors import EXIT_BUSY, UserError, explain
from trade_etl.settings import Settings
from trade_etl.store import publish
from trade_etl.store.warehouse import ensure_schema

# Chosen before a run exists (the executor when the definitions load, the instance by whoever
# launches the run): not run settings.
NOT_RUN_SETTINGS = ("executor", "dagster_home")
RUN_SETTINGS = tuple(n for n in settings.SETTING_NAMES if n not in NOT_RUN_SETTINGS)


class TradeEtlConfig(dg.ConfigurableResource):
    """The settings of a run (trade_etl.settings.Settings), one field per setting.

    A field left unset (None) takes its `TRADE_ETL_*` variable in the run's process, else the
    default: `settings()` is `Settings.from_env(os.environ, **fields given)`, validated once per
    call. `trade-etl build` gives the paths and flags of its command line here, as run config
    (`run_config_for`), rather than through the environment. Not `dg.EnvVar`: an EnvVar field
    fails the run when its variable is unset, and most of these are unset on purpose."""

    raw_dir: str | None = None
    warehouse: str | None = None
    reports_dir: str | None = None
    report_partner: str | None = None
    fiscal_start_month: int | None = None
    duckdb_memory_limit: str | None = None
    load_batch_mb: float | None = None
    quiet_seconds: float | None = None
    settle_timeout: float | None = None
    lake_catalog_uri: str | None = None
    lake_warehouse: str | None = None
    allow_dates: bool | None = None
    debug: bool | None = None
    estat_base_url: str | None = None
    fetch_pause: float | None = None
    fetch_backoff: float | None = None
    fetch_attempts: int | None = None
    fetch_deadline: float | None = None
    fetch_page_deadline: float | None = None
    fetch_min_rate: float | None = None
    fetch_rate_grace: float | None = None
    fetch_max_page_mb: float | None = None
    fetch_redirect_hosts: str | None = None  # comma-separated, as the variable
    sql_max_bytes: int | None = None
    fx_base_url: str | None = None
    layout_modules: str | None = None  # comma-separated, as the variable
    mirror_cif_fob_margin: float | None = None
    mirror_transit_share: float | None = None
    mirror_customs_rate_lag_days: int | None = None

    def settings(self) -> Settings:
        given = {name: getattr(self, name) for name in RUN_SETTINGS}
        return Settings.from_env(os.environ, **given)


class RawDirectory(dg.ConfigurableResource):
    """The folder where release folders (`<YYYY-MM-DD>_<stage>/`) are dropped."""

    path: str = Field(default="", description="empty: the setting raw_dir ($TRADE_ETL_RAW_DIR "
                      "or data/raw) in the run's process")

    @property
    def root(self) -> Path:
        return Path(self.path) if self.path else Settings.from_env(os.environ).raw_dir


class WarehouseResource(DuckDBResource):
    """The warehouse: `database` is the published file readers open; runs write its working copy.

    A run holds the build lock from start to end (a second build fails at once, naming this
    one) and connects to the working copy (trade_etl/store/publish.py); the asset
    warehouse/published swaps the finished copy in.

    The connection is opened by the first step that asks for it and kept for the next ones:
    closing a DuckDB file checkpoints it, which cost 0.1-0.2 s per step. It is closed at the
    end of the run, before publishing (`close_connection`), and after a step that raised, so
    a later step starts from a fresh connection.
    """

    database: str = Field(default="", description="the published DuckDB file; empty: the "
                          "setting warehouse ($TRADE_ETL_WAREHOUSE or "
                          "data/warehouse/trade.duckdb) in the run's process")
    _conn: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path:
        """The published file (readers open it; runs write its working copy)."""
        return Path(self.database) if self.database else Settings.from_env(os.environ).warehouse

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            with user_errors("taking the build lock"):
                publish.acquire(self.path)
        except publish.BuildRunning as err:
            raise as_failure(UserError(str(err), EXIT_BUSY)) from None
        with user_errors("preparing the working copy"):
            ready = publish.prepare(self.path, self._memory_limit())
        freed = ready.swept
        if freed[0]:
            message = (f"removed {freed[0]} temporary file(s) ({freed[1] / 1e6:.1f} MB) left by "
                       "builds that did not finish")
            context.log.info(message)
            logging.getLogger("trade_etl.progress").warning(message)  # shown even with --quiet
        if ready.catch_up is not None:
            done = ready.catch_up
            context.log.info(f"working copy caught up with the published file in "
                             f"{done.seconds:.2f} s: {done.releases} release(s), "
                             f"{done.latest_cells} latest cell(s), {len(done.whole)} table(s) "
                             f"whole, {len(done.skipped)} unchanged")
        elif ready.how == "copied":
            context.log.info(f"working copy copied from the published file ({ready.reason})")

    def _memory_limit(self) -> str:
        return warehouse_memory_limit(self)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self.close_connection()
        finally:
            publish.release(self.path)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        work = publish.work_path(self.path)
        with user_errors(f"writing {work}"):
            if self._conn is None:
                # memory_limit not given: the setting, as publishing's
                config = {"custom_user_agent": "trade_etl", **self.connection_config,
                          "memory_limit": self._memory_limit()}
                conn = duckdb.connect(str(work), config=config)
                try:
                    ensure_schema(conn)
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
            try:
                yield self._conn
            except BaseException:
                self.close_connection()
                raise

    def close_connection(self) -> None:
        """Close the run's connection (checkpointing the working copy), if one is open."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def as_failure(error: UserError) -> dg.Failure:
    """A Dagster failure whose description is the one line `trade-etl` prints too."""
    return dg.Failure(description=str(error), metadata={"exit_code": error.exit_code})


@contextmanager
def user_errors(doing: str = "") -> Iterator[None]:
    """Turn problems a user can fix (disk full, permissions, a lock, a setting) into a failure
    that says so in one line; anything else stays an error with its traceback."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        explained = explain(exc, doing)
        if explained is None:
            raise
        raise as_failure(explained) from exc


def warehouse_file(warehouse: DuckDBResource) -> Path:
    """The published file of the run's warehouse resource (WarehouseResource.path)."""
    if isinstance(warehouse, WarehouseResource):
        return warehouse.path
    return Path(warehouse.database)


def warehouse_memory_limit(warehouse: DuckDBResource) -> str:
    """The DuckDB memory limit the run's connection is opened with (e.g. 512MB): the resource's
    own, else the setting (TRADE_ETL_DUCKDB_MEMORY_LIMIT)."""
    return (warehouse.connection_config.get("memory_limit")
            or Settings.from_env(os.environ).duckdb_memory_limit)


@contextmanager
def warehouse_connection(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """The run's read-write connection, with the schema in place (WarehouseResource)."""
    warehouse_file(warehouse).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as conn:
        yield conn


# Results are always ordered explicitly; not keeping insertion order lets DuckDB load in
# parallel and skip a copy (a release's facts load ~2x faster).
CONNECTION_CONFIG = {"preserve_insertion_order": False}


@dg.definitions
def resources() -> dg.Definitions:
    """The resources, unconfigured: paths and settings come from run config (`trade-etl
    build`: run_config_for) or, field by field, from the run's environment (the UI, the
    sensor). Only the executor is chosen here, when the definitions load."""
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(connection_config=CONNECTION_CONFIG),
            "raw_dir": RawDirectory(),
            "trade_etl": TradeEtlConfig(),
        },
        executor=executor(Settings.from_env(os.environ).executor),
    )


def run_config_for(config: Settings) -> dict:
    """Run config that gives a run exactly `config` (the `resources` part): what `trade-etl
    build` passes to the run instead of setting environment variables."""
    values = {name: getattr(config, name) for name in RUN_SETTINGS}
    values = {name: (",".join(v) if isinstance(v, tuple) else
                     str(v) if isinstance(v, Path) else v)
              for name, v in values.items() if v is not None}
    return {
        "trade_etl": {"config": values},
        "raw_dir": {"config": {"path": str(config.raw_dir)}},
        "warehouse": {"config": {"database": str(config.warehouse), "connection_config": {
            **CONNECTION_CONFIG, "memory_limit": config.duckdb_memory_limit}}},
    }


WAREHOUSE_WRITER = "warehouse_writer"


def executor(choice: str | None = None) -> dg.ExecutorDefinition:
    """The executor `choice` names (Settings.executor, `TRADE_ETL_EXECUTOR`; default: the
    environment's): in-process by default; the multiprocess one forks its step processes from
    a server that has loaded the definitions; k8s and celery come from their Dagster
    integrations, installed separately."""
    choice = choice or settings.executor()
    if choice == "in_process":
        return dg.in_process_executor
    if choice == "multiprocess":
        return dg.multiprocess_executor.configured(
            {"start_method": {"forkserver": {"preload_modules": ["trade_etl.definitions"]}}})
    package = {"k8s": "dagster_k8s", "celery": "dagster_celery"}[choice]
    try:
        module = __import__(package)
    except ImportError:
        raise settings.SettingError(
            f"{settings.EXECUTOR_ENV}={choice} needs {package.replace('_', '-')}==0.29.27 "
            "installed beside trade-etl") from None
    return module.k8s_job_executor if choice == "k8s" else module.celery_executor


def scalar(warehouse: DuckDBResource, query: str, params: dict | None = None):
    """The single value a query returns (for checks)."""
    with warehouse_connection(warehouse) as conn:
        return conn.execute(query, params or {}).fetchall()[0][0]
