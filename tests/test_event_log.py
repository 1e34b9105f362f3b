"""The project's event log storage (trade_etl/defs/event_log.py), on real SQLite files: runs
written by one process are read by another, a watcher in another process sees a live run's
events (the webserver's view of a running build), and only a few files are held open."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry

from tests.conftest import REPO
from trade_etl.defs.event_log import OPEN_SHARDS, PooledSqliteEventLogStorage


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Dagster home with the project's dagster.yaml; $DAGSTER_HOME points at it, as for every
    instance a user's commands open (the storage's files default to $DAGSTER_HOME/history/runs)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@dg.asset
def one() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 1})


@dg.asset(deps=[one])
def two() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 2})


def _entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(error_info=None, level="INFO", user_message=message, run_id=run_id,
                         timestamp=time.time())


READ_RUN = """
import sys
import dagster as dg
instance = dg.DagsterInstance.from_config(sys.argv[1])
records = instance.get_records_for_run(sys.argv[2]).records
types = sorted(r.event_log_entry.dagster_event_type.value for r in records
               if r.event_log_entry.is_dagster_event)
latest = instance.get_latest_materialization_event(dg.AssetKey("two"))
print(type(instance.event_log_storage).__name__, len(records), types.count("ASSET_MATERIALIZATION"),
      latest.run_id)
"""


def test_the_project_instance_uses_it_and_another_process_reads_the_run(home: Path) -> None:
    instance = dg.DagsterInstance.from_config(str(home))
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    result = dg.materialize([one, two], instance=instance)
    assert result.success
    written = len(instance.get_records_for_run(result.run_id).records)
    assert written > 5
    done = subprocess.run([sys.executable, "-c", READ_RUN, str(home), result.run_id],
                          capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["PooledSqliteEventLogStorage", str(written), "2",
                                   result.run_id]
    assert (home / "history" / "runs" / f"{result.run_id}.db").exists()
    instance.dispose()


WRITE_EVENTS = """
import sys, time
from dagster._core.events.log import EventLogEntry
from trade_etl.defs.event_log import PooledSqliteEventLogStorage
storage = PooledSqliteEventLogStorage(sys.argv[1])
for i in range(int(sys.argv[3])):
    storage.store_event(EventLogEntry(error_info=None, level="INFO", user_message=f"line {i}",
                                      run_id=sys.argv[2], timestamp=time.time()))
    time.sleep(0.05)
time.sleep(3)  # still running, connections open: the watcher must not wait for the exit
print("done", flush=True)
time.sleep(30)
"""


def test_a_watcher_in_another_process_sees_a_live_runs_events(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    storage = PooledSqliteEventLogStorage(str(base))
    run_id = "live-run"
    storage.store_event(_entry(run_id, "line start"))  # the run's database exists
    seen: list[str] = []
    arrived = threading.Event()

    def callback(entry: EventLogEntry, _cursor: str) -> None:
        seen.append(entry.user_message)
        if len(seen) == 10:
            arrived.set()

    storage.watch(run_id, None, callback)
    writer = subprocess.Popen([sys.executable, "-c", WRITE_EVENTS, str(base), run_id, "10"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "done"
        # The writer has stored its events and is still running with its connections open.
        assert arrived.wait(10), f"the watcher saw {seen}"
    finally:
        writer.kill()
        writer.wait()
        storage.end_watch(run_id, callback)
        storage.dispose()
    assert seen[-10:] == [f"line {i}" for i in range(10)]


def test_only_the_index_and_the_latest_runs_stay_open(tmp_path: Path) -> None:
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    runs = [f"run-{i}" for i in range(OPEN_SHARDS + 3)]
    for run_id in runs:
        storage.store_event(_entry(run_id, "hello"))
    open_runs = [s for s in storage.open_shards() if s != "index"]
    assert open_runs == runs[-OPEN_SHARDS:]
    # a closed run's events are still there, read through a new connection
    assert [r.event_log_entry.user_message
            for r in storage.get_records_for_run(runs[0]).records] == ["hello"]
    storage.dispose()
    assert storage.open_shards() == []
