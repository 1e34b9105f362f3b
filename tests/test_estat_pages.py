"""The e-Stat page parser and title reader on their own (test_fetch.py runs them over HTTP)."""

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest

from trade_etl.fetch.estat_pages import (
    PageError,
    TitleError,
    listing_url,
    parse_listing,
    parse_title,
    parse_year_page,
    with_page,
)
from trade_etl.fetch.fetcher import default_years, parse_flows, parse_years
from trade_etl.fetch.http import retry_after

D, P, R, F = "detailed", "preliminary", "revised", "fixed"


@pytest.mark.parametrize("title, flow, months, section, chapters", [
    ("Commodity by Country (Export Jan-May:Detailed) Section XVI Chapter 84-85",
     "export", [(m, D) for m in range(1, 6)], 16, (84, 85)),
    ("Commodity by Country (Import Jan-Jun:Detailed, Jul:9-digit Provisional) Section I "
     "Chapter 01-05", "import", [*[(m, D) for m in range(1, 7)], (7, P)], 1, (1, 5)),
    ("2026年7月分 品別国別表 （輸入 1-6月：確報、7月：輸入9桁速報） 第16部 第84-85類",
     "import", [*[(m, D) for m in range(1, 7)], (7, P)], 16, (84, 85)),
    ("品別国別表（輸出 １－１２月：確々報）第XVII部 第86-89類",
     "export", [(m, R) for m in range(1, 13)], 17, (86, 89)),
    ("Commodity by Country (Export Jan-Dec:Fixed) Section XXI Chapter 97",
     "export", [(m, F) for m in range(1, 13)], 21, (97, 97)),
    ("Commodity by Country (Exports Jan-Apl:Confirmed)", "export", [(m, D) for m in range(1, 5)],
     None, None),
])
def test_titles_give_flow_months_and_stages(title, flow, months, section, chapters):
    info = parse_title(title)
    assert (info.flow, list(info.months), info.section, info.chapters) == (
        flow, months, section, chapters)
    assert info.newest_stage == months[-1][1]


def test_a_japanese_title_states_its_year():
    assert parse_title("2026年7月分 品別国別表 (輸入 1-7月：輸入9桁速報)").year == 2026
    assert parse_title("Commodity by Country (Export Jan:Detailed)").year is None


@pytest.mark.parametrize("title, says", [
    ("Commodity by Country (Export Jan-May:Estimated)", "unknown stage 'Estimated'"),
    ("Commodity by Country (Export Jan-May)", "no '(Export|Import months:stage)' part"),
    ("Commodity by Country Section XVI", "no '(Export|Import months:stage)' part"),
    ("Commodity by Country (Jan-May:Detailed)", "no flow"),
    ("Commodity by Country (Export Jan-May:Detailed, May:Provisional)", "month 5 is given twice"),
    ("Commodity by Country (Export May-Jan:Detailed)", "months run backwards"),
    ("Commodity by Country (Export Jam:Detailed)", "unknown month 'jam'"),
    ("Commodity by Country (Export 13月:Detailed)", "unknown month '13'"),
])
def test_titles_that_say_nothing_certain_are_refused(title, says):
    with pytest.raises(TitleError, match=says.replace("(", r"\(").replace(")", r"\)")
                       .replace("|", r"\|")):
        parse_title(title)


def test_listing_links_years_and_ignores_other_anchors():
    url = listing_url("http://example.test", "export")
    assert "tclass2=000001013181" in url and "toukei=00350300" in url
    html = """<html><body><a href="/en">home</a><a href="/en/stat-search/files?page=1&amp;
    tstat=000001013141">all</a><ul><li><a href="/en/stat-search/files?page=1&amp;year=20250&amp;
    month=12040606&amp;tclass2=000001013181">2025</a></li><li><a href="files?year=20240&amp;
    month=0">2024</a><li><a href="?year=2024">bad</a></ul></body></html>"""
    links = parse_listing(html, url)
    assert [link.year for link in links] == [2024, 2025]
    assert links[1].url.startswith("http://example.test/en/stat-search/files?page=1&year=20250")


def test_with_page_replaces_the_page_number():
    assert with_page("http://h/x?page=1&year=20240", 3) == "http://h/x?page=3&year=20240"
    assert with_page("http://h/x?year=20240", 2) == "http://h/x?page=2&year=20240"


ARTICLE = """<article><ul><li><a class="stat-link_text" href="/x?stat_infid={sid}">{title}</a>
</li><li><span>{label}&nbsp;</span>{date}</li></ul><div>
<a href="/stat-search/file-download?statInfId={sid}&amp;fileKind=0" data-file_type="EXCEL"
 data-file_id="{fid}" data-release_count="2">EXCEL</a>
<a href="/stat-search/file-download?statInfId={sid}&amp;fileKind=1" data-file_type="CSV"
 data-file_id="{fid}" data-release_count="2"><span>CSV</span></a></div></article>"""


def page(*articles: str) -> str:
    return f"<!doctype html><html><body><div><p>unclosed<br>{''.join(articles)}</div></body>"


def article(sid="000040212345", title="Commodity by Country (Export Jan:Detailed)",
            label="Update date", when="2025-02-27", fid="0000123456") -> str:
    return ARTICLE.format(sid=sid, title=title, label=label, date=when, fid=fid)


def test_a_year_page_gives_each_table_with_its_attributes():
    html = page(article(), article("000040212346", "品別国別表 (輸入 1月：輸入9桁速報)",
                                   "公開（更新）日", "2025年2月27日", "0000123457"))
    tables = parse_year_page(html, "http://h/en/stat-search/files?year=20250")
    assert [(t.stat_inf_id, t.file_id, t.release_count, t.update_date) for t in tables] == [
        ("000040212345", "0000123456", 2, date(2025, 2, 27)),
        ("000040212346", "0000123457", 2, date(2025, 2, 27))]
    assert tables[0].csv_url == ("http://h/stat-search/file-download?statInfId=000040212345"
                                 "&fileKind=1")
    assert tables[1].title == "品別国別表 (輸入 1月：輸入9桁速報)"


@pytest.mark.parametrize("html, says", [
    (page(article(when="2025-13-45")), "unreadable update date"),
    (page(article(label="Posted")), "no update date"),
    (page(article(sid="12345")), "without a 12-digit statInfId"),
    (page(article().replace('data-release_count="2"', "")), "no numeric data-release_count"),
    (page(article().replace('data-file_type="CSV"', 'data-file_type="PDF"')
          .replace("fileKind=1", "fileKind=2")), "none has a CSV link"),
])
def test_a_year_page_missing_an_element_names_it(html, says):
    with pytest.raises(PageError, match=says) as err:
        parse_year_page(html, "http://h/en/stat-search/files?year=20250")
    assert "http://h/en/stat-search/files?year=20250" in str(err.value)


def test_a_page_without_tables_is_empty():
    assert parse_year_page(page(), "http://h/") == []


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("7") == 7.0 and retry_after(None) == 0.0 and retry_after("soon") == 0.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(later) <= 30


def test_years_and_flows():
    assert parse_years("2024-2025") == [2024, 2025]
    assert parse_years("2023, 2025") == [2023, 2025]
    assert default_years(date(2026, 1, 5)) == [2025, 2026]
    assert parse_flows("imports") == ["import"] and parse_flows("export,import,export") == [
        "export", "import"]
    for bad in ("2025-2024", "abc", "1900"):
        with pytest.raises(ValueError):
            parse_years(bad)
    with pytest.raises(ValueError):
        parse_flows("both")


def test_a_title_outside_an_anchor_is_still_found():
    html = page(article().replace('<a class="stat-link_text" href="/x?stat_infid=000040212345">',
                                  "<span>").replace("Detailed)</a>", "Detailed)</span>"))
    tables = parse_year_page(html, "http://h/")
    assert tables[0].title == "Commodity by Country (Export Jan:Detailed)"


@pytest.mark.parametrize("label, when", [("Updated on", "2025-02-27"), ("Update date:",
                                          "2025/2/27"), ("Last updated", "2025.02.27")])
def test_update_date_spellings(label, when):
    assert parse_year_page(page(article(label=label, when=when)), "http://h/")[0].update_date \
        == date(2025, 2, 27)


def test_section_numbers_in_digits():
    assert parse_title("Commodity by Country (Export Jan:Detailed) Section 16 Chapter 84"
                       ).section == 16
