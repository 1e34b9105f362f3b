"""Smoke test of the Dagster UI path: a real `dagster dev` (webserver + daemon) on a loopback
port, its GraphQL API asked for the asset graph, a run launched through it and awaited."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO, csv_text, row, write_release

# A real Dagster webserver per test: `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, document: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": document, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ui")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    raw = tmp_path / "raw"
    write_release(raw, "2024-02-20_preliminary",
                  {"exp_2024.csv": csv_text([row(1, 2024, "870323915", "304", {1: 100})])})
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TRADE_ETL_RAW_DIR": str(raw),
           "TRADE_ETL_WAREHOUSE": str(tmp_path / "wh.duckdb")}
    dagster = shutil.which("dagster", path=str(BIN)) or "dagster"
    log = (tmp_path / "dagster.log").open("w")
    proc = subprocess.Popen([dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
                             "-p", str(port)], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "dagster.log").read_text()[-3000:]
            try:
                nodes = graphql(port, "{ assetNodes { assetKey { path } } }")["assetNodes"]
                if nodes:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "dagster dev did not come up in 180 s"
            time.sleep(1)
        yield port, env, raw
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""


ADD_PARTITION = """
mutation Add($repo: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on PythonError { message }
  }
}"""
REPO_SELECTOR = {"repositoryLocationName": "trade_etl", "repositoryName": "__repository__"}
RELEASE = "2024-02-20_preliminary"


def wait_for_run(port: int, run_id: str) -> str:
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = graphql(port, "query R($id: ID!) { runOrError(runId: $id) { "
                         "... on Run { status } } }", {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    return status


def test_webserver_lists_assets_and_runs_a_materialization(dagster_dev, tmp_path):
    port, env, _raw = dagster_dev
    nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw/release_files", "core/trade_facts", "audit/releases", "audit/quarantine",
            "core/trade_latest", "ref/countries"} <= keys
    added = graphql(port, ADD_PARTITION, {"repo": REPO_SELECTOR, "name": "releases",
                                          "key": RELEASE})["addDynamicPartition"]
    assert added["__typename"] in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError")
    params = {"selector": {**REPO_SELECTOR, "jobName": "build_warehouse"},
              "runConfigData": {},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": RELEASE}]}}
    launched = graphql(port, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert wait_for_run(port, run_id) == "SUCCESS"
    # The run materialized the latest figures: one month cell, as its metadata says. (The
    # warehouse itself is not opened here: a sensor-launched run may be writing it.)
    asset = graphql(port, """query A($key: AssetKeyInput!) { assetOrError(assetKey: $key) {
        ... on Asset { assetMaterializations(limit: 5) { runId metadataEntries {
            label ... on IntMetadataEntry { intValue } } } } } }""",
                    {"key": {"path": ["core", "trade_latest"]}})["assetOrError"]
    ours = [m for m in asset["assetMaterializations"] if m["runId"] == run_id]
    assert ours, asset
    counts = {e["label"]: e.get("intValue") for e in ours[0]["metadataEntries"]}
    assert counts["dagster/row_count"] == 1
    # The partitions view: one row per release, materialized, with its checks.
    facts = graphql(port, """query P($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
        ... on AssetNode { partitionKeys assetPartitionStatuses {
            ... on DefaultPartitionStatuses { materializedPartitions } }
          assetChecksOrError { ... on AssetChecks { checks { name
            executionForLatestMaterialization { status } } } } } } }""",
                    {"key": {"path": ["core", "trade_facts"]}})["assetNodeOrError"]
    assert facts["partitionKeys"] == [RELEASE]
    assert facts["assetPartitionStatuses"]["materializedPartitions"] == [RELEASE]
    checks = {c["name"]: c["executionForLatestMaterialization"]
              for c in facts["assetChecksOrError"]["checks"]}
    assert set(checks) == {"fact_grain_unique", "facts_valid_and_audited",
                           "files_do_not_overlap", "units_agree_within_release"}
    assert all(c and c["status"] == "SUCCEEDED" for c in checks.values()), checks


def test_a_build_from_the_terminal_shows_in_the_ui(dagster_dev, tmp_path):
    """`trade-etl build` runs on the instance the UI reads: its run is listed there."""
    port, env, _raw = dagster_dev
    trade_etl = shutil.which("trade-etl", path=str(BIN)) or "trade-etl"
    for _attempt in range(20):  # the sensor's own run of the release may hold the build lock
        built = subprocess.run([trade_etl, "build", "--force"], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=300)
        if built.returncode != 3:
            break
        time.sleep(3)
    assert built.returncode == 0, built.stderr
    run_id = next(line.split()[1] for line in built.stderr.splitlines()
                  if line.startswith("run "))
    runs = graphql(port, "{ runsOrError { ... on Runs { results { runId status jobName } } } }"
                   )["runsOrError"]["results"]
    ours = [r for r in runs if r["runId"] == run_id]
    assert ours and ours[0]["status"] == "SUCCESS" and ours[0]["jobName"] == "build_warehouse"


def terminal_build(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`trade-etl build` on the UI's instance, again while the sensor's own run holds the lock."""
    trade_etl = shutil.which("trade-etl", path=str(BIN)) or "trade-etl"
    for _attempt in range(40):
        built = subprocess.run([trade_etl, "build", *args], env=env, cwd=cwd,
                               capture_output=True, text=True, timeout=300)
        if built.returncode != 3:
            return built
        time.sleep(3)
    return built


def build_runs(port: int) -> list[str]:
    runs = graphql(port, "{ runsOrError { ... on Runs { results { runId jobName } } } }"
                   )["runsOrError"]["results"]
    return sorted(r["runId"] for r in runs if r["jobName"] == "build_warehouse")


PARTITION_METADATA = """query M($key: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(partitions: [$partition], limit: 20) { partition runId
      metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""


def partition_metadata(port: int, key: list[str], partition: str, run_id: str) -> dict:
    """The metadata of `partition`'s materialization in the run `run_id` (the sensor may have
    materialized it in a run of its own too)."""
    found = graphql(port, PARTITION_METADATA, {"key": {"path": key}, "partition": partition}
                    )["assetOrError"]["assetMaterializations"]
    ours = [m for m in found if m["runId"] == run_id]
    assert len(ours) == 1 and ours[0]["partition"] == partition, found
    return {e["label"]: e.get("intValue") for e in ours[0]["metadataEntries"]}


def partition_keys(port: int) -> list[str]:
    return graphql(port, """{ assetNodeOrError(assetKey: {path: ["core", "trade_facts"]}) {
        ... on AssetNode { partitionKeys } } }""")["assetNodeOrError"]["partitionKeys"]


QUARANTINED = "2024-03-19_preliminary"  # two bad lines of three
CLEAN = "2024-04-17_preliminary"  # one good line


def test_each_release_partition_shows_its_own_numbers_and_checks(dagster_dev, tmp_path):
    """One run over several releases (`build --force`): each partition's materialization and
    checks carry that release's own files, rows and quarantine, not the run's totals."""
    port, env, raw = dagster_dev
    write_release(raw, QUARANTINED, {"exp_2024.csv": csv_text([
        row(1, 2024, "870323915", "304", {3: 100}), row(1, 2024, "870323915", "999", {3: 5}),
        row(1, 2024, "1234", "304", {3: 5})])})
    write_release(raw, CLEAN, {"exp_2024.csv": csv_text([
        row(1, 2024, "870323915", "304", {4: 100})])})
    built = terminal_build(env, tmp_path, "--force")
    assert built.returncode == 0, built.stderr
    run_id = next(line.split()[1] for line in built.stderr.splitlines()
                  if line.startswith("run "))
    expected = {QUARANTINED: (3, 1, 2), CLEAN: (1, 1, 0), RELEASE: (1, 1, 0)}
    for release, (read, loaded, quarantined) in expected.items():
        audit = partition_metadata(port, ["audit", "releases"], release, run_id)
        assert (audit["rows_read"], audit["rows_loaded"], audit["rows_quarantined"]) == (
            read, loaded, quarantined), (release, audit)
        assert audit["dagster/row_count"] == 1 and audit["releases_in_run"] == 3  # one file
        facts = partition_metadata(port, ["core", "trade_facts"], release, run_id)
        assert facts["dagster/row_count"] == loaded and facts["files"] == 1, (release, facts)
        lines = partition_metadata(port, ["audit", "quarantine"], release, run_id)
        assert lines["dagster/row_count"] == quarantined, (release, lines)
        coverage = partition_metadata(port, ["core", "release_coverage"], release, run_id)
        assert coverage["dagster/row_count"] == 1, (release, coverage)
        # Each check evaluated on this partition, in this run.
        for asset, check in ((["audit", "releases"], "rows_reconcile"),
                             (["core", "trade_facts"], "fact_grain_unique")):
            executions = graphql(port, """query C($key: AssetKeyInput!, $check: String!,
                $p: String) { assetCheckExecutions(assetKey: $key, checkName: $check,
                partition: $p, limit: 20) { runId partition status } }""",
                                 {"key": {"path": asset}, "check": check, "p": release}
                                 )["assetCheckExecutions"]
            ours = [e for e in executions if e["runId"] == run_id]
            assert [(e["partition"], e["status"]) for e in ours] == [
                (release, "SUCCEEDED")], executions


def test_a_refused_build_starts_no_run_and_a_removed_folder_loses_its_partition(
        dagster_dev, tmp_path):
    port, env, raw = dagster_dev
    from trade_etl.store import publish

    if not (raw / CLEAN).exists():  # run alone: the release to remove must be loaded first
        write_release(raw, CLEAN, {"exp_2024.csv": csv_text([
            row(1, 2024, "870323915", "304", {4: 100})])})
        assert terminal_build(env, tmp_path).returncode == 0
    assert CLEAN in partition_keys(port)
    # Busy: another build holds the lock (here, this process).
    warehouse = Path(env["TRADE_ETL_WAREHOUSE"])
    before = build_runs(port)
    for _attempt in range(40):  # a sensor run may hold the lock itself for a while
        try:
            publish.acquire(warehouse)
            break
        except publish.BuildRunning:
            time.sleep(3)
    try:
        trade_etl = shutil.which("trade-etl", path=str(BIN)) or "trade-etl"
        busy = subprocess.run([trade_etl, "build", "--force"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
    finally:
        publish.release(warehouse)
    assert busy.returncode == 3, busy.stderr
    assert busy.stderr.startswith("error: another build of") and len(
        busy.stderr.strip().splitlines()) == 1, busy.stderr
    # Needs --prune: a loaded release folder removed.
    shutil.rmtree(raw / CLEAN)
    refused = terminal_build(env, tmp_path)
    assert refused.returncode == 4, refused.stderr
    assert f"{CLEAN}/exp_2024.csv (1 rows)" in refused.stderr and "--prune" in refused.stderr
    assert refused.stderr.count("error:") == 1, refused.stderr
    assert build_runs(port) == before  # neither refusal is a (failed) run in the UI
    pruned = terminal_build(env, tmp_path, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert CLEAN not in partition_keys(port)
    assert len(build_runs(port)) == len(before) + 1


def test_the_ui_shows_no_newsletter_pop_up(dagster_dev):
    port, env, _raw = dagster_dev
    assert not (Path(env["DAGSTER_HOME"]) / ".nux" / "nux.yaml").exists()  # not seen yet
    assert graphql(port, "{ shouldShowNux }")["shouldShowNux"] is False


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_trade_etl_ui_stops_cleanly_on_a_signal(tmp_path, signum):
    """A real `trade-etl ui`, started from the repository (which has a dagster.yaml): it warns
    of no unused dagster.yaml, and SIGTERM or SIGINT ends it and every process it started
    (webserver, daemon, code servers) within seconds, exit 0."""
    home, raw = tmp_path / "dagster_home", tmp_path / "raw"
    raw.mkdir()
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")  # as in the repository
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TRADE_ETL_RAW_DIR": "raw",
           "TRADE_ETL_WAREHOUSE": str(tmp_path / "wh.duckdb")}
    trade_etl = shutil.which("trade-etl", path=str(BIN)) or "trade-etl"
    log_path = tmp_path / "ui.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([trade_etl, "ui", "--port", str(port), "--raw-dir",
                                 str(raw.relative_to(tmp_path))], cwd=tmp_path, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                if graphql(port, "{ assetNodes { id } }")["assetNodes"]:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "trade-etl ui did not come up in 180 s"
            time.sleep(1)
        assert graphql(port, "{ shouldShowNux }")["shouldShowNux"] is False
        children = descendants(proc.pid)
        assert len(children) >= 2, children  # webserver and daemon at least
        started = time.monotonic()
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, alive
        assert time.monotonic() - started < 20, time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = log_path.read_text()
    assert "will not be used" not in text, text[-3000:]
    assert "Shutting down Dagster services" in text, text[-3000:]
