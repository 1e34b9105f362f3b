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

import pytest

from tests.conftest import REPO, csv_text, row, write_release

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
        yield port, env
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
    port, env = dagster_dev
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
    port, env = dagster_dev
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
