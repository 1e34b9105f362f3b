"""Benchmark `trade-etl build` against the yardstick, a bare DuckDB script over the same releases.

    python bench/run.py [--sizes small,ten-year,twenty-year] [--shapes sections,large] [--rounds 3]
                        [--work bench/work] [--out bench/results.md]
                        [--yardstick ../shared/bench/reference_build.py]

Sizes (`trade-etl sample` arguments): small `--years 2023-2024 --scale 10`, ten-year
`--years 2016-2025 --scale 10` and twenty-year `--years 2006-2025 --scale 10`
(all three by default; the generator accepts these years: its calibration
source, the Ministry's yearly totals in trade_year.csv, covers 2009-2025, and 2006-2008 reuse
2009's). Each size is benchmarked in two shapes of the same rows: "sections", many
section-sized files per release (three per flow, as e-Stat lists its tables), and "large", few
large files (`trade-etl sample --shape large`: one whole-year file per flow and release, as the
Ministry's whole-year downloads, and in every fixed release the exports as a customs-office
file with a `Custom` (port) column, every row spread over 2-4 ports summing exactly to it).
Both shapes give the same facts and totals to the yen; the large one reads more lines (ports).

For each size and shape the release folders are generated once (`trade-etl sample --no-cp932
--no-confidential [--shape large]`, untimed, reused while bench/work/data/<size>-<shape>/
sample.json matches; the yardstick reads no CP932 and takes only 9-digit codes), then every
round times five scenarios of each shape in turn, each as the wall clock of one subprocess
(Python start-up and imports included) and its peak resident memory (os.wait4):

  full        `trade-etl build` into an empty warehouse;
  yardstick   `reference_build.py RAW WAREHOUSE` (../shared/bench/): the bare warehouse in
              plain DuckDB SQL (reading, quarantine, supersession, three marts), nothing else;
  new release `trade-etl build` on a copy of a warehouse that already holds every release but
              the newest one (the template, built once per size and shape: all but the two
              newest, then the second newest added by a second build, so that it has the
              working copy a user's warehouse keeps beside it after its second build), with
              the newest folder there;
  unchanged   `trade-etl build` again on the warehouse the new-release run just completed: it
              finds nothing changed (files, reference data, settings, code) and skips the run;
  forced      the same with `--force`: a whole Dagster run (every asset and check) that finds
              nothing to recompute.

The scenarios and shapes alternate within each round, so a slow spell of the machine hits all
of them. Once per size and shape the yardstick's marts (totals by partner, HS section and
overall; months, calendar years, fiscal quarters and fiscal years) are compared with the
pipeline's to the yen; a difference makes the script exit 1 after writing the results. The
builds run this checkout's code (PYTHONPATH is set to it, so a git worktree sharing another
checkout's virtualenv measures itself).

Reading the result (the issue "cost in proportion to the change"): "full / yardstick" is what
the pipeline's extra work (CP932, sectors, revisions, audit trail, checks, Dagster, atomic
publish) costs over the bare computation; a new release should cost the same whatever the
warehouse already holds, so its seconds at ten and twenty years are shown against the small
size's (same shape), and "new release / full" at the small size shows that it does work in
proportion to the release; "publish s" is the median of the build's publish step
(`step:warehouse__published` in `trade-etl build --timings`), for the full and the new-release
builds, side by side at each size: after one new release it should not grow with the
warehouse. "unchanged" is the price of a build that finds nothing to do. Times are medians over
the rounds, with min–max; peak RSS is the highest over the rounds. The per-stage tables come
from `--timings`: the loader stages (read, validate, reshape, store) run inside the step
load_releases, so the shares overlap and do not add up to 100 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
YARDSTICK = ROOT.parent / "shared" / "bench" / "reference_build.py"
TRADE_ETL = Path(sys.executable).with_name("trade-etl")
SIZES = {  # name -> `trade-etl sample` arguments; tiny is for tests/test_bench.py
    "tiny": ("2024", 1),
    "small": ("2023-2024", 10),
    "ten-year": ("2016-2025", 10),
    "twenty-year": ("2006-2025", 10),
}
SHAPES = ("sections", "large")  # `trade-etl sample --shape`
BASE = "small"  # the size a new release's cost at the larger ones is compared with
LARGER = ("ten-year", "twenty-year")
SCENARIOS = ("full", "yardstick", "new release", "unchanged", "forced")
PIPELINE = ("full", "new release", "unchanged", "forced")
PUBLISH = "step:warehouse__published"  # the publish step in `trade-etl build --timings`
# The yardstick's period labels: 2024-01, CY2024, FY2024, FY2024Q1 (the marts' period_type).
PERIOD_TYPES = ("month", "calendar_year", "fiscal_year", "fiscal_quarter")
SUMMARY = re.compile(
    r"warehouse holds (?P<releases>[\d,]+) releases, (?P<files>[\d,]+) files: "
    r"(?P<rows>[\d,]+) rows read, .*?\((?P<cells>[\d,]+) month cells\)")
GIB = 1024**3
# The targets.
FULL_VS_YARDSTICK = 0.8  # full ≤ 0.8 × yardstick, every size
NEW_VS_BASE = 1.25  # new release at ten and twenty years ≤ 1.25 × at small, same shape
NEW_VS_FULL = 0.25  # new release ≤ 0.25 × full at small
PEAK_VS_YARDSTICK = 1.5  # every size
PEAK_TWENTY_GIB = 1.0  # at twenty years
UNCHANGED_S = 0.5
PUBLISH_VS_BASE = 1.25  # publish after a new release at twenty years ≤ 1.25 × at small


@dataclass
class Run:
    """One timed subprocess."""

    seconds: float
    peak_mib: float
    stdout: str
    timings: dict | None = None


@dataclass
class Case:
    """One size in one shape: its data and every timed run."""

    name: str  # the size
    shape: str
    years: str
    scale: int
    data: dict = field(default_factory=dict)  # releases, files, MB, rows, cells
    runs: dict[str, list[Run]] = field(default_factory=lambda: {s: [] for s in SCENARIOS})
    warehouse_mb: float = 0.0  # after a full build
    new_warehouse_mb: float = 0.0  # after the new-release build
    totals: list[str] = field(default_factory=list)  # differences; empty when they agree

    @property
    def label(self) -> str:
        return f"{self.name}, {self.shape}"

    def median(self, scenario: str) -> float:
        return statistics.median(r.seconds for r in self.runs[scenario])

    def stage(self, scenario: str, stage: str) -> float | None:
        """Median seconds of a --timings stage over the scenario's runs (None: not timed)."""
        return median_of(self.runs[scenario], lambda t: t.get("stages", {}).get(stage))

    def publish(self, scenario: str) -> float | None:
        return self.stage(scenario, PUBLISH)


def median_of(runs: list[Run], pick: Callable[[dict], float | None]) -> float | None:
    values = [pick(r.timings) for r in runs if r.timings]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- running things -------------------------------------------------------------------------


def environment(**extra: str) -> dict[str, str]:
    """The subprocesses' environment: this checkout's code first on the path (a worktree that
    shares another checkout's virtualenv would otherwise run that checkout's trade_etl)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def timed(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[int, Run, str]:
    """Run cmd; return (exit code, Run, stderr). stdout and stderr are kept in log.*."""
    with open(log.with_suffix(".out"), "w") as out, open(log.with_suffix(".err"), "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    run = Run(seconds, usage.ru_maxrss / 1024, log.with_suffix(".out").read_text())
    return proc.returncode, run, log.with_suffix(".err").read_text()


def check(code: int, cmd: list[str], stderr: str) -> None:
    if code != 0:
        tail = "\n".join(stderr.splitlines()[-30:])
        sys.exit(f"error: {' '.join(map(str, cmd))} exited {code}:\n{tail}")


class Builds:
    """`trade-etl build` with --timings when this version of the command accepts it."""

    def __init__(self, run_dir: Path) -> None:
        # The releases are written before any timing starts: no file is still being copied.
        self.env = environment(DAGSTER_HOME=str(run_dir / "dagster_home"),
                               TRADE_ETL_QUIET_SECONDS="0")
        (run_dir / "dagster_home").mkdir(parents=True)
        shutil.copy(ROOT / "dagster.yaml", run_dir / "dagster_home" / "dagster.yaml")
        help_text = subprocess.run([TRADE_ETL, "build", "--help"], capture_output=True,
                                   text=True, env=self.env).stdout
        self.with_timings = "--timings" in help_text

    def run(self, raw: Path, warehouse: Path, log: Path, force: bool = False) -> Run:
        cmd = [str(TRADE_ETL), "build", "--raw-dir", str(raw), "--warehouse", str(warehouse),
               "--quiet", *(["--force"] if force else [])]
        timings = log.with_suffix(".timings.json")
        extra = ["--timings", str(timings)] if self.with_timings else []
        code, run, stderr = timed(cmd + extra, log, self.env)
        if code == 2 and "unrecognized arguments: --timings" in stderr:
            self.with_timings = False  # degrade: no breakdown, time the build without it
            return self.run(raw, warehouse, log, force)
        check(code, cmd, stderr)
        if self.with_timings and timings.exists():
            run.timings = json.loads(timings.read_text())
        return run


def _files(path: Path) -> list[Path]:
    """A warehouse and what a build keeps beside it: WAL, working copy (trade_etl/publish.py)."""
    work = path.with_name(f".{path.name}.building")
    return [path, path.with_name(path.name + ".wal"), work, work.with_name(work.name + ".wal")]


def remove_db(path: Path) -> None:
    for p in _files(path):
        p.unlink(missing_ok=True)


def copy_db(src: Path, dst: Path) -> None:
    """Copy a warehouse with its working copy, as a user's machine would have them."""
    remove_db(dst)
    for s, d in zip(_files(src), _files(dst), strict=True):
        if s.exists():
            shutil.copy(s, d)


def link_tree(src: Path, dst: Path) -> None:
    """Copy a folder as hard links (real folders: the pipeline refuses outside symlinks)."""
    shutil.copytree(src, dst, copy_function=_link)


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


# --- data -----------------------------------------------------------------------------------


def generator_sha256() -> str:
    """One hash of the sample generator: every .py and .csv under trade_etl/sample/, sorted."""
    package = ROOT / "trade_etl" / "sample"
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".csv")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def generate(work: Path, name: str, shape: str) -> Path:
    """The size's raw release folders in `shape`, generated unless the marker matches."""
    years, scale = SIZES[name]
    folder = work / "data" / f"{name}-{shape}"
    raw = folder / "raw"
    generator = generator_sha256()
    marker = {"years": years, "scale": scale, "shape": shape, "cp932": False,
              "generator_sha256": generator[:16]}
    marker_path = folder / "sample.json"
    if raw.is_dir() and marker_path.exists() and json.loads(marker_path.read_text()) == marker:
        return raw
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # The default shape is not named, so that a checkout from before --shape still runs.
    shaped = ["--shape", shape] if shape != "sections" else []
    cmd = [str(TRADE_ETL), "sample", "--out", str(raw), "--years", years, "--scale", str(scale),
           "--no-cp932", "--no-confidential", *shaped]
    print(f"generating {name}, {shape}: {' '.join(cmd[1:])}", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True, env=environment())
    check(done.returncode, cmd, done.stderr)
    marker_path.write_text(json.dumps(marker) + "\n")
    return raw


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def parse_summary(stdout: str) -> dict:
    match = SUMMARY.search(stdout)
    if not match:
        sys.exit(f"error: no summary line in the build output:\n{stdout}")
    return {k: int(v.replace(",", "")) for k, v in match.groupdict().items()}


# --- totals ---------------------------------------------------------------------------------


COMPARED = (("marts.balance_by_partner", "partner_code"),
            ("marts.balance_by_hs_section", "hs_section"),
            ("marts.balance_total", "''"))


def compare_totals(yardstick: Path, warehouse: Path, limit: int = 5) -> list[str]:
    """Differences between the yardstick's marts and the pipeline's, in yen; [] when they agree.

    Rows with no exports and no imports count as absent on both sides.
    """
    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{yardstick}' as y (read_only)")
        conn.execute(f"attach '{warehouse}' as w (read_only)")
        problems = []
        for mart, key in COMPARED:
            def norm(table: str, where: str, key: str = key) -> str:
                return (f"select period, {key}::varchar as k, "
                        f"coalesce(exports_jpy, 0)::hugeint as e, "
                        f"coalesce(imports_jpy, 0)::hugeint as i from {table} "
                        f"where {where} "
                        f"and (coalesce(exports_jpy, 0) <> 0 or coalesce(imports_jpy, 0) <> 0)")
            ours = norm("w." + mart, f"period_type in {PERIOD_TYPES}")
            theirs = norm("y." + mart, "true")
            rows = conn.sql(
                f"select period, k, y.e, y.i, w.e, w.i, count(*) over () "
                f"from ({theirs}) as y full join ({ours}) as w using (period, k) "
                f"where y.e is distinct from w.e or y.i is distinct from w.i "
                f"order by all limit {limit}").fetchall()
            compared = conn.sql(f"select count(*) from ({theirs})").fetchall()[0][0]
            if compared == 0:
                problems.append(f"{mart}: the yardstick has no rows to compare")
            for period, k, ye, yi, we, wi, n in rows:
                label = f" {key} {k}" if key != "''" else ""
                problems.append(f"{mart} ({n} rows differ): {period}{label}: "
                                f"yardstick {_pair(ye, yi)}; pipeline {_pair(we, wi)}")
        return problems
    finally:
        conn.close()


def _pair(exports: int | None, imports: int | None) -> str:
    return "no row" if exports is None else f"exports {exports}, imports {imports}"


# --- one size -------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A case's files: its raw folder, the template and the folder the new release lands in."""

    case: Case
    raw: Path
    logs: Path
    full_db: Path
    yard_db: Path
    template: Path
    incr_db: Path
    incr_raw: Path


def prepare(name: str, shape: str, work: Path, builds: Builds) -> Prepared:
    """Generate the data and build (untimed) the template: every release but the newest, in a
    folder of hard links that then receives the newest release too. The pipeline caches file
    hashes by absolute path, so the new-release build runs over that same folder, as it would
    in production."""
    years, scale = SIZES[name]
    raw = generate(work, name, shape)
    run_dir = work / "run" / f"{name}-{shape}"
    logs = run_dir / "logs"
    logs.mkdir(parents=True)
    prepared = Prepared(Case(name, shape, years, scale), raw, logs, run_dir / "full.duckdb",
                        run_dir / "yardstick.duckdb", run_dir / "template.duckdb",
                        run_dir / "incremental.duckdb", run_dir / "incr-raw")
    releases = sorted(p for p in raw.iterdir() if p.is_dir())
    prepared.incr_raw.mkdir()
    # Two builds, as a user's warehouse has had: the first publishes the file, the second
    # leaves the file it replaced beside it as the next build's working copy (a warehouse
    # only ever built once has none, so its next build copies the published file whole).
    first, second = (releases[:-2], releases[-2:-1]) if len(releases) > 2 else \
        (releases[:-1], [])
    for folder in first:
        link_tree(folder, prepared.incr_raw / folder.name)
    print(f"{name}, {shape}: building the template (all releases but {releases[-1].name}, "
          "in two builds)", file=sys.stderr)
    builds.run(prepared.incr_raw, prepared.template, logs / "template")
    for folder in second:
        link_tree(folder, prepared.incr_raw / folder.name)
        builds.run(prepared.incr_raw, prepared.template, logs / "template-2")
    link_tree(releases[-1], prepared.incr_raw / releases[-1].name)
    return prepared


def one_round(p: Prepared, r: int, builds: Builds, yardstick: Path) -> None:
    """The five scenarios of a case, once each."""
    case = p.case
    remove_db(p.full_db)
    run = builds.run(p.raw, p.full_db, p.logs / f"full-{r}")
    case.runs["full"].append(run)
    case.data = parse_summary(run.stdout)
    case.warehouse_mb = p.full_db.stat().st_size / 1e6

    remove_db(p.yard_db)
    cmd = [sys.executable, str(yardstick), str(p.raw), str(p.yard_db)]
    code, run, stderr = timed(cmd, p.logs / f"yardstick-{r}", builds.env)
    check(code, cmd, stderr)
    case.runs["yardstick"].append(run)
    if r == 1:
        case.totals = compare_totals(p.yard_db, p.full_db)

    copy_db(p.template, p.incr_db)
    case.runs["new release"].append(builds.run(p.incr_raw, p.incr_db, p.logs / f"new-{r}"))
    case.new_warehouse_mb = p.incr_db.stat().st_size / 1e6
    case.runs["unchanged"].append(builds.run(p.incr_raw, p.incr_db, p.logs / f"unchanged-{r}"))
    case.runs["forced"].append(
        builds.run(p.incr_raw, p.incr_db, p.logs / f"forced-{r}", force=True))


def bench_size(name: str, shapes: list[str], rounds: int, work: Path, builds: Builds,
               yardstick: Path) -> list[Case]:
    """Every shape of one size; within a round the shapes take turns, scenario by scenario."""
    prepared = [prepare(name, shape, work, builds) for shape in shapes]
    for r in range(1, rounds + 1):
        for p in prepared:
            print(f"{name}, {p.case.shape}: round {r}/{rounds}", file=sys.stderr)
            one_round(p, r, builds, yardstick)
    for p in prepared:
        p.case.data["mb"] = disk_mb(p.raw)
    return [p.case for p in prepared]


# --- the report -----------------------------------------------------------------------------


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def checkout(out: Path | None = None) -> str:
    """The commit measured, marked when the working tree differs from it. Taken when the run
    starts: the run rewrites `out` (results.md) after each size, which is not a change to what
    it measures."""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    ignored = [":!.venv"]  # a worktree's venv is a link
    if out is not None and out.resolve().is_relative_to(ROOT):
        ignored.append(f":!{out.resolve().relative_to(ROOT).as_posix()}")
    if git("status", "--porcelain", "--", ".", *ignored):
        commit += " + uncommitted changes"
    return commit


def machine(commit: str | None = None) -> list[str]:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kib = re.search(r"MemTotal:\s+(\d+)", meminfo)
    memory = f"{int(kib.group(1)) / 1024**2:.1f} GiB" if kib else "unknown"
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("duckdb", "polars", "dagster"))
    commit = commit or checkout()
    return [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- git commit: {commit}",
        f"- machine: {os.cpu_count()} cores{f' ({model.group(1)})' if model else ''}, "
        f"{memory} memory, {platform.system()} {platform.release()}",
        f"- python {platform.python_version()}, {versions}",
    ]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def times(value: float | None, base: float | None) -> str:
    return "—" if value is None or not base else f"{value / base:.2f}×"


def peak_mib(c: Case, scenarios: tuple[str, ...]) -> float:
    """The highest peak RSS of the scenarios' runs."""
    return max(r.peak_mib for scenario in scenarios for r in c.runs[scenario])


def find(cases: list[Case], name: str, shape: str) -> Case | None:
    return next((c for c in cases if c.name == name and c.shape == shape), None)


def case_section(c: Case) -> list[str]:
    rows = []
    for scenario in SCENARIOS:
        secs = [r.seconds for r in c.runs[scenario]]
        publish = c.publish(scenario) if scenario in PIPELINE else None
        rows.append([scenario, f"{statistics.median(secs):.2f}",
                     f"{min(secs):.2f}–{max(secs):.2f}",
                     f"{max(r.peak_mib for r in c.runs[scenario]):.0f}", seconds(publish)])
    full, yard = c.median("full"), c.median("yardstick")
    ratios = [
        ["full / yardstick", f"{full / yard:.2f}×"],
        ["new release / full", f"{c.median('new release') / full:.2f}×"],
        ["publish s: full build", seconds(c.publish("full"))],
        ["publish s: new release", seconds(c.publish("new release"))],
        ["unchanged (nothing changed: the run is skipped)", f"{c.median('unchanged'):.2f} s"],
        ["forced (a whole Dagster run with nothing to recompute)",
         f"{c.median('forced'):.2f} s"],
        ["peak RSS: pipeline / yardstick",
         f"{peak_mib(c, PIPELINE) / peak_mib(c, ('yardstick',)):.2f}×"],
        ["full build rows per second", f"{c.data['rows'] / full:,.0f}"],
        ["yardstick rows per second", f"{c.data['rows'] / yard:,.0f}"],
        ["warehouse after a full build", f"{c.warehouse_mb:.1f} MB"],
        ["marts equal the yardstick's to the yen", "yes" if not c.totals else "**NO** (below)"],
    ]
    lines = [f"## {c.label}", ""]
    lines += table(["scenario", "median s", "min–max s", "peak RSS MiB", "publish s"], rows)
    lines += table(["measure", "value"], ratios)
    if c.totals:
        lines += ["The marts differ (first differences):", ""]
        lines += [f"- {d}" for d in c.totals] + [""]
    return lines


def proportion_section(cases: list[Case]) -> list[str]:
    """A new release's cost and the publish step's at every size, side by side per shape."""
    rows = []
    for c in cases:
        base = find(cases, BASE, c.shape)
        new, full = c.median("new release"), c.median("full")
        rows.append([
            c.name, c.shape, f"{c.new_warehouse_mb:.0f}", f"{full:.2f}", f"{new:.2f}",
            times(new, base.median("new release") if base else None), f"{new / full:.2f}×",
            seconds(c.publish("full")), seconds(c.publish("new release")),
            times(c.publish("new release"), base.publish("new release") if base else None)])
    return ["## Cost in proportion to the change", "",
            f"A new release should cost the same whatever the warehouse holds: its seconds and "
            f"its publish step's against the {BASE} size's in the same shape (— when the {BASE} "
            "size was not run or a build gave no --timings).", ""] + table(
        ["size", "shape", "warehouse MB (new release)", "full s", "new release s",
         f"new × {BASE}'s", "new / full", "publish s (full)", "publish s (new release)",
         f"publish (new) × {BASE}'s"], rows)


# The targets each size carries beyond those of every size (full, unchanged, peak RSS).
SIZE_TARGETS = {
    BASE: [f"new release ≤ {NEW_VS_FULL} × full"],
    "ten-year": [f"new release ≤ {NEW_VS_BASE} × new release at {BASE}"],
    "twenty-year": [f"new release ≤ {NEW_VS_BASE} × new release at {BASE}",
                    f"peak RSS ≤ {PEAK_TWENTY_GIB:g} GiB",
                    f"publish s after a new release ≤ {PUBLISH_VS_BASE} × {BASE}'s"],
}


def targets(cases: list[Case]) -> list[str]:
    rows: list[list[str]] = []

    def add(c: Case, target: str, measured: str, ok: bool | None) -> None:
        rows.append([c.name, c.shape, target, measured,
                     "not available" if ok is None else ("PASS" if ok else "MISS")])

    for c in cases:
        full, yard = c.median("full"), c.median("yardstick")
        new, same = c.median("new release"), c.median("unchanged")
        peak, yard_peak = peak_mib(c, PIPELINE), peak_mib(c, ("yardstick",))
        base = find(cases, BASE, c.shape)
        add(c, f"full ≤ {FULL_VS_YARDSTICK} × yardstick",
            f"{full:.2f} s vs {yard:.2f} s ({full / yard:.2f}×)", full <= FULL_VS_YARDSTICK * yard)
        if c.name == BASE:
            add(c, SIZE_TARGETS[BASE][0],
                f"{new:.2f} s vs {NEW_VS_FULL * full:.2f} s ({new / full:.2f}×)",
                new <= NEW_VS_FULL * full)
        if c.name in LARGER:
            target = SIZE_TARGETS[c.name][0]
            if base is None:
                add(c, target, f"{new:.2f} s; {BASE} not run", None)
            else:
                base_new = base.median("new release")
                add(c, target, f"{new:.2f} s vs {base_new:.2f} s ({new / base_new:.2f}×)",
                    new <= NEW_VS_BASE * base_new)
        add(c, f"unchanged ≤ {UNCHANGED_S} s", f"{same:.2f} s", same <= UNCHANGED_S)
        add(c, f"peak RSS ≤ {PEAK_VS_YARDSTICK} × yardstick",
            f"{peak:.0f} MiB vs {yard_peak:.0f} MiB ({peak / yard_peak:.2f}×)",
            peak <= PEAK_VS_YARDSTICK * yard_peak)
        if c.name == "twenty-year":
            add(c, SIZE_TARGETS["twenty-year"][1], f"{peak:.0f} MiB ({peak / 1024:.2f} GiB)",
                peak * 1024**2 <= PEAK_TWENTY_GIB * GIB)
            publishes = [(n, find(cases, n, c.shape)) for n in (BASE, *LARGER)]
            measured = ", ".join(f"{n} {seconds(o.publish('new release'))} s" for n, o in publishes
                                 if o is not None)
            ours, theirs = c.publish("new release"), base.publish("new release") if base else None
            ok = None if ours is None or theirs is None else ours <= PUBLISH_VS_BASE * theirs
            add(c, SIZE_TARGETS["twenty-year"][2],
                measured + (f" ({ours / theirs:.2f}×)" if ok is not None else
                            f"; {BASE} not run" if base is None else "; no --timings"), ok)
        total = median_of(c.runs["full"], lambda t: t.get("total_s"))
        overhead = median_of(c.runs["full"], lambda t: t.get("dagster_overhead_s"))
        if total and overhead is not None:
            rows.append([c.name, c.shape, "(information) Dagster overhead of a full build",
                         f"{overhead:.2f} s of {total:.2f} s", "—"])
    shapes = list(dict.fromkeys(c.shape for c in cases))
    for name, listed in SIZE_TARGETS.items():
        if not any(c.name == name for c in cases):
            rows.append([name, ", ".join(shapes), "; ".join(listed), "size not run",
                         "not available"])
    return ["## Targets", ""] + table(["size", "shape", "target", "measured", "result"], rows)


def stage_medians(c: Case, scenario: str) -> dict[str, float]:
    """Median seconds of each --timings stage of the scenario (steps without `step:`, loader
    stages as `loader: …`), with imports and Dagster overhead."""
    runs = [r for r in c.runs[scenario] if r.timings and "stages" in r.timings]
    if not runs:
        return {}
    names = {"import_s": "imports", "dagster_overhead_s": "Dagster overhead"}
    medians = {label: statistics.median(r.timings.get(key, 0) for r in runs)
               for key, label in names.items()}
    for stage in dict.fromkeys(k for r in runs for k in r.timings.get("stages", {})):
        label = stage.removeprefix("step:") if stage.startswith("step:") else f"loader: {stage}"
        medians[label] = statistics.median(r.timings["stages"].get(stage, 0) for r in runs)
    return medians


def stages_section(c: Case, scenario: str = "full") -> list[str]:
    runs = [r for r in c.runs[scenario] if r.timings and "stages" in r.timings]
    if not runs:
        return [f"### {c.label}", "", "Per-stage breakdown not available (no --timings).", ""]
    total = statistics.median(r.timings["total_s"] for r in runs)
    medians = stage_medians(c, scenario)
    stage_names = {k for r in runs for k in r.timings.get("stages", {})}
    steps = [k for k in medians if f"step:{k}" in stage_names]
    rest = {k: medians.pop(k) for k in steps if medians[k] < 0.01 * total}
    rows = [[k, f"{v:.2f}", f"{v / total:.0%}"]
            for k, v in sorted(medians.items(), key=lambda kv: -kv[1])]
    if rest:
        rows.append([f"{len(rest)} other steps, each < 1 %", f"{sum(rest.values()):.2f}",
                     f"{sum(rest.values()) / total:.0%}"])
    rows.append(["total (in-process)", f"{total:.2f}", "100%"])
    return [f"### {c.label}", ""] + table(["stage", "median s", "share"], rows)


def memory_section(c: Case) -> list[str]:
    """Peak resident MiB of a full build before its first step, in each step (the largest
    eight) and after the last, against the yardstick's whole peak (medians over the rounds)."""
    runs = [r.timings["rss_mib"] for r in c.runs["full"] if r.timings and r.timings.get("rss_mib")]
    if not runs:
        return [f"### {c.label}", "", "Memory profile not available (no --timings).", ""]
    yard = peak_mib(c, ("yardstick",))

    def med(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    rows = [("when sampling began (Python, the CLI)", med([r.get("at_start") for r in runs])),
            ("before the first step (imports, the run's start)",
             med([r.get("before_steps") for r in runs]))]
    steps = {k: med([r["steps"].get(k) for r in runs]) for r in runs for k in r["steps"]}
    for key, value in sorted(steps.items(), key=lambda kv: -(kv[1] or 0))[:8]:
        rows.append((f"step {key}", value))
    rows.append(("after the last step (publish report, close)",
                 med([r.get("after_steps") for r in runs])))
    lines = [f"### {c.label}", "",
             f"The yardstick's whole peak: {yard:.0f} MiB; the target, "
             f"{PEAK_VS_YARDSTICK}×: {PEAK_VS_YARDSTICK * yard:.0f} MiB.", ""]
    return lines + table(["phase", "peak RSS MiB", "× yardstick"],
                         [[label, f"{v:.0f}", f"{v / yard:.2f}×"] for label, v in rows
                          if v is not None])


def _largest(medians: dict[str, float], n: int = 3) -> str:
    top = sorted(medians.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v:.2f} s" for k, v in top)


def _grown(ours: dict[str, float], theirs: dict[str, float], n: int = 3) -> str:
    """The stages that grew most from `theirs` to `ours`, with both values."""
    growth = sorted(((k, v - theirs.get(k, 0.0)) for k, v in ours.items()),
                    key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} +{d:.2f} s ({theirs.get(k, 0.0):.2f} → {ours[k]:.2f})"
                     for k, d in growth if d > 0)


def misses_section(cases: list[Case]) -> list[str]:
    """For each missed target, what the profiles above say it is made of."""
    lines: list[str] = []
    for c in cases:
        full, yard = c.median("full"), c.median("yardstick")
        new, forced = c.median("new release"), c.median("forced")
        base = find(cases, BASE, c.shape)
        full_stages, new_stages = stage_medians(c, "full"), stage_medians(c, "new release")
        if full > FULL_VS_YARDSTICK * yard:
            where = (f" Its largest stages (breakdown of a full build above): "
                     f"{_largest(full_stages, 4)}." if full_stages else "")
            lines.append(
                f"- {c.label}, full build: {full:.2f} s against a target of "
                f"{FULL_VS_YARDSTICK * yard:.2f} s ({FULL_VS_YARDSTICK} × the yardstick's "
                f"{yard:.2f} s).{where}")
        if c.name == BASE and new > NEW_VS_FULL * full:
            target = NEW_VS_FULL * full
            why = ("so the fixed cost of a run (imports, Dagster's run and its events, the "
                   "derived tables rebuilt whole, the published copy) misses on its own"
                   if forced > target else
                   f"so the new release's own work ({new - forced:.2f} s over it) makes the "
                   "difference")
            lines.append(
                f"- {c.label}, new release: {new:.2f} s against a target of {target:.2f} s "
                f"({NEW_VS_FULL} × full). A forced build, which loads nothing but runs every "
                f"step, takes {forced:.2f} s ({forced / target:.2f}× the target), {why}; its "
                "stages are in the breakdown of a new release above.")
        if c.name in LARGER and base is not None \
                and new > NEW_VS_BASE * base.median("new release"):
            base_new = base.median("new release")
            grown = _grown(new_stages, stage_medians(base, "new release"))
            lines.append(
                f"- {c.label}, new release: {new:.2f} s against a target of "
                f"{NEW_VS_BASE * base_new:.2f} s ({NEW_VS_BASE} × the {BASE} size's "
                f"{base_new:.2f} s) with a warehouse of {c.new_warehouse_mb:.0f} MB against "
                f"{base.new_warehouse_mb:.0f} MB. A forced build takes {forced:.2f} s here and "
                f"{base.median('forced'):.2f} s at {BASE}."
                + (f" The stages that grew most from {BASE}: {grown}." if grown else ""))
        same = c.median("unchanged")
        if same > UNCHANGED_S:
            lines.append(
                f"- {c.label}, unchanged: {same:.2f} s against {UNCHANGED_S} s for "
                f"{c.data['files']:,} files in {c.data['releases']:,} releases (a skipped "
                "build writes no stages to profile; its time is start-up and the check of "
                "every file against the last build).")
        if c.name == "twenty-year" and base is not None:
            ours, theirs = c.publish("new release"), base.publish("new release")
            if ours is not None and theirs is not None and ours > PUBLISH_VS_BASE * theirs:
                lines.append(
                    f"- {c.label}, publish after a new release: {ours:.2f} s against "
                    f"{PUBLISH_VS_BASE * theirs:.2f} s ({PUBLISH_VS_BASE} × the {BASE} size's "
                    f"{theirs:.2f} s): it grows with the warehouse it publishes, "
                    f"{c.new_warehouse_mb:.0f} MB against {base.new_warehouse_mb:.0f} MB "
                    f"(full builds: {seconds(c.publish('full'))} s and "
                    f"{seconds(base.publish('full'))} s).")
        peak = peak_mib(c, PIPELINE)
        yard_peak = peak_mib(c, ("yardstick",))
        over_gib = c.name == "twenty-year" and peak * 1024**2 > PEAK_TWENTY_GIB * GIB
        if peak > PEAK_VS_YARDSTICK * yard_peak or over_gib:
            profiles = [r.timings["rss_mib"] for r in c.runs["full"]
                        if r.timings and r.timings.get("rss_mib")]
            before = [p["before_steps"] for p in profiles if p.get("before_steps")]
            floor = (f" Before the first step reads any data the process holds "
                     f"{statistics.median(before):.0f} MiB "
                     f"({statistics.median(before) / yard_peak:.2f}× the yardstick's whole "
                     "peak)." if before else "")
            tops = [max(p["steps"].items(), key=lambda kv: kv[1]) for p in profiles
                    if p.get("steps")]
            top = (f" The peak is reached in step {statistics.mode(k for k, _ in tops)}."
                   if tops else "")
            limits = [f"{PEAK_VS_YARDSTICK * yard_peak:.0f} MiB ({PEAK_VS_YARDSTICK} × the "
                      "yardstick)"] if peak > PEAK_VS_YARDSTICK * yard_peak else []
            if over_gib:
                limits.append(f"{PEAK_TWENTY_GIB * 1024:.0f} MiB")
            lines.append(
                f"- {c.label}, peak RSS: {peak:.0f} MiB against a target of "
                f"{' and '.join(limits)}.{floor}{top}")
    if not lines:
        return []
    return ["## Targets missed, from the profiles", ""] + lines + [""]


def report(cases: list[Case], rounds: int, pending: list[str] | None = None,
           commit: str | None = None) -> str:
    lines = ["# trade_etl benchmark", ""] + machine(commit)
    if pending:
        lines += [f"- partial: written after each size; still to run: {', '.join(pending)}"]
    lines += [f"- rounds: {rounds}; times are subprocess wall clocks (medians)", "",
              "## Data", "",
              "Shapes: sections = three section files per flow and release; large = one "
              "whole-year file per flow and release, the fixed releases' exports by customs "
              "office (ports: more lines, the same totals).", ""]
    lines += table(
        ["size", "shape", "sample args", "releases", "files", "MB on disk", "rows read",
         "month cells"],
        [[c.name, c.shape, f"--years {c.years} --scale {c.scale}", f"{c.data['releases']}",
          f"{c.data['files']}", f"{c.data['mb']:.0f}", f"{c.data['rows']:,}",
          f"{c.data['cells']:,}"] for c in cases])
    for c in cases:
        lines += case_section(c)
    lines += proportion_section(cases)
    lines += targets(cases)
    lines += ["## Per-stage breakdown of a full build", "",
              "Loader stages run inside the step load_releases; shares overlap.", ""]
    for c in cases:
        lines += stages_section(c)
    lines += ["## Per-stage breakdown of a new release", "",
              "The newest release added to a warehouse that holds the others.", ""]
    for c in cases:
        lines += stages_section(c, "new release")
    lines += ["## Memory profile of a full build", "",
              "Resident size sampled every 20 ms in the build process; peaks by phase.", ""]
    for c in cases:
        lines += memory_section(c)
    lines += misses_section(cases)
    return "\n".join(lines)


def _listed(parser: argparse.ArgumentParser, text: str, known, what: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in known]
    if unknown or not names:
        parser.error(f"unknown {what} {unknown}" if unknown else f"no {what} given")
    return list(dict.fromkeys(names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="small,ten-year,twenty-year",
                        help="comma list of: small (2 years), ten-year, twenty-year "
                        "(default: %(default)s)")
    parser.add_argument("--shapes", default=",".join(SHAPES),
                        help="comma list of: sections (three files per flow and release), "
                        "large (whole-year and customs-office files) (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--yardstick", type=Path, default=YARDSTICK,
                        help="the bare DuckDB build to compare with (default: %(default)s)")
    args = parser.parse_args(argv)
    sizes = _listed(parser, args.sizes, SIZES, "size")
    shapes = _listed(parser, args.shapes, SHAPES, "shape")
    if args.rounds < 1:
        parser.error("--rounds must be ≥ 1")
    if not args.yardstick.is_file():
        parser.error(f"the yardstick {args.yardstick} does not exist (pass --yardstick PATH)")

    commit = checkout(args.out)
    work = args.work.resolve()
    shutil.rmtree(work / "run", ignore_errors=True)
    builds = Builds(work / "run")
    if not builds.with_timings:
        print("trade-etl build has no --timings: no per-stage breakdown", file=sys.stderr)
    # The report is rewritten after each size: a run stopped during the twenty-year size
    # (an hour and more) keeps what the smaller sizes measured.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    for number, name in enumerate(sizes, start=1):
        cases += bench_size(name, shapes, args.rounds, work, builds, args.yardstick.resolve())
        text = report(cases, args.rounds, pending=sizes[number:], commit=commit)
        args.out.write_text(text)
    print(text)
    if any(c.totals for c in cases):
        print("error: the yardstick's marts and the pipeline's differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
