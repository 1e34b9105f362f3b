"""The classification lineage (docs/warehouse.md, "Comparable series"): the generator's families on
Japan's real code lists (../shared/reference/codes), their expansion in the warehouse, and
marts.trade_comparable on the sample, whose staged code changes (trade_etl.sample.plan
CODE_CHANGES) a comparable series must bridge."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED_REFERENCE, query
from trade_etl.ingest import lineage
from trade_etl.ingest.reference import load_ref_table
from trade_etl.serve.lineage import family_of
from trade_etl.settings import REF_DATA_DIR
from trade_etl.store.warehouse import rebuild_table

CODES = SHARED_REFERENCE / "codes"
needs_codes = pytest.mark.skipif(not (CODES / lineage.LISTS_FILE).exists(),
                                 reason="../shared/reference/codes is not beside the project")


@pytest.fixture(scope="module")
def real() -> lineage.Lineage:
    """The generator's families on the real lists."""
    return lineage.generate(CODES)


@pytest.fixture(scope="module")
def shipped() -> duckdb.DuckDBPyConnection:
    """ref.hs_lineage, ref.hs_lineage_families (the shipped CSVs) and ref.hs_families expanded
    from them by the warehouse's SQL, in memory."""
    conn = duckdb.connect()
    conn.execute("create schema ref")
    for table in ("hs_lineage", "hs_lineage_families"):
        load_ref_table(conn, table)
    rebuild_table(conn, "ref.hs_families")
    yield conn
    conn.close()


# ---- the generator on the real lists -----------------------------------------------------------

@needs_codes
def test_generator_writes_the_shipped_files(real, tmp_path):
    written = lineage.write(real, tmp_path)
    for name in written:
        assert (tmp_path / f"{name}.csv").read_bytes() == \
            (REF_DATA_DIR / f"{name}.csv").read_bytes(), "run python -m trade_etl.ingest.lineage"
    assert (REF_DATA_DIR / "hs_lineage.csv").stat().st_size < 200_000  # docs/reference.md


@needs_codes
def test_every_code_of_every_year_is_in_exactly_one_family(real, shipped):
    listed = {(code, year) for year, codes in real.lists.items() for code in codes}
    assert len(listed) == 103_855 and real.left_out == 90
    for level in lineage.LEVELS:
        members = real.members(level)
        nodes = [node for family in members.values() for node in family]
        assert len(nodes) == len(set(nodes)) and set(nodes) == listed
        # the warehouse's expansion gives every listed code and year the generator's family
        rows = shipped.execute("select hs_code, year, family_id from ref.hs_families "
                               "where level = $1 and length(hs_code) = 9", [level]).fetchall()
        assert len(rows) == len(listed)
        assert {(code, year): family for code, year, family in rows} == \
            {node: name for name, family in members.items() for node in family}


@needs_codes
def test_january_breaks_link_codes_as_the_rules_say(real):
    years = real.years
    for level in lineage.LEVELS:
        for year in years[1:]:
            before = lineage._by_subheading(real.lists[year - 1])
            after = lineage._by_subheading(real.lists[year])
            for sub in before.keys() & after.keys():
                if before[sub] == after[sub]:  # each code goes on as itself
                    assert all(real.family(level, c, year - 1) == real.family(level, c, year)
                               for c in before[sub])
                else:  # the subheading is one family across the break
                    assert len({real.family(level, c, year - 1) for c in before[sub]}
                               | {real.family(level, c, year) for c in after[sub]}) == 1
    # at level hs9 a family never leaves its subheading; a code that never changed is its own
    for name, nodes in real.members("hs9").items():
        codes = {code for code, _ in nodes}
        assert len({code[:6] for code in codes}) == 1
        if len(codes) == 1:
            assert name.split("@")[0] == next(iter(codes))


@needs_codes
def test_edition_groups_are_closed_and_nest_the_hs9_families(real):
    assert sorted(real.groups) == [2012, 2017, 2022]
    for year, groups in real.groups.items():
        before = lineage._by_subheading(real.lists[year - 1])
        after = lineage._by_subheading(real.lists[year])
        for old, new in groups:
            was = [(c, year - 1) for s in old for c in before.get(s, ())]
            now = [(c, year) for s in new for c in after.get(s, ())]
            if was and now:  # an n:n group is one family: no code of it in another
                assert len({real.family("hs6", *node) for node in was + now}) == 1
    # every hs9 family lies in one hs6 family (hs6 only adds links)
    hs6_of = {}
    for name, nodes in real.members("hs9").items():
        assert len({real.family("hs6", *node) for node in nodes}) == 1
        hs6_of[name] = real.family("hs6", *next(iter(nodes)))
    # the catch-alls are left out, so no family spans most of chapters 84, 85 and 90
    assert {"new 854921", "new 852411", "new 854151"} <= set(real.dropped[2022])
    assert {"new 854231"} <= set(real.dropped[2017]) and real.dropped[2012] == []
    largest = max(len({c[:6] for c, _ in nodes}) for nodes in real.members("hs6").values())
    assert largest <= 150


@needs_codes
def test_comparable_since_is_the_last_change(real):
    for level in lineage.LEVELS:
        lv = real.levels[level]
        years: dict = defaultdict(set)
        for (_code, year), root in lv.find.items():
            years[root].add(year)
        for root, seen in years.items():
            assert lv.since[root] == max(lv.changed.get(root, set()) | {min(seen)})
            assert min(seen) <= lv.since[root] <= max(seen)


def test_the_documented_examples(shipped):
    rows = dict(((level, family), since) for level, family, since in shipped.execute(
        "select level, family_id, comparable_since from ref.hs_lineage_families").fetchall())
    # a January split: 903082000 (2010-2017) -> 903082100, 903082900 (2018-)
    assert rows[("hs9", "903082")] == 2018
    assert family_of(shipped, "903082000", 2015)["members"] == [
        {"hs_code": "903082000", "first_year": 2010, "last_year": 2017},
        {"hs_code": "903082100", "first_year": 2018, "last_year": 2025},
        {"hs_code": "903082900", "first_year": 2018, "last_year": 2025}]
    # an edition change: HS 2022 split 8517.12 into smartphones 8517.13 and others 8517.14
    assert rows[("hs6", "851712")] == 2022
    phones = family_of(shipped, "851713000", 2024, level="hs6")
    assert phones["family_label"] == "851712, 851713, 851714"
    assert [m["hs_code"] for m in phones["members"]] == ["851712000", "851713000", "851714000"]
    assert family_of(shipped, "851713000", 2024)["family_id"] == "851713000"  # hs9: itself
    assert family_of(shipped, "851712000", 2021)["comparable_since"] == 2010
    # HS 2007's 2903.41 and HS 2022's are other substances: separate families at level hs9
    assert family_of(shipped, "290341000", 2010)["family_id"] == "290341000"
    assert family_of(shipped, "290341000", 2023)["family_id"] == "290341000@2022"
    # codes outside the lists: imports and unknown codes take their subheading's family
    assert family_of(shipped, "903082100", 2020, flow=2)["family_id"] == "903082"
    own = family_of(shipped, "870323915", 2020, flow=2)
    assert own["family_id"] == "870323" and own["mapped_by"] == "subheading"
    assert own["members"] == []
    assert family_of(shipped, "38XXXXXXX", 2024)["mapped_by"] == "own"
    later = family_of(shipped, "903082100", 2027)
    assert later["mapped_by"] == "code_nearest_year" and later["family_id"] == "903082"


def test_family_of_without_the_lineage_is_none():
    conn = duckdb.connect()
    try:
        assert family_of(conn, "903082100", 2024) is None
    finally:
        conn.close()
    with pytest.raises(ValueError, match="level"):
        family_of(conn, "903082100", 2024, level="hs4")


# ---- the warehouse, on the sample --------------------------------------------------------------

def _by_period(wh: Path, sql: str) -> dict:
    return {tuple(row[:-1]): row[-1] for row in query(wh, sql)}


def _totals(wh: Path, balance_total: str) -> dict:
    return _by_period(wh, f"""
        select period_type, period, 'export', exports_jpy from {balance_total}
        union all
        select period_type, period, 'import', imports_jpy from {balance_total}""")


@pytest.mark.parametrize("day", ["9999-12-31", "2025-04-17"])
def test_families_sum_to_the_totals(sample_warehouse, day):
    totals = _totals(sample_warehouse, f"marts.balance_total_as_of(DATE '{day}')")
    assert len(totals) > 100
    for level in lineage.LEVELS:
        families = _by_period(sample_warehouse, f"""
            select period_type, period, flow, sum(value_jpy)
            from marts.trade_comparable_as_of(DATE '{day}', '{level}') group by all""")
        assert families == totals, level


def test_the_view_is_both_levels_at_the_latest_date(sample_warehouse):
    view = _by_period(sample_warehouse, "select level, period_type, period, flow, "
                                        "sum(value_jpy) from marts.trade_comparable group by all")
    totals = _totals(sample_warehouse, "marts.balance_total")
    assert view == {(level, *key): value for key, value in totals.items()
                    for level in lineage.LEVELS}


def test_a_family_is_the_sum_of_its_codes(sample_warehouse):
    """Month by month, every family's value and codes are those of its codes (the 9-digit
    figures of marts.quantity_by_hs_code in core.hs_code_families), and a quantity is given
    exactly where the units of its codes agree."""
    for level in lineage.LEVELS:
        mismatches = query(sample_warehouse, f"""
            with codes as (
                select q.period, q.flow, f.family_id, q.partner_code, q.hs_code,
                    q.unit2, q.quantity2, q.value_jpy
                from marts.quantity_by_hs_code as q
                inner join core.hs_code_families as f
                    on f.level = '{level}' and f.hs_code = q.hs_code
                    and f.flow = case q.flow when 'export' then 1 else 2 end
                    and f.year = year(q.period_start)
                where q.period_type = 'month'
            ),
            expected as (
                select period, flow, family_id, partner_code,
                    count(distinct hs_code) as codes, sum(value_jpy) as value_jpy,
                    case when count(distinct coalesce(unit2, '')) = 1 and max(unit2) is not null
                        then sum(quantity2) end as quantity2
                from codes group by all
            ),
            got as (
                select period, flow, family_id, partner_code, codes_reported as codes,
                    value_jpy, quantity2
                from marts.trade_comparable where level = '{level}' and period_type = 'month'
            )
            select count(*) from (
                (select * from expected except select * from got)
                union all (select * from got except select * from expected))""")
        assert mismatches == [(0,)], level


def test_every_code_and_year_of_the_facts_has_one_family(sample_warehouse):
    (codes, mapped, unique), = query(sample_warehouse, """
        select (select count(*) from (select distinct flow, hs_code, year from core.trade_facts)),
            (select count(*) from core.hs_code_families),
            (select count(*) from (select distinct flow, hs_code, year, level
                                   from core.hs_code_families))""")
    assert mapped == unique == 2 * codes
    how = dict(query(sample_warehouse, "select mapped_by, count(*) from core.hs_code_families "
                                       "where level = 'hs9' group by 1"))
    # exports by their code; the sample's staged old codes by their nearest list; imports by
    # their subheading; confidential codes on their own
    assert how["code"] > 5_000 and how["subheading"] > 5_000
    assert 0 < how["code_nearest_year"] < 100 and 0 < how["own"] < 20
    # family_of (for `trade-etl codes`) gives a code the family the warehouse gives it
    conn = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        for flow, code, year, level, family, how in conn.execute("""
                select flow, hs_code, year, level, family_id, mapped_by
                from core.hs_code_families
                where hs_code like '9030%' or hs_code like '8517%' or hs_code like '%X%'
                    or hs_code like '2903%'""").fetchall():
            got = family_of(conn, code, year, level=level, flow=flow)
            assert (got["family_id"], got["mapped_by"]) == (family, how), (code, year, level)
    finally:
        conn.close()


def _series(wh: Path, sql: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key, period, value in query(wh, sql):
        out[key][period] = value
    return out


def test_a_split_code_is_one_smooth_series(sample_warehouse):
    """903082000 is split into 903082100 and 903082900 in the sample's 2025: each code's series
    jumps (from or to nothing), its family's does not, and equals their sum."""
    years = ["CY2023", "CY2024", "CY2025"]
    codes = _series(sample_warehouse, """
        select hs_code, period, sum(value_jpy) from marts.quantity_by_hs_code
        where hs_code like '903082%' and flow = 'export' and period_type = 'calendar_year'
        group by all""")
    assert set(codes["903082000"]) == {"CY2023", "CY2024"}
    assert set(codes["903082100"]) == set(codes["903082900"]) == {"CY2025"}
    family = _series(sample_warehouse, """
        select family_id, period, sum(value_jpy) from marts.trade_comparable
        where level = 'hs9' and family_id = '903082' and flow = 'export'
            and period_type = 'calendar_year' group by all""")["903082"]
    assert sorted(family) == years
    assert family == {y: sum(c.get(y, 0) for c in codes.values()) for y in years}
    since = query(sample_warehouse, "select distinct comparable_since, family_label "
                                    "from marts.trade_comparable where family_id = '903082'")
    assert since == [(2018, "903082")]
    # quarter by quarter too: no quarter of the family without a value
    quarters = query(sample_warehouse, """
        select count(*), count(*) filter (where value_jpy > 0) from (
            select period, sum(value_jpy) as value_jpy from marts.trade_comparable
            where level = 'hs9' and family_id = '903082' and flow = 'export'
                and period_type = 'calendar_quarter' group by all)""")
    assert quarters == [(12, 12)]


def test_an_edition_change_is_bridged_at_level_hs6_only(sample_warehouse):
    """The sample writes HS 2017's 851712000 in 2023 and HS 2022's 851713000 / 851714000 from
    2024: one series at level hs6, a break at level hs9."""
    def families(level: str) -> dict[str, dict[str, int]]:
        return _series(sample_warehouse, f"""
            select family_id, period, sum(value_jpy) from marts.trade_comparable
            where level = '{level}' and flow = 'export' and period_type = 'calendar_year'
                and family_id in (select family_id from core.hs_code_families
                                  where level = '{level}' and hs_code like '85171_000'
                                      and hs_code not in ('851711000', '851718000'))
            group by all""")
    hs6 = families("hs6")
    assert list(hs6) == ["851712"] and sorted(hs6["851712"]) == ["CY2023", "CY2024", "CY2025"]
    hs9 = families("hs9")
    assert set(hs9["851712000"]) == {"CY2023"}
    assert set(hs9["851713000"]) == {"CY2024", "CY2025"}
    assert hs6["851712"] == {y: sum(s.get(y, 0) for s in hs9.values()) for y in hs6["851712"]}


def test_as_of_gives_the_earlier_vintage(sample_warehouse):
    """As first published (2025-01-23) calendar 2024 is the preliminary vintage: families add up
    to that day's total and differ from the latest; before 2025-01-01 no 2025 month is known."""
    first = _by_period(sample_warehouse, """
        select family_id, sum(value_jpy) from marts.trade_comparable_as_of(DATE '2025-01-23', 'hs6')
        where period = 'CY2024' and flow = 'export' group by all""")
    latest = _by_period(sample_warehouse, """
        select family_id, sum(value_jpy) from marts.trade_comparable
        where level = 'hs6' and period = 'CY2024' and flow = 'export' group by all""")
    assert sum(first.values()) == 107_090_000_000_000
    assert sum(latest.values()) != sum(first.values())
    assert sum(first[k] != latest.get(k) for k in first) > 100
    # a family as of a date is its codes as of that date
    codes = query(sample_warehouse, """
        select sum(value_jpy) from marts.quantity_by_hs_code_as_of(DATE '2025-01-23')
        where hs_code like '903082%' and period = 'CY2024' and flow = 'export'""")[0][0]
    assert first[("903082",)] == codes != latest[("903082",)]
    early = query(sample_warehouse, """
        select count(*) filter (where period_start >= DATE '2025-01-01'), count(*)
        from marts.trade_comparable_as_of(DATE '2024-12-31', 'hs9')""")[0]
    assert early[0] == 0 and early[1] > 0
