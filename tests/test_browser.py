"""tests/browser.py: pages rendered in real headless Chromium with the network cut off; the
helper sees drawn charts, blank ones and every external request."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests import browser

MISSING = browser.missing()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
PIXEL_GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def bar_chart(title: str, values: list[int], colour: str) -> str:
    """An inline SVG laid out like vl-convert's: a white background, an axis group (domain line
    and labels), a data-mark group of bars and a title."""
    labels = "".join(f'<text x="{60 + 50 * i}" y="195" text-anchor="middle">{i}</text>'
                     for i in range(len(values)))
    bars = "".join(f'<path d="M{40 + 50 * i},{180 - v}h40v{v}h-40Z" fill="{colour}"/>'
                   for i, v in enumerate(values))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="300" height="200" '
            f'viewBox="0 0 300 200"><rect width="300" height="200" fill="white"/>'
            f'<g class="mark-group role-axis"><line x1="30" y1="180" x2="290" y2="180" '
            f'stroke="#333"/>{labels}</g><g class="mark-rect role-mark marks">{bars}</g>'
            f'<g class="mark-group role-title"><text x="150" y="15" text-anchor="middle" '
            f'font-size="13">{title}</text></g></svg>')


def page(tmp_path: Path, body: str, head: str = "", name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(f'<!doctype html><html><head><meta charset="utf-8"><title>t</title>{head}'
                    f"</head><body>{body}</body></html>", encoding="utf-8")
    return path


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_two_inline_svg_charts_render_and_load_nothing(offline_browser, tmp_path, javascript):
    html = page(tmp_path, "<h1>Trade balance</h1>"
                + bar_chart("Exports", [120, 80, 150], "#4c78a8")
                + bar_chart("Imports", [90, 140, 60, 100], "#f58518"))
    seen = offline_browser.render(html, tmp_path / "shot.png", javascript=javascript)

    assert seen.url == html.resolve().as_uri()
    assert [(c.tag, c.width, c.height) for c in seen.charts] == [("svg", 300, 200)] * 2
    # background + axis line + (bar + label) per value + title; the bars are the data marks
    assert [c.marks for c in seen.charts] == [1 + 1 + 2 * 3 + 1, 1 + 1 + 2 * 4 + 1]
    assert [c.data_marks for c in seen.charts] == [3, 4]
    assert not any(c.blank for c in seen.charts)
    assert all(c.colours > 2 for c in seen.charts)
    assert seen.requests == ()
    assert seen.console_errors == ()
    assert seen.screenshot == tmp_path / "shot.png"
    assert seen.screenshot.read_bytes().startswith(b"\x89PNG")
    assert not seen.screenshot_blank


def test_empty_svg_is_blank(offline_browser, tmp_path):
    html = page(tmp_path, "<svg width=300 height=200></svg>")
    seen = offline_browser.render(html, tmp_path / "shot.png")

    [chart] = seen.charts
    assert (chart.tag, chart.width, chart.height, chart.marks) == ("svg", 300, 200, 0)
    assert chart.colours == 1 and chart.blank
    assert seen.screenshot_blank  # a white page
    assert seen.requests == () and seen.console_errors == ()


def test_svg_with_only_a_background_or_empty_marks_is_blank(offline_browser, tmp_path):
    """vl-convert draws a white background rect first: on a white page that alone is blank, and
    so are marks with no geometry or hidden ones."""
    html = page(tmp_path, '<svg width="300" height="200"><rect width="300" height="200" '
                'fill="white"/></svg><svg width="300" height="200"><path d=""/>'
                '<rect width="0" height="0"/><text x="5" y="20"> </text>'
                '<rect width="50" height="50" fill="red" visibility="hidden"/>'
                '<defs><rect width="50" height="50"/></defs></svg>')
    seen = offline_browser.render(html, tmp_path / "shot.png")

    assert [(c.marks, c.colours, c.blank) for c in seen.charts] == [(1, 1, True), (0, 1, True)]


def test_chart_of_no_rows_is_drawn_but_has_no_data_marks(offline_browser, tmp_path):
    """Axes and a title, no bars: not blank, and `data_marks` tells."""
    html = page(tmp_path, bar_chart("Nothing", [], "#4c78a8"))
    [chart] = offline_browser.render(html, tmp_path / "shot.png").charts

    assert (chart.marks, chart.data_marks, chart.blank) == (3, 0, False)


def test_external_requests_are_recorded_and_aborted(offline_browser, tmp_path):
    html = page(tmp_path, head="<style>@import url(https://fonts.example.com/f.css);</style>"
                '<script src="https://cdn.example.org/x.js"></script>',
                body='<img src="http://example.com/a.png">' + bar_chart("A", [50], "#4c78a8"))
    seen = offline_browser.render(html, tmp_path / "shot.png")

    assert sorted(seen.requests) == ["http://example.com/a.png", "https://cdn.example.org/x.js",
                                     "https://fonts.example.com/f.css"]
    assert seen.console_errors  # the browser's own "Failed to load resource"
    [chart] = seen.charts  # the page still rendered
    assert not chart.blank


def test_other_local_files_count_as_requests(offline_browser, tmp_path):
    """A self-contained report loads nothing besides itself, not even a file beside it."""
    (tmp_path / "style.css").write_text("body { margin: 0 }")
    html = page(tmp_path, head='<link rel="stylesheet" href="style.css">',
                body=f'<img src="data:image/gif;base64,{PIXEL_GIF}">')
    seen = offline_browser.render(html, tmp_path / "shot.png")

    assert seen.requests == ((tmp_path / "style.css").resolve().as_uri(),)
    assert seen.charts == ()


def test_canvas_charts_and_script_errors(offline_browser, tmp_path):
    html = page(tmp_path, '<canvas id="drawn" width="200" height="100"></canvas>'
                '<canvas width="200" height="100"></canvas>'
                "<script>const g = document.getElementById('drawn').getContext('2d');"
                "g.fillStyle = '#4c78a8'; g.fillRect(10, 10, 80, 60);"
                "throw new Error('chart code broke');</script>")
    seen = offline_browser.render(html, tmp_path / "shot.png")

    assert [(c.tag, c.width, c.height, c.blank) for c in seen.charts] == [
        ("canvas", 200, 100, False), ("canvas", 200, 100, True)]
    assert len(seen.console_errors) == 1 and "chart code broke" in seen.console_errors[0]

    # The same page without JavaScript: neither canvas is drawn, and nothing threw.
    seen = offline_browser.render(html, tmp_path / "nojs.png", javascript=False)
    assert [c.blank for c in seen.charts] == [True, True]
    assert seen.console_errors == ()


def test_render_offline_launches_chromium_for_one_page(tmp_path):
    html = page(tmp_path, bar_chart("Balance", [30, 70], "#54a24b"))
    started = time.monotonic()
    seen = browser.render_offline(html, tmp_path / "shot.png")
    elapsed = time.monotonic() - started

    assert [c.blank for c in seen.charts] == [False]
    assert seen.requests == () and not seen.screenshot_blank
    assert elapsed < 60, f"launch + render + screenshot took {elapsed:.1f} s"


def test_an_open_browser_leaves_asyncio_alone(offline_browser, tmp_path):
    """Playwright's sync API marks its event loop as running in the thread that drives it; that
    thread is the browser's own, so asyncio (and Dagster's in-process runs) still work here."""
    offline_browser.render(page(tmp_path, bar_chart("A", [5], "#4c78a8")), tmp_path / "shot.png")
    assert asyncio._get_running_loop() is None
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
