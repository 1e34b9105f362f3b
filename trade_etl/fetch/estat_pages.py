"""Read e-Stat's pages for Japan's "Commodity by Country" (品別国別表) files.

The only module that knows the site's markup. Structure, as others have observed it
(docs/ingest.md, "Fetching from e-Stat"): a listing page per flow links one page per year
(`year=<YYYY>0`); a year page lists one table per HS section, each in its own container holding
the title anchor, a CSV anchor (`data-file_type="CSV"`, `data-file_id`, `data-release_count`,
`href=…file-download?statInfId=<12 digits>&fileKind=1`) and `Update date YYYY-MM-DD`
(`公開（更新）日` on Japanese pages). The parser leans on those attributes and texts, not on CSS
classes, and raises `PageError` naming the URL and the missing element when a page lacks them.
Titles say which months a file holds and at which stage; `parse_title` reads English and
Japanese titles and refuses to guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

DEFAULT_BASE_URL = "https://www.e-stat.go.jp"
LISTING_PATH = "/en/stat-search/files"
# Trade Statistics (toukei 00350300), monthly, Commodity by Country; tclass2 picks the flow.
LISTING_PARAMS = {"cycle": "1", "layout": "datalist", "tclass1": "000001013180",
                  "toukei": "00350300", "tstat": "000001013141"}
FLOW_CLASS = {"export": "000001013181", "import": "000001013182"}
FLOW_CODE = {"export": 1, "import": 2}

STAT_INF_ID = re.compile(r"^[0-9]{12}$")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class PageError(Exception):
    """A page does not have what the fetcher needs: the site's structure was not recognised."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class TitleError(ValueError):
    """A table title whose months or stages cannot be read."""


@dataclass(frozen=True)
class YearLink:
    year: int
    url: str


@dataclass(frozen=True)
class TableEntry:
    """One table as listed on a year page."""

    title: str
    csv_url: str
    stat_inf_id: str
    file_id: str
    release_count: int
    update_date: date
    page_url: str


@dataclass(frozen=True)
class TitleInfo:
    """What a title says: the flow, the data year when stated, and each month's stage."""

    flow: str
    year: int | None
    months: tuple[tuple[int, str], ...]  # (month, warehouse stage), months ascending
    section: int | None
    chapters: tuple[int, int] | None

    @property
    def newest_stage(self) -> str:
        return self.months[-1][1]


def listing_url(base_url: str, flow: str) -> str:
    query = urlencode({**LISTING_PARAMS, "tclass2": FLOW_CLASS[flow]})
    return f"{base_url.rstrip('/')}{LISTING_PATH}?{query}"


def with_page(url: str, page: int) -> str:
    """The same URL with `page=N` set (added or replaced), other parameters kept in order."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in _query_pairs(parts.query) if k != "page"]
    return urlunsplit(parts._replace(query=urlencode([("page", str(page)), *pairs])))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return [(k, v[0]) for k, v in parse_qs(query, keep_blank_values=True).items()]


# --- a tolerant element tree (the standard library has a tokenizer, not a DOM) ---------------

@dataclass(eq=False)
class _Node:
    tag: str
    attrs: dict[str, str]
    parent: _Node | None = None
    children: list[_Node | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, _Node):
                yield from child.iter()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {k.lower(): v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(
            _Node(tag, {k.lower(): v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # unmatched end tags are ignored
            self.current = node.parent

    def handle_data(self, data):
        if data.strip():
            self.current.children.append(data.replace("\xa0", " "))


def _tree(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# --- the listing page -------------------------------------------------------------------------

def parse_listing(html: str, url: str) -> list[YearLink]:
    """The year pages a listing page links to (anchors whose query has `year=<YYYY>0`)."""
    years: dict[int, YearLink] = {}
    for node in _tree(html).iter():
        if node.tag != "a" or not node.attrs.get("href"):
            continue
        href = urljoin(url, node.attrs["href"])
        value = parse_qs(urlsplit(href).query).get("year", [""])[0]
        if re.fullmatch(r"(19|20)[0-9]{2}0", value):
            years.setdefault(int(value[:4]), YearLink(int(value[:4]), href))
    return sorted(years.values(), key=lambda link: link.year)


# --- a year page ------------------------------------------------------------------------------

_DATE_LABEL = re.compile(r"(Update date|Date of update|Last updated|Updated(?: on)?|"
                         r"公開\s*[(（]\s*更新\s*[)）]\s*日|公開日|更新日)", re.IGNORECASE)
_DATE_VALUE = re.compile(r"^\s*[:：]?\s*([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*"
                         r"([0-9]{1,2})\s*日?")


def _csv_anchor(node: _Node) -> bool:
    if node.tag != "a":
        return False
    kind = node.attrs.get("data-file_type", "")
    if kind:
        return kind.strip().upper() == "CSV"
    href = node.attrs.get("href", "")
    return "file-download" in href and parse_qs(urlsplit(href).query).get("fileKind") == ["1"]


def _download_anchor(node: _Node) -> bool:
    return node.tag == "a" and ("data-file_type" in node.attrs
                                or "file-download" in node.attrs.get("href", ""))


def _container(anchor: _Node, csv_anchors: set[int]) -> _Node:
    """The largest element around `anchor` that holds no other table's CSV anchor."""
    node = anchor
    while node.parent is not None and node.parent.tag != "#root":
        inside = sum(1 for n in node.parent.iter() if id(n) in csv_anchors)
        if inside > 1:
            break
        node = node.parent
    return node


_FLOW_PART = re.compile(r"[(（]\s*(exports?|imports?|輸出|輸入)", re.IGNORECASE)


def _title(container: _Node) -> str | None:
    """The title anchor's text; failing that, the smallest element whose text reads like a
    title (a '(Export …' or '(輸入 …' part), outside the download links."""
    texts = [n.text() for n in container.iter()
             if n.tag == "a" and not _download_anchor(n) and n.text()]
    flows = [t for t in texts if re.search(r"export|import|輸出|輸入|commodity|品別", t, re.I)]
    if flows or texts:
        return max(flows or texts, key=len)
    downloads = {id(d) for n in container.iter() if _download_anchor(n) for d in n.iter()}
    candidates = [n.text() for n in container.iter()
                  if id(n) not in downloads and _FLOW_PART.search(n.text())
                  and not any(id(d) in downloads for d in n.iter())]
    return min(candidates, key=len) if candidates else None


def _update_date(container: _Node, url: str, title: str) -> date:
    text = container.text()
    label = _DATE_LABEL.search(text)
    if label is None:
        raise PageError(url, f"no update date ('Update date YYYY-MM-DD') for table {title!r}")
    value = _DATE_VALUE.match(text[label.end():])
    try:
        if value is None:
            raise ValueError
        return date(int(value.group(1)), int(value.group(2)), int(value.group(3)))
    except ValueError:
        shown = text[label.start():label.end() + 20]
        raise PageError(url, f"unreadable update date {shown!r} for table {title!r}") from None


def parse_year_page(html: str, url: str) -> list[TableEntry]:
    """Every table a year page lists, in page order. An empty list means no tables on it."""
    root = _tree(html)
    anchors = [n for n in root.iter() if _csv_anchor(n)]
    ids = {id(a) for a in anchors}
    tables: dict[str, TableEntry] = {}
    for anchor in anchors:
        href = anchor.attrs.get("href", "")
        csv_url = urljoin(url, href)
        stat_inf_id = parse_qs(urlsplit(csv_url).query).get("statInfId", [""])[0]
        if not STAT_INF_ID.fullmatch(stat_inf_id):
            raise PageError(url, f"CSV link without a 12-digit statInfId: href={href!r}")
        container = _container(anchor, ids)
        title = _title(container)
        if title is None:
            raise PageError(url, f"no title anchor next to the CSV link of statInfId "
                            f"{stat_inf_id}")
        count = anchor.attrs.get("data-release_count", "").strip()
        if not count.isdigit():
            raise PageError(url, f"CSV link of statInfId {stat_inf_id} has no numeric "
                            f"data-release_count (found {count!r})")
        file_id = anchor.attrs.get("data-file_id", "").strip()
        if not file_id:
            raise PageError(url, f"CSV link of statInfId {stat_inf_id} has no data-file_id")
        tables.setdefault(stat_inf_id, TableEntry(
            title, csv_url, stat_inf_id, file_id, int(count),
            _update_date(container, url, title), url))
    if not anchors and re.search(r"statInfId=|stat_infid=", html):
        raise PageError(url, "tables are listed but none has a CSV link "
                        "(an anchor with data-file_type=\"CSV\")")
    return list(tables.values())


# --- titles -----------------------------------------------------------------------------------

_EN_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_EN_MONTHS.update({"apl": 4, "sept": 9})
_STAGES = {
    "preliminary": "preliminary", "provisional": "preliminary", "速報": "preliminary",
    "detailed": "detailed", "confirmed": "detailed", "確報": "detailed",
    "revised": "revised", "確々報": "revised", "確確報": "revised",
    "fixed": "fixed", "final": "fixed", "確定": "fixed", "確定値": "fixed",
}
_FLOW_WORDS = {"export": "export", "exports": "export", "輸出": "export",
               "import": "import", "imports": "import", "輸入": "import"}
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}


def _roman(text: str) -> int | None:
    values = [_ROMAN.get(c) for c in text.upper()]
    if not values or None in values:
        return None
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v
                for i, v in enumerate(values))
    return total if 1 <= total <= 30 else None


def _month(token: str) -> int:
    token = token.strip().lower().rstrip(".")
    if token.isdigit() and 1 <= int(token) <= 12:
        return int(token)
    if token[:4] in _EN_MONTHS:
        return _EN_MONTHS[token[:4]]
    if token[:3] in _EN_MONTHS:
        return _EN_MONTHS[token[:3]]
    raise TitleError(f"unknown month {token!r}")


def _months(text: str) -> list[int]:
    """`Jan-May`, `Jul`, `1-6月`, `7月` -> month numbers."""
    text = text.strip().removesuffix("月").strip()
    ends = re.split(r"\s*[-~–〜]\s*", text)
    if len(ends) == 1:
        return [_month(ends[0])]
    if len(ends) != 2:
        raise TitleError(f"unreadable months {text!r}")
    first, last = _month(ends[0].removesuffix("月")), _month(ends[1])
    if first > last:
        raise TitleError(f"months run backwards: {text!r}")
    return list(range(first, last + 1))


def _stage(text: str) -> str:
    word = re.sub(r"\s+", " ", text.strip().lower())
    word = re.sub(r"^(export|import|輸出|輸入)\s*", "", word)
    word = re.sub(r"^(9-digit|9 digit|9桁)\s*", "", word)
    if word not in _STAGES:
        raise TitleError(f"unknown stage {text.strip()!r}")
    return _STAGES[word]


def parse_title(title: str) -> TitleInfo:
    """Months and stages of a title, e.g. `… (Import Jan-Jun:Detailed, Jul:9-digit Provisional)
    Section XVI Chapter 84-85` or `2026年7月分 … (輸入 1-6月：確報、7月：輸入9桁速報)`."""
    text = unicodedata.normalize("NFKC", title)
    groups = [g for g in re.findall(r"\(([^()]*)\)", text) if ":" in g]
    if len(groups) != 1:
        raise TitleError("no '(Export|Import months:stage)' part")
    body = groups[0].strip()
    flow_match = re.match(r"(exports?|imports?|輸出|輸入)\s*", body, re.IGNORECASE)
    if flow_match is None:
        raise TitleError(f"no flow (Export/Import, 輸出/輸入) in {body!r}")
    flow = _FLOW_WORDS[flow_match.group(1).lower()]
    months: dict[int, str] = {}
    for segment in re.split(r"\s*[,、;]\s*", body[flow_match.end():]):
        if ":" not in segment:
            raise TitleError(f"segment {segment!r} is not 'months:stage'")
        span, stage_text = segment.split(":", 1)
        stage = _stage(stage_text)
        for month in _months(span):
            if month in months:
                raise TitleError(f"month {month} is given twice")
            months[month] = stage
    if not months:
        raise TitleError("no months")
    year = re.search(r"((?:19|20)[0-9]{2})\s*年", text)
    section = re.search(r"Section\s+([IVXL]+|[0-9]{1,2})\b|第\s*([0-9]{1,2}|[IVXL]+)\s*部", text)
    chapters = re.search(r"Chapters?\s+([0-9]{1,2})(?:\s*-\s*([0-9]{1,2}))?"
                         r"|第\s*([0-9]{1,2})(?:\s*-\s*([0-9]{1,2}))?\s*類", text)
    section_no = None
    if section:
        token = (section.group(1) or section.group(2)).upper()
        section_no = int(token) if token.isdigit() else _roman(token)
    chapter_span = None
    if chapters:
        first = chapters.group(1) or chapters.group(3)
        last = chapters.group(2) or chapters.group(4) or first
        chapter_span = (int(first), int(last))
    return TitleInfo(flow, int(year.group(1)) if year else None, tuple(sorted(months.items())),
                     section_no, chapter_span)
