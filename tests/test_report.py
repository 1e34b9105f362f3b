"""`trade-etl report` and the asset marts/report: the page's numbers are the marts', to the yen;
the page is self-contained; a real browser renders every chart with the network off."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import query
from trade_etl import settings
from trade_etl.app import cli

FISCAL_YEAR = 2024
FY_MONTHS = [f"{y}-{m:02d}" for y, m in
             [(FISCAL_YEAR - 2 + (k + 3) // 12, (k + 3) % 12 + 1) for k in range(36)]]


class _Page(HTMLParser):
    """The page's data tables ({chart: [{column: data-value}]}), its brief, and its tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.columns: dict[str, list[str]] = {}
        self.tags: list[tuple[str, dict]] = []
        self.brief = ""
        self._chart = None
        self._row: list[str] | None = None
        self._in_brief = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self._chart = attrs["data-chart"]
            self.tables[self._chart], self.columns[self._chart] = [], []
        elif tag == "th" and self._chart:
            self.columns[self._chart].append(attrs["data-column"])
        elif tag == "tr" and self._chart:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._row.append(attrs.get("data-value"))
        elif tag == "pre" and attrs.get("class") == "brief":
            self._in_brief = True

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.tables[self._chart].append(dict(zip(self.columns[self._chart], self._row,
                                                     strict=True)))
            self._row = None
        elif tag == "table":
            self._chart = None
        elif tag == "pre":
            self._in_brief = False

    def handle_data(self, data):
        if self._in_brief:
            self.brief += data


def _report(warehouse: Path, out: Path, *args: str) -> _Page:
    assert cli.main(["report", "--warehouse", str(warehouse), "--fiscal-year",
                     str(FISCAL_YEAR), "--out", str(out), *args]) == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    return page


def _ints(rows: list[dict], *columns: str) -> list[tuple]:
    return [tuple(int(r[c]) if c.endswith("_jpy") else r[c] for c in columns) for r in rows]


@pytest.fixture(scope="module")
def usa_report(sample_warehouse, tmp_path_factory) -> tuple[Path, _Page]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    return out, _report(sample_warehouse, out, "--partner", "USA")


def test_report_numbers_equal_the_marts(sample_warehouse, usa_report, capsys):
    wh = sample_warehouse
    _out, page = usa_report
    (usa,) = query(wh, "select country_code from ref.countries where iso3 = 'USA'")[0]
    assert set(page.tables) == {"monthly", "partners", "sectors", "revisions", "currencies"}

    monthly = page.tables["monthly"]
    world = query(wh, "select period, exports_jpy, imports_jpy, balance_jpy from "
                  "marts.balance_total where period_type = 'month' and period in "
                  "(select unnest(?)) order by period", [FY_MONTHS])
    partner = query(wh, "select period, exports_jpy, imports_jpy, balance_jpy from "
                    "marts.balance_by_partner where period_type = 'month' and partner_code = ? "
                    "and period in (select unnest(?)) order by period", [usa, FY_MONTHS])
    assert len(world) >= 24  # the sample starts in January 2023: FY2022 has its last quarter
    cols = ("period", "exports_jpy", "imports_jpy", "balance_jpy")
    assert _ints([r for r in monthly if r["trade_with"] == "World"], *cols) == world
    assert _ints([r for r in monthly if r["trade_with"] != "World"], *cols) == partner

    top = query(wh, "select partner_code, exports_jpy, imports_jpy, balance_jpy from "
                "marts.balance_by_partner where period = ? order by abs(balance_jpy) desc, "
                "partner_code limit 15", [f"FY{FISCAL_YEAR}"])
    assert _ints(page.tables["partners"], "partner_code", "exports_jpy", "imports_jpy",
                 "balance_jpy") == top

    sectors = query(wh, "select sector_code, exports_jpy, imports_jpy, balance_jpy from "
                    "marts.balance_by_partner_sector where period = ? and partner_code = ? and "
                    "sector_level = 'top'", [f"FY{FISCAL_YEAR}", usa])
    assert sorted(_ints(page.tables["sectors"], "sector_code", "exports_jpy", "imports_jpy",
                        "balance_jpy")) == sorted(sectors)
    usa_fy = query(wh, "select exports_jpy, imports_jpy, balance_jpy, balance_usd from "
                   "marts.balance_by_partner where period = ? and partner_code = ?",
                   [f"FY{FISCAL_YEAR}", usa])[0]
    assert sum(s[3] for s in sectors) == usa_fy[2]  # the nine sectors make up the balance

    # Revisions: one row per release day from the first that reports a month of the year, each
    # the year as of that day; the last is today's figure.
    days = [d for (d,) in query(
        wh, "select distinct releases.published_on from core.releases as releases where "
        "releases.published_on >= (select min(r.published_on) from core.releases as r join "
        "core.release_coverage as c using (release_id) join core.period_months as p on "
        "p.year = c.year and p.month = c.month and p.period = ?) order by 1",
        [f"FY{FISCAL_YEAR}"])]
    revisions = page.tables["revisions"]
    world_rows = [r for r in revisions if r["trade_with"] == "World"]
    assert [date.fromisoformat(r["published_on"]) for r in world_rows] == days
    assert len(days) >= 3
    for row in world_rows:
        assert _ints([row], "months_reported", "balance_jpy") == [tuple(query(
            wh, "select months_reported::varchar, balance_jpy from marts.balance_total_as_of(?) "
            "where period = ?", [date.fromisoformat(row["published_on"]),
                                 f"FY{FISCAL_YEAR}"])[0])]
    partner_rows = [r for r in revisions if r["trade_with"] != "World"]
    assert int(partner_rows[-1]["balance_jpy"]) == usa_fy[2]
    assert int(world_rows[-1]["balance_jpy"]) == query(
        wh, "select balance_jpy from marts.balance_total where period = ?",
        [f"FY{FISCAL_YEAR}"])[0][0]

    currencies = {r["trade_with"]: r for r in page.tables["currencies"]}
    usa_row = currencies.pop(next(k for k in currencies if k != "World"))
    assert int(usa_row["balance_jpy"]) == usa_fy[2]
    assert float(usa_row["balance_usd_monthly_rates"]) == usa_fy[3]  # repr round-trips
    ((published_on,),) = query(wh, "select max(published_on) from core.releases")
    _check_release_day_rate(wh, usa_row, usa_fy[2], published_on)

    # The brief at the top is the brief.
    assert cli.main(["brief", "--warehouse", str(wh), "--fiscal-year", str(FISCAL_YEAR),
                     "--partner", "USA"]) == 0
    assert page.brief.strip() == capsys.readouterr().out.strip()


def _check_release_day_rate(wh: Path, row: dict, balance_jpy: int, published_on: date) -> None:
    """The release day's rate, or the last in the week before it within its month (never
    another month's rate); none: no dollar figure."""
    rate = query(wh, "select date, jpy_per_usd from ref.fx_daily where date <= ? and "
                 "date > ? - interval 7 day and date >= date_trunc('month', ?::date) "
                 "order by date desc limit 1", [published_on, published_on, published_on])
    if not rate:
        assert row["rate_date"] is None and row["balance_usd_release_day"] is None
        return
    assert row["rate_date"] == rate[0][0].isoformat()
    assert abs(Decimal(row["balance_usd_release_day"])
               - Decimal(balance_jpy) / Decimal(str(rate[0][1]))) < Decimal("0.000001")


def test_report_with_a_commodity_adds_its_months(sample_warehouse, tmp_path, monkeypatch):
    """`--commodity 8703`: a sixth chart whose monthly rows are the 9-digit latest figures of
    the codes starting 8703 with the partner, summed by SQL; the brief on top has its lines."""
    import sys

    monkeypatch.setitem(sys.modules, "trade_etl.serve.codes", None)  # codes only
    wh = sample_warehouse
    page = _report(wh, tmp_path / "cars.html", "--partner", "US", "--commodity", "8703")
    assert set(page.tables) == {"monthly", "partners", "sectors", "revisions", "currencies",
                                "commodity"}
    expected = query(wh, "select format('{:04d}-{:02d}', year, month), "
                     "coalesce(sum(value_thousand_jpy) filter (where flow = 1), 0) * 1000, "
                     "coalesce(sum(value_thousand_jpy) filter (where flow = 2), 0) * 1000 "
                     "from core.trade_latest where starts_with(hs_code, '8703') and "
                     "country_code = '304' and (year::integer * 100 + month) between "
                     "202404 and 202503 group by all order by 1")
    assert _ints(page.tables["commodity"], "period", "exports_jpy", "imports_jpy") == [
        (m, int(e), int(i)) for m, e, i in expected]
    assert all(int(r["balance_jpy"]) == int(r["exports_jpy"]) - int(r["imports_jpy"])
               for r in page.tables["commodity"])
    assert "HS 8703 with United States of America, fiscal 2024:" in page.brief
    assert ("<h1>Japan&#x27;s trade in fiscal 2024: United States of America, HS 8703</h1>"
            in (tmp_path / "cars.html").read_text(encoding="utf-8"))


def test_report_is_self_contained(usa_report):
    out, page = usa_report
    text = out.read_text(encoding="utf-8")
    assert sum(1 for tag, _ in page.tags if tag == "svg") >= 5
    assert sum(1 for tag, attrs in page.tags if tag == "section"
               and attrs.get("class") == "chart") == 5
    assert "<script" not in text.lower()
    # Nothing the page could load: no src or href, no url(), except the SVG namespace.
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href"):
            assert not attrs.get(name, "").startswith(("http:", "https:", "//")), (tag, attrs)
    assert "url(http" not in text and "@import" not in text
    assert "Content-Security-Policy" in text


def test_report_as_of_a_date_shows_what_was_known(sample_warehouse, tmp_path):
    """As of the day FY2024 was first complete: the headline's figures, at that day's rate."""
    wh, day = sample_warehouse, date(2025, 4, 17)
    page = _report(wh, tmp_path / "early.html", "--partner", "USA", "--as-of", day.isoformat())
    known = query(wh, "select period, balance_jpy from marts.balance_total_as_of(?) where "
                  "period_type = 'month' and period in (select unnest(?)) order by period",
                  [day, FY_MONTHS])
    assert _ints([r for r in page.tables["monthly"] if r["trade_with"] == "World"], "period",
                 "balance_jpy") == known
    assert max(date.fromisoformat(r["published_on"]) for r in page.tables["revisions"]) <= day
    (usa,) = query(wh, "select country_code from ref.countries where iso3 = 'USA'")[0]
    balance = query(wh, "select balance_jpy from marts.balance_by_partner_as_of(?) where "
                    "period = ? and partner_code = ?", [day, f"FY{FISCAL_YEAR}", usa])[0][0]
    row = next(r for r in page.tables["currencies"] if r["trade_with"] == "USA")
    assert int(row["balance_jpy"]) == balance
    assert row["rate_date"] is not None  # the sample's fx_daily covers this day
    _check_release_day_rate(wh, row, balance, day)


@pytest.mark.parametrize(("args", "message"), [
    (["--fiscal-year", "1990"], "no data for fiscal 1990"),
    (["--fiscal-year", "2024", "--partner", "Atlantis"], "no partner matches 'Atlantis'"),
    (["--fiscal-year", "2024", "--as-of", "2001-01-01"], "no release published on or before"),
    (["--fiscal-year", "2024", "--as-of", "April"], "--as-of must be a date"),
])
def test_report_errors_are_one_line(sample_warehouse, tmp_path, capsys, args, message):
    out = tmp_path / "r.html"
    code = cli.main(["report", "--warehouse", str(sample_warehouse), "--out", str(out), *args])
    assert code in (1, 2)
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_report_to_an_unwritable_place_names_it(sample_warehouse, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["report", "--warehouse", str(sample_warehouse), "--fiscal-year", "2024",
                     "--out", str(blocker / "r.html")])
    assert code != 0
    err = capsys.readouterr().err
    assert str(blocker) in err and len(err.strip().splitlines()) == 1


def test_report_sensor_refreshes_the_asset_after_a_build(sample_warehouse, tmp_path,
                                                          monkeypatch):
    """After a build publishes, report_sensor requests one refresh_report run (and none on the
    next tick); the run writes the page under the reports folder and its materialisation shows
    the monthly chart as a PNG."""
    from trade_etl.app.runs import launch_report
    from trade_etl.definitions import defs

    monkeypatch.setenv(settings.WAREHOUSE_ENV, str(sample_warehouse))
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))
    assert dg.AssetKey(["marts", "report"]) not in \
        defs.resolve_job_def("build_warehouse").asset_layer.selected_asset_keys
    # The session's instance keeps no events between runs (conftest): this one does.
    instance = dg.DagsterInstance.ephemeral()
    sensor = defs.resolve_sensor_def("report_sensor")

    def tick(cursor=None):
        return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor,
                                                            definitions=defs))

    assert tick().run_requests == []  # nothing published yet
    instance.report_runless_asset_event(dg.AssetMaterialization(["warehouse", "published"]))
    first = tick()
    assert [r.job_name for r in first.run_requests] in (["refresh_report"], [None])
    assert tick(first.cursor).run_requests == []  # one run per publish

    result = launch_report(instance)
    assert result.success
    # A report drawn after the last publish: a sensor with no cursor yet (the UI's first start
    # on this instance) starts no second one.
    assert tick().run_requests == []
    (materialization,) = result.asset_materializations_for_node("marts__report")
    metadata = materialization.metadata
    page = tmp_path / "reports" / f"report_FY{FISCAL_YEAR}_USA.html"
    assert metadata["report"].value == str(page.resolve()) and page.stat().st_size > 50_000
    assert metadata["fiscal_year"].value == FISCAL_YEAR
    encoded = metadata["chart"].value.split("data:image/png;base64,", 1)[1].split(")", 1)[0]
    png = base64.b64decode(encoded)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


@pytest.mark.browser
def test_report_renders_offline_in_a_real_browser(usa_report, offline_browser, tmp_path):
    """Chromium, network off, scripts off (the page needs none): five charts drawn, each with
    data marks, and not one request for anything but the page."""
    out, _page = usa_report
    seen = offline_browser.render(out, tmp_path / "report.png", javascript=False)
    assert len(seen.charts) == 5, seen.charts
    assert [c.blank for c in seen.charts] == [False] * 5, seen.charts
    assert all(c.data_marks > 0 and c.width > 300 for c in seen.charts), seen.charts
    assert seen.requests == ()
    assert seen.console_errors == ()
    assert not seen.screenshot_blank
