"""Resources and executor shared by every asset.

One DuckDB file has one writer, so every run uses the in-process executor: assets run one after
the other in the run's process.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

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
    """

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
        publish.release(Path(self.database))

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        work = publish.work_path(Path(self.database))
        with user_errors(f"writing {work}"):
            conn = duckdb.connect(str(work),
                                  config={"custom_user_agent": "trade_etl",
                                          **self.connection_config})
            try:
                yield conn
            finally:
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
    """A read-write connection with the schema in place, closed even when the body raises."""
    Path(warehouse.database).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as conn:
        try:
            ensure_schema(conn)
            yield conn
        finally:
            conn.close()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(
                database=dg.EnvVar(WAREHOUSE_ENV),
                connection_config={"memory_limit": duckdb_memory_limit()},
            ),
            "raw_dir": RawDirectory(path=dg.EnvVar(RAW_DIR_ENV)),
        },
        executor=dg.in_process_executor,
    )


def scalar(warehouse: DuckDBResource, query: str, params: dict | None = None):
    """The single value a query returns (for checks)."""
    with warehouse_connection(warehouse) as conn:
        return conn.execute(query, params or {}).fetchall()[0][0]
