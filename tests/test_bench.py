"""The benchmark harness (bench/run.py) runs end to end at a tiny size against the yardstick
(../shared/bench/reference_build.py); no speed is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_bench_harness_tiny(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--sizes", "tiny", "--rounds", "1",
         "--work", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert done.stdout.strip() == text.strip()
    for scenario in ("full", "yardstick", "new release", "unchanged", "forced"):
        assert f"\n| {scenario} | " in text
    assert "| marts equal the yardstick's to the yen | yes |" in text
    assert "## Targets" in text
    assert "| tiny | full ≤ 1.0 × yardstick |" in text
    assert "| tiny | peak RSS ≤ 1.5 × yardstick |" in text
    assert "## Per-stage breakdown" in text
