"""`trade-etl report`: the brief as a self-contained HTML page with charts.

Every figure comes from the public marts (their `_as_of` macros with a date), as the brief's do;
the revisions chart asks all release days at once (sql/report/fiscal_year_vintages.sql), with
the same supersession. Charts are Vega-Lite specs (built with Vega-Altair) rendered to inline SVG
by vl-convert, so the page needs no script and no request to any host: a Content-Security-Policy
in the page forbids both. Each chart comes with a title, a one-line reading, its data table
(exact values in `data-value` attributes, so a reader or a test can check the chart against SQL)
and a source line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from trade_etl.db import sql_text
from trade_etl.serve.brief import (
    LATEST,
    BriefError,
    built_fiscal_start_month,
    partner_sector_rows,
    period_rates,
    write_brief,
)
from trade_etl.serve.commodity_trade import (
    Commodity,
    CommodityTrade,
    commodity_trade,
    resolve_commodity,
)
from trade_etl.serve.partners import COUNTRY, Partner
from trade_etl.serve.partners import resolve as resolve_partner
from trade_etl.text import visible, visible_tree

EXPORT_COLOUR, IMPORT_COLOUR = "#1f77b4", "#ff7f0e"
SURPLUS_COLOUR, DEFICIT_COLOUR = "#2a9d4b", "#c0392b"
SOURCE = ("Source: Ministry of Finance, Trade Statistics of Japan (customs releases on e-Stat), "
          "through trade_etl")


@dataclass
class Column:
    name: str
    label: str
    unit: str = ""  # "jpy": shown in ¥ bn; "usd": shown in $ bn; "" as it is


@dataclass
class Chart:
    """One section of the report: what is drawn, what it says, and the numbers behind it."""

    key: str
    title: str
    reading: str
    spec: dict
    columns: list[Column]
    rows: list[dict]
    source: str


@dataclass
class Report:
    title: str
    brief: str
    charts: list[Chart]


def _bn(value) -> float:
    return float(value) / 1e9


def _yen(value) -> str:
    """A yen amount for a sentence, in the unit that shows it: ¥9.01 tn, ¥512.3 bn, ¥41.2 mn."""
    value = abs(float(value))
    if value >= 1e12:
        return f"¥{value / 1e12:,.2f} tn"
    if value >= 1e9:
        return f"¥{value / 1e9:,.1f} bn"
    return f"¥{value / 1e6:,.1f} mn"


def _signed(value) -> str:
    return ("+" if value >= 0 else "-") + _yen(value)


def _spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart, with room at the sides: vl-convert measures text
    with its own fonts, and a browser's sans-serif (DejaVu Sans on Debian) is wider, so long
    labels would run off the edge."""
    return (chart.properties(padding={"left": 48, "right": 48, "top": 8, "bottom": 8})
            .configure_axis(labelLimit=240).configure_legend(labelLimit=280).to_dict())


def _fiscal_years(fiscal_year: int) -> list[str]:
    return [f"FY{year}" for year in range(fiscal_year - 2, fiscal_year + 1)]


def _query(conn: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _mart(conn, mart: str, as_of: date, where: str, params: dict, columns: str = "*",
          order: str = "") -> list[dict]:
    """Rows of marts.<mart> (the latest figures, materialised) or, with a date, of
    marts.<mart>_as_of(as_of), which has the same columns. `mart` is one of the fixed names."""
    source, bound = (f"marts.{mart}", {}) if as_of == LATEST else (
        f"marts.{mart}_as_of($as_of)", {"as_of": as_of})
    return _query(conn, f"select {columns} from {source} where {where} {order}",
                  {**params, **bound})


def _monthly(conn, fiscal_year: int, as_of: date, partner: Partner | None) -> Chart:
    """Monthly exports, imports and balance over three fiscal years, world and partner (a
    group or an area from marts.balance_by_region, its members month by month)."""
    months = ("period_type = 'month' and period in (select strftime(make_date(year, month, 1), "
              "'%Y-%m') from core.period_months where period_type = 'fiscal_year' and period in "
              "(select unnest($years)))")
    columns = "$who as trade_with, period, exports_jpy, imports_jpy, balance_jpy"
    years = {"years": _fiscal_years(fiscal_year)}
    rows = _mart(conn, "balance_total", as_of, months, {**years, "who": "World"}, columns)
    panels = ["World"]
    if partner:
        rows += _mart(conn, partner.mart, as_of, f"{months} and {partner.key_column} = $partner",
                      {**years, "who": partner.name, "partner": partner.code}, columns)
        panels.append(partner.name)
    rows.sort(key=lambda r: (panels.index(r["trade_with"]), r["period"]))

    import altair as alt

    def panel(who: str) -> alt.LayerChart:
        data = [{"month": r["period"] + "-01", "exports": _bn(r["exports_jpy"]),
                 "imports": _bn(r["imports_jpy"]), "balance": _bn(r["balance_jpy"])}
                for r in rows if r["trade_with"] == who]
        base = alt.Chart(alt.Data(values=data)).encode(
            x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=-45)))
        bars = base.mark_bar(opacity=0.55).encode(
            y=alt.Y("balance:Q", title="¥ billion"),
            color=alt.condition("datum.balance >= 0", alt.value(SURPLUS_COLOUR),
                                alt.value(DEFICIT_COLOUR)))
        lines = base.transform_fold(["exports", "imports"], as_=["flow", "jpy_bn"]).mark_line(
            point=True).encode(
            y="jpy_bn:Q",
            stroke=alt.Stroke("flow:N", title=None, scale=alt.Scale(
                domain=["exports", "imports"], range=[EXPORT_COLOUR, IMPORT_COLOUR])))
        return alt.layer(bars, lines).properties(
            title=f"Trade with {'the world' if who == 'World' else who}", width=640, height=220)

    chart = alt.vconcat(*(panel(who) for who in panels)).resolve_scale(stroke="shared")
    last = [r for r in rows if r["trade_with"] == panels[-1]]
    reading = "No months reported."
    if last:
        biggest = max(last, key=lambda r: abs(r["balance_jpy"]))
        who = "the world" if panels[-1] == "World" else panels[-1]
        reading = (f"Bars are the monthly balance (green surplus, red deficit), lines exports "
                   f"and imports. The largest monthly balance with {who} in these three "
                   f"fiscal years was a {_word(biggest['balance_jpy'])} of "
                   f"{_yen(biggest['balance_jpy'])} in {biggest['period']}.")
    return Chart(
        "monthly", f"Monthly trade, fiscal {fiscal_year - 2} to {fiscal_year}", reading,
        _spec(chart),
        [Column("trade_with", "Trade with"), Column("period", "Month"),
         Column("exports_jpy", "Exports", "jpy"), Column("imports_jpy", "Imports", "jpy"),
         Column("balance_jpy", "Balance", "jpy")],
        rows, f"{SOURCE}: marts.balance_total and "
        f"marts.{partner.mart if partner else 'balance_by_partner'} (their _as_of macros "
        f"with --as-of), period_type 'month'.")


def _word(balance) -> str:
    return "surplus" if balance >= 0 else "deficit"


def _balance_bars(bars: list[tuple[str, int]], axis_title: str, bar_height: int):
    """Horizontal bars of balances, largest first: surplus green, deficit red."""
    import altair as alt

    data = [{"name": name, "balance": _bn(balance), "side": _word(balance)}
            for name, balance in bars]
    return alt.Chart(alt.Data(values=data)).mark_bar().encode(
        x=alt.X("balance:Q", title=axis_title),
        y=alt.Y("name:N", title=None, sort="-x"),
        color=alt.Color("side:N", title=None, scale=alt.Scale(
            domain=["surplus", "deficit"], range=[SURPLUS_COLOUR, DEFICIT_COLOUR])),
    ).properties(width=560, height=max(120, bar_height * len(data)))


def _top_partners(conn, fiscal_year: int, as_of: date, partner: Partner | None,
                  count: int = 15) -> Chart:
    rows = _mart(conn, "balance_by_partner", as_of, "period = $fy",
                 {"fy": f"FY{fiscal_year}", "n": count},
                 "partner_code, partner_name, exports_jpy, imports_jpy, balance_jpy",
                 "order by abs(balance_jpy) desc, partner_code limit $n")
    chart = _balance_bars([(r["partner_name"] or r["partner_code"], r["balance_jpy"])
                           for r in rows], "Balance, ¥ billion", 22)
    reading = "No trade reported."
    if rows:
        surplus = [r for r in rows if r["balance_jpy"] >= 0]
        deficit = [r for r in rows if r["balance_jpy"] < 0]
        parts = []
        if surplus:
            parts.append(f"Japan's largest surplus was with {surplus[0]['partner_name']} "
                         f"({_yen(surplus[0]['balance_jpy'])})")
        if deficit:
            parts.append(f"its largest deficit with {deficit[0]['partner_name']} "
                         f"({_yen(deficit[0]['balance_jpy'])})")
        reading = "; ".join(parts) + "."
        if (partner and partner.kind == COUNTRY
                and all(r["partner_code"] != partner.code for r in rows)):
            reading += f" {partner.name} is not among the {count} largest balances."
    return Chart(
        "partners", f"Balance by partner, fiscal {fiscal_year} (the {count} largest)", reading,
        _spec(chart),
        [Column("partner_code", "Code"), Column("partner_name", "Partner"),
         Column("exports_jpy", "Exports", "jpy"), Column("imports_jpy", "Imports", "jpy"),
         Column("balance_jpy", "Balance", "jpy")],
        rows, f"{SOURCE}: marts.balance_by_partner, period FY{fiscal_year}.")


def _sectors(conn, fiscal_year: int, as_of: date, partner: Partner | None) -> Chart:
    params = {"fy": f"FY{fiscal_year}"}
    columns = "sector_code, sector_name, exports_jpy, imports_jpy, balance_jpy"
    if partner and partner.kind != COUNTRY:  # a group's or an area's members month by month
        mart = "balance_by_partner_sector (its members' months)"
        rows = sorted(({k: r[k] for k in columns.split(", ")}
                       for r in partner_sector_rows(conn, fiscal_year, as_of, partner)
                       if r["sector_level"] == "top"),
                      key=lambda r: (-r["balance_jpy"], r["sector_code"]))
    else:
        if partner:
            mart, where, params["partner"] = ("balance_by_partner_sector",
                                              " and partner_code = $partner", partner.code)
        else:
            mart, where = "balance_by_sector", ""
        rows = _mart(conn, mart, as_of, f"period = $fy and sector_level = 'top'{where}",
                     params, columns, "order by balance_jpy desc, sector_code")
    chart = _balance_bars([(r["sector_name"], r["balance_jpy"]) for r in rows],
                          "Contribution to the balance, ¥ billion", 26)
    who = partner.name if partner else "the world"
    reading = "No trade reported."
    if rows:
        top, bottom = rows[0], rows[-1]
        reading = (f"The nine sectors sum to the balance with {who}. {top['sector_name']} "
                   f"added the most ({_signed(top['balance_jpy'])})")
        if bottom["balance_jpy"] < 0:
            reading += (f", {bottom['sector_name'].lower()} took the most away "
                        f"({_signed(bottom['balance_jpy'])})")
        reading += "."
    return Chart(
        "sectors", f"Sectors behind the balance with {who}, fiscal {fiscal_year}", reading,
        _spec(chart),
        [Column("sector_code", "Code"), Column("sector_name", "Sector"),
         Column("exports_jpy", "Exports", "jpy"), Column("imports_jpy", "Imports", "jpy"),
         Column("balance_jpy", "Balance", "jpy")],
        rows, f"{SOURCE}: marts.{mart}, sector_level 'top', period FY{fiscal_year}.")


def vintages(conn, fiscal_year: int, as_of: date, partner: Partner | None) -> list[dict]:
    """The fiscal year's trade with the world (and the partner) as known on each release day up
    to as_of, from the first day a release reports a month of it: one query for every day
    (sql/report/fiscal_year_vintages.sql), equal to the `_as_of` marts on each day."""
    rows = _query(conn, sql_text("report/fiscal_year_vintages"),
                  {"as_of": as_of, "period": f"FY{fiscal_year}",
                   "partner_kind": partner.kind if partner else None,
                   "partner_code": partner.code if partner else None})
    last_of_day = dict(conn.execute(
        "select published_on, max_by(release_id, release_seq) from core.releases "
        "where reporter = 'JPN' group by all").fetchall())
    return [{"published_on": r["day"], "release_id": last_of_day[r["day"]],
             "trade_with": partner.name if r["partner_code"] else "World",
             **{k: r[k] for k in ("months_reported", "exports_jpy", "imports_jpy",
                                  "balance_jpy")}}
            for r in rows]


def _revisions(conn, fiscal_year: int, as_of: date, partner: Partner | None) -> Chart:
    rows = vintages(conn, fiscal_year, as_of, partner)
    import altair as alt

    data = [{"published_on": r["published_on"].isoformat(), "trade_with": r["trade_with"],
             "balance": _bn(r["balance_jpy"]), "months": r["months_reported"]} for r in rows]
    chart = alt.Chart(alt.Data(values=data)).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("published_on:T", title="Release date", axis=alt.Axis(format="%Y-%m-%d",
                                                                     labelAngle=-45)),
        y=alt.Y("balance:Q", title=f"FY{fiscal_year} balance as known, ¥ billion"),
        color=alt.Color("trade_with:N", title=None),
    ).properties(width=640, height=240)
    reading = "No release reports a month of this fiscal year yet."
    series = [r for r in rows if r["trade_with"] == (partner.name if partner else "World")]
    if series:
        first, last = series[0], series[-1]
        who = partner.name if partner else "the world"
        full = [r for r in series if r["months_reported"] == 12]
        reading = (f"The balance with {who} was first published on {first['published_on']} "
                   f"({first['months_reported']} months, {_signed(first['balance_jpy'])}); "
                   f"as of {last['published_on']} it is {_signed(last['balance_jpy'])} "
                   f"({last['months_reported']} months).")
        if full:
            change = last["balance_jpy"] - full[0]["balance_jpy"]
            reading += (f" Since the year was first complete ({full[0]['published_on']}), "
                        + (f"revisions moved it by {_signed(change)}." if change else
                           "no revision changed it."))
    return Chart(
        "revisions", f"Fiscal {fiscal_year} as known at each release", reading,
        _spec(chart),
        [Column("published_on", "Release date"), Column("release_id", "Release"),
         Column("trade_with", "Trade with"), Column("months_reported", "Months"),
         Column("exports_jpy", "Exports", "jpy"), Column("imports_jpy", "Imports", "jpy"),
         Column("balance_jpy", "Balance", "jpy")],
        rows, f"{SOURCE}: the fiscal year as marts.balance_total_as_of and "
        f"marts.{partner.mart if partner else 'balance_by_partner'}_as_of give it on each "
        f"release's publication date, period FY{fiscal_year}.")


def _currencies(conn, fiscal_year: int, as_of: date, partner: Partner | None) -> Chart:
    release = conn.execute("select published_on from core.releases where published_on <= $d "
                           "and reporter = 'JPN' order by release_seq desc limit 1",
                           {"d": as_of}).fetchall()
    rates = period_rates(conn, f"FY{fiscal_year}", as_of, release[0][0]) if release else None
    spot = rates.spot if rates else None
    marts = [("World", "balance_total", "", {})]
    if partner:
        marts.append((partner.label, partner.mart, f" and {partner.key_column} = $p",
                      {"p": partner.code}))
    rows = []
    for who, mart, where, extra in marts:
        found = _mart(conn, mart, as_of, f"period = $fy{where}",
                      {"fy": f"FY{fiscal_year}", **extra}, "balance_jpy, balance_usd")
        if found:
            balance_jpy, balance_usd = found[0]["balance_jpy"], found[0]["balance_usd"]
            rows.append({
                "trade_with": who, "balance_jpy": balance_jpy,
                "balance_usd_monthly_rates": balance_usd,
                "rate_date": spot[0] if spot else None,
                "jpy_per_usd": spot[1] if spot else None,
                "rate_source": spot[2] if spot else None,
                "daily_series_end": rates.daily_end if rates else None,
                "monthly_series_end": rates.monthly_end if rates else None,
                "balance_usd_release_day": (Decimal(balance_jpy) / Decimal(str(spot[1]))).quantize(
                    Decimal("0.000001")) if spot else None,
            })
    import altair as alt

    yen = [{"trade_with": r["trade_with"], "value": _bn(r["balance_jpy"]) / 1000} for r in rows]
    usd = [{"trade_with": r["trade_with"], "rate": label, "value": _bn(r[key])}
           for r in rows for key, label in (("balance_usd_monthly_rates", "monthly average"),
                                            ("balance_usd_release_day", "release day"))
           if r[key] is not None]
    order = [r["trade_with"] for r in rows]
    left = alt.Chart(alt.Data(values=yen)).mark_bar(color="#555").encode(
        x=alt.X("trade_with:N", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title="Balance, ¥ trillion"),
    ).properties(width=200, height=220, title="In yen")
    right = alt.Chart(alt.Data(values=usd)).mark_bar().encode(
        x=alt.X("trade_with:N", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
        xOffset="rate:N",
        y=alt.Y("value:Q", title="Balance, $ billion"),
        color=alt.Color("rate:N", title="Dollar rate"),
    ).properties(width=260, height=220, title="In dollars")
    chart = alt.hconcat(left, right)
    reading = "No trade reported."
    if rows:
        r = rows[-1]
        who = partner.name if partner else "the world"
        monthly = r["balance_usd_monthly_rates"]
        dollars = []
        if monthly is not None:
            dollars.append(f"${abs(_bn(monthly)):,.1f} bn at each month's average rate "
                           f"{rates.monthly_label()}")
        if spot:
            dollars.append(f"${abs(_bn(r['balance_usd_release_day'])):,.1f} bn "
                           f"{rates.spot_label()}")
        reading = (f"The {_word(r['balance_jpy'])} with {who} of {_yen(r['balance_jpy'])} is "
                   + (" and ".join(dollars) if dollars else "not in dollars") + ".")
        note = rates.missing_note() if rates else None
        if note:
            reading += f" {note[0].upper()}{note[1:]}."
    return Chart(
        "currencies", f"Fiscal {fiscal_year} in yen and in dollars", reading, _spec(chart),
        [Column("trade_with", "Trade with"), Column("balance_jpy", "Balance", "jpy"),
         Column("balance_usd_monthly_rates", "Balance at monthly average rates", "usd"),
         Column("balance_usd_release_day", "Balance at the release-day rate", "usd"),
         Column("jpy_per_usd", "Yen per dollar (release day)"), Column("rate_date", "Rate date"),
         Column("rate_source", "Rate source"),
         Column("daily_series_end", "Daily rates to"),
         Column("monthly_series_end", "Monthly rates to")],
        rows, f"{SOURCE}: marts balance_usd (each month at its average rate, ref.fx_monthly) and "
        f"balance_jpy at the latest release day's rate (ref.fx_daily); rates: FRED DEXJPUS and "
        f"EXJPUS, Board of Governors of the Federal Reserve System (H.10).")


def _commodity(conn, fiscal_year: int, as_of: date, partner: Partner | None,
               commodity: Commodity) -> Chart:
    """The commodity's monthly exports, imports and balance with the partner (or the world)
    in the fiscal year, summed from the 9-digit figures (commodity_trade.py), and its share of
    the partner's trade."""
    release = conn.execute("select published_on from core.releases where published_on <= $d "
                           "order by release_seq desc limit 1", {"d": as_of}).fetchall()
    months = period_rates(conn, f"FY{fiscal_year}", as_of, release[0][0]).months
    trade: CommodityTrade = commodity_trade(conn, commodity, partner, months, as_of)
    rows = [{"period": m["period"], "exports_jpy": m["exports_jpy"],
             "imports_jpy": m["imports_jpy"], "balance_jpy": m["exports_jpy"] - m["imports_jpy"],
             "exports_usd": m["exports_usd"], "imports_usd": m["imports_usd"]}
            for m in trade.months]
    who = partner.name if partner else "the world"
    if partner:
        whole = _mart(conn, partner.mart, as_of, f"period = $fy and {partner.key_column} = $p",
                      {"fy": f"FY{fiscal_year}", "p": partner.code}, "exports_jpy, imports_jpy")
    else:
        whole = _mart(conn, "balance_total", as_of, "period = $fy", {"fy": f"FY{fiscal_year}"},
                      "exports_jpy, imports_jpy")

    import altair as alt

    data = [{"month": r["period"] + "-01", "exports": _bn(r["exports_jpy"]),
             "imports": _bn(r["imports_jpy"]), "balance": _bn(r["balance_jpy"])} for r in rows]
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=-45)))
    bars = base.mark_bar(opacity=0.55, size=24).encode(  # a year's months: wider bars
        y=alt.Y("balance:Q", title="¥ billion"),
        color=alt.condition("datum.balance >= 0", alt.value(SURPLUS_COLOUR),
                            alt.value(DEFICIT_COLOUR)))
    lines = base.transform_fold(["exports", "imports"], as_=["flow", "jpy_bn"]).mark_line(
        point=True).encode(
        y="jpy_bn:Q",
        stroke=alt.Stroke("flow:N", title=None, scale=alt.Scale(
            domain=["exports", "imports"], range=[EXPORT_COLOUR, IMPORT_COLOUR])))
    chart = alt.layer(bars, lines).properties(
        title=f"{commodity.title}: trade with {who}", width=640, height=220)
    reading = f"No trade in {commodity.title} with {who} reported in these months."
    if trade.exports_jpy or trade.imports_jpy:
        exports, imports = trade.exports_jpy, trade.imports_jpy
        shares = ""
        if whole and (whole[0]["exports_jpy"] or whole[0]["imports_jpy"]):
            total = whole[0]["exports_jpy"] + whole[0]["imports_jpy"]
            shares = (f", {100 * (exports + imports) / total:.1f}% of Japan's trade"
                      + (f" with {who}" if partner else ""))
        peak = max(rows, key=lambda r: abs(r["balance_jpy"]))
        reading = (f"In fiscal {fiscal_year} Japan exported {_yen(exports)} and imported "
                   f"{_yen(imports)} of {commodity.title} with {who}: a "
                   f"{_word(trade.balance_jpy)} of {_yen(trade.balance_jpy)}{shares}. The "
                   f"largest monthly balance was a {_word(peak['balance_jpy'])} of "
                   f"{_yen(peak['balance_jpy'])} in {peak['period']}.")
    return Chart(
        "commodity", f"{commodity.title} with {who}, fiscal {fiscal_year}", reading,
        _spec(chart),
        [Column("period", "Month"), Column("exports_jpy", "Exports", "jpy"),
         Column("imports_jpy", "Imports", "jpy"), Column("balance_jpy", "Balance", "jpy"),
         Column("exports_usd", "Exports", "usd"), Column("imports_usd", "Imports", "usd")],
        rows, f"{SOURCE}: marts.quantity_by_hs_code (its _as_of macro with --as-of), the "
        f"9-digit codes starting {commodity.code} summed over units, period_type 'month'"
        + (f", {partner.name}'s members month by month" if partner and partner.kind != COUNTRY
           else "") + "; dollars at each month's average rate (ref.fx_monthly).")


def has_both_sides(conn, fiscal_year: int, as_of: date, partner: Partner | None) -> bool:
    """Whether the partner is the United States and both sides report a month of the year
    (marts.mirror_balance): then the brief adds `--mirror`'s block and the report its chart."""
    if partner is None or partner.kind != COUNTRY or partner.iso3 != "USA":
        return False
    return bool(_mart(conn, "mirror_balance", as_of, "period = $fy and direction = 'balance'",
                      {"fy": f"FY{fiscal_year}"}, "period"))


def _both_sides(conn, fiscal_year: int, as_of: date) -> Chart:
    """Japan's surplus with the US month by month on each side's figures, and the fiscal year's
    gap as a waterfall from Japan's figure to the US's through its parts (docs/mirror.md)."""
    import altair as alt

    months = _mart(conn, "mirror_balance", as_of,
                   "period_type = 'month' and direction = 'balance' and period in (select "
                   "strftime(make_date(year, month, 1), '%Y-%m') from core.period_months where "
                   "period_type = 'fiscal_year' and period = $fy)", {"fy": f"FY{fiscal_year}"},
                   "period, japan_value_usd, us_value_usd, gap_usd, currency_usd, "
                   "valuation_usd, timing_usd, unexplained_usd", "order by period")
    year = _mart(conn, "mirror_balance", as_of, "period = $fy and direction = 'balance'",
                 {"fy": f"FY{fiscal_year}"}, "japan_value_usd, us_value_usd, gap_usd, "
                 "currency_usd, valuation_usd, timing_usd, unexplained_usd")[0]
    lines = [{"month": r["period"], "side": side, "value": _bn(r[key])} for r in months
             for side, key in (("Japan's figures", "japan_value_usd"),
                               ("US figures", "us_value_usd")) if r[key] is not None]
    left = alt.Chart(alt.Data(values=lines)).mark_line(point=True).encode(
        x=alt.X("month:O", title=None),
        y=alt.Y("value:Q", title="Japan's surplus with the US, $ billion"),
        color=alt.Color("side:N", title=None),
    ).properties(width=320, height=220, title="The two balances by month")
    steps, level = [], _bn(year["japan_value_usd"] or 0)
    steps.append({"step": "Japan's figure", "start": 0.0, "end": level, "kind": "figure"})
    for part in ("currency", "valuation", "timing", "unexplained"):
        change = -_bn(year[f"{part}_usd"] or 0)  # from Japan's figure towards the US's
        steps.append({"step": f"− {part}", "start": level, "end": level + change,
                      "kind": "part"})
        level += change
    steps.append({"step": "US figure", "start": 0.0, "end": _bn(year["us_value_usd"] or 0),
                  "kind": "figure"})
    order = [s["step"] for s in steps]
    right = alt.Chart(alt.Data(values=steps)).mark_bar().encode(
        x=alt.X("step:N", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("start:Q", title="$ billion"), y2="end:Q",
        color=alt.Color("kind:N", title=None, scale=alt.Scale(
            domain=["figure", "part"], range=["#555", "#9c6ade"]), legend=None),
    ).properties(width=340, height=220, title=f"Fiscal {fiscal_year}: from one to the other")
    parts = sorted(("currency", "valuation", "timing", "unexplained"),
                   key=lambda p: -abs(float(year[f"{p}_usd"] or 0)))
    japan, us = _bn(year["japan_value_usd"] or 0), _bn(year["us_value_usd"])
    reading = (f"In fiscal {fiscal_year} Japan's figures show a {_word(japan)} with the US of "
               f"${abs(japan):,.1f} bn and the US Census Bureau's a "
               f"{'deficit' if us >= 0 else 'surplus'} with Japan of ${abs(us):,.1f} bn (each "
               f"month at its average rate); the largest reason for the difference is "
               f"{parts[0]} (${_bn(year[parts[0] + '_usd']):+,.1f} bn).")
    rows = [{"period": r["period"], **{k: r[k] for k in r if k != "period"}} for r in months]
    rows.append({"period": f"FY{fiscal_year}", **year})
    return Chart(
        "both_sides", f"Both sides: Japan's figures and the US's, fiscal {fiscal_year}", reading,
        _spec(alt.hconcat(left, right).resolve_scale(color="independent")),
        [Column("period", "Period"), Column("japan_value_usd", "Japan's surplus (Japan)", "usd"),
         Column("us_value_usd", "US deficit (US Census Bureau)", "usd"),
         Column("gap_usd", "Gap", "usd"), Column("currency_usd", "Currency", "usd"),
         Column("valuation_usd", "Valuation", "usd"), Column("timing_usd", "Timing", "usd"),
         Column("unexplained_usd", "Unexplained", "usd")],
        rows, f"{SOURCE}; U.S. Census Bureau, International Trade API (reporter USA): "
        "marts.mirror_balance (docs/mirror.md).")


def build_report(conn: duckdb.DuckDBPyConnection, fiscal_year: int,
                 partner: str | Partner | None = None, as_of: date | None = None,
                 fiscal_start_month: int | None = None,
                 commodity: str | Commodity | None = None) -> Report:
    """Every chart's data, spec and reading; `render_html` draws them. `fiscal_start_month`
    defaults to the one the warehouse was built with (brief.built_fiscal_start_month). With a
    commodity, a sixth chart: its months with the partner (or the world)."""
    day = as_of or LATEST
    if fiscal_start_month is None:
        fiscal_start_month = built_fiscal_start_month(conn)
    # Names first (a usage error, exit 2), then the brief checks the data.
    resolved = resolve_partner(conn, partner) if isinstance(partner, str) else partner
    if isinstance(commodity, str):
        commodity = resolve_commodity(conn, commodity)
    both = has_both_sides(conn, fiscal_year, day, resolved)
    brief = write_brief(conn, fiscal_year, resolved, as_of, fiscal_start_month, commodity,
                        mirror=both)
    charts = [
        _monthly(conn, fiscal_year, day, resolved),
        _top_partners(conn, fiscal_year, day, resolved),
        _sectors(conn, fiscal_year, day, resolved),
        _revisions(conn, fiscal_year, day, resolved),
        _currencies(conn, fiscal_year, day, resolved),
        *([_commodity(conn, fiscal_year, day, resolved, commodity)] if commodity else []),
        *([_both_sides(conn, fiscal_year, day)] if both else []),
    ]
    title = (f"Japan's trade in fiscal {fiscal_year}" + (f": {resolved.name}" if resolved else "")
             + (f", {commodity.title}" if commodity else ""))
    return Report(visible(title), brief, [_visible_chart(chart) for chart in charts])


def _visible_chart(chart: Chart) -> Chart:
    """The chart with control characters escaped in every string of its text, spec and rows
    (a partner name with ESC made vl-convert panic, and would reach the page and the UI)."""
    return Chart(chart.key, visible(chart.title, False), visible(chart.reading, False),
                 visible_tree(chart.spec), chart.columns,
                 [visible_tree(row) for row in chart.rows], visible(chart.source, False))


def render_svg(spec: dict) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(visible_tree(spec))


def render_png(spec: dict, scale: float = 1.0) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(visible_tree(spec), scale=scale)


def _cell(value, unit: str) -> str:
    if value is None:
        return '<td class="na">n/a</td>'
    if unit in ("jpy", "usd"):
        shown = f"{_bn(value):,.1f}"
        return f'<td class="num" data-value="{value}">{shown}</td>'
    if isinstance(value, int | float | Decimal):
        return f'<td class="num" data-value="{value}">{value}</td>'
    return f'<td data-value="{html.escape(str(value))}">{html.escape(str(value))}</td>'


def _table(chart: Chart) -> str:
    suffix = {"jpy": " (¥ bn)", "usd": " ($ bn)", "": ""}
    head = "".join(f'<th data-column="{c.name}">{html.escape(c.label + suffix[c.unit])}</th>'
                   for c in chart.columns)
    body = "".join("<tr>" + "".join(_cell(row[c.name], c.unit) for c in chart.columns) + "</tr>"
                   for row in chart.rows)
    return (f'<table data-chart="{chart.key}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 980px; padding: 0 1rem; color: #222; }
pre.brief { background: #f6f6f4; padding: 1rem; white-space: pre-wrap; font-size: 0.85rem; }
section.chart { margin: 2.5rem 0; border-top: 1px solid #ddd; padding-top: 1rem; }
p.reading { font-size: 1.05rem; }
figure { margin: 0.5rem 0; overflow-x: auto; }
p.source { color: #666; font-size: 0.8rem; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; } td.num { text-align: right; }
"""


def render_html(report: Report) -> str:
    """One self-contained page: inline SVG, inline CSS, no script, no external resource."""
    sections = []
    for chart in report.charts:
        svg = render_svg(chart.spec)
        sections.append(
            f'<section class="chart" id="{chart.key}"><h2>{html.escape(chart.title)}</h2>'
            f'<p class="reading">{html.escape(chart.reading)}</p>'
            f'<figure class="chart-figure">{svg}</figure>'
            f"<details><summary>Data ({len(chart.rows)} rows)</summary>{_table(chart)}</details>"
            f'<p class="source">{html.escape(chart.source)}</p></section>')
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        # No request may leave the page: only inline styles and data: images are allowed.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; img-src data:; font-src data:">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(report.title)}</h1>"
        f'<pre class="brief">{html.escape(report.brief)}</pre></header>'
        + "".join(sections) + "</body></html>\n")


def write_report(report: Report, out: Path, flag: str = "--out",
                 warehouse: Path | None = None, config=None) -> Path:
    """Render and write the page, replacing `out` only once it is complete and only where
    trade_etl/serve/output.py allows (never the warehouse or a file it depends on); returns
    the real path written."""
    from trade_etl.serve.output import check_output, write_output

    check_output(out, flag, warehouse, config=config)  # before rendering, which takes seconds
    return write_output(out, render_html(report), flag, warehouse, config=config)


__all__ = ["BriefError", "Chart", "Report", "build_report", "render_html", "render_png",
           "vintages", "write_report"]
