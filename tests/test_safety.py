"""Crashes, concurrent builds, readers during a build, and storage growth, with real processes.

Builds run as `trade-etl build` subprocesses and are killed with SIGKILL; readers are separate
processes opening the published warehouse read-only. Nothing here is mocked.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, build, csv_text, row, run_job, snapshot, write_release
from trade_etl.sample import write_sample
from trade_etl.store import publish
from trade_etl.store.warehouse import ensure_schema

TRADE_ETL = [str(Path(sys.executable).with_name("trade-etl"))]
TRIALS = 20


def _env(**extra: str) -> dict[str, str]:
    # DAGSTER_HOME stays: the test's own instance (conftest), as a user's builds share one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADE_ETL_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def _start_build(raw: Path, wh: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([*TRADE_ETL, "build", "--raw-dir", str(raw), "--warehouse", str(wh)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(**env))


def _copy_warehouse(src: Path, dst: Path) -> None:
    """A warehouse and its working copy, as a user's disk would hold them."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    for s, d in ((src, dst), (publish.work_path(src), publish.work_path(dst))):
        if s.exists():
            shutil.copyfile(s, d)


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory):
    """Six sample releases; the first three built and published (the previous complete state),
    and a clean build of all six (what every interrupted build must end as)."""
    tmp = tmp_path_factory.mktemp("crash")
    folders = write_sample(tmp / "all", years=(2024,), scale=0.5)
    raw = tmp / "raw"
    raw.mkdir()
    for folder in folders[:3]:
        shutil.copytree(folder, raw / folder.name)
    before = tmp / "before" / "wh.duckdb"
    assert build(raw, before) == 0
    for folder in folders[3:]:
        shutil.copytree(folder, raw / folder.name)
    clean = tmp / "clean" / "wh.duckdb"
    assert build(raw, clean) == 0
    return raw, before, snapshot(before), snapshot(clean), tmp


def _phase(stderr: str, releases: int) -> str:
    loaded = stderr.count("] 20")  # progress lines: "[k/n] 2024-…: …"
    if "building" not in stderr:
        return "starting"
    if loaded < releases:
        return "loading"
    return "deriving or publishing"


@pytest.mark.slow  # dozens of builds killed at random moments (5 min): `make test-slow`, by CI
def test_random_sigkills_never_lose_the_previous_state(crash_setup):
    """At least 20 kills at random moments of a build: the published warehouse always opens and
    holds exactly the previous complete state (or, past the swap, the new one); the next build
    completes and equals a clean build."""
    raw, before, state_before, state_clean, tmp = crash_setup
    pending = 3  # releases the interrupted builds have to load

    # How long an uninterrupted build takes here, to spread the kills over all of it.
    reference = tmp / "reference" / "wh.duckdb"
    _copy_warehouse(before, reference)
    started = time.monotonic()
    done = _start_build(raw, reference)
    out, err = done.communicate(timeout=300)
    duration = time.monotonic() - started
    assert done.returncode == 0, err[-2000:]

    rng = random.Random(20261128)
    phases: dict[str, int] = {}
    killed = 0
    for trial in range(TRIALS):
        wh = tmp / f"trial{trial}" / "wh.duckdb"
        _copy_warehouse(before, wh)
        delay = duration * (trial + rng.random()) / TRIALS
        proc = _start_build(raw, wh)
        trial_started = time.monotonic()
        try:
            proc.wait(timeout=delay)
            # It finished before its kill: the reference build ran slower than builds do now
            # (another process on the machine), so later kills aim at this build's time.
            duration = min(duration, time.monotonic() - trial_started)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
            phase = _phase(err, pending)
        else:
            assert proc.returncode == 0, err[-2000:]
            phase = "finished before the kill"
        phases[phase] = phases.get(phase, 0) + 1

        state = snapshot(wh)  # it opens, and it is one complete state or the other
        assert state in (state_before, state_clean), f"trial {trial} ({phase}, {delay:.2f}s)"
        assert build(raw, wh) == 0
        assert snapshot(wh) == state_clean, f"trial {trial}: the next build differs"
        shutil.rmtree(wh.parent)

    print(f"\ncrash trials: {TRIALS} runs, {killed} killed mid-build, by phase: "
          f"{json.dumps(phases, sort_keys=True)}; build time {duration:.1f}s; rows lost: 0")
    assert killed >= TRIALS * 3 // 4
    assert phases.get("loading", 0) >= 2 and phases.get("deriving or publishing", 0) >= 2


def test_a_second_build_fails_fast_naming_the_running_one(crash_setup, monkeypatch):
    raw, before, state_before, _, tmp = crash_setup
    wh = tmp / "second" / "wh.duckdb"
    _copy_warehouse(before, wh)
    first = _start_build(raw, wh, TRADE_ETL_PAUSEPOINT="publish:before_swap")
    try:
        lock = publish.lock_path(wh)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until the first build holds the lock
            text = lock.read_text() if lock.exists() else ""
            if f'"pid": {first.pid}' in text:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the first build never took the lock")

        started = time.monotonic()
        second = subprocess.run([*TRADE_ETL, "build", "--raw-dir", str(raw), "--warehouse",
                                 str(wh)], capture_output=True, text=True, env=_env(),
                                timeout=60)
        assert second.returncode == 3
        assert f"another build of {wh} is running (pid {first.pid}" in second.stderr
        assert time.monotonic() - started < 10

        # A Dagster run (UI, sensor) meets the same lock and fails with the same message.
        monkeypatch.setenv("TRADE_ETL_WAREHOUSE", str(wh))
        monkeypatch.setenv("TRADE_ETL_RAW_DIR", str(raw))
        result = run_job(raw)
        assert not result.success
        failures = [event.event_specific_data.error.message for event in result.all_events
                    if event.event_type_value == "RESOURCE_INIT_FAILURE"]
        assert failures and f"is running (pid {first.pid}" in failures[0]
    finally:
        first.kill()
        first.communicate(timeout=60)
    assert snapshot(wh) == state_before  # the paused build never published


READER = """
import json, sys, time, duckdb
path, out, stop = sys.argv[1:4]
seen = []
while True:
    try:
        conn = duckdb.connect(path, read_only=True)
        try:
            seen.append(conn.sql(
                "select (select count(*) from audit.releases), "
                "(select sum(exports_jpy) from marts.balance_total where period_type = 'month')"
            ).fetchall()[0])
        finally:
            conn.close()
    except Exception as err:
        seen.append(["error", repr(err)])
    import os
    if os.path.exists(stop):
        break
    time.sleep(0.02)
open(out, "w").write(json.dumps(seen, default=str))
"""


def test_readers_see_the_last_complete_state_and_never_block_a_build(crash_setup):
    raw, before, _, _, tmp = crash_setup
    wh = tmp / "readers" / "wh.duckdb"
    _copy_warehouse(before, wh)
    query = ("select (select count(*) from audit.releases), (select sum(exports_jpy) from "
             "marts.balance_total where period_type = 'month')")
    with duckdb.connect(str(wh), read_only=True) as conn:
        old = list(conn.sql(query).fetchall()[0])
    out, stop = tmp / "reads.json", tmp / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh), str(out), str(stop)])
    try:
        time.sleep(0.5)
        builder = _start_build(raw, wh)
        _, err = builder.communicate(timeout=300)
        assert builder.returncode == 0, err[-2000:]  # readers did not block it
    finally:
        stop.write_text("")
        reader.wait(timeout=60)
    with duckdb.connect(str(wh), read_only=True) as conn:
        new = list(conn.sql(query).fetchall()[0])
    reads = json.loads(out.read_text())
    errors = [r for r in reads if r[0] == "error"]
    assert not errors, errors[:3]
    assert {tuple(r) for r in reads} <= {tuple(old), tuple(new)}
    assert reads[0] == old and reads[-1] == new
    assert len(reads) >= 20
    print(f"\nreaders: {len(reads)} reads during a build, all of a complete state, 0 errors")


def test_storage_stays_within_twice_a_fresh_build_after_12_monthly_rebuilds(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    codes = [f"{8703 * 100000 + i:09d}" for i in range(400)]

    def month_release(month: int) -> None:  # a preliminary year file with one more month
        rows = [row(flow, 2024, hs, country, {m: 1000 + month * i for m in range(1, month + 1)})
                for flow in (1, 2) for i, hs in enumerate(codes) for country in ("304", "105")]
        write_release(raw, f"2024-{month:02d}-28_preliminary",
                      {"exp_imp_2024.csv": csv_text(rows)})

    sizes = []
    for month in range(1, 13):
        month_release(month)
        assert build(raw, wh) == 0
        sizes.append(wh.stat().st_size)
    fresh = tmp_path / "fresh.duckdb"
    assert build(raw, fresh) == 0
    print(f"\nstorage: after 12 monthly rebuilds {sizes[-1] / 1e6:.1f} MB, fresh build "
          f"{fresh.stat().st_size / 1e6:.1f} MB (largest on the way {max(sizes) / 1e6:.1f} MB)")
    assert sizes[-1] <= 2 * fresh.stat().st_size
    assert snapshot(wh) == snapshot(fresh)


def test_compaction_keeps_every_table_view_and_macro(crash_setup, tmp_path):
    """What a build does when a third of the file is free space: the copy must be the same
    warehouse, its as-of macros and views included."""
    _, before, state_before, _, _ = crash_setup
    copy = tmp_path / "compacted.duckdb"
    shutil.copyfile(before, copy)
    publish.compact(copy)
    assert snapshot(copy) == state_before
    as_of = ("select * from marts.balance_by_partner_as_of(DATE '2024-08-01') "
             "where period_type = 'month' order by all")
    results = []
    for path in (before, copy):
        with duckdb.connect(str(path), read_only=True) as conn:
            results.append((conn.sql(as_of).fetchall(),
                            conn.sql("select * from core.releases order by all").fetchall()))
    assert results[0] == results[1] and results[0][0]


def _row_groups(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.sql("select count(distinct row_group_id) from pragma_storage_info('t')"
                        ).fetchall()[0][0]


def test_publishing_leaves_the_file_settled(tmp_path, monkeypatch):
    """Inserts larger than a row group leave an under-filled one each, which DuckDB merges at
    checkpoints, a limited number per checkpoint (`max_vacuum_tasks`, 100 by default):
    publishing lifts the limit, so the next build does not pay for what this one left. The
    same working copy published under DuckDB's default keeps more row groups to merge."""
    work = tmp_path / "work.duckdb"
    with duckdb.connect(str(work)) as conn:
        ensure_schema(conn)
        conn.execute("create table t (x bigint)")
        for _ in range(150):  # each leaves a full row group (122,880 rows) and a part of one
            conn.execute("insert into t select range from range(130000)")
    groups = {}
    for name, tasks in (("settled", publish.SETTLE_VACUUM_TASKS), ("default", 100)):
        monkeypatch.setattr(publish, "SETTLE_VACUUM_TASKS", tasks)
        published = tmp_path / name / "trade.duckdb"
        published.parent.mkdir()
        shutil.copyfile(work, publish.work_path(published))
        publish.acquire(published)
        try:
            publish.publish(published)
        finally:
            publish.release(published)
        groups[name] = _row_groups(published)
    assert groups["settled"] < groups["default"] < _row_groups(work), groups
