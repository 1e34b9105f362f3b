"""A local fake of FRED's CSV download, `GET /graph/fredgraph.csv?id=<SERIES>`, for testing
`trade-etl fetch --fx` over real HTTP on 127.0.0.1.

A test publishes a series' observations (date -> rate, None for a day without one), picks the
header spelling (`DATE` as older downloads, `observation_date` as newer ones) and how a missing
value is written (empty or `.`), and queues faults per series: an HTTP status (500, 503, …) or a
body served instead of the CSV (a malformed file). Every request is recorded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PATH = "/graph/fredgraph.csv"


@dataclass
class Series:
    observations: dict[date, str | None]  # the value as FRED writes it ("142.33"), None: none
    date_header: str = "observation_date"
    missing: str = ""  # how a day without a rate is written: "" (newer files) or "." (older)


@dataclass
class FakeFred:
    series: dict[str, Series] = field(default_factory=dict)
    faults: dict[str, list[Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # the `id` of each request, in order

    def publish(self, series_id: str, observations: dict[date, str | None], *,
                date_header: str = "observation_date", missing: str = "") -> None:
        self.series[series_id] = Series(dict(sorted(observations.items())), date_header,
                                        missing)

    def fail(self, series_id: str, *faults: Any) -> None:
        """Serve these instead of the CSV on the next requests for the series: an int is an
        HTTP status, bytes a body served with 200."""
        self.faults.setdefault(series_id, []).extend(faults)

    def body(self, series_id: str) -> bytes:
        s = self.series[series_id]
        lines = [f"{s.date_header},{series_id}"]
        lines += [f"{day.isoformat()},{s.missing if value is None else value}"
                  for day, value in s.observations.items()]
        return ("\n".join(lines) + "\n").encode()

    def __enter__(self) -> FakeFred:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.site = self  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site: FakeFred = self.server.site  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        series_id = dict(parse_qsl(url.query)).get("id", "")
        site.requests.append(series_id)
        if url.path != PATH or series_id not in site.series:
            return self._send(404, b"Not Found", "text/plain")
        queue = site.faults.get(series_id)
        if queue:
            fault = queue.pop(0)
            if isinstance(fault, int):
                return self._send(fault, b"<html>Service Unavailable</html>", "text/html")
            return self._send(200, fault, "text/csv")
        self._send(200, site.body(series_id), "text/csv")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def business_days(first: date, last: date, rate, holidays: set[date] = frozenset()
                  ) -> dict[date, str | None]:
    """Weekdays from `first` to `last`: `rate(day)` (a float) or None on a holiday, as FRED
    lists a holiday (the row is there, the value empty)."""
    out: dict[date, str | None] = {}
    day = first
    while day <= last:
        if day.weekday() < 5:
            out[day] = None if day in holidays else f"{rate(day):.2f}"
        day += timedelta(days=1)
    return out
