"""Resources and executor shared by every asset.

One DuckDB file has one writer, so every run uses the in-process executor: assets run one after
the other in the run's process.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from trade_etl import publish
from trade_etl.settings import (
    RAW_DIR_ENV,
    WAREHOUSE_ENV,
    apply_env_defaults,
    duckdb_memory_limit,
)
from trade_etl.warehouse import ensure_schema

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
    one) and connects to the working copy (trade_etl/publish.py); the asset
    warehouse/published swaps the finished copy in.
    """

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            publish.acquire(Path(self.database))
        except publish.BuildRunning as err:
            raise dg.Failure(str(err)) from None
        publish.prepare(Path(self.database))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        publish.release(Path(self.database))

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = duckdb.connect(str(publish.work_path(Path(self.database))),
                              config={"custom_user_agent": "trade_etl", **self.connection_config})
        try:
            yield conn
        finally:
            conn.close()


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
