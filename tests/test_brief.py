"""`trade-etl brief --commodity`: one HS code's trade with the partner (or the world), equal to
the 9-digit figures summed by SQL, latest and as of a date; partners as people name them; the
commodity lookup without the dictionary (codes only). On the synthetic sample, built for real."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import query
from trade_etl.app import cli
from trade_etl.serve.brief import LATEST, period_rates, yen
from trade_etl.serve.commodity_trade import Commodity, commodity_trade, resolve_commodity
from trade_etl.serve.partners import resolve

FY = 2024
FY_MONTHS = "(year::integer * 100 + month) between 202404 and 202503"
US = "304"


def brief(warehouse, capsys, *args: str) -> str:
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year", str(FY),
                     *args]) == 0
    return capsys.readouterr().out


def section(text: str, heading: str) -> list[str]:
    """The commodity's lines: its heading and the four after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    return lines[start:start + 5]


def latest_sums(warehouse, code: str, countries: list[str] | None) -> tuple[int, int]:
    """Exports and imports of the codes starting with `code` in fiscal 2024, from the 9-digit
    latest figures (core.trade_latest), by SQL."""
    where = f"starts_with(hs_code, ?) and {FY_MONTHS}"
    params: list = [code]
    if countries is not None:
        where += " and country_code in (select unnest(?::varchar[]))"
        params.append(countries)
    (exports, imports), = query(
        warehouse, "select coalesce(sum(value_thousand_jpy) filter (where flow = 1), 0) * 1000, "
                   "coalesce(sum(value_thousand_jpy) filter (where flow = 2), 0) * 1000 "
                   f"from core.trade_latest where {where}", params)
    return int(exports), int(imports)


def partner_totals(warehouse, code: str) -> tuple[int, int]:
    return query(warehouse, "select exports_jpy, imports_jpy from marts.balance_by_partner "
                            "where period = ? and partner_code = ?", [f"FY{FY}", code])[0]


@pytest.fixture(autouse=True)
def _no_dictionary(monkeypatch):
    """These tests take codes only: without the commodity dictionary (trade_etl.serve.codes,
    another branch) whether or not it is installed; its names are tested at the end."""
    monkeypatch.setitem(sys.modules, "trade_etl.serve.codes", None)


def test_commodity_with_a_partner_is_the_sum_of_its_9_digit_codes(sample_warehouse, capsys):
    exports, imports = latest_sums(sample_warehouse, "8703", [US])
    assert exports > 0 and imports > 0
    out = brief(sample_warehouse, capsys, "--partner", "US", "--commodity", "8703")
    lines = section(out, "HS 8703 with United States of America, fiscal 2024:")
    us_exports, us_imports = partner_totals(sample_warehouse, US)
    assert lines[1].startswith(f"  exports {yen(exports)} (")
    assert lines[1].endswith(f", {100 * exports / us_exports:.1f}% of exports to United States "
                             "of America")
    assert lines[2].startswith(f"  imports {yen(imports)} (")
    assert lines[2].endswith(f"{100 * imports / us_imports:.1f}% of imports from United States "
                             "of America")
    share = 100 * (exports + imports) / (us_exports + us_imports)
    assert lines[3] == (f"  surplus {yen(exports - imports)}; {share:.1f}% of trade with United "
                        "States of America (exports + imports)")
    assert "at monthly average rates" in lines[4] and lines[4].startswith("  exports $")


def test_commodity_figures_in_yen_and_dollars_equal_sql(sample_warehouse):
    conn = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        partner = resolve(conn, "United States")
        rates = period_rates(conn, f"FY{FY}", LATEST, date(2025, 4, 17))
        trade = commodity_trade(conn, Commodity("8703"), partner, rates.months, LATEST)
    finally:
        conn.close()
    assert len(trade.months) == 12
    assert (trade.exports_jpy, trade.imports_jpy) == latest_sums(sample_warehouse, "8703", [US])
    (usd_exports, usd_imports), = query(
        sample_warehouse,
        "with m as (select year, month, sum(value_thousand_jpy) filter (where flow = 1) * 1000 "
        "as e, sum(value_thousand_jpy) filter (where flow = 2) * 1000 as i from core.trade_latest "
        f"where starts_with(hs_code, '8703') and country_code = '304' and {FY_MONTHS} "
        "group by all) select round(sum((e / fx.jpy_per_usd)::decimal(38, 6)), 2), "
        "round(sum((i / fx.jpy_per_usd)::decimal(38, 6)), 2) from m join ref.fx_monthly fx "
        "on fx.month = format('{:04d}-{:02d}', m.year, m.month)")
    assert (trade.exports_usd, trade.imports_usd) == (usd_exports, usd_imports)
    assert trade.balance_usd == usd_exports - usd_imports and isinstance(trade.balance_usd,
                                                                         Decimal)


def test_commodity_as_of_a_date_is_what_was_published_then(sample_warehouse, capsys):
    day = date(2025, 4, 17)
    (exports, imports), = query(
        sample_warehouse,
        "select coalesce(sum(f.value_thousand_jpy) filter (where f.flow = 1), 0) * 1000, "
        "coalesce(sum(f.value_thousand_jpy) filter (where f.flow = 2), 0) * 1000 "
        "from core.trade_facts f join core.winning_releases(?) w on f.release_id = w.release_id "
        "and f.flow = w.flow and f.year = w.year and f.month = w.month "
        "and left(f.hs_code, 2) = w.hs_chapter where starts_with(f.hs_code, '8703') "
        "and f.country_code = '304' "
        "and (f.year::integer * 100 + f.month) between 202404 and 202503",
        [day])
    assert (exports, imports) != latest_sums(sample_warehouse, "8703", [US])  # revised since
    out = brief(sample_warehouse, capsys, "--partner", "USA", "--commodity", "8703",
                "--as-of", day.isoformat())
    lines = section(out, "HS 8703 with United States of America, fiscal 2024:")
    assert lines[1].startswith(f"  exports {yen(exports)} (")
    assert lines[2].startswith(f"  imports {yen(imports)} (")
    assert "at 142.33 yen/$" in lines[4]  # the release day's rate, as the brief's own


def test_commodity_with_a_group_counts_its_members(sample_warehouse, capsys):
    members = [r[0] for r in query(sample_warehouse, "select country_code from "
                                   "ref.country_groups where group_code = 'EU' and valid_from "
                                   "<= DATE '2024-04-01' and coalesce(valid_to, DATE "
                                   "'9999-12-31') >= DATE '2025-03-31'")]
    assert len(members) == 27
    exports, imports = latest_sums(sample_warehouse, "8703", members)
    out = brief(sample_warehouse, capsys, "--partner", "EU", "--commodity", "8703")
    lines = section(out, "HS 8703 with European Union, fiscal 2024:")
    assert lines[1].startswith(f"  exports {yen(exports)} (")
    assert lines[2].startswith(f"  imports {yen(imports)} (")


def test_commodity_with_the_world_and_at_each_length(sample_warehouse, capsys):
    exports, imports = latest_sums(sample_warehouse, "87", None)
    out = brief(sample_warehouse, capsys, "--commodity", "87")
    lines = section(out, "HS 87 (Vehicles; other than railway or tramway rolling stock")
    assert lines[0].endswith(" with the world, fiscal 2024:")
    assert lines[1].startswith(f"  exports {yen(exports)} (") and "of Japan's exports" in lines[1]
    assert lines[2].startswith(f"  imports {yen(imports)} (") and "of Japan's imports" in lines[2]
    code9 = query(sample_warehouse, "select hs_code from core.trade_latest where "
                  f"starts_with(hs_code, '870323') and country_code = '304' and {FY_MONTHS} "
                  "group by 1 order by sum(value_thousand_jpy) desc limit 1")[0][0]
    for code in ("870323", code9, "8703.23"):
        exports, imports = latest_sums(sample_warehouse, code.replace(".", ""), [US])
        out = brief(sample_warehouse, capsys, "--partner", "304", "--commodity", code)
        heading = f"HS {code.replace('.', '')} with United States of America, fiscal 2024:"
        lines = section(out, heading)
        assert lines[1].startswith(f"  exports {yen(exports)}")


@pytest.mark.parametrize(("text", "message"), [
    ("motor cars", "--commodity 'motor cars' is not an HS code of 2, 4, 6 or 9 digits (8703): "
                   "names need the commodity dictionary"),
    ("87031", "not an HS code of 2, 4, 6 or 9 digits"),
    ("0000", "no HS code in the warehouse starts with 0000"),
    ("", "--commodity is empty"),
])
def test_without_the_dictionary_only_codes_are_taken(sample_warehouse, capsys, text, message):
    code = cli.main(["brief", "--warehouse", str(sample_warehouse), "--fiscal-year", str(FY),
                     "--partner", "US", "--commodity", text])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1


def test_with_the_dictionary_names_resolve_to_codes(sample_warehouse, capsys, monkeypatch):
    """Once trade_etl.serve.codes (the commodity dictionary) is installed, `--commodity "motor
    cars"` is the code it resolves to, with the same figures."""
    monkeypatch.delitem(sys.modules, "trade_etl.serve.codes")
    codes = pytest.importorskip("trade_etl.serve.codes")
    conn = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        code, _name = codes.resolve_commodity(conn, "motor cars")
        assert resolve_commodity(conn, "motor cars").code == code
    finally:
        conn.close()
    exports, _imports = latest_sums(sample_warehouse, code, [US])
    out = brief(sample_warehouse, capsys, "--partner", "US", "--commodity", "motor cars")
    line = next(line for line in out.splitlines() if line.startswith(f"HS {code}"))
    assert line.endswith("with United States of America, fiscal 2024:")
    assert f"  exports {yen(exports)}" in out


def test_the_readme_shows_the_sample_brief(sample_warehouse, capsys, monkeypatch):
    """README's `--commodity "motor cars"` example is what the brief prints on the sample (its
    lines in order, `…` for lines left out)."""
    from tests.conftest import REPO

    monkeypatch.delitem(sys.modules, "trade_etl.serve.codes")  # the dictionary names it
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = '$ trade-etl brief --fiscal-year 2024 --partner US --commodity "motor cars"'
    shown = readme.split(command, 1)[1].split("```", 1)[0].splitlines()
    shown = [line.removeprefix("    ") for line in shown if line.strip() not in ("", "…")]
    assert len(shown) >= 8
    out = brief(sample_warehouse, capsys, "--partner", "US", "--commodity", "motor cars"
                ).splitlines()
    positions = [out.index(line) for line in shown]
    assert positions == sorted(positions)
