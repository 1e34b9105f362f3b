"""`trade-etl brief`: the fiscal-year headline a reporter would write, from the marts.

Everything comes from the public marts and their `_as_of` macros (with the sector of each HS code
from core.hs_code_sectors, which the sector marts use), so the brief shows exactly what a user
querying the warehouse would find, as known on a given date. The partner is named as people name
it (partners.py): a country, or a group or customs area composed month by month
(marts.balance_by_region). `--commodity` adds one HS code's trade with the partner
(commodity_trade.py, from marts.quantity_by_hs_code_as_of).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from trade_etl.serve.commodity_trade import (
    Commodity,
    CommodityTrade,
    commodity_trade,
    resolve_commodity,
)
from trade_etl.serve.errors import BriefError, LookupFailed
from trade_etl.serve.mirror import mirror_lines
from trade_etl.serve.partners import COUNTRY, MEMBERS, Partner
from trade_etl.serve.partners import resolve as resolve_partner_of
from trade_etl.text import visible

LATEST = date(9999, 12, 31)
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def yen(value: float) -> str:
    """¥9.0053 tn, ¥512.3 bn."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e12:
        return f"{sign}¥{value / 1e12:.4f} tn"
    return f"{sign}¥{value / 1e9:,.1f} bn"


def dollars(value: float | None) -> str:
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value) / 1e9:,.1f} bn"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def _balance_word(balance: float) -> str:
    return "surplus" if balance >= 0 else "deficit"


@dataclass
class Figures:
    exports_jpy: int
    imports_jpy: int
    balance_jpy: int
    exports_usd: float | None
    balance_usd: float | None
    exports_yoy_pct: float | None
    imports_yoy_pct: float | None
    months_reported: int
    prior_balance_jpy: int | None

    def line(self, rates: Rates) -> list[str]:
        balance = self.balance_jpy
        change = ""
        if self.prior_balance_jpy and self.months_reported == 12:
            change = (f" ({pct(100 * (abs(balance) / abs(self.prior_balance_jpy) - 1))} y/y)"
                      if (balance >= 0) == (self.prior_balance_jpy >= 0) else
                      f" (a {_balance_word(self.prior_balance_jpy)} a year earlier)")
        parts = []
        if self.balance_usd is not None:
            parts.append(f"{dollars(abs(self.balance_usd))} at monthly average rates "
                         f"{rates.monthly_label()}")
        if rates.spot:
            parts.append(f"{dollars(abs(balance) / rates.spot[1])} {rates.spot_label()}")
        dollars_line = (f"  {_balance_word(balance)} " + "; ".join(parts) if parts else
                        "  no dollar figures (see the missing rates above)")
        return [
            f"  exports {yen(self.exports_jpy)} ({pct(self.exports_yoy_pct)} y/y), "
            f"imports {yen(self.imports_jpy)} ({pct(self.imports_yoy_pct)} y/y)",
            f"  {_balance_word(balance)} {yen(abs(balance))}{change}",
            dollars_line,
        ]


def _figures(conn: duckdb.DuckDBPyConnection, fiscal_year: int, as_of: date,
             partner: Partner | None = None) -> Figures | None:
    """The world's figures, or the partner's (a group's or an area's from
    marts.balance_by_region, composed month by month)."""
    macro = f"{partner.mart}_as_of" if partner else "balance_total_as_of"
    where = "period = $period" + (f" and {partner.key_column} = $partner" if partner else "")
    params: dict = {"as_of": as_of}
    if partner:
        params["partner"] = partner.code
    query = (f"select exports_jpy, imports_jpy, balance_jpy, exports_usd, balance_usd, "
             f"exports_yoy_pct, imports_yoy_pct, months_reported from marts.{macro}($as_of) "
             f"where {where}")
    rows = conn.execute(query, {**params, "period": f"FY{fiscal_year}"}).fetchall()
    if not rows:
        return None
    prior = conn.execute(query, {**params, "period": f"FY{fiscal_year - 1}"}).fetchall()
    return Figures(*rows[0], prior_balance_jpy=prior[0][2] if prior else None)


def resolve_partner(conn: duckdb.DuckDBPyConnection, text: str) -> tuple[str, str, str | None]:
    """(code, name, ISO3 or None) of the partner `text` names: trade_etl.serve.partners.resolve,
    kept for callers written before it (a group's or an area's code is its `region`)."""
    partner = resolve_partner_of(conn, text)
    return partner.code, partner.name, partner.iso3


def release_day_rate(conn: duckdb.DuckDBPyConnection,
                     day: date) -> tuple[date, float, str] | None:
    """The day's yen per dollar, or the last one in the week before (weekends, holidays) within
    the same month (a dollar figure never uses another month's rate), with its source."""
    rows = conn.execute("select date, jpy_per_usd, source from ref.fx_daily where date <= $d "
                        "and date > $d - interval 7 day and date >= date_trunc('month', $d) "
                        "order by date desc limit 1", {"d": day}).fetchall()
    return rows[0] if rows else None


FETCH_RATES = "trade-etl fetch --fx, then trade-etl build"


def _source_label(source: str) -> str:
    """'shipped' -> 'shipped table'; 'fred:DEXJPUS/2026-12-06T091500Z' -> 'fetched
    2026-12-06T091500Z'."""
    if source.startswith("fred:"):
        return "fetched " + source.split("/", 1)[-1].removesuffix(" mean")
    return "shipped table"


@dataclass
class Rates:
    """The rates a brief converts with, how far each series goes, and what is missing."""

    release_day: date
    spot: tuple[date, float, str] | None
    daily_end: date | None
    monthly_end: str | None
    months: list[str]  # the months reported in the period, first to last
    month_sources: list[str]
    missing_months: list[str]

    def spot_label(self) -> str:
        day, rate, source = self.spot
        return (f"at {rate:.2f} yen/$ (FRED DEXJPUS {day:%Y-%m-%d}, {_source_label(source)}; "
                f"daily series to {self.daily_end})")

    def monthly_label(self) -> str:
        span = self.months[0] + (f" … {self.months[-1]}" if len(self.months) > 1 else "")
        kinds = ", ".join(sorted({_source_label(s) for s in self.month_sources}))
        return f"(FRED {span}, {kinds}; monthly series to {self.monthly_end})"

    def missing_note(self) -> str | None:
        """One line naming every missing rate and how to get it, or None."""
        gaps = []
        if self.spot is None:
            gaps.append(f"no daily rate for the release day {self.release_day} or the days "
                        f"before it that month (ref.fx_daily ends {self.daily_end})")
        if self.missing_months:
            gaps.append(f"no monthly rate for {', '.join(self.missing_months)} "
                        f"(ref.fx_monthly ends {self.monthly_end})")
        if not gaps:
            return None
        return "rates missing: " + "; ".join(gaps) + f": run {FETCH_RATES}"


def period_rates(conn: duckdb.DuckDBPyConnection, period: str, as_of: date,
                 release_day: date) -> Rates:
    """The rates for `period`'s dollar figures as known on `as_of`: the release day's rate and
    each reported month's average (marts' `_usd` columns are null for a period with a month
    without one)."""
    months = conn.execute(
        "select distinct format('{:04d}-{:02d}', calendar.year, calendar.month) as m, fx.source "
        "from core.period_months as calendar "
        "inner join core.release_coverage as coverage "
        "on coverage.year = calendar.year and coverage.month = calendar.month "
        "inner join core.releases as releases on releases.release_id = coverage.release_id "
        "left join ref.fx_monthly as fx "
        "on fx.month = format('{:04d}-{:02d}', calendar.year, calendar.month) "
        "where calendar.period = $period and releases.published_on <= $as_of "
        "and releases.reporter = 'JPN' order by m",
        {"period": period, "as_of": as_of}).fetchall()
    daily_end, monthly_end = conn.sql(
        "select (select max(date) from ref.fx_daily), (select max(month) from ref.fx_monthly)"
    ).fetchall()[0]
    return Rates(release_day, release_day_rate(conn, release_day), daily_end, monthly_end,
                 [m for m, _s in months], [s for _m, s in months if s is not None],
                 [m for m, s in months if s is None])


def built_fiscal_start_month(conn: duckdb.DuckDBPyConnection) -> int:
    """The fiscal year's first month the warehouse was built with, read from its calendar
    (core.period_months: a fiscal year's first day), so the brief's wording agrees with the
    marts whatever the environment says now; 4 (April) in a warehouse without one."""
    try:
        rows = conn.execute("select month(period_start) from core.period_months "
                            "where period_type = 'fiscal_year' limit 1").fetchall()
    except duckdb.CatalogException:
        rows = []
    return int(rows[0][0]) if rows else 4


def write_brief(conn: duckdb.DuckDBPyConnection, fiscal_year: int,
                partner: str | Partner | None = None, as_of: date | None = None,
                fiscal_start_month: int | None = None,
                commodity: str | Commodity | None = None, mirror: bool = False) -> str:
    """The brief; `fiscal_start_month` defaults to the one the warehouse was built with.
    `partner` and `commodity` as people name them (partners.resolve, resolve_commodity), or
    resolved already. `mirror`: add the partner's own figures (the United States' only,
    trade_etl/serve/mirror.py)."""
    day = as_of or LATEST
    if fiscal_start_month is None:
        fiscal_start_month = built_fiscal_start_month(conn)
    # Names first: a misspelt one is a usage error (exit 2) whatever the data.
    if isinstance(partner, str):
        partner = resolve_partner_of(conn, partner)
    if isinstance(commodity, str):
        commodity = resolve_commodity(conn, commodity)
    if mirror and (partner is None or partner.kind != COUNTRY or partner.iso3 != "USA"):
        mirror_lines(conn, fiscal_year, day, partner)  # the usage error, before any data
    release = conn.execute(
        "select release_id, published_on from core.releases where published_on <= $d "
        "and reporter = 'JPN' order by release_seq desc limit 1", {"d": day}).fetchall()
    if not release:
        raise BriefError(f"no release published on or before {day}")
    release_id, published_on = release[0]
    world = _figures(conn, fiscal_year, day)
    if world is None:
        raise BriefError(f"no data for fiscal {fiscal_year}"
                         + (f" as of {as_of}" if as_of else ""))
    rates = period_rates(conn, f"FY{fiscal_year}", day, published_on)

    start = MONTH_NAMES[fiscal_start_month - 1]
    end = MONTH_NAMES[(fiscal_start_month - 2) % 12]
    end_year = fiscal_year + (1 if fiscal_start_month > 1 else 0)
    known = f"as published on or before {as_of}" if as_of else "latest figures"
    lines = [
        f"Japan's trade in fiscal {fiscal_year} ({start} {fiscal_year} - {end} {end_year}), "
        f"{known}",
        f"(releases up to {release_id}; {world.months_reported} of 12 months reported)",
        *([rates.missing_note()] if rates.missing_note() else []),
        "",
        "World:",
        *world.line(rates),
    ]
    world_rows = _sector_rows(conn, "balance_by_sector_as_of", fiscal_year, day)
    listed = {flow: [row for pair in _leading(world_rows, f"{flow}_jpy", count=3)
                     for row in pair if row is not None] for flow in ("exports", "imports")}
    volumes = _volumes(conn, fiscal_year, day, fiscal_start_month, world.months_reported,
                       {row["sector_code"] for rows in listed.values() for row in rows})
    for flow in ("exports", "imports"):
        leaders = _leaders(world_rows, f"{flow}_jpy", count=3)
        lines.append(f"  {flow} led by " + "; ".join(
            f"{sector.lower()} {yen(value)}{part}" for sector, value, part in leaders))
        shown = [f"{row['sector_name'].lower()} {volumes[(row['sector_code'], flow)]}"
                 for row in listed[flow] if (row["sector_code"], flow) in volumes]
        if shown:
            lines.append(f"  {flow.removesuffix('s')} volumes: " + "; ".join(shown))
    headline_partner = None
    figures = None
    if partner:
        figures = _figures(conn, fiscal_year, day, partner)
        if figures is None:
            raise BriefError(f"no trade with {partner.name} in fiscal {fiscal_year}")
        lines += ["", f"{partner.title}:", *figures.line(rates)]
        rows = partner_sector_rows(conn, fiscal_year, day, partner)
        lines += ["", f"Sectors contributing most to the balance with {partner.name}:"]
        for rank, (sector, value, part) in enumerate(_leaders(rows, "balance_jpy"), start=1):
            lines.append(f"  {rank}. {sector}: {_signed(value)}{part}")
        headline_partner = (partner.name, figures)
    if commodity:
        trade = commodity_trade(conn, commodity, partner, rates.months, day)
        lines += ["", *commodity_lines(trade, figures or world, world, fiscal_year, rates)]

    if mirror:
        lines += mirror_lines(conn, fiscal_year, day, partner)
    if as_of is None:  # the comparison is of the latest figures
        years = [fiscal_year] + ([fiscal_year + 1] if fiscal_start_month > 1 else [])
        country = partner.code if partner and partner.kind == COUNTRY else None
        lines += official_differences(conn, years, country)
    lines += ["", "Headline:", "  " + _headline(fiscal_year, world, headline_partner, rates)]
    return visible("\n".join(lines))  # names from the data may hold control characters


def official_differences(conn: duckdb.DuckDBPyConnection, years: list[int],
                         partner_code: str | None) -> list[str]:
    """Lines saying where the world's (and the partner's) calendar-year totals differ from the
    Ministry's published ones (audit.official_totals_diff); none when they agree."""
    try:
        rows = conn.execute(
            "select year, flow, partner_name, warehouse_stage, vintage_stage, difference_jpy, "
            "blocks from audit.official_totals_diff where status = 'differs' "
            "and year in (select unnest($years)) and partner_code in ('', $partner) "
            "order by year, partner_code, flow",
            {"years": years, "partner": partner_code or ""}).fetchall()
    except duckdb.CatalogException:  # a warehouse built before the check existed
        return []
    if not rows:
        return []
    lines = ["", "Against the Ministry's published totals (audit.official_totals_diff):"]
    for year, flow, name, stage, vintage, difference, blocks in rows:
        why = "" if blocks else f" (warehouse {stage}, published {vintage}: reported only)"
        lines.append(f"  CY{year} {('exports', 'imports')[flow - 1]} with {name} differ by "
                     f"{'-' if difference < 0 else '+'}¥{abs(difference):,}{why}")
    return lines


def _sector_rows(conn: duckdb.DuckDBPyConnection, macro: str, fiscal_year: int, as_of: date,
                 partner_code: str | None = None) -> list[dict]:
    query = (f"select m.sector_code, m.sector_name, m.sector_level, s.parent_sector_code, "
             f"m.exports_jpy, m.imports_jpy, m.balance_jpy from marts.{macro}($as_of) m "
             f"join ref.sectors s on s.sector_code = m.sector_code where m.period = $period"
             + (" and m.partner_code = $partner" if partner_code else ""))
    params = {"as_of": as_of, "period": f"FY{fiscal_year}"}
    if partner_code:
        params["partner"] = partner_code
    return _dicts(conn, query, params)


def _dicts(conn: duckdb.DuckDBPyConnection, query: str, params: dict) -> list[dict]:
    cursor = conn.execute(query, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# The sectors of a group's or an area's trade in a fiscal year: its members' monthly rows of
# marts.balance_by_partner_sector_as_of, each month with the members of that month (as
# marts.balance_by_region composes the group), summed over the year's months.
GROUP_SECTORS = f"""
with

members as ({MEMBERS}),

fiscal_months as (
    select make_date(year, month, 1) as period_start
    from core.period_months
    where period_type = 'fiscal_year' and period = $period
)

select m.sector_code, m.sector_name, m.sector_level, s.parent_sector_code,
    sum(m.exports_jpy)::bigint as exports_jpy, sum(m.imports_jpy)::bigint as imports_jpy,
    sum(m.balance_jpy)::bigint as balance_jpy
from marts.balance_by_partner_sector_as_of($as_of) as m
inner join ref.sectors as s on s.sector_code = m.sector_code
inner join fiscal_months on m.period_start = fiscal_months.period_start
inner join members
    on m.partner_code = members.country_code
    and m.period_start between members.valid_from and members.valid_to
where m.period_type = 'month'
group by all
"""


def partner_sector_rows(conn: duckdb.DuckDBPyConnection, fiscal_year: int, as_of: date,
                        partner: Partner) -> list[dict]:
    """The partner's trade by sector in the fiscal year (sector_code, sector_name,
    sector_level, parent_sector_code, exports_jpy, imports_jpy, balance_jpy): a country's
    from marts.balance_by_partner_sector_as_of, a group's or an area's summed from its
    members month by month (GROUP_SECTORS)."""
    if partner.kind == COUNTRY:
        return _sector_rows(conn, "balance_by_partner_sector_as_of", fiscal_year, as_of,
                            partner.code)
    return _dicts(conn, GROUP_SECTORS, {"as_of": as_of, "period": f"FY{fiscal_year}",
                                        **partner.members_params})


def _share(part: float, whole: float) -> str:
    return "n/a" if not whole else f"{100 * part / whole:.1f}%"


def commodity_lines(trade: CommodityTrade, partner: Figures, world: Figures, fiscal_year: int,
                    rates: Rates) -> list[str]:
    """The commodity's trade with the partner (or the world) in the fiscal year: exports,
    imports and balance in yen (y/y against the same months a year earlier, where the world's
    figures compare: marts' rule) and dollars, and its share of the partner's trade."""
    who = trade.partner.name if trade.partner else None
    of_exports, of_imports, of_trade = (
        (f"of exports to {who}", f"of imports from {who}", f"of trade with {who}") if who else
        ("of Japan's exports", "of Japan's imports", "of Japan's trade"))
    heading = f"{trade.commodity.title} with {who or 'the world'}, fiscal {fiscal_year}:"

    def change(now: int, before: int, comparable: bool) -> str:
        return f" ({pct(100 * (now / before - 1))} y/y)" if comparable and before else ""

    exports, imports, balance = trade.exports_jpy, trade.imports_jpy, trade.balance_jpy
    if not exports and not imports:
        return [heading, "  no trade reported in these months"]
    lines = [
        heading,
        f"  exports {yen(exports)}"
        f"{change(exports, trade.prior_exports_jpy, world.exports_yoy_pct is not None)}, "
        f"{_share(exports, partner.exports_jpy)} {of_exports}",
        f"  imports {yen(imports)}"
        f"{change(imports, trade.prior_imports_jpy, world.imports_yoy_pct is not None)}, "
        f"{_share(imports, partner.imports_jpy)} {of_imports}",
        f"  {_balance_word(balance)} {yen(abs(balance))}; "
        f"{_share(exports + imports, partner.exports_jpy + partner.imports_jpy)} {of_trade} "
        "(exports + imports)",
    ]
    parts = []
    if trade.balance_usd is not None:
        parts.append(f"exports {dollars(float(trade.exports_usd))}, imports "
                     f"{dollars(float(trade.imports_usd))}, {_balance_word(balance)} "
                     f"{dollars(abs(float(trade.balance_usd)))} at monthly average rates "
                     f"{rates.monthly_label()}")
    if rates.spot:
        parts.append(f"{_balance_word(balance)} {dollars(abs(balance) / rates.spot[1])} "
                     f"{rates.spot_label()}")
    lines.append("  " + ("; ".join(parts) if parts else
                         "no dollar figures (see the missing rates above)"))
    return lines


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + yen(abs(value))


def _leading(rows: list[dict], measure: str, count: int) -> list[tuple[dict, dict | None]]:
    """The top-level sectors largest by |measure|, each with its largest highlighted part."""
    tops = sorted((r for r in rows if r["sector_level"] == "top"),
                  key=lambda r: abs(r[measure]), reverse=True)[:count]
    out = []
    for top in tops:
        parts = [r for r in rows if r["parent_sector_code"] == top["sector_code"]
                 and r["sector_level"] == "highlight" and r[measure]]
        out.append((top, max(parts, key=lambda r: abs(r[measure])) if parts else None))
    return out


def _leaders(rows: list[dict], measure: str, count: int = 5) -> list[tuple[str, float, str]]:
    """The top-level sectors largest by |measure|, each with its largest highlighted part."""
    out = []
    for top, part in _leading(rows, measure, count):
        detail = ""
        if part is not None:
            shown = _signed(part[measure]) if measure == "balance_jpy" else yen(part[measure])
            detail = f" (of which {part['sector_name'].lower()} {shown})"
        out.append((top["sector_name"], top[measure], detail))
    return out


# A volume is shown only when the quantities leave out at most this share of the value (rows of
# the sector's codes that report no quantity in the unit shown).
UNCOUNTED_VALUE_SHARE = 0.01


def quantity(amount: float, unit: str) -> str:
    """4.21 M NO, 812.5 k KL, 950 DZ."""
    for size, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= size:
            return f"{amount / size:.2f} {suffix} {unit}"
    return f"{amount:,.0f} {unit}"


def _volumes(conn: duckdb.DuckDBPyConnection, fiscal_year: int, as_of: date,
             fiscal_start_month: int, months_reported: int,
             sector_codes: set[str]) -> dict[tuple[str, str], str]:
    """`(sector_code, "exports"|"imports")` -> "4.21 M NO (+1.3% y/y vs +5.2% in yen)", for the
    sectors whose quantities one unit covers, in the fiscal year's months and the same months a
    year earlier (marts.quantity_by_hs_code_as_of). A sector is left out, rather than shown
    wrong, when its codes use several units (or none) in the quantity, when quantities are
    missing for more than UNCOUNTED_VALUE_SHARE of its value, or when a month is missing."""
    if not sector_codes:
        return {}
    start = date(fiscal_year, fiscal_start_month, 1)
    rows = conn.execute(
        "select sectors.sector_code, q.flow, q.period_start, q.unit1, q.unit2, "
        "sum(q.quantity1)::hugeint, sum(q.quantity2)::hugeint, sum(q.value_jpy)::hugeint, "
        "coalesce(sum(q.value_jpy) filter (where q.quantity1 = 0), 0)::hugeint, "
        "coalesce(sum(q.value_jpy) filter (where q.quantity2 = 0), 0)::hugeint "
        "from marts.quantity_by_hs_code_as_of($as_of) as q "
        "inner join core.hs_code_sectors as codes on q.hs_code = codes.hs_code "
        "inner join (select unnest($sectors::varchar[]) as sector_code) as sectors "
        "on sectors.sector_code in (codes.top_sector_code, codes.highlight_sector_code) "
        "where q.period_type = 'month' and q.period_start >= $from and q.period_start < $to "
        "group by all",
        {"as_of": as_of, "sectors": sorted(sector_codes),
         "from": start.replace(year=fiscal_year - 1),
         "to": start.replace(year=fiscal_year + 1)}).fetchall()
    by_sector: dict[tuple[str, str], list[tuple]] = {}
    for sector, flow, month, *rest in rows:
        by_sector.setdefault((sector, f"{flow}s"), []).append((month, *rest))
    out = {}
    for key, months in by_sector.items():
        current = {m[0] for m in months if m[0] >= start}
        earlier = {m.replace(year=m.year - 1) for m in current}
        if len(current) != months_reported or not earlier <= {m[0] for m in months}:
            continue  # a month without trade in the sector: no like-for-like comparison
        compared = [m for m in months if m[0] in current | earlier]
        for unit in (1, 2):  # unit1 first: Customs' first quantity, when one unit covers it
            units = {m[unit] for m in compared}
            if len(units) != 1 or None in units:
                continue
            # quantity, value, value without a quantity: this year, then a year earlier
            (now, value_now, missing_now), (before, value_before, missing_before) = (
                [sum(m[i] for m in compared if (m[0] in current) == this_year)
                 for i in (unit + 2, 5, unit + 5)] for this_year in (True, False))
            if min(now, before, value_now, value_before) <= 0 or max(
                    missing_now / value_now, missing_before / value_before
            ) > UNCOUNTED_VALUE_SHARE:
                continue
            out[key] = (f"{quantity(now, units.pop())} ({pct(100 * (now / before - 1))} y/y vs "
                        f"{pct(100 * (value_now / value_before - 1))} in yen)")
            break
    return out


def _headline(fiscal_year: int, world: Figures,
              partner: tuple[str, Figures] | None, rates: Rates) -> str:
    def rounded(value: float) -> str:
        return f"¥{abs(value) / 1e12:.1f} trillion"

    def usd(value: float, figures: Figures) -> str:
        """The yen figure's dollars, saying at which rate; none when no rate is known (never
        a figure from another month's rate, never $0)."""
        if rates.spot:
            return (f" (${abs(value) / rates.spot[1] / 1e9:.0f} billion at "
                    f"{rates.spot[1]:.2f} yen/$)")
        if figures.balance_usd is not None:
            return f" (${abs(figures.balance_usd) / 1e9:.0f} billion at monthly average rates)"
        return ""

    partial = "" if world.months_reported == 12 else (
        f" ({world.months_reported} months so far)")
    overall = f"its overall trade was in {_balance_word(world.balance_jpy)}" + (
        f" ({rounded(world.balance_jpy)})")
    if partner:
        name, figures = partner
        same = (figures.balance_jpy >= 0) == (world.balance_jpy >= 0)
        return (f"In fiscal {fiscal_year}{partial} Japan ran a {rounded(figures.balance_jpy)}"
                f"{usd(figures.balance_jpy, figures)} {_balance_word(figures.balance_jpy)} "
                f"with {name} {'and' if same else 'while'} {overall}.")
    return (f"In fiscal {fiscal_year}{partial} Japan's trade was in "
            f"{_balance_word(world.balance_jpy)} by {rounded(world.balance_jpy)} "
            f"{usd(world.balance_jpy, world)}, on exports of {rounded(world.exports_jpy)} and "
            f"imports of {rounded(world.imports_jpy)}.")


# Names other modules import from here (LookupFailed is raised by the lookups brief.py calls).
__all__ = ["LATEST", "BriefError", "Figures", "LookupFailed", "Rates", "commodity_lines",
           "official_differences", "partner_sector_rows", "period_rates", "resolve_partner",
           "write_brief"]
