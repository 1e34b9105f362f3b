"""Fixtures of the engine tests (`make test-engines`, or `pytest engines/` after
`bash engines/setup.sh`): the jars setup.sh prepared, and a Dagster home for the builds.

Without setup.sh's output the tests are skipped, saying why; with TRADE_ETL_ENGINES_REQUIRED=1
(what `make test-engines` sets) that is an error instead, so the target can never pass by
skipping."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ENGINES = Path(__file__).resolve().parent
REPO = ENGINES.parent
SPARK_ENV = ENGINES / "jars" / "spark.env"
REQUIRED_ENV = "TRADE_ETL_ENGINES_REQUIRED"


def read_spark_env() -> dict[str, str]:
    """engines/jars/spark.env (KEY=value lines written by setup.sh)."""
    pairs = (line.split("=", 1) for line in SPARK_ENV.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def missing_setup() -> str | None:
    """Why the engine tests cannot run here (None: they can)."""
    rerun = "run `bash engines/setup.sh` (or `make test-engines`) first"
    if not SPARK_ENV.is_file():
        return f"{SPARK_ENV.relative_to(REPO)} is missing: {rerun}"
    env = read_spark_env()
    for key in ("JAVA_HOME", "SPARK_JARS"):
        if not env.get(key):
            return f"{SPARK_ENV.relative_to(REPO)} has no {key}: {rerun}"
    if not (Path(env["JAVA_HOME"]) / "bin" / "java").is_file():
        return f"no java in JAVA_HOME={env['JAVA_HOME']}: {rerun}"
    for jar in env["SPARK_JARS"].split(","):
        if not Path(jar).is_file():
            return f"jar {jar} is missing: {rerun}"
    if importlib.util.find_spec("pyspark") is None:
        return f"pyspark is not installed in this Python (the `engines` extra): {rerun}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if ENGINES in Path(item.path).parents]
    problem = missing_setup() if mine else None
    if problem is None:
        return
    if os.environ.get(REQUIRED_ENV, "").strip() not in ("", "0"):
        raise pytest.UsageError(f"engine tests cannot run: {problem}")
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=problem))


@pytest.fixture(scope="session")
def spark_env() -> dict[str, str]:
    return read_spark_env()


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory) -> Iterator[Path]:
    """A Dagster instance for the builds, its event log in memory (as tests/conftest.py does)."""
    home = tmp_path_factory.mktemp("dagster_home")
    project = (REPO / "dagster.yaml").read_text()
    pooled = "  module: trade_etl.defs.event_log\n  class: PooledSqliteEventLogStorage\n"
    (home / "dagster.yaml").write_text(project.replace(
        pooled, "  module: dagster._core.storage.event_log\n  class: InMemoryEventLogStorage\n"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        yield home
