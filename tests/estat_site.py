"""A local fake of e-Stat's "Commodity by Country" file listings, for testing the downloader.

The downloader scrapes HTML and follows links, so the only honest test is real HTTP against pages
shaped like www.e-stat.go.jp's. This module serves such pages from 127.0.0.1 and lets a test
publish tables, replace them with new versions, and inject the faults the real site produces
(5xx, 429, resets, truncated or slow bodies, maintenance pages, broken markup) and those of a
hostile server (a Content-Length that lies, bytes dripped slowly, redirect loops and redirects
elsewhere, broken gzip, huge pages, pagination without end).
"""

from __future__ import annotations

import html
import socket
import struct
import sys
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOUKEI, TSTAT, TCLASS1 = "00350300", "000001013141", "000001013180"
TCLASS2 = {"export": "000001013181", "import": "000001013182"}
FILES_PATH = "/en/stat-search/files"
DOWNLOAD_PATHS = ("/stat-search/file-download", "/en/stat-search/file-download")
BREAKS = ("no_csv_links", "no_update_date", "bad_update_date", "no_statinfid")
ERROR_STATUSES = (500, 502, 503, 504)
DATE_LABEL = {"en": "Update date", "ja": "公開（更新）日"}


@dataclass
class Table:
    flow: str  # "export" | "import"
    year: int
    title: str
    body: bytes  # CSV bytes to serve
    update_date: str  # "YYYY-MM-DD" as shown on the page
    stat_inf_id: str  # 12 digits
    file_id: str  # 10 digits; stays the same across versions of one table
    release_count: int  # 1 for the first version, +1 per new version
    lang: str = "en"  # "ja": Japanese update-date label


@dataclass
class Request:
    path: str
    query: dict[str, str]  # first value of each parameter
    time: float  # time.monotonic() at arrival
    headers: dict[str, str] = field(default_factory=dict)  # names canonicalised: "User-Agent"


def _check_fault(fault: Any) -> None:
    """Reject a malformed fault when it is queued, not later inside a server thread."""
    numbers = isinstance(fault, tuple) and all(isinstance(v, int | float) for v in fault[1:])
    if not (fault in (*ERROR_STATUSES, "reset", "truncate", "html", "loop", "gzip") or (
            numbers and len(fault) == 2 and fault[0] in ("429", 429, "slow", "drip", "huge"))
            or (numbers and fault[0] == "length" and len(fault) in (2, 3))
            or (isinstance(fault, tuple) and len(fault) == 2 and fault[0] == "redirect"
                and isinstance(fault[1], str))):
        raise ValueError(f"unknown fault {fault!r}")


def _year_query(flow: str, year: int, page: int) -> str:
    """The year-page query in the real site's parameter order (clients must not rely on it)."""
    return (f"page={page}&layout=datalist&toukei={TOUKEI}&tstat={TSTAT}&cycle=1&year={year}0"
            f"&month=12040606&tclass1={TCLASS1}&tclass2={TCLASS2[flow]}&result_back=1")


def _chrome(title: str, content: str) -> bytes:
    """Wrap content in header, breadcrumb and footer with unrelated links, as the real site does."""
    top = html.escape(f"{FILES_PATH}?page=1&toukei={TOUKEI}&tstat={TSTAT}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)} | e-Stat</title></head>
<body>
<header class="stat-header">
  <a href="/en" class="stat-header_logo">e-Stat</a>
  <nav><ul>
    <li><a href="/en/stat-search?page=1">Statistics Search</a></li>
    <li><a href="/en/statistics-by-theme">Statistics by Theme</a></li>
    <li><a href="/stat-search?page=1">日本語</a></li>
  </ul></nav>
</header>
<div class="stat-breadcrumb"><a href="/en">Top</a> &gt; <a href="{top}">Trade Statistics</a></div>
<main class="stat-content">
<h1>{html.escape(title)}</h1>
{content}
</main>
<footer class="stat-footer"><a href="/en/terms-of-use">Terms of Use</a>
  <p>Statistics Bureau of Japan</p></footer>
</body>
</html>
""".encode()


def _article(t: Table, breaks: set[str]) -> str:
    """One table in the real site's markup, damaged as the page's breaks ask."""
    sid = t.stat_inf_id
    lines = [
        '<article class="stat-dataset_list-item">',
        '  <div class="stat-dataset_list-body">',
        '    <ul class="stat-dataset_list-detail">',
        '      <li class="stat-dataset_list-detail-item stat-dataset_list-border-top">',
        f'        <a class="stat-link_text js-data" href="{FILES_PATH}?layout=dataset&amp;'
        f'stat_infid={sid}" data-value="{sid}">{html.escape(t.title)}</a>',
        "      </li>",
    ]
    if "no_update_date" not in breaks:
        date = "2025-13-45" if "bad_update_date" in breaks else t.update_date
        label = DATE_LABEL.get(t.lang, DATE_LABEL["en"])
        lines.append('      <li class="stat-dataset_list-detail-item"><span class="stat-title-has-'
                     f'data">{label}&nbsp;</span>{html.escape(date)}</li>')
    lines += ["    </ul>", "  </div>", '  <div class="stat-dataset_list-download">']
    if "no_csv_links" not in breaks:
        csv_sid = "" if "no_statinfid" in breaks else f"statInfId={sid}&amp;"
        data = f'data-file_id="{t.file_id}" data-release_count="{t.release_count}"'
        lines += [
            f'    <a href="/stat-search/file-download?statInfId={sid}&amp;fileKind=0" class="stat-'
            f'dl_icon stat-icon_excel js-dl" data-file_type="EXCEL" {data}><span>EXCEL</span></a>',
            f'    <a href="/stat-search/file-download?{csv_sid}fileKind=1" class="stat-dl_icon '
            f'stat-icon_csv js-dl" data-file_type="CSV" {data}><span>CSV</span></a>',
        ]
    lines += ["  </div>", "</article>"]
    return "\n".join(lines)


class FakeEstat:
    """Context manager: `with FakeEstat() as site:` serves the fake site on 127.0.0.1:<free port>.

    Tests mutate it while it runs (add tables, queue faults); every request is recorded so tests
    can assert on retries, pacing and the client's User-Agent.
    """

    def __init__(self, page_size: int = 10, host: str = "127.0.0.1") -> None:
        self.base_url = ""
        self.host = host  # another loopback address (127.0.0.2) is another host to a client
        self.page_size = page_size
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._tables: dict[tuple[str, int, Hashable], Table] = {}  # insertion order = page order
        self._live: dict[str, Table] = {}  # current stat_inf_id -> table
        self._csv_faults: dict[str, list[Any]] = {}
        self._page_faults: dict[tuple[str, int], list[Any]] = {}
        self._breaks: dict[tuple[str, int], set[str]] = {}
        self._always: dict[Any, Any] = {}  # statInfId or (flow, year) -> fault on every request
        self._endless: set[tuple[str, int]] = set()
        self._files: dict[str, bytes] = {}  # path -> body, served as text/csv
        self._next_id = 0
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None

    def add_table(self, flow: str, year: int, title: str, body: bytes | str, update_date: str,
                  *, key: Hashable | None = None, lang: str = "en") -> Table:
        """Publish a table, or a new version of it (same flow, year and key, default the title).

        A new version keeps its place and file_id but gets a new stat_inf_id, as on e-Stat, so
        the downloader must notice the old id is gone. A str body is encoded as UTF-8.
        """
        if flow not in TCLASS2:
            raise ValueError(f"flow must be 'export' or 'import', not {flow!r}")
        ident = (flow, year, title if key is None else key)
        data = body.encode() if isinstance(body, str) else bytes(body)
        with self._lock:
            self._next_id += 1
            old = self._tables.get(ident)
            table = Table(flow, year, title, data, update_date, f"{40200000 + self._next_id:012d}",
                          old.file_id if old else f"{100000 + self._next_id:010d}",
                          old.release_count + 1 if old else 1, lang)
            if old:
                del self._live[old.stat_inf_id]
            self._tables[ident] = table
            self._live[table.stat_inf_id] = table
        return table

    def tables(self, flow: str | None = None, year: int | None = None) -> list[Table]:
        """Current versions, in page order, optionally for one flow and/or year."""
        with self._lock:
            return [t for t in self._tables.values()
                    if (flow is None or t.flow == flow) and (year is None or t.year == year)]

    def fail(self, stat_inf_id: str, *faults: Any) -> None:
        """Queue faults for the next downloads of that CSV, one consumed per request, in order.

        Faults: 500/502/503/504; ("429", seconds) with Retry-After; "reset" (TCP RST, no
        response); "truncate" (half the body under the full Content-Length); ("slow", seconds)
        (body in ~20 chunks over that time); "html" (200 text/html maintenance page).
        Hostile ones: ("length", n[, delay]) (the whole body under a Content-Length n bytes off:
        n < 0 leaves -n bytes past it, sent `delay` seconds later; n > 0 closes early);
        ("drip", seconds) (the full Content-Length, then one byte every that many seconds);
        ("redirect", url) (302 to url); "loop" (302 to the same URL); "gzip" (Content-Encoding
        gzip over bytes that are not); ("huge", megabytes) (a 200 page that long, without a
        Content-Length, streamed until the client hangs up).
        """
        for f in faults:
            _check_fault(f)
        with self._lock:
            self._csv_faults.setdefault(stat_inf_id, []).extend(faults)

    def fail_page(self, flow: str, year: int, *faults: Any) -> None:
        """Same fault queue, for the year page of (flow, year), whatever the page number."""
        for f in faults:
            _check_fault(f)
        with self._lock:
            self._page_faults.setdefault((flow, year), []).extend(faults)

    def fail_always(self, ident: str | tuple[str, int], fault: Any) -> None:
        """A fault on every request, once the queue of `fail`/`fail_page` is empty: for a
        statInfId, or for the year page of (flow, year)."""
        _check_fault(fault)
        with self._lock:
            self._always[ident] = fault

    def paginate_forever(self, flow: str, year: int) -> None:
        """Pages past the last show one new table each, for ever (its CSV link is a 404)."""
        with self._lock:
            self._endless.add((flow, year))

    def put(self, path: str, body: bytes) -> str:
        """Serve `body` at `path` (a mirror's file, say); the full URL."""
        with self._lock:
            self._files[path] = bytes(body)
        return f"{self.base_url}{path}"

    def break_page(self, flow: str, year: int, how: str) -> None:
        """Persistently damage the year page's markup; see BREAKS for the kinds."""
        if how not in BREAKS:
            raise ValueError(f"how must be one of {BREAKS}, not {how!r}")
        with self._lock:
            self._breaks.setdefault((flow, year), set()).add(how)

    def csv_requests(self, stat_inf_id: str | None = None) -> list[Request]:
        """Download requests, whatever their outcome, optionally for one statInfId."""
        with self._lock:
            return [r for r in self.requests if r.path in DOWNLOAD_PATHS
                    and (stat_inf_id is None or r.query.get("statInfId") == stat_inf_id)]

    def page_requests(self) -> list[Request]:
        """Listing and year page requests."""
        with self._lock:
            return [r for r in self.requests if r.path == FILES_PATH]

    def __enter__(self) -> FakeEstat:
        self._server = _Server((self.host, 0), _Handler)
        self._server.site = self
        self.base_url = f"http://{self.host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True, name="fake-estat").start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop promptly even mid-download: abort slow bodies and wake idle keep-alive threads."""
        self._stopping.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _pop_fault(self, queues: dict[Any, list[Any]], ident: Any) -> Any:
        with self._lock:
            queue = queues.get(ident)
            return queue.pop(0) if queue else self._always.get(ident)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False  # __exit__ ends connections itself; never hang on a stuck client
    site: FakeEstat

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (often on purpose in these tests) is not an error worth printing."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.site._lock:
            self.server.site._conns.add(self.connection)

    def finish(self) -> None:
        with self.server.site._lock:
            self.server.site._conns.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        site = self.server.site
        url = urlsplit(self.path)
        query: dict[str, str] = {}
        for k, v in parse_qsl(url.query, keep_blank_values=True):
            query.setdefault(k, v)
        headers = {"-".join(p.capitalize() for p in k.split("-")): v
                   for k, v in self.headers.items()}
        with site._lock:
            site.requests.append(Request(url.path, query, time.monotonic(), headers))
        try:
            if url.path == FILES_PATH:
                self._files(site, query)
            elif url.path in DOWNLOAD_PATHS:
                self._download(site, query)
            elif url.path in site._files:
                self._send(200, site._files[url.path], "text/csv")
            else:
                self._send(404, _chrome("Not Found", "<p>The page was not found.</p>"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _files(self, site: FakeEstat, q: dict[str, str]) -> None:
        flows = {v: k for k, v in TCLASS2.items()}
        flow = flows.get(q.get("tclass2", ""))
        if (flow is None or q.get("toukei") != TOUKEI or q.get("tstat") != TSTAT
                or q.get("tclass1") != TCLASS1):
            return self._send(404, _chrome("Not Found", "<p>The page was not found.</p>"))
        if "year" not in q:
            years = sorted({t.year for t in site.tables(flow)}, reverse=True)
            items = "\n".join(
                f'  <li><a href="{FILES_PATH}?{html.escape(_year_query(flow, y, 1))}" '
                f'class="stat-item_child">{y}</a></li>' for y in years)
            body = f'<ul class="stat-item_list">\n{items}\n</ul>'
            return self._send(200, _chrome(f"Commodity by Country ({flow.title()})", body))
        y, p = q["year"], q.get("page", "1")
        if not (len(y) == 5 and y.isdigit() and y.endswith("0")) or not p.isdigit() or p == "0":
            return self._send(404, _chrome("Not Found", "<p>The page was not found.</p>"))
        year, page = int(y[:4]), int(p)
        rendered = self._year_page(site, flow, year, page)
        fault = site._pop_fault(site._page_faults, (flow, year))
        if fault is not None:
            return self._fault(fault, rendered or b"", "text/html; charset=utf-8")
        if rendered is None:
            return self._send(404, _chrome("Not Found", "<p>No files for that year.</p>"))
        self._send(200, rendered)

    def _year_page(self, site: FakeEstat, flow: str, year: int, page: int) -> bytes | None:
        tables = site.tables(flow, year)
        if not tables:
            return None
        with site._lock:
            breaks = set(site._breaks.get((flow, year), ()))
            endless = (flow, year) in site._endless
        size = max(1, site.page_size)
        pages = (len(tables) + size - 1) // size
        shown = tables[(page - 1) * size:page * size]
        if endless and page > pages:
            first = tables[0]
            shown = [Table(flow, year, first.title, b"", first.update_date,
                           f"{990000000000 + page:012d}", f"{9900000000 + page:010d}", 1)]
            pages = page + 1
        articles = "\n".join(_article(t, breaks) for t in shown)
        links = [f'  <a href="{FILES_PATH}?{html.escape(_year_query(flow, year, n))}" class="stat-'
                 f'paginate-item{" is-active" if n == page else ""}">{n}</a>'
                 for n in range(1, pages + 1)]
        if page < pages:
            links.append(f'  <a href="{FILES_PATH}?{html.escape(_year_query(flow, year, page + 1))}'
                         '" class="stat-paginate-item stat-paginate-next">next</a>')
        body = (f'<div class="stat-dataset_list">\n{articles}\n</div>\n'
                '<div class="stat-paginate">\n' + "\n".join(links) + "\n</div>")
        return _chrome(f"Commodity by Country {year} ({flow.title()})", body)

    def _download(self, site: FakeEstat, q: dict[str, str]) -> None:
        sid = q.get("statInfId", "")
        with site._lock:
            table = site._live.get(sid)
        if table is None or q.get("fileKind") != "1":
            return self._send(404, _chrome("Not Found", "<p>The file was not found.</p>"))
        extra = {"Content-Disposition": f'attachment; filename="{sid}.csv"'}
        fault = site._pop_fault(site._csv_faults, sid)
        if fault is not None:
            return self._fault(fault, table.body, "text/csv", extra)
        self._send(200, table.body, "text/csv", extra)

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              extra: dict[str, str] | None = None, length: int | None = None) -> None:
        """Send headers with the full Content-Length, so keep-alive clients stay in step."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _fault(self, fault: Any, body: bytes, ctype: str, extra: dict[str, str] | None = None
               ) -> None:
        if self._hostile(fault, body, ctype, extra):
            return
        if fault in ERROR_STATUSES:
            self._send(fault, _chrome(f"Error {fault}", f"<p>Server error {fault}.</p>"))
        elif fault == "html":
            self._send(200, _chrome("Maintenance", "<p>e-Stat is under maintenance.</p>"))
        elif fault == "reset":
            # Linger 0 makes close() send RST; close rfile first so the socket really closes now.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.connection.close()
        elif fault == "truncate":
            self.close_connection = True
            self._send(200, body[:len(body) // 2], ctype, extra, length=len(body))
            self.wfile.flush()
        elif fault[0] == "slow":
            self._send(200, b"", ctype, extra, length=len(body))
            step = max(1, -(-len(body) // 20))
            for i in range(0, len(body), step):
                if i and self.server.site._stopping.wait(fault[1] / 20):
                    self.close_connection = True
                    return
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
        else:  # ("429", seconds)
            self._send(429, _chrome("Too Many Requests", "<p>Too many requests.</p>"),
                       extra={"Retry-After": f"{fault[1]:g}"})

    def _hostile(self, fault: Any, body: bytes, ctype: str, extra: dict[str, str] | None) -> bool:
        """Serve one of the hostile faults (see FakeEstat.fail); False for any other fault."""
        stopping = self.server.site._stopping
        if fault == "loop":
            self._send(302, b"", extra={"Location": self.path})
        elif fault == "gzip":
            self._send(200, b"\x1f\x8b\x08\x00" + b"not gzip at all " * 64, ctype,
                       {**(extra or {}), "Content-Encoding": "gzip"})
        elif not isinstance(fault, tuple):
            return False
        elif fault[0] == "redirect":
            self._send(302, b"", extra={"Location": fault[1]})
        elif fault[0] == "length":
            cut = len(body) + int(fault[1])
            if fault[1] > 0:
                self.close_connection = True
                self._send(200, body, ctype, extra, length=cut)
                return True
            self._send(200, body[:cut], ctype, extra, length=cut)
            self.wfile.flush()
            if len(fault) == 3 and stopping.wait(fault[2]):
                return True
            self.wfile.write(body[cut:])
        elif fault[0] == "drip":
            self._send(200, b"", ctype, extra, length=len(body))
            for i in range(len(body)):
                if i and stopping.wait(fault[1]):
                    break
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
            self.close_connection = True
        elif fault[0] == "huge":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            block = b"<p>" + b"x" * 65530 + b"</p>\n"
            self.wfile.write(b"<!DOCTYPE html><html><body>\n")
            for _ in range(int(fault[1] * 1e6) // len(block)):
                if stopping.is_set():
                    break
                self.wfile.write(block)
        else:
            return False
        return True
