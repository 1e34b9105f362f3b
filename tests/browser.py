"""A page in a real headless browser with the network cut off, for tests of HTML reports.

Debian's Chromium (/usr/bin/chromium, or $TRADE_ETL_CHROMIUM), driven by Playwright, opens a
local HTML file, takes a full-page screenshot and reports what it drew and what it tried to load::

    from tests.browser import render_offline

    page = render_offline(tmp_path / "report.html", tmp_path / "report.png")
    assert [c.blank for c in page.charts] == [False, False, False]   # three charts, all drawn
    assert all(c.data_marks > 0 for c in page.charts)   # each has bars, lines or points
    assert page.requests == ()          # self-contained: it tried to load nothing
    assert page.console_errors == ()
    assert not page.screenshot_blank

`render_offline` launches Chromium for one page (1–2 s in all); `OfflineBrowser` keeps one
running for several, each page then taking about half a second
(`with OfflineBrowser() as browser: browser.render(...)`). Tests get a session-wide one from the
`offline_browser` fixture in tests/conftest.py, which skips, saying what is missing and how to
install it, when Chromium or Playwright is not there (`missing()`).

The network is off three times over: every request is routed here, where anything but file:
(and data:, blob:, about:) is recorded and aborted; the browser context is offline; and Chromium
resolves no host name. It runs with the flags that keep it from calling Google's hosts on its
own, in a fresh empty profile (Playwright's temporary user-data-dir, one per launch; each page
gets a new context)."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_ENV = "TRADE_ETL_CHROMIUM"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = ("as root: apt-get update && apt-get install -y --no-install-recommends chromium "
                "(make test runs tests/install_chromium.sh, which does this)")
# With --headless (Playwright adds it: headless=True) as root; without the background-networking
# flags Chromium tries to reach Google's hosts at every start. Even with them, Debian's Chromium
# 156 still looks up accounts.google.com and update.googleapis.com a few times a start (seen with
# strace): the resolver rule answers every host name but localhost with "not found" inside
# Chromium, so no DNS query leaves. (What remains is its IPv6 probe, a UDP connect() to a public
# address that sends no datagram.) Pages are not affected: their requests are aborted by routing.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost")
TIMEOUT_MS = 20_000
# URL schemes that stay on this machine: let through, not counted as requests (file: URLs other
# than the page itself are counted, and loaded).
LOCAL_SCHEMES = ("data:", "blob:", "about:")
# What an <svg> chart draws with; an element counts when it has a non-empty box (and text).
_MARKS = "path, rect, line, circle, ellipse, polygon, polyline, text, image, use"
_CHARTS_JS = """(args) => {
  const [selector, marks] = args;
  return Array.from(document.querySelectorAll(selector), (el) => {
    const box = el.getBoundingClientRect();
    let drawn = 0, data = 0;
    if (el.localName === "svg") {
      for (const m of el.querySelectorAll(marks)) {
        const r = m.getBoundingClientRect();
        const style = getComputedStyle(m);
        if (!(r.width > 0 || r.height > 0) || style.visibility === "hidden") continue;
        if (m.localName === "text" && !m.textContent.trim()) continue;
        drawn += 1;
        if (m.closest(".role-mark")) data += 1;
      }
    }
    return {tag: el.localName, x: box.left + window.scrollX, y: box.top + window.scrollY,
            width: box.width, height: box.height, marks: drawn, data_marks: data};
  });
}"""
_MAX_COLOURS = 256


@dataclass(frozen=True)
class Chart:
    """One chart on the page: an <svg> (not nested in another) or a <canvas>."""

    tag: str  # "svg" or "canvas"
    width: float  # its bounding box, in CSS pixels
    height: float
    marks: int  # <svg>: path/rect/line/circle/text/... elements drawn with a non-empty box
    # ... of them, those inside a Vega data-mark group (class role-mark: bars, lines, points; not
    # the background, axes, legends or titles). A vl-convert chart of no rows has none.
    data_marks: int
    colours: int  # distinct colours in the screenshot inside its box (257: more than 256)

    @property
    def blank(self) -> bool:
        """Nothing visible: no area, a single colour on screen, or an <svg> with no marks."""
        return (self.width <= 0 or self.height <= 0 or self.colours <= 1
                or (self.tag == "svg" and self.marks == 0))


@dataclass(frozen=True)
class Rendered:
    """What `render` saw: the page's charts in document order, every URL the page tried to load
    besides itself (each was aborted, file: ones aside), console errors and uncaught exceptions,
    and the screenshot (PNG, full page)."""

    url: str
    charts: tuple[Chart, ...]
    requests: tuple[str, ...]
    console_errors: tuple[str, ...]
    screenshot: Path
    screenshot_colours: int  # distinct colours in the whole screenshot (257: more than 256)

    @property
    def screenshot_blank(self) -> bool:
        return self.screenshot_colours <= 1


def chromium_path() -> Path:
    return Path(os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)


def missing(executable: Path | None = None) -> str | None:
    """Why no page can be rendered here, naming what is missing and how to install it; None
    when Chromium (`executable`, by default `chromium_path()`) and Playwright are both there."""
    exe = Path(executable) if executable else chromium_path()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        also = f" (there is {found}: set {CHROMIUM_ENV}={found})" if found else ""
        return (f"headless browser tests need Chromium, not found at {exe}{also}; install "
                f"Debian's chromium {INSTALL_HINT}, or set {CHROMIUM_ENV} to a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("headless browser tests need the Python package playwright (the test extra): "
                "make test installs it, or .venv/bin/uv sync --extra test")
    return None


class OfflineBrowser:
    """Headless Chromium kept running for several pages; `render` gives each a fresh, offline
    browser context. Use it as a context manager, or call `close()`.

    Playwright's sync API runs in a thread of its own here: in the thread that drives it, it
    marks its event loop as running for as long as it is open, which would break asyncio.run()
    and Dagster's in-process runs in the tests' thread (and a second sync_playwright() there)."""

    def __init__(self, executable: Path | None = None):
        self._thread = None
        reason = missing(executable)
        if reason:
            raise RuntimeError(reason)
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="offline-browser")
        try:
            thread.submit(self._launch, Path(executable or chromium_path())).result()
        except BaseException:
            thread.shutdown()
            raise
        self._thread = thread

    def __enter__(self) -> OfflineBrowser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            try:
                thread.submit(self._stop).result()
            finally:
                thread.shutdown()

    def render(self, html_path: Path, screenshot: Path, *, width: int = 1280, height: int = 800,
               javascript: bool = True, charts: str = "svg:not(svg svg), canvas") -> Rendered:
        """Open `html_path` (a local file) in a `width`×`height` viewport, wait for its load
        event and fonts, write a full-page PNG screenshot to `screenshot`, and return what it saw.
        `javascript=False` renders with scripts disabled (a report that needs none); `charts` is
        the CSS selector of the chart elements."""
        if self._thread is None:
            raise RuntimeError("this OfflineBrowser is closed")
        return self._thread.submit(self._render, Path(html_path), Path(screenshot), width,
                                   height, javascript, charts).result()

    def _launch(self, executable: Path) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS),
                timeout=TIMEOUT_MS)
        except BaseException:
            self._playwright.stop()
            raise

    def _stop(self) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def _render(self, html_path: Path, screenshot: Path, width: int, height: int,
                javascript: bool, charts: str) -> Rendered:
        from PIL import Image

        url = html_path.resolve().as_uri()
        requests: list[str] = []
        errors: list[str] = []

        def record(target: str) -> None:
            if target != url and not target.startswith(LOCAL_SCHEMES) and target not in requests:
                requests.append(target)

        def route(r) -> None:
            record(r.request.url)
            if r.request.url.startswith(("file:", *LOCAL_SCHEMES)):
                r.continue_()
            else:
                r.abort("blockedbyclient")

        def console(message) -> None:
            if message.type == "error":
                where = (message.location or {}).get("url")
                errors.append(f"{message.text} ({where})" if where else message.text)

        context = self._browser.new_context(
            offline=True, java_script_enabled=javascript, service_workers="block",
            viewport={"width": width, "height": height}, device_scale_factor=1)
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", route)
            page = context.new_page()
            page.on("request", lambda request: record(request.url))
            page.on("console", console)
            page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
            page.goto(url, wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            found = page.evaluate(_CHARTS_JS, [charts, _MARKS])
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True, animations="disabled")
        finally:
            context.close()

        with Image.open(screenshot) as image:
            rgb = image.convert("RGB")
        drawn = []
        for c in found:
            left, top = max(0, int(c["x"])), max(0, int(c["y"]))
            right = min(rgb.width, int(c["x"] + c["width"] + 0.999))
            bottom = min(rgb.height, int(c["y"] + c["height"] + 0.999))
            box = rgb.crop((left, top, right, bottom)) if right > left and bottom > top else None
            inside = 0 if box is None else _colours(box)
            drawn.append(Chart(tag=c["tag"], width=c["width"], height=c["height"],
                               marks=c["marks"], data_marks=c["data_marks"], colours=inside))
        return Rendered(url=url, charts=tuple(drawn), requests=tuple(requests),
                        console_errors=tuple(errors), screenshot=screenshot,
                        screenshot_colours=_colours(rgb))


def render_offline(html_path: Path, screenshot: Path, **options) -> Rendered:
    """`OfflineBrowser().render(html_path, screenshot, **options)` in a Chromium launched for
    this page alone."""
    with OfflineBrowser() as browser:
        return browser.render(html_path, screenshot, **options)


def _colours(image) -> int:
    found = image.getcolors(_MAX_COLOURS)
    return _MAX_COLOURS + 1 if found is None else len(found)
