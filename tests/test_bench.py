"""The benchmark harness (bench/run.py) runs end to end at a tiny size, in both shapes of the
sample (section files; whole-year and customs-office files), against the yardstick
(../shared/bench/reference_build.py); no speed is asserted. Its report's targets are checked on
made-up measurements at the three real sizes."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow  # the whole benchmark, both shapes, at its tiny size: `make test-slow`, by CI
def test_bench_harness_tiny(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--sizes", "tiny", "--rounds", "1",
         "--work", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert done.stdout.strip() == text.strip()
    for shape in ("sections", "large"):
        marker = json.loads((tmp_path / "work" / "data" / f"tiny-{shape}" / "sample.json")
                            .read_text())
        assert marker["shape"] == shape
        assert f"\n## tiny, {shape}\n" in text
        for target in ("full ≤ 0.8 × yardstick", "unchanged ≤ 0.5 s",
                       "peak RSS ≤ 1.5 × yardstick"):
            assert f"| tiny | {shape} | {target} |" in text
        assert f"### tiny, {shape}\n" in text  # the breakdowns and memory profiles
    for scenario in ("full", "yardstick", "new release", "unchanged", "forced"):
        assert text.count(f"\n| {scenario} | ") == 2
    assert text.count("| marts equal the yardstick's to the yen | yes |") == 2
    assert text.count("| scenario | median s | min–max s | peak RSS MiB | publish s |") == 2
    # publish seconds of the full and new-release builds, none for the yardstick
    assert len(re.findall(r"\n\| (full|new release) \| [\d.]+ \| [\d.]+–[\d.]+ \| \d+ \| "
                          r"\d+\.\d\d \|", text)) == 4
    assert len(re.findall(r"\n\| yardstick \| .* \| — \|", text)) == 2
    data = dict(re.findall(r"\n\| tiny \| (sections|large) \| --years 2024 --scale 1 \| 6 \| "
                           r"(\d+) \|", text))
    assert int(data["large"]) < int(data["sections"])  # few large files
    assert "## Cost in proportion to the change" in text
    assert "## Targets" in text
    assert ("| twenty-year | sections, large | new release ≤ 1.25 × new release at small; "
            "peak RSS ≤ 1 GiB; publish s after a new release ≤ 1.25 × small's | size not run | "
            "not available |") in text
    assert "| small | sections, large | new release ≤ 0.25 × full | size not run |" in text
    assert "## Per-stage breakdown" in text


def _bench():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_bench_report_targets() -> None:
    """The targets, the side-by-side table and the misses on made-up runs (no subprocess)."""
    bench = _bench()

    def case(name: str, full: float, yard: float, new: float, publish_new: float,
             peak: float, unchanged: float = 0.4) -> object:
        c = bench.Case(name, "large", bench.SIZES[name][0], 10)
        c.data = {"releases": 12, "files": 30, "rows": 100_000, "cells": 600_000, "mb": 100}
        c.warehouse_mb = c.new_warehouse_mb = {"small": 170, "ten-year": 650,
                                               "twenty-year": 1300}[name]

        def timings(total: float, publish: float) -> dict:
            return {"total_s": total, "import_s": 0.1, "dagster_overhead_s": 2.0,
                    "stages": {"step:load_releases": total / 2, "step:balance_marts": total / 4,
                               bench.PUBLISH: publish},
                    "rss_mib": {"at_start": 70, "before_steps": 190,
                                "steps": {"load_releases": peak}, "after_steps": 300}}

        c.runs = {
            "full": [bench.Run(full, peak, "", timings(full, 1.5))],
            "yardstick": [bench.Run(yard, 600, "")],
            "new release": [bench.Run(new, peak * 0.8, "", timings(new, publish_new))],
            "unchanged": [bench.Run(unchanged, 110, "", {"total_s": unchanged, "skipped": True})],
            "forced": [bench.Run(new * 0.8, 400, "", timings(new * 0.8, publish_new))],
        }
        return c

    cases = [case("small", 16, 16, 3.6, 0.5, 800),
             case("ten-year", 56, 90, 4.4, 0.6, 850, unchanged=0.7),
             case("twenty-year", 110, 180, 5.0, 1.0, 1100)]
    text = bench.report(cases, 1)
    rows = {tuple(cells[:3]): cells[3:] for cells in
            (line.strip("|").split(" | ") for line in text.splitlines() if line.startswith("| "))}

    def result(size: str, target: str) -> str:
        return [v for k, v in rows.items() if k[0].strip() == size and k[2] == target][0][-1]

    assert result("small", "full ≤ 0.8 × yardstick").strip() == "MISS"  # 1.00×
    assert result("ten-year", "full ≤ 0.8 × yardstick").strip() == "PASS"  # 0.62×
    assert result("small", "new release ≤ 0.25 × full").strip() == "PASS"  # 0.225×
    assert result("ten-year", "new release ≤ 1.25 × new release at small").strip() == "PASS"
    assert result("twenty-year", "new release ≤ 1.25 × new release at small").strip() == "MISS"
    assert result("ten-year", "unchanged ≤ 0.5 s").strip() == "MISS"
    assert result("twenty-year", "peak RSS ≤ 1 GiB").strip() == "MISS"
    assert result("twenty-year", "peak RSS ≤ 1.5 × yardstick").strip() == "MISS"
    publish = [v for k, v in rows.items() if k[0].strip() == "twenty-year"
               and k[2] == "publish s after a new release ≤ 1.25 × small's"][0]
    assert publish[0] == "small 0.50 s, ten-year 0.60 s, twenty-year 1.00 s (2.00×)"
    assert publish[1].strip() == "MISS"
    assert "size not run" not in text
    # side by side: new release and publish against the small size's
    assert "| twenty-year | large | 1300 | 110.00 | 5.00 | 1.39× | 0.05× | 1.50 | 1.00 | 2.00× |" \
        in text
    misses = text.split("## Targets missed, from the profiles", 1)[1]
    assert "- small, large, full build: 16.00 s against a target of 12.80 s" in misses
    assert "- twenty-year, large, new release: 5.00 s against a target of 4.50 s" in misses
    assert "grew most from small: load_releases +0.70 s (1.80 → 2.50)" in misses
    assert "- twenty-year, large, publish after a new release: 1.00 s against 0.62 s" in misses
    assert "1300 MB against 170 MB" in misses
    assert "- ten-year, large, unchanged: 0.70 s against 0.5 s" in misses
    assert "- twenty-year, large, peak RSS: 1100 MiB against a target of 900 MiB" in misses
    assert "and 1024 MiB" in misses
    assert "ten-year, large, new release" not in misses


def test_bench_commit_ignores_its_own_output(tmp_path: Path, monkeypatch) -> None:
    """The header's commit is marked "+ uncommitted changes" for a change to what is measured,
    not for the results file the run itself rewrites."""
    bench = _bench()
    repo = tmp_path / "checkout"
    (repo / "bench").mkdir(parents=True)
    (repo / "bench" / "results.md").write_text("old\n")
    (repo / "code.py").write_text("x = 1\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                       check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    monkeypatch.setattr(bench, "ROOT", repo)
    out = repo / "bench" / "results.md"
    out.write_text("rewritten by the run\n")
    assert not bench.checkout(out).endswith("+ uncommitted changes")
    assert bench.checkout().endswith("+ uncommitted changes")  # no output named: it counts
    (repo / "code.py").write_text("x = 2\n")
    assert bench.checkout(out).endswith("+ uncommitted changes")
