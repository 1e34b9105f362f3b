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


@pytest.fixture
def dagster_dev(tmp_path):
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
        yield port
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


def test_webserver_lists_assets_and_runs_a_materialization(dagster_dev):
    port = dagster_dev
    nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw/release_files", "core/trade_facts", "audit/releases", "audit/quarantine",
            "core/trade_latest", "ref/countries"} <= keys
    params = {"selector": {"repositoryLocationName": "trade_etl",
                           "repositoryName": "__repository__", "jobName": "build_warehouse"},
              "runConfigData": {}}
    launched = graphql(port, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = graphql(port, "query R($id: ID!) { runOrError(runId: $id) { "
                         "... on Run { status } } }", {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS"
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
