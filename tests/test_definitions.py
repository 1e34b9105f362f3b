"""The Dagster code location: loads without warnings, and its asset graph is what we expect."""

import json
import os
import shutil
import subprocess
import sys
import warnings

import dagster as dg

from tests.conftest import REPO, build, csv_text, row, write_release
from trade_etl.defs.sensors import raw_release_sensor

EXPECTED_ASSETS = {
    "audit/quarantine", "audit/release_months", "audit/releases", "core/trade_facts",
    "core/trade_latest", "raw/estat_downloads", "raw/release_files",
    *(f"ref/{t}" for t in ("countries", "country_groups", "fx_daily", "fx_monthly", "hs_chapters",
                           "hs_sections", "partner_aliases", "sector_map", "sectors")),
}


def test_definitions_load_without_warnings():
    # A fresh interpreter, so that nothing imported by other tests hides a warning.
    code = ("import warnings; warnings.simplefilter('error');"
            "from trade_etl.definitions import defs;"
            "import json; print(json.dumps(sorted(k.to_user_string() for k in "
            "defs.resolve_asset_graph().get_all_asset_keys())))")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Warning" not in out.stderr, out.stderr[-3000:]
    assert set(json.loads(out.stdout.strip().splitlines()[-1])) >= EXPECTED_ASSETS


SNAPSHOT = REPO / "tests" / "snapshots" / "asset_graph.json"


def graph_snapshot(defs) -> dict:
    """Everything about the asset graph a user sees: keys, groups, kinds, partitions, deps and
    checks (with blocking), and the jobs, sensors and schedules."""
    graph = defs.resolve_asset_graph()
    checks: dict[str, dict] = {}
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        checks.setdefault(key.asset_key.to_user_string(), {})[key.name] = {
            "blocking": spec.blocking, "partitioned": spec.partitions_def is not None}
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "pools": sorted(node.pools),
            "kinds": sorted(node.kinds),
            "partitions": getattr(node.partitions_def, "name", None),
            "backfill_policy": str(node.backfill_policy.policy_type.value)
            if node.backfill_policy else None,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": dict(sorted(checks.get(key.to_user_string(), {}).items())),
            "columns": [c.name for c in node.metadata["dagster/column_schema"].columns]
            if "dagster/column_schema" in node.metadata else None,
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "sensors": sorted(s.name for s in defs.sensors or []),
        "schedules": sorted(s.name for s in defs.schedules or []),
    }


def test_the_whole_asset_graph_matches_its_reviewed_snapshot():
    """A rename, a lost check or a changed dependency shows up in review as a diff of
    tests/snapshots/asset_graph.json (TRADE_ETL_UPDATE_SNAPSHOT=1 rewrites it)."""
    from trade_etl.definitions import defs

    current = json.dumps(graph_snapshot(defs), indent=1, sort_keys=True) + "\n"
    if os.environ.get("TRADE_ETL_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot yet: run with TRADE_ETL_UPDATE_SNAPSHOT=1"
    assert current == SNAPSHOT.read_text(), (
        "the asset graph changed: if that is intended, run TRADE_ETL_UPDATE_SNAPSHOT=1 "
        "pytest tests/test_definitions.py and commit tests/snapshots/asset_graph.json")


def test_asset_graph_snapshot():
    """Renaming an asset or check is a change users see: it must show up here in review."""
    from trade_etl.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert EXPECTED_ASSETS <= keys
    checks = {f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys}
    assert {
        "audit/releases:rows_reconcile", "audit/releases:files_readable",
        "audit/releases:value_year_matches_months", "core/trade_facts:fact_grain_unique",
        "core/trade_facts:facts_valid_and_audited",
        "core/trade_latest:latest_one_release_per_cell",
        "core/trade_facts:units_agree_within_release",
    } <= checks
    build_job = defs.resolve_job_def("build_warehouse")
    built = build_job.asset_layer.executable_asset_keys
    assert dg.AssetKey(["raw", "estat_downloads"]) not in built
    assert dg.AssetKey(["raw", "fx_rates"]) not in built  # a build never reaches the network
    fetch_job = defs.resolve_job_def("fetch_estat")  # the weekday schedule fetches the rates too
    assert {dg.AssetKey(["raw", "estat_downloads"]), dg.AssetKey(["raw", "fx_rates"])} == set(
        fetch_job.asset_layer.executable_asset_keys)
    assert dg.AssetKey(["raw", "release_files"]) in built
    assert dg.AssetKey(["staging", "releases"]) not in built  # its own job, one run per release
    # Every asset that writes the DuckDB file is in the writers' pool; staging is not.
    for key in built:
        assert graph.get(key).pools == {"warehouse_writer"}, key
    assert graph.get(dg.AssetKey(["staging", "releases"])).pools == set()
    assert graph.get(dg.AssetKey(["raw", "estat_downloads"])).kinds == {"python", "http"}
    schedule = defs.resolve_schedule_def("estat_daily")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "15 9 * * 1-5", "Asia/Tokyo", "fetch_estat")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # it reaches the network
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert defs.resolve_sensor_def("raw_release_sensor") is not None


def _tick(raw, instance):
    from trade_etl.defs.resources import RawDirectory, TradeEtlConfig

    with dg.build_sensor_context(instance=instance,
                                 resources={"raw_dir": RawDirectory(path=str(raw)),
                                            "trade_etl": TradeEtlConfig()}) as ctx:
        result = raw_release_sensor(ctx)
    for request in result.dynamic_partitions_requests:  # as the daemon would
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    return result


def test_sensor_requests_a_run_for_new_and_changed_folders(tmp_path, monkeypatch):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    raw.mkdir()
    monkeypatch.setenv("TRADE_ETL_WAREHOUSE", str(wh))
    instance = dg.DagsterInstance.ephemeral()
    empty = _tick(raw, instance)
    assert not empty.run_requests and "among 0" in empty.skip_reason.skip_message
    write_release(raw, "2024-02-20_preliminary",
                  {"a.csv": csv_text([row(1, 2024, "870323915", "304", {1: 1})])})
    first = _tick(raw, instance)
    [request] = first.run_requests
    assert request.partition_key == "2024-02-20_preliminary"
    assert request.run_key.startswith("2024-02-20_preliminary:")
    assert instance.get_dynamic_partitions("releases") == ["2024-02-20_preliminary"]
    # Until a build loads it the release is asked for again, under the same run key: the
    # daemon starts one run per key.
    assert [r.run_key for r in _tick(raw, instance).run_requests] == [request.run_key]
    assert build(raw, wh) == 0
    assert not _tick(raw, instance).run_requests  # loaded: nothing new
    write_release(raw, "2024-02-20_preliminary",
                  {"b.csv": csv_text([row(2, 2024, "270900000", "137", {1: 1})])})
    [changed] = _tick(raw, instance).run_requests
    assert changed.partition_key == request.partition_key and changed.run_key != request.run_key


def test_the_sensor_defers_a_folder_still_being_written(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    monkeypatch.setenv("TRADE_ETL_QUIET_SECONDS", "60")
    write_release(raw, "2024-02-20_preliminary",
                  {"a.csv": csv_text([row(1, 2024, "870323915", "304", {1: 1})])})
    instance = dg.DagsterInstance.ephemeral()
    deferred = _tick(raw, instance)
    assert not deferred.run_requests
    assert "1 still being written" in deferred.skip_reason.skip_message
    # Once the quiet period has passed (0 s here: ctime cannot be set back), the run comes.
    monkeypatch.setenv("TRADE_ETL_QUIET_SECONDS", "0")
    assert len(_tick(raw, instance).run_requests) == 1


def test_the_runtime_never_imports_the_sample_generator():
    """The synthetic generator is for `trade-etl sample`/`demo` and tests only."""
    code = ("import sys, trade_etl.definitions, trade_etl.app.cli, trade_etl.app.runs;"
            "print(sorted(m for m in sys.modules if m.startswith('trade_etl.sample')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]"


OPTIONAL = ("pyiceberg", "altair", "vl_convert", "httpx")


def test_a_build_imports_only_what_it_uses(tmp_path):
    """A build that loads a release imports no lake (pyiceberg), chart (altair, vl-convert) or
    network (httpx) library: each costs memory and start-up time in every run (issue 25).
    pyarrow is not among them: DuckDB hands frames to and from polars through it."""
    raw = tmp_path / "raw"
    write_release(raw, "2024-02-20_preliminary",
                  {"a.csv": csv_text([row(1, 2024, "870323915", "304", {1: 1})])})
    code = ("import sys; from trade_etl.app import cli;"
            f"code = cli.main(['build', '--raw-dir', {str(raw)!r}, '--warehouse', "
            f"{str(tmp_path / 'wh.duckdb')!r}, '--quiet']);"
            f"print(code, sorted(m for m in {OPTIONAL!r} if m in sys.modules))")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "TRADE_ETL_QUIET_SECONDS": "0"}
    (tmp_path / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", tmp_path / "home" / "dagster.yaml")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "0 []"
    # the same folder again: the build is skipped, and its check imports none of the loader's
    # libraries (pandera, polars) nor Dagster: start-up is most of its time
    loader = ("pandera", "polars", "dagster", *OPTIONAL)
    code = code.replace(repr(OPTIONAL), repr(loader))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "is up to date" in out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_the_sensor_starts_no_run_that_would_need_prune(tmp_path, monkeypatch):
    """A loaded folder removed: the tick says what `build --prune` would remove, starts nothing
    (a run would refuse inside it), and still forgets the folder's partition."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    monkeypatch.setenv("TRADE_ETL_WAREHOUSE", str(wh))
    for release, hs in (("2024-02-20_preliminary", "870323915"), ("2024-03-21_preliminary",
                                                                  "270900000")):
        write_release(raw, release, {"a.csv": csv_text([row(1, 2024, hs, "304", {1: 1})])})
    assert build(raw, wh) == 0
    instance = dg.DagsterInstance.ephemeral()
    _tick(raw, instance)
    shutil.rmtree(raw / "2024-03-21_preliminary")
    result = _tick(raw, instance)
    assert not result.run_requests
    assert "--prune" in result.skip_reason.skip_message
    assert "2024-03-21_preliminary/a.csv" in result.skip_reason.skip_message
    assert instance.get_dynamic_partitions("releases") == ["2024-02-20_preliminary"]
