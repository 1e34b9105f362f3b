"""Where a build's memory goes: the process's resident size sampled through the run, and its
peak within each Dagster step (`trade-etl build --timings`, read by `make bench`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

STATUS = Path("/proc/self/status")


def rss_bytes() -> int | None:
    """This process's resident set size now (Linux), or None where /proc is not there."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples the resident size every `interval` seconds in a daemon thread, with wall-clock
    times (those of Dagster's event log), until stopped."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        if rss_bytes() is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while True:
            rss = rss_bytes()
            if rss is not None:
                self.samples.append((time.time(), rss))
            if self._stop.wait(self.interval):
                return

    def peak_mib(self, start: float = float("-inf"), end: float = float("inf")) -> float | None:
        """The highest sample between two wall-clock times, in MiB; None with no sample."""
        inside = [rss for at, rss in self.samples if start <= at <= end]
        return round(max(inside) / 2**20, 1) if inside else None


def step_peaks(sampler: RssSampler, run_id: str, home: Path) -> dict:
    """Resident MiB when sampling began; the peak before the first step (imports, the run's
    start), in each step and after the last; the whole peak. Steps' windows come from the
    run's event log on the build's instance (in `home`; DAGSTER_HOME need not be set)."""
    import dagster as dg

    from trade_etl.app.runs import open_instance

    instance = open_instance(home)

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
             dg.DagsterEventType.STEP_FAILURE}
    started: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        key = entry.dagster_event.step_key
        if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            started[key] = entry.timestamp
        elif key in started:
            windows[key] = (started[key], entry.timestamp)
    first = min((s for s, _ in windows.values()), default=float("inf"))
    last = max((e for _, e in windows.values()), default=float("-inf"))
    steps = {key: sampler.peak_mib(s, e) for key, (s, e) in windows.items()}
    return {
        "at_start": round(sampler.samples[0][1] / 2**20, 1) if sampler.samples else None,
        "before_steps": sampler.peak_mib(end=first),
        "steps": {k: v for k, v in steps.items() if v is not None},
        "after_steps": sampler.peak_mib(start=last),
        "peak": sampler.peak_mib(),
    }
