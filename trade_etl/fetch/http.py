"""A polite HTTP client for public statistics sites.

httpx, rather than requests, because it gives separate connect and read timeouts, streams a body
to disk without holding it, and reports a body cut short (fewer bytes than Content-Length) as
an error of its own (`RemoteProtocolError`) instead of returning what arrived.

Manners: one request at a time, a pause between requests, a User-Agent naming the project, and
retries with exponential backoff and jitter on connection errors, 429 (after Retry-After) and
500/502/503/504, at most `attempts` tries.
"""

from __future__ import annotations

import email.utils
import importlib.metadata
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx


def _version() -> str:
    try:
        return importlib.metadata.version("trade-etl")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"trade_etl/{_version()} (open-source warehouse of Japan's trade statistics)"
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 600.0


class FetchFailed(Exception):
    """A request that did not succeed after its retries (or that retrying cannot help)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


class Retryable(Exception):
    """Raised by a body handler when what arrived is incomplete: the request is tried again."""


@dataclass
class Manners:
    pause_s: float = 1.0  # between the end of one request and the start of the next
    attempts: int = 5
    backoff_s: float = 2.0  # first retry waits about this long, then twice as long each time
    connect_timeout_s: float = 20.0
    read_timeout_s: float = 90.0


class PoliteClient:
    """One connection pool, one request at a time, with the pause and retries above."""

    def __init__(self, manners: Manners | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.manners = manners or Manners()
        self.log = log or (lambda message: None)
        timeout = httpx.Timeout(self.manners.read_timeout_s,
                                connect=self.manners.connect_timeout_s)
        self._client = httpx.Client(timeout=timeout, follow_redirects=True,
                                    headers={"User-Agent": USER_AGENT})
        self._last_request = 0.0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait_turn(self) -> None:
        gap = self._last_request + self.manners.pause_s - time.monotonic()
        if gap > 0:
            time.sleep(gap)

    def _backoff(self, attempt: int) -> float:
        return self.manners.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)

    def get_text(self, url: str, *, missing_ok: bool = False) -> str | None:
        """A page's text; None for a 404 when `missing_ok` (e.g. a year not published yet)."""

        def read(response: httpx.Response) -> str:
            response.read()
            return response.text

        return self.request(url, read, missing_ok=missing_ok)

    def request(self, url: str, handle: Callable[[httpx.Response], object], *,
                missing_ok: bool = False):
        """GET `url` and return `handle(response)` for a 200, retrying what is worth retrying.

        `handle` receives the streaming response and may raise `Retryable`.
        """
        last = "no attempt made"
        for attempt in range(1, self.manners.attempts + 1):
            wait = 0.0
            try:
                with self._stream(url) as response:
                    if response.status_code == 200:
                        return handle(response)
                    if response.status_code == 404 and missing_ok:
                        return None
                    if response.status_code not in RETRY_STATUSES:
                        raise FetchFailed(url, f"HTTP {response.status_code}",
                                          response.status_code)
                    last = f"HTTP {response.status_code}"
                    if response.status_code == 429:
                        wait = retry_after(response.headers.get("Retry-After"))
                        if wait > MAX_RETRY_AFTER_S:
                            raise FetchFailed(url, f"HTTP 429 asking to wait {wait:.0f} s, "
                                              f"more than {MAX_RETRY_AFTER_S:.0f} s", 429)
            except Retryable as err:
                last = str(err)
            except httpx.TransportError as err:
                last = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            if attempt < self.manners.attempts:
                delay = max(wait, self._backoff(attempt))
                self.log(f"  retrying {url} in {delay:.1f} s (attempt {attempt} of "
                         f"{self.manners.attempts}: {last})")
                time.sleep(delay)
        raise FetchFailed(url, f"failed after {self.manners.attempts} attempts (last: {last})")

    @contextmanager
    def _stream(self, url: str) -> Iterator[httpx.Response]:
        self._wait_turn()
        try:
            with self._client.stream("GET", url) as response:
                yield response
        finally:
            self._last_request = time.monotonic()


def retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); 0 when absent."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
