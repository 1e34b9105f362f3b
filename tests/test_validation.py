"""pandera validation: every failing row is quarantined with its reasons; the rest loads."""

from tests.conftest import csv_text, row
from trade_etl.ingest.raw_csv import read_table
from trade_etl.ingest.validation import validate

CODES = ["103", "105", "137", "304"]
US = "304"


def run(text: str):
    table = read_table(text.encode())
    return table, validate(table.layout, table.rows, table.malformed, CODES)


def test_valid_rows_become_nonzero_month_cells():
    _, result = run(csv_text([row(1, 2024, "870323915", US, {1: 10, 3: 30})]))
    cells = result.facts.sort("month").to_dicts()
    assert [(c["month"], c["value_thousand_jpy"], c["quantity2"]) for c in cells] == [
        (1, 10, 5), (3, 30, 15)]
    assert cells[0]["hs_code"] == "870323915" and cells[0]["country_code"] == US
    assert result.quarantine.is_empty() and result.rows_loaded == 1


def test_each_rule_gives_a_reason():
    good = row(1, 2024, "870323915", US, {1: 10})
    cases = {
        3: row(3, 2024, "870323915", US, {1: 1}),
        4: row(1, 2024, "87032391", US, {1: 1}),
        5: row(1, 2024, "870323915", "999", {1: 1}),
        6: good.replace(",10,", ",-10,", 1),
        7: good.replace(",10,", ",1.5,", 1),
        8: good.replace(",10,", ",99999999999999999999999,", 1),
        9: good.replace(",10,", ",,", 1),
        10: row(1, 2024, "870323915", US, {1: 10**13}),
    }
    table, result = run(csv_text([good, *cases.values()]))
    reasons = dict(zip(result.quarantine["line_number"], result.quarantine["reason"], strict=True))
    assert reasons[3].startswith("Exp or Imp must be 1 (export) or 2 (import)")
    assert reasons[4] == "HS is not a 9-digit code: '87032391'"
    assert reasons[5] == "Country is not a known customs country code: '999'"
    assert "is not a non-negative integer: '-10'" in reasons[6]
    assert "is not a non-negative integer: '1.5'" in reasons[7]
    assert "is not a non-negative integer: '99999999999999999999999'" in reasons[8]
    assert "is not a non-negative integer: blank" in reasons[9]
    assert "Value-Jan is implausibly large" in reasons[10]
    assert result.rows_loaded == 1
    assert result.rows_loaded + result.quarantine.height == table.rows_read


def test_a_row_with_several_problems_lists_them_all():
    _, result = run(csv_text([row(5, 2024, "12", "999", {1: 1})]))
    reason = result.quarantine["reason"][0]
    assert "Exp or Imp" in reason and "HS is not" in reason and "Country is not" in reason


def test_duplicate_key_is_quarantined_and_first_kept():
    lines = [row(1, 2024, "870323915", US, {1: 10}), row(1, 2024, "870323915", US, {1: 99})]
    _, result = run(csv_text(lines))
    assert result.facts["value_thousand_jpy"].to_list() == [10]
    assert result.quarantine["reason"].to_list() == [
        "duplicate of line 2 (same Exp or Imp, Year, HS, Country)"]


def test_custom_variant_ports_sum_to_the_plain_figures():
    ports = [row(1, 2024, "870323915", US, {1: 10, 2: 5}, custom="100"),
             row(1, 2024, "870323915", US, {1: 7}, custom="200"),
             row(1, 2024, "870323915", US, {2: 1}, custom="400")]
    _, custom = run(csv_text(ports, custom=True))
    _, plain = run(csv_text([row(1, 2024, "870323915", US, {1: 17, 2: 6})]))
    cols = ["flow", "year", "month", "hs_code", "country_code", "value_thousand_jpy"]
    assert custom.facts.select(cols).sort(cols).equals(plain.facts.select(cols).sort(cols))


def test_custom_variant_ports_in_other_units_are_quarantined():
    """Ports are summed into one cell, so their quantities must share units: a port in other
    units is quarantined (blank and missing units count as the same)."""
    ports = [row(1, 2024, "870323915", US, {1: 10}, custom="100", unit2="NO", unit1="  "),
             row(1, 2024, "870323915", US, {1: 7}, custom="200", unit2="NO", unit1=""),
             row(1, 2024, "870323915", US, {1: 4}, custom="300", unit2="KG"),
             row(1, 2024, "870324915", US, {1: 3}, custom="300", unit2="KG")]
    table, result = run(csv_text(ports, custom=True))
    assert result.quarantine.select("line_number", "reason").rows() == [
        (4, "Unit1/Unit2 '/KG' differ from line 2's '/NO' (same Exp or Imp, Year, HS, Country: "
            "the ports of a code are summed)")]
    assert sorted(result.facts.select("hs_code", "unit2", "value_thousand_jpy").rows()) == [
        ("870323915", "NO", 17), ("870324915", "KG", 3)]
    assert result.rows_loaded + result.quarantine.height == table.rows_read


def test_value_year_mismatch_is_counted_not_rejected():
    _, result = run(csv_text([row(1, 2024, "870323915", US, {1: 10}, value_year=11)]))
    assert result.value_year_mismatches == 1 and result.rows_loaded == 1


def test_bare_and_quoted_hs_codes_load_alike():
    _, result = run(csv_text([row(1, 2024, "870323915", US, {1: 1}, quote_hs=False),
                              row(1, 2024, "870324915", US, {1: 1})]))
    assert sorted(result.facts["hs_code"]) == ["870323915", "870324915"]


def test_batches_group_files_by_size_in_order():
    from datetime import date
    from pathlib import Path

    from trade_etl.ingest.loader import batches
    from trade_etl.ingest.releases import SourceFile

    def source(name: str, size: int) -> tuple[SourceFile, str]:
        return SourceFile("2024-02-20_preliminary", date(2024, 2, 20), "preliminary", name,
                          Path(name), size, 0), name

    files = [source(n, s) for n, s in (("a", 3), ("b", 3), ("c", 9), ("d", 1), ("e", 0))]
    names = [[f[0].file_name for f in group] for group in batches(files, size=5)]
    assert names == [["a", "b"], ["c"], ["d", "e"]]
    assert batches([], size=5) == []


def test_numbers_are_read_alike_plain_or_padded():
    """A number is 1 to 18 ASCII digits once stripped: plain fields are read by the fast path,
    padded or odd ones again the careful way, and both give the careful way's result."""
    import polars as pl

    from trade_etl.formats.customs_csv import NUMERIC_COLUMNS
    from trade_etl.ingest.validation import typed_rows

    cases = {"5": 5, "007": 7, " 5": 5, "5 ": 5, "\t12\xa0": 12, "+5": None, "-5": None,
             "-0": None, "": None, " ": None, "1.0": None, "1_000": None, "１２": None,
             "123456789012345678": 123456789012345678, "1234567890123456789": None}
    texts = list(cases)
    rows = pl.DataFrame({
        "line_number": range(2, 2 + len(texts)), "raw_line": texts, "flow": "1",
        "year": "2024", "hs": "'870323915'", "country": US, "unit1": "NO", "unit2": "KG",
        **{c: "1" for c in NUMERIC_COLUMNS}}).with_columns(value_03=pl.Series(texts))
    typed = typed_rows(rows)
    assert typed["value_03"].to_list() == list(cases.values())
    assert typed["year"].to_list() == [2024] * len(texts)
    assert typed.select(pl.all_horizontal(pl.col(c) == 1 for c in NUMERIC_COLUMNS
                                          if c != "value_03")).to_series().all()
