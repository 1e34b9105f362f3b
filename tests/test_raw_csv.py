"""Reading real-layout release files: every quirk of the downloads, and unreadable files."""

import polars as pl
import pytest

from tests.conftest import csv_text, header, row
from trade_etl.formats.customs_csv import FileProblem, canonical_column
from trade_etl.ingest.raw_csv import read_table

US, CN = "304", "105"


def test_plain_layout_splits_into_named_text_fields():
    table = read_table(csv_text([row(1, 2024, "870323915", US, {1: 500, 4: 700})]).encode())
    assert table.layout == "hs_country"
    assert table.rows_read == 1
    first = table.rows.row(0, named=True)
    assert first["hs"] == "'870323915'"  # apostrophes are removed at validation
    assert first["country"] == US and first["value_04"] == "700" and first["line_number"] == 2


def test_custom_variant_is_recognised():
    text = csv_text([row(1, 2024, "870323915", US, {1: 5}, custom="104")], custom=True)
    table = read_table(text.encode())
    assert table.layout == "hs_country_custom"
    assert table.rows["custom"].to_list() == ["104"]


def test_bom_crlf_and_apl_spelling():
    text = csv_text([row(2, 2024, "270900000", "137", {4: 9})], april="Apl")
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    table = read_table(data)
    assert table.encoding == "utf-8-sig"
    assert table.rows["value_04"].to_list() == ["9"]
    assert table.rows["raw_line"].str.contains("\r").sum() == 0


def test_mixed_line_endings_keep_physical_line_numbers():
    lines = [header(), row(1, 2024, "870323915", US, {1: 1}), row(1, 2024, "870323915", CN, {1: 2}),
             row(1, 2024, "870324915", CN, {1: 3})]
    data = (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\n").encode()
    table = read_table(data)
    assert table.rows["line_number"].to_list() == [2, 3, 4]


def test_cp932_japanese_header_is_decoded():
    ja = ["輸出入", "年", "HS", "国", "単位1", "単位2", "数量1-年", "数量2-年", "金額-年"]
    for m in range(1, 13):
        ja += [f"数量1-{m}月", f"数量2-{m}月", f"金額-{m}月"]
    text = ",".join(ja) + "\r\n" + row(1, 2024, "870323915", US, {3: 42}) + "\r\n"
    table = read_table(text.encode("cp932"))
    assert table.encoding == "cp932"
    assert table.rows["value_03"].to_list() == ["42"]


def test_columns_in_another_order_are_matched_by_name():
    cells = header().split(",")
    values = row(1, 2024, "870323915", US, {2: 77}).split(",")
    order = list(reversed(range(len(cells))))
    text = ",".join(cells[i] for i in order) + "\n" + ",".join(values[i] for i in order) + "\n"
    table = read_table(text.encode())
    assert table.rows["value_02"].to_list() == ["77"]
    assert table.rows["country"].to_list() == [US]


def test_quoted_field_with_comma_is_one_field():
    values = row(1, 2024, "870323915", US, {1: 1}).split(",")
    values[11] = '"1,234"'
    table = read_table(("\n".join([header(), ",".join(values)]) + "\n").encode())
    assert table.malformed.is_empty()
    assert table.rows["value_01"].to_list() == ["1,234"]


def test_short_long_and_repeated_header_lines_are_malformed():
    good = row(1, 2024, "870323915", US, {1: 1})
    text = "\n".join([header(), good[:20], good + ",9", header(), good]) + "\n"
    table = read_table(text.encode())
    reasons = dict(zip(table.malformed["line_number"], table.malformed["reason"], strict=True))
    assert reasons[2].startswith("expected 45 fields, found")
    assert reasons[3] == "expected 45 fields, found 46"
    assert reasons[4] == "repeated header line"
    assert table.rows["line_number"].to_list() == [5]
    assert table.rows_read == 4


def test_blank_lines_are_not_rows():
    text = header() + "\n\n" + row(1, 2024, "870323915", US, {1: 1}) + "\n  \n"
    assert read_table(text.encode()).rows_read == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (bytes(range(256)) * 4, "binary content"),
        (b"a,b,c\n1,2,3\n", "header is not a Japan Customs"),
        (header().replace(",Value-Dec", "").encode() + b"\n", "missing columns value_12"),
        ((header() + ",Value-Dec").encode() + b"\n", "repeated columns value_12"),
        (b"\x81\x20abc" * 10, "neither UTF-8 nor CP932"),
    ],
)
def test_unreadable_files_raise_file_problem(data, reason):
    with pytest.raises(FileProblem, match=reason):
        read_table(data)


def test_header_only_is_an_empty_table():
    table = read_table((header() + "\n").encode())
    assert table.rows_read == 0 and table.rows.is_empty()


def test_canonical_column_names():
    assert canonical_column(" Exp or Imp ") == "flow"
    assert canonical_column("Value-Apl") == "value_04"
    assert canonical_column("Quantity2-Year") == "quantity2_year"
    assert canonical_column("金額-12月") == "value_12"
    assert canonical_column("Value-Foo") is None
    assert isinstance(read_table((header() + "\n").encode()).rows, pl.DataFrame)


@pytest.mark.parametrize("encoding, named", [("utf-16", "utf-16-le"), ("utf-16-le", "utf-16-le"),
                                             ("utf-16-be", "utf-16-be")])
def test_utf16_files_are_decoded_and_named(encoding, named):
    text = csv_text([row(1, 2024, "870323915", "304", {1: 5})])
    table = read_table(text.encode(encoding))
    assert (table.encoding, table.rows.height, table.malformed.height) == (named, 1, 0)


def test_an_overlong_line_is_quarantined_with_its_start_only():
    from trade_etl.ingest.raw_csv import MAX_LINE_CHARS, RAW_LINE_KEEP

    good = row(1, 2024, "870323915", "304", {1: 5})
    huge = "1," + "9" * (2 * MAX_LINE_CHARS)
    table = read_table(csv_text([good, huge, good.replace("304", "105")]).encode())
    assert table.rows.height == 2 and table.rows_read == 3
    bad = table.malformed.to_dicts()
    assert len(bad) == 1 and bad[0]["line_number"] == 3
    assert f"line is {len(huge)} characters long" in bad[0]["reason"]
    assert len(bad[0]["raw_line"]) < RAW_LINE_KEEP + 100
    assert bad[0]["raw_line"].endswith(f"({len(huge)} characters in all)")
