"""A polite, wary HTTP client for public statistics sites.

httpx, rather than requests, because it gives separate connect and read timeouts, streams a body
to disk without holding it, and reports a body cut short (fewer bytes than Content-Length) as
an error of its own (`RemoteProtocolError`) instead of returning what arrived.

Manners: one request at a time, a pause between requests, a User-Agent naming the project, and
retries with exponential backoff and jitter on connection errors, 429 (after Retry-After),
500/502/503/504 and any other httpx error, at most `attempts` tries.

Wariness (a server may be broken or hostile): every attempt has a wall-clock deadline (one for
downloads, a shorter one for pages) and, after a grace period, a minimum average rate; a
watchdog thread ends the connection when either is passed, so a server sending a byte now and
then cannot hold a fetch. A body must be exactly as long as its Content-Length: fewer bytes, or
bytes left over after it (kept by h11 or waiting on the socket), fail the attempt. Redirects
are followed here, not by httpx: at most `max_redirects` hops, only to allowed hosts, never
from https to http.
"""

from __future__ import annotations

import email.utils
import importlib.metadata
import random
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
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
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_RETRY_AFTER_S = 600.0
EXCESS_PEEK_S = 0.02  # how long to wait for bytes beyond Content-Length after the body
ESTAT_HOST = "e-stat.go.jp"


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
    deadline_s: float = 900.0  # one attempt at a download, redirects included
    page_deadline_s: float = 60.0  # one attempt at a page
    min_rate: float = 10_000.0  # bytes per second on average, once the grace is over; 0: off
    rate_grace_s: float = 30.0
    max_page_bytes: int = 8_000_000
    redirect_hosts: tuple[str, ...] = (ESTAT_HOST,)  # each allows its subdomains too
    max_redirects: int = 5


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether `host` is one of `allowed` or a subdomain of one (case and final dot ignored)."""
    host = host.lower().rstrip(".")
    for name in allowed:
        name = name.lower().strip().rstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def redirect_problem(source: str, target: str, allowed: Iterable[str]) -> str | None:
    """Why a redirect from `source` to `target` is not followed, or None to follow it."""
    src, dst = httpx.URL(source), httpx.URL(target)
    if dst.scheme not in ("http", "https"):
        return f"redirect to {target} refused: not http(s)"
    if src.scheme == "https" and dst.scheme == "http":
        return f"redirect to {target} refused: from https down to plain http"
    if dst.host != src.host and not host_allowed(dst.host, allowed):
        return (f"redirect to {target} refused: host {dst.host} is not allowed "
                "(TRADE_ETL_FETCH_REDIRECT_HOSTS)")
    return None


def cross_host_redirects(response: httpx.Response) -> list[str]:
    """The URLs a response was redirected through (its own last) when one hop changed host;
    [] when it was not redirected or stayed on one host."""
    hops = [*response.history, response]
    if len({r.url.host for r in hops}) <= 1:
        return []
    return [str(r.url) for r in hops[1:]]


class _Watch:
    """The clock of one attempt: a wall-clock deadline and a minimum average rate, checked as
    bytes arrive and by a watchdog thread, which ends the connections when the server stalls."""

    def __init__(self, deadline_s: float, min_rate: float, grace_s: float,
                 kill: Callable[[], None]) -> None:
        self.deadline_s, self.min_rate, self.grace_s = deadline_s, min_rate, grace_s
        self.start = time.monotonic()
        self.received = 0
        self.problem: str | None = None
        self._kill = kill
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fetch-watchdog")
        self._thread.start()

    def check(self) -> str | None:
        elapsed = time.monotonic() - self.start
        if elapsed > self.deadline_s:
            return f"no complete response within the deadline of {self.deadline_s:g} s"
        if self.min_rate and elapsed > self.grace_s and self.received < self.min_rate * elapsed:
            return (f"slower than the minimum rate of {self.min_rate:g} bytes/s "
                    f"({self.received} bytes in {elapsed:.0f} s)")
        return None

    def _run(self) -> None:
        step = min(0.25, self.deadline_s / 10, max(self.grace_s, 0.05))
        while not self._done.wait(step):
            problem = self.check()
            if problem:
                self.problem = problem
                self._kill()
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class _Guarded(httpx.SyncByteStream):
    """A response's raw stream, verified: exactly Content-Length bytes (none missing, none
    left over), at most `limit` bytes, and the watch's deadline and rate kept."""

    def __init__(self, response: httpx.Response, watch: _Watch, limit: int | None,
                 too_large: str) -> None:
        self._inner, self._response, self._watch, self._limit = (
            response.stream, response, watch, limit)
        self._too_large = too_large
        length = response.headers.get("Content-Length", "")
        self.expected = int(length) if length.isdigit() else None
        self.received = 0
        self._verified = False

    def __iter__(self) -> Iterator[bytes]:
        url = str(self._response.url)
        if self._limit is not None and self.expected is not None and self.expected > self._limit:
            raise FetchFailed(url, f"{self._too_large} (it announces {self.expected} bytes)")
        if self.expected == 0:
            self._verify(url)
        for chunk in self._inner:
            self.received += len(chunk)
            self._watch.received = self.received
            if self._limit is not None and self.received > self._limit:
                raise FetchFailed(url, self._too_large)
            problem = self._watch.check()
            if problem:
                raise Retryable(problem)
            if self.expected is not None and self.received >= self.expected:
                self._verify(url)  # before httpcore reads on and releases the connection
            yield chunk
        if self.expected is not None and self.received < self.expected:
            raise Retryable(f"body cut short: {self.received} of {self.expected} bytes")

    def _verify(self, url: str) -> None:
        if self._verified:
            return
        self._verified = True
        extra = self.received - self.expected + _excess(self._inner, self._response)
        if extra > 0:
            raise Retryable(f"more bytes than the {self.expected} its Content-Length "
                            f"announced (at least {extra} more)")

    def close(self) -> None:
        self._inner.close()


def _h11_state(stream: object):
    """The h11 connection beneath httpx's response stream, or None. It is reached through
    private attributes of httpx 0.28 / httpcore 1.0 (tests/test_fetch_hostile.py notices if
    that changes: the short Content-Length test then fails)."""
    node = stream
    for _ in range(8):
        state = getattr(node, "_h11_state", None)
        if state is not None:
            return state
        node = next((getattr(node, name) for name in ("_stream", "_httpcore_stream",
                                                       "_connection")
                     if getattr(node, name, None) is not None), None)
        if node is None:
            return None
    return None


def _excess(stream: object, response: httpx.Response) -> int:
    """Bytes already received beyond the current message: those h11 holds, or (on a plain
    connection) one waiting on the socket within EXCESS_PEEK_S."""
    state = _h11_state(stream)
    if state is not None and state.trailing_data[0]:
        return len(state.trailing_data[0])
    network = response.extensions.get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if sock is None or sock.fileno() == -1:
        return 0
    try:
        if network.get_extra_info("ssl_object") is not None:
            return sock.pending()  # decrypted bytes not yet read; raw bytes may be TLS records
        ready, _, _ = select.select([sock], [], [], EXCESS_PEEK_S)
        if ready:
            return len(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))  # b"": closed
    except (OSError, ValueError, AttributeError):
        return 0
    return 0


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


class PoliteClient:
    """One connection pool, one request at a time, with the pause, retries and limits above."""

    def __init__(self, manners: Manners | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.manners = manners or Manners()
        self.log = log or (lambda message: None)
        self._streams: list = []  # network streams opened, for the watchdog to end
        self._streams_lock = threading.Lock()
        self._client = self._new_client()
        self._last_request = 0.0

    def _new_client(self) -> httpx.Client:
        timeout = httpx.Timeout(self.manners.read_timeout_s,
                                connect=self.manners.connect_timeout_s)
        return httpx.Client(timeout=timeout, follow_redirects=False,
                            headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _trace(self, event: str, info: dict) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self._streams_lock:
                self._streams = [s for s in self._streams if _open(s)]
                self._streams.append(info["return_value"])

    def _kill(self) -> None:
        """End every connection of this client (from the watchdog thread): a blocked read
        returns at once. Only one request is in flight, so no other is harmed."""
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            sock = stream.get_extra_info("socket")
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain call, TLS or not
            except (OSError, TypeError):
                pass

    def _reset(self) -> None:
        """A new connection pool after a failed attempt: nothing a hostile server left in the
        old connections (bytes past a body, a half-read response) reaches the next request."""
        self._client.close()
        with self._streams_lock:
            self._streams = []
        self._client = self._new_client()

    def _wait_turn(self) -> None:
        gap = self._last_request + self.manners.pause_s - time.monotonic()
        if gap > 0:
            time.sleep(gap)

    def _backoff(self, attempt: int) -> float:
        return self.manners.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)

    def get_text(self, url: str, *, missing_ok: bool = False) -> str | None:
        """A page's text; None for a 404 when `missing_ok` (e.g. a year not published yet).
        Pages have their own deadline and a size cap, checked as the page arrives."""
        cap = self.manners.max_page_bytes
        too_large = f"page larger than the cap of {cap / 1e6:g} MB (TRADE_ETL_FETCH_MAX_PAGE_MB)"

        def read(response: httpx.Response) -> str:
            parts, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:  # decoded: a small gzip can unpack to a lot
                    raise FetchFailed(url, too_large)
                parts.append(chunk)
            return b"".join(parts).decode(response.encoding or "utf-8", errors="replace")

        return self.request(url, read, missing_ok=missing_ok, page=True, limit=cap,
                            too_large=too_large)

    def request(self, url: str, handle: Callable[[httpx.Response], object], *,
                missing_ok: bool = False, page: bool = False, limit: int | None = None,
                too_large: str = ""):
        """GET `url` and return `handle(response)` for a 200, retrying what is worth retrying.

        `handle` receives the streaming response (its body verified as it is read: see
        _Guarded) and may raise `Retryable`. `page` picks the page deadline; `limit` caps the
        body's bytes on the wire (FetchFailed saying `too_large`, not retried).
        """
        m = self.manners
        deadline = m.page_deadline_s if page else m.deadline_s
        last = "no attempt made"
        for attempt in range(1, m.attempts + 1):
            wait = 0.0
            self._wait_turn()
            watch = _Watch(deadline, m.min_rate, m.rate_grace_s, self._kill)
            try:
                with self._follow(url) as response:
                    if response.status_code == 200:
                        response.stream = _Guarded(response, watch, limit, too_large or (
                            f"larger than the cap of {limit} bytes"))
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
                last = watch.problem or str(err)
                self._reset()
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as err:
                last = watch.problem or _describe(err)
                self._reset()
            except FetchFailed:
                self._reset()
                raise
            finally:
                watch.stop()
                self._last_request = time.monotonic()
            if attempt < m.attempts:
                delay = max(wait, self._backoff(attempt))
                self.log(f"  retrying {url} in {delay:.1f} s (attempt {attempt} of "
                         f"{m.attempts}: {last})")
                time.sleep(delay)
        raise FetchFailed(url, f"failed after {m.attempts} attempts (last: {last})")

    @contextmanager
    def _follow(self, url: str) -> Iterator[httpx.Response]:
        """The response at the end of `url`'s redirects (its `history` holds the hops), or
        FetchFailed when a redirect is refused or there are too many."""
        history: list[httpx.Response] = []
        current = url
        while True:
            if history:  # the next hop waits its turn too
                self._last_request = time.monotonic()
                self._wait_turn()
            with self._client.stream("GET", current,
                                     extensions={"trace": self._trace}) as response:
                location = response.headers.get("Location")
                if response.status_code not in REDIRECT_STATUSES or location is None:
                    response.history = history
                    yield response
                    return
            if len(history) >= self.manners.max_redirects:
                raise FetchFailed(url, f"more than {self.manners.max_redirects} redirects "
                                  f"(the last to {location})")
            try:
                target = str(response.url.join(location))
            except httpx.InvalidURL:
                raise FetchFailed(url, f"redirect to an invalid URL {location!r}") from None
            problem = redirect_problem(current, target, self.manners.redirect_hosts)
            if problem:
                raise FetchFailed(url, problem)
            history.append(response)
            current = target


def _open(stream) -> bool:
    sock = stream.get_extra_info("socket")
    return sock is not None and sock.fileno() != -1


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
