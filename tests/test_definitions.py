"""The Dagster code location: loads without warnings, and its asset graph is what we expect."""

import json
import subprocess
import sys
import warnings

import dagster as dg

from tests.conftest import REPO, csv_text, row, write_release
from trade_etl.defs.sensors import raw_release_sensor

EXPECTED_ASSETS = {
    "audit/quarantine", "audit/release_months", "audit/releases", "core/trade_facts",
    "core/trade_latest", "raw/estat_downloads", "raw/release_files",
    *(f"ref/{t}" for t in ("countries", "country_groups", "fx_daily", "fx_monthly", "hs_chapters",
                           "hs_sections", "sector_map", "sectors")),
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
    } <= checks
    build_job = defs.resolve_job_def("build_warehouse")
    built = build_job.asset_layer.executable_asset_keys
    assert dg.AssetKey(["raw", "estat_downloads"]) not in built
    assert dg.AssetKey(["raw", "release_files"]) in built
    assert graph.get(dg.AssetKey(["raw", "estat_downloads"])).kinds == {"python", "http"}
    schedule = defs.resolve_schedule_def("estat_daily")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "15 9 * * 1-5", "Asia/Tokyo", "fetch_estat")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # it reaches the network
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert defs.resolve_sensor_def("raw_release_sensor") is not None


def test_sensor_requests_a_run_for_new_and_changed_folders(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    from trade_etl.defs.resources import RawDirectory

    resources = {"raw_dir": RawDirectory(path=str(raw))}
    with dg.build_sensor_context(resources=resources) as ctx:
        assert isinstance(raw_release_sensor(ctx), dg.SkipReason)
    write_release(raw, "2024-02-20_preliminary",
                  {"a.csv": csv_text([row(1, 2024, "870323915", "304", {1: 1})])})
    with dg.build_sensor_context(resources=resources) as ctx:
        first = raw_release_sensor(ctx)
        cursor = ctx.cursor
    assert isinstance(first, dg.RunRequest) and "2024-02-20_preliminary" in first.run_key
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        assert isinstance(raw_release_sensor(ctx), dg.SkipReason)  # nothing new
    write_release(raw, "2024-02-20_preliminary",
                  {"b.csv": csv_text([row(2, 2024, "270900000", "137", {1: 1})])})
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        changed = raw_release_sensor(ctx)
    assert isinstance(changed, dg.RunRequest) and changed.run_key != first.run_key


def test_the_sensor_defers_a_folder_still_being_written(tmp_path, monkeypatch):
    from trade_etl.defs.resources import RawDirectory

    raw = tmp_path / "raw"
    monkeypatch.setenv("TRADE_ETL_QUIET_SECONDS", "60")
    write_release(raw, "2024-02-20_preliminary",
                           {"a.csv": csv_text([row(1, 2024, "870323915", "304", {1: 1})])})
    resources = {"raw_dir": RawDirectory(path=str(raw))}
    with dg.build_sensor_context(resources=resources) as ctx:
        deferred = raw_release_sensor(ctx)
    assert isinstance(deferred, dg.SkipReason) and "1 still being written" in str(
        deferred.skip_message)
    # Once the quiet period has passed (0 s here: ctime cannot be set back), the run comes.
    monkeypatch.setenv("TRADE_ETL_QUIET_SECONDS", "0")
    with dg.build_sensor_context(resources=resources) as ctx:
        assert isinstance(raw_release_sensor(ctx), dg.RunRequest)
