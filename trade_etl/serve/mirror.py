"""`trade-etl brief --partner US --mirror`: both sides of Japan–US trade for a fiscal year, from
marts.mirror_balance_as_of (docs/mirror.md): each side's figures in the same currency, the gap,
and the three largest reasons for the gap in the balance."""

from __future__ import annotations

from datetime import date

import duckdb

from trade_etl.serve.errors import BriefError, LookupFailed
from trade_etl.serve.partners import COUNTRY, Partner

ROWS = (("japan_exports", "Japan's exports to the US", "US imports from Japan"),
        ("japan_imports", "Japan's imports from the US", "US exports to Japan"),
        ("balance", "Japan's surplus with the US", "US deficit with Japan"))
REASONS = {
    "currency": "currency: Japan's customs converts at the rate of two weeks earlier",
    "valuation": "valuation: freight and insurance in Japan's c.i.f. imports",
    "timing": "timing: goods at sea at the turn of a month",
    "unexplained": "unexplained: origin rules, re-exports, classification, errors",
}


def _usd(value) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    return f"{'-' if value < 0 else ''}${abs(value) / 1e9:,.1f} bn"


def _signed_usd(value) -> str:
    if value is None:
        return "n/a"
    return ("+" if float(value) >= 0 else "") + _usd(value)


def _yen(value: int) -> str:
    return f"{'-' if value < 0 else ''}¥{abs(value) / 1e12:,.2f} tn"


def mirror_lines(conn: duckdb.DuckDBPyConnection, fiscal_year: int, day: date,
                 partner: Partner | None) -> list[str]:
    """The brief's "Both sides" block; BriefError when the partner is not the United States
    (exit 2) or when the warehouse holds no US figures for the year (exit 1)."""
    if partner is None or partner.kind != COUNTRY or partner.iso3 != "USA":
        raise LookupFailed("--mirror sets the partner's own figures beside Japan's: give "
                           "--partner US (the United States' Census Bureau figures, reporter "
                           "USA, are the only partner's held)")
    period = f"FY{fiscal_year}"
    rows = {r[0]: r[1:] for r in conn.execute(
        "select direction, months_compared, japan_value_jpy, japan_value_usd, us_value_usd, "
        "us_value_jpy, gap_usd, currency_usd, valuation_usd, timing_usd, unexplained_usd "
        "from marts.mirror_balance_as_of($d) where period = $p", {"d": day, "p": period}
    ).fetchall()}
    if "balance" not in rows:
        raise BriefError(f"no months of fiscal {fiscal_year} have both Japan's and the US "
                         "Census Bureau's figures: fetch the US's with `trade-etl fetch "
                         "--reporter USA`, then build")
    release = conn.execute(
        "select release_id from core.releases where reporter = 'USA' and published_on <= $d "
        "order by release_seq desc limit 1", {"d": day}).fetchall()
    assumptions = dict(conn.execute(
        "select assumption, value from core.mirror_assumptions").fetchall())
    months = rows["balance"][0]
    lines = ["", f"Both sides: Japan's figures and the US's own for fiscal {fiscal_year}, "
             f"in dollars at each month's average rate ({months} of 12 months reported by both; "
             f"US releases up to {release[0][0] if release else 'none'}):"]
    width = max(len(label) for _, label, _ in ROWS)
    lines.append(f"  {'':{width}}  {'Japan':>12}  {'US':>12}  {'gap':>11}")
    for direction, japan_label, us_label in ROWS:
        if direction not in rows:
            continue
        _, japan_jpy, japan_usd, us_usd, _us_jpy, gap_usd, *_ = rows[direction]
        lines.append(f"  {japan_label:{width}}  {_usd(japan_usd):>12}  {_usd(us_usd):>12}  "
                     f"{_signed_usd(gap_usd):>11}   ({_yen(japan_jpy)} on Japan's side; "
                     f"US: {us_label})")
    parts = dict(zip(("currency", "valuation", "timing", "unexplained"), rows["balance"][6:],
                     strict=True))
    ranked = sorted(parts.items(), key=lambda item: -abs(float(item[1] or 0)))[:3]
    lines.append("  The gap in the balance, largest reasons first:")
    for rank, (part, value) in enumerate(ranked, start=1):
        lines.append(f"    {rank}. {_signed_usd(value)} {REASONS[part]}")
    lines.append(
        f"  (assumptions: c.i.f./f.o.b. margin {assumptions.get('cif_fob_margin', 0):.0%}, "
        f"transit share {assumptions.get('transit_share', 0):.0%}, customs rate "
        f"{assumptions.get('customs_rate_lag_days', 0):.0f} days earlier; docs/mirror.md)")
    return lines
