"""`--commodity` of `trade-etl brief` and `report`: one HS code's trade with a partner (or the
world) in a fiscal year, as known on the brief's date.

The code may have 2, 4, 6 or 9 digits; its figures are the 9-digit figures whose code starts
with it, from `marts.quantity_by_hs_code_as_of(as_of)` (on the latest date, core.trade_latest),
month by month: values summed over units (quantities in different units are never added up,
values always can be), in yen and in dollars at each month's average rate (as the balance marts
convert), with a group's or an area's members counted month by month (partners.MEMBERS).

Names are looked up in the commodity dictionary, `trade_etl.serve.codes.resolve_commodity(conn,
text) -> (code, name)`, when it is installed; without it only codes are taken, named from
`ref.hs_chapters` for a chapter and left as the code otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import duckdb

from trade_etl.serve.errors import BriefError, LookupFailed
from trade_etl.serve.partners import MEMBERS, Partner

CODE_LENGTHS = (2, 4, 6, 9)


@dataclass(frozen=True)
class Commodity:
    code: str  # 2, 4, 6 or 9 digits
    name: str = ""  # empty when no name is known

    @property
    def title(self) -> str:
        """`HS 8703 (Motor cars …)`, or `HS 8703` without a name."""
        return f"HS {self.code}" + (f" ({self.name})" if self.name and self.name != self.code
                                    else "")


def _dictionary():
    """The dictionary's resolver, or None where trade_etl.serve.codes is not installed."""
    try:
        from trade_etl.serve.codes import resolve_commodity
    except ImportError:
        return None
    return resolve_commodity


def digits(text: str) -> str | None:
    """`8703`, `8703.23`, `8703 23 915` -> the digits, when they make a 2, 4, 6 or 9-digit code."""
    code = re.sub(r"[.\s]", "", text)
    return code if code.isdigit() and len(code) in CODE_LENGTHS else None


def resolve_commodity(conn: duckdb.DuckDBPyConnection, text: str) -> Commodity:
    """The commodity `text` names: through the dictionary when it is installed (its
    BriefError, listing candidates, becomes LookupFailed: exit 2), else a code alone."""
    if not text.strip():
        raise LookupFailed("--commodity is empty: give an HS code of 2, 4, 6 or 9 digits "
                           "(8703)")
    dictionary = _dictionary()
    if dictionary is not None:
        try:
            code, name = dictionary(conn, text)
        except LookupFailed:
            raise
        except BriefError as err:
            raise LookupFailed(str(err)) from err
        return Commodity(code, name or "")
    return code_only(conn, text)


def code_only(conn: duckdb.DuckDBPyConnection, text: str) -> Commodity:
    """A code of 2, 4, 6 or 9 digits that some 9-digit code of the warehouse starts with; a
    chapter is named from ref.hs_chapters."""
    code = digits(text)
    if code is None:
        raise LookupFailed(f"--commodity {text!r} is not an HS code of 2, 4, 6 or 9 digits "
                           "(8703): names need the commodity dictionary, which this "
                           "installation does not have")
    known = conn.execute("select count(*) from core.hs_code_sectors "
                         "where starts_with(hs_code, $code)", {"code": code}).fetchall()[0][0]
    if not known:
        raise LookupFailed(f"no HS code in the warehouse starts with {code}: give a code of "
                           "2, 4, 6 or 9 digits that trade was reported under (8703)")
    name = ""
    if len(code) == 2:
        rows = conn.execute("select chapter_name from ref.hs_chapters where hs_chapter = $c",
                            {"c": code}).fetchall()
        name = rows[0][0] if rows and rows[0][0] else ""
    return Commodity(code, name)


@dataclass
class CommodityTrade:
    """A commodity's trade with a partner (None: the world) over the reported months of a
    fiscal year, and over the same months a year earlier."""

    commodity: Commodity
    partner: Partner | None
    months: list[dict] = field(default_factory=list)  # period, exports_jpy, imports_jpy, …_usd
    prior_exports_jpy: int = 0
    prior_imports_jpy: int = 0

    @property
    def exports_jpy(self) -> int:
        return sum(m["exports_jpy"] for m in self.months)

    @property
    def imports_jpy(self) -> int:
        return sum(m["imports_jpy"] for m in self.months)

    @property
    def balance_jpy(self) -> int:
        return self.exports_jpy - self.imports_jpy

    def _usd(self, flow: str) -> Decimal | None:
        values = [m[f"{flow}_usd"] for m in self.months]
        return None if not values or None in values else round(sum(values), 2)

    @property
    def exports_usd(self) -> Decimal | None:
        return self._usd("exports")

    @property
    def imports_usd(self) -> Decimal | None:
        return self._usd("imports")

    @property
    def balance_usd(self) -> Decimal | None:
        exports, imports = self.exports_usd, self.imports_usd
        return None if exports is None or imports is None else exports - imports


TRADE_SQL = """
with

wanted as (
    select unnest($months::varchar[]) as period
),

members as ({members}),

trade as (
    select q.period, q.flow, q.value_jpy
    from marts.quantity_by_hs_code_as_of($as_of) as q
    {join}
    where q.period_type = 'month' and starts_with(q.hs_code, $code)
        and q.period in (select period from wanted)
),

by_month as (
    select
        wanted.period,
        coalesce(sum(trade.value_jpy) filter (where trade.flow = 'export'), 0)::bigint
            as exports_jpy,
        coalesce(sum(trade.value_jpy) filter (where trade.flow = 'import'), 0)::bigint
            as imports_jpy
    from wanted
    left join trade on trade.period = wanted.period
    group by all
)

select
    by_month.period,
    by_month.exports_jpy,
    by_month.imports_jpy,
    (by_month.exports_jpy / fx.jpy_per_usd)::decimal(38, 6) as exports_usd,
    (by_month.imports_jpy / fx.jpy_per_usd)::decimal(38, 6) as imports_usd
from by_month
left join ref.fx_monthly as fx on fx.month = by_month.period
order by by_month.period
"""
# A partner's members, month by month (partners.MEMBERS); nothing for the world.
_MEMBERS_JOIN = ("inner join members on q.partner_code = members.country_code "
                 "and q.period_start between members.valid_from and members.valid_to")
_NO_MEMBERS = ("select null::varchar as country_code, null::date as valid_from, "
               "null::date as valid_to where false")


def commodity_trade(conn: duckdb.DuckDBPyConnection, commodity: Commodity,
                    partner: Partner | None, months: list[str], as_of: date) -> CommodityTrade:
    """The commodity's trade in `months` (`YYYY-MM`, the fiscal year's reported months) and
    the same months a year earlier, as known on `as_of`."""
    prior = [f"{int(m[:4]) - 1:04d}{m[4:]}" for m in months]
    sql = TRADE_SQL.format(members=MEMBERS if partner else _NO_MEMBERS,
                           join=_MEMBERS_JOIN if partner else "")
    params = {"months": months + prior, "as_of": as_of, "code": commodity.code,
              **(partner.members_params if partner else {})}
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    current = set(months)
    return CommodityTrade(
        commodity, partner, [r for r in rows if r["period"] in current],
        sum(r["exports_jpy"] for r in rows if r["period"] not in current),
        sum(r["imports_jpy"] for r in rows if r["period"] not in current))
