"""Resources and executor shared by every asset.

One DuckDB file has one writer. Every asset that writes it is in the pool `warehouse_writer`
(`WAREHOUSE_WRITER`); by default runs use the in-process executor, so a run's assets run one
after the other in its process, on one connection to the working copy. On a cluster
(`TRADE_ETL_EXECUTOR=multiprocess`, or Dagster's k8s or celery executors in its place) each step
is its own process: a limit of 1 on the pool keeps the writers to one at a time, while steps
outside it (staging, the lake) run beside them (docs/lake.md, "Beyond one machine").
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from trade_etl import settings
from trade_etl.errors import EXIT_BUSY, UserError, explain
from trade_etl.settings import (
    RAW_DIR_ENV,
    WAREHOUSE_ENV,
    apply_env_defaults,
    duckdb_memory_limit,
)
from trade_etl.store import publish
from trade_etl.store.warehouse import ensure_schema

apply_env_defaults()


class RawDirectory(dg.ConfigurableResource):
    """The folder where release folders (`<YYYY-MM-DD>_<stage>/`) are dropped."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


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

    _conn: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            with user_errors("taking the build lock"):
                publish.acquire(Path(self.database))
        except publish.BuildRunning as err:
            raise as_failure(UserError(str(err), EXIT_BUSY)) from None
        with user_errors("preparing the working copy"):
            freed = publish.prepare(Path(self.database))
        if freed[0]:
            message = (f"removed {freed[0]} temporary file(s) ({freed[1] / 1e6:.1f} MB) left by "
                       "builds that did not finish")
            context.log.info(message)
            logging.getLogger("trade_etl.progress").warning(message)  # shown even with --quiet

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self.close_connection()
        finally:
            publish.release(Path(self.database))

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        work = publish.work_path(Path(self.database))
        with user_errors(f"writing {work}"):
            if self._conn is None:
                conn = duckdb.connect(str(work),
                                      config={"custom_user_agent": "trade_etl",
                                              **self.connection_config})
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


@contextmanager
def warehouse_connection(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """The run's read-write connection, with the schema in place (WarehouseResource)."""
    Path(warehouse.database).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as conn:
        yield conn


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(
                database=dg.EnvVar(WAREHOUSE_ENV),
                # Results are always ordered explicitly; not keeping insertion order lets DuckDB
                # load in parallel and skip a copy (a release's facts load ~2x faster).
                connection_config={"memory_limit": duckdb_memory_limit(),
                                   "preserve_insertion_order": False},
            ),
            "raw_dir": RawDirectory(path=dg.EnvVar(RAW_DIR_ENV)),
        },
        executor=executor(),
    )


WAREHOUSE_WRITER = "warehouse_writer"


def executor() -> dg.ExecutorDefinition:
    """The executor `TRADE_ETL_EXECUTOR` names (settings.executor): in-process by default; the
    multiprocess one forks its step processes from a server that has loaded the definitions;
    k8s and celery come from their Dagster integrations, installed separately."""
    choice = settings.executor()
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
