"""Dagster's SQLite event log, with its connections kept open between events.

Dagster's `SqliteEventLogStorage` creates an engine, opens a connection and closes it again for
every read and write; closing the last connection to a WAL database also checkpoints it. A build
stores a few hundred events (a planned event and a materialization per release and asset), and
that costs about 20 ms each: seconds per build, more than some of the steps. This subclass is
the same storage, in the same files (`$DAGSTER_HOME/history/runs/`), except that:

- each database file (the index and the most recent runs' shards) keeps one open connection,
  reused under the storage's own lock; older runs' engines are closed once more than
  `OPEN_SHARDS` are open, so a webserver reading many runs holds few files;
- connections use `synchronous=NORMAL`, SQLite's recommended setting for WAL databases: a
  power cut may lose the last events, never corrupt the file. The warehouse does not depend on
  the event log (what a build loaded is recorded in the warehouse itself);
- after each use of a run's database its write-ahead log is checkpointed into the file (a no-op
  when nothing was written). The webserver follows a live run by watching that file change,
  which the parent class gets from closing its connection every time.

The project's dagster.yaml selects it (`event_log_storage`); `base_dir` may be set there and
defaults to `$DAGSTER_HOME/history/runs`, where Dagster's default storage keeps the same files
(so an instance keeps its history when it switches). Without it, or with Dagster's own class
there, everything works as before, only slower.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

OPEN_SHARDS = 4  # run databases kept open besides the index


def default_base_dir() -> str:
    """Where Dagster's default storage keeps the event log: $DAGSTER_HOME/history/runs."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError("PooledSqliteEventLogStorage needs base_dir or $DAGSTER_HOME")
    return os.path.join(home, "history", "runs")


def _normal_sync(dbapi_connection, _record) -> None:
    dbapi_connection.execute("pragma synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that keeps a connection open per database file (see the module)."""

    def __init__(self, base_dir: str | None = None,
                 inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir or default_base_dir(), inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # ty: ignore[invalid-method-override]
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # a forked child must not share the parent's files
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1,
            max_overflow=2, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                          "check_same_thread": False})
        db.event.listen(engine, "connect", _normal_sync)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-OPEN_SHARDS]:
            self._engines.pop(old).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # one user at a time, as in the parent class
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:  # the file the webserver watches
                    conn.exec_driver_sql("pragma wal_checkpoint(PASSIVE)")

    def open_shards(self) -> list[str]:
        """The database files this storage holds open (the index and recent runs)."""
        return list(self._engines)

    def dispose(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()
