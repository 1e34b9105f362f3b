"""A local fake of the US Census Bureau's International Trade API, for testing `trade-etl fetch
--reporter USA` over real HTTP on 127.0.0.1.

`GET /data/timeseries/intltrade/{exports,imports}/hs?get=<variables>&CTY_CODE=5880[&CTY_CODE=…]
&COMM_LVL=HS10&YEAR=2024&MONTH=01` answers, as the real API does, a JSON array of arrays whose
first row is the header: the `get` variables, then each predicate variable of the query once
(CTY_CODE again when it is also asked for), every value a string; one row per line (or one
compact line); HTTP 204 with no body when no row matches (a month not published); 400 with a
one-line `error: …` body for an unknown variable or predicate.

The figures are an in-memory table of rows (flow, cty_code, cty_name, hs10, description, year,
month, value) a test changes between fetches (`add`, `revise`). HS10 rows are the table's; the
levels HS2, HS4 and HS6 are their sums, given without COMM_LVL (every level) or when asked.
Imports give GEN_VAL_MO = value and CON_VAL_MO = value - value // 50.

Faults (`fail`): the next matching requests are answered with an HTTP status (429 with
Retry-After, 503, …; or a (status, body) pair), a body served with 200 (bytes) or a change of
the true answer (a function of the table, returning the table or bytes). `reject_comm_lvl`
makes the server refuse COMM_LVL as an unknown predicate; `compact` puts the answer on one
line. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PATH = "/data/timeseries/intltrade/{flow}/hs"
LEVELS = (2, 4, 6, 10)
VARIABLES = {
    "exports": ("CTY_CODE", "CTY_NAME", "E_COMMODITY", "E_COMMODITY_SDESC", "ALL_VAL_MO",
                "COMM_LVL", "YEAR", "MONTH"),
    "imports": ("CTY_CODE", "CTY_NAME", "I_COMMODITY", "I_COMMODITY_SDESC", "GEN_VAL_MO",
                "CON_VAL_MO", "COMM_LVL", "YEAR", "MONTH"),
}


@dataclass
class Row:
    flow: str  # exports | imports
    cty_code: str
    cty_name: str
    hs10: str
    description: str
    year: int
    month: int
    value: int  # US dollars


@dataclass
class Fault:
    answer: Any  # an HTTP status, or (status, body); bytes: a body with 200; a function:
    # the true table -> a table or bytes
    flow: str | None
    year: int | None
    month: int | None
    times: int

    def matches(self, flow: str, params: dict[str, list[str]]) -> bool:
        def one(name: str) -> int | None:
            values = params.get(name, [])
            return int(values[0]) if values and values[0].isdigit() else None

        return ((self.flow is None or self.flow == flow)
                and (self.year is None or self.year == one("YEAR"))
                and (self.month is None or self.month == one("MONTH")))


@dataclass
class Seen:
    flow: str
    params: list[tuple[str, str]]  # in the query's order, repeated ones repeated
    status: int = 0

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.params if k == name]


@dataclass
class FakeCensus:
    rows: list[Row] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    reject_comm_lvl: bool = False
    compact: bool = False
    retry_after: str = "1"  # seconds a 429 asks to wait
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the figures ---------------------------------------------------------------------------

    def add(self, flow: str, cty_code: str, hs10: str, year: int, month: int, value: int, *,
            cty_name: str = "", description: str = "") -> None:
        names = {"5880": "JAPAN", "5700": "CHINA", "4280": "GERMANY"}
        self.rows.append(Row(flow, cty_code, cty_name or names.get(cty_code, "COUNTRY"), hs10,
                             description or f"GOODS {hs10}", year, month, value))

    def revise(self, year: int, change: Callable[[Row], int]) -> None:
        """The annual revision: every row of `year` gets the value `change(row)`."""
        for row in self.rows:
            if row.year == year:
                row.value = change(row)

    def fail(self, answer: Any, *, flow: str | None = None, year: int | None = None,
             month: int | None = None, times: int = 1) -> None:
        self.faults.append(Fault(answer, flow, year, month, times))

    def _level_rows(self, flow: str, level: int) -> list[dict[str, str]]:
        """The rows of one commodity level as the API's variables (HS10: the table's rows;
        coarser: their sums by code prefix)."""
        prefix = "E" if flow == "exports" else "I"
        sums: dict[tuple, int] = defaultdict(int)
        names: dict[tuple, tuple[str, str]] = {}
        for row in self.rows:
            if row.flow != flow:
                continue
            key = (row.cty_code, row.hs10[:level], row.year, row.month)
            sums[key] += row.value
            names[key] = (row.cty_name, row.description if level == 10
                          else f"HS{level} HEADING {row.hs10[:level]}")
        out = []
        for key, value in sums.items():
            cty_code, code, year, month = key
            cty_name, description = names[key]
            record = {"CTY_CODE": cty_code, "CTY_NAME": cty_name, f"{prefix}_COMMODITY": code,
                      f"{prefix}_COMMODITY_SDESC": description, "COMM_LVL": f"HS{level}",
                      "YEAR": f"{year:04d}", "MONTH": f"{month:02d}"}
            if flow == "exports":
                record["ALL_VAL_MO"] = str(value)
            else:
                record["GEN_VAL_MO"] = str(value)
                record["CON_VAL_MO"] = str(value - value // 50)
            out.append(record)
        return out

    def answer(self, flow: str, params: list[tuple[str, str]]) -> tuple[int, Any]:
        """(status, table or error text) for a query, as the API answers it."""
        asked = [v for k, v in params if k == "get"]
        if len(asked) != 1:
            return 400, "error: missing 'get' parameter"
        variables = asked[0].split(",")
        unknown = [v for v in variables if v not in VARIABLES[flow]]
        if unknown:
            return 400, f"error: unknown variable '{unknown[0]}'"
        predicates: dict[str, list[str]] = {}
        for name, value in params:
            if name == "get":
                continue
            if name not in VARIABLES[flow] or (name == "COMM_LVL" and self.reject_comm_lvl):
                return 400, f"error: unknown predicate variable: '{name}'"
            predicates.setdefault(name, []).append(value)
        if "YEAR" not in predicates or "MONTH" not in predicates:
            return 400, "error: a time predicate (YEAR and MONTH, or time) is required"
        levels = LEVELS
        if "COMM_LVL" in predicates:
            levels = tuple(int(v[2:]) for v in predicates["COMM_LVL"]
                           if v.startswith("HS") and v[2:].isdigit())
        with self.lock:
            records = [r for level in levels for r in self._level_rows(flow, level)]
        for name, values in predicates.items():
            if name in ("YEAR", "MONTH"):
                wanted = {int(v) for v in values if v.isdigit()}
                records = [r for r in records if int(r[name]) in wanted]
            else:
                records = [r for r in records if r[name] in values]
        if not records:
            return 204, None
        header = [*variables, *predicates]
        return 200, [header, *([r[v] for v in header] for r in records)]

    def body(self, table: list) -> bytes:
        if self.compact:
            return json.dumps(table, separators=(",", ":")).encode()
        return ("[" + ",\n".join(json.dumps(row, separators=(",", ":")) for row in table)
                + "]").encode()

    # --- the server ----------------------------------------------------------------------------

    def __enter__(self) -> FakeCensus:
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
        site: FakeCensus = self.server.site  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        params = parse_qsl(url.query, keep_blank_values=True)
        flow = next((f for f in VARIABLES if url.path == PATH.format(flow=f)), "")
        seen = Seen(flow, params)
        with site.lock:
            site.requests.append(seen)
        if not flow:
            return self._send(seen, 404, b"<html>404 Not Found</html>", "text/html")
        grouped: dict[str, list[str]] = {}
        for name, value in params:
            grouped.setdefault(name, []).append(value)
        fault = None
        with site.lock:
            for candidate in site.faults:
                if candidate.times > 0 and candidate.matches(flow, grouped):
                    candidate.times -= 1
                    fault = candidate.answer
                    break
        if isinstance(fault, int):
            fault = (fault, b"<html>Service Unavailable</html>")
        if isinstance(fault, tuple):
            status, body = fault
            headers = {"Retry-After": site.retry_after} if status == 429 else {}
            return self._send(seen, status, body, "text/html", headers)
        if isinstance(fault, bytes):
            return self._send(seen, 200, fault, "application/json;charset=utf-8")
        status, table = site.answer(flow, params)
        if status == 204:
            return self._send(seen, 204, b"", "")
        if status != 200:
            return self._send(seen, status, table.encode(), "text/plain;charset=utf-8")
        if fault is not None:
            table = fault(table)
        body = table if isinstance(table, bytes) else site.body(table)
        self._send(seen, 200, body, "application/json;charset=utf-8")

    def _send(self, seen: Seen, status: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        seen.status = status
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if status != 204:
            self.wfile.write(body)
