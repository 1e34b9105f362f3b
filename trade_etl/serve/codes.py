"""`trade-etl codes`: find commodities as people name them, in the published warehouse.

A commodity is an HS heading (4 digits), an HS subheading (6 digits) or a 9-digit statistical
code. They are found by English words (`motor cars`: every word, or its plural, is a word of the
name), Japanese words (`乗用自動車`: a part of the Japanese name or description) or a code prefix
(`8703`, `8703.23`), from the commodity dictionary (ref.hs_headings, ref.hs_subheadings,
ref.hs9_codes, ref.units) and the codes of the figures themselves (core.trade_latest): the codes
no open list describes (every import code) are named after their subheading, as a `national
subdivision`. `resolve_commodity` turns such a text into one code for `trade-etl brief
--commodity`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import duckdb

from trade_etl.db import table_exists
from trade_etl.serve.brief import BriefError
from trade_etl.text import visible

LEVELS = {4: "heading", 6: "subheading", 9: "code"}
NATIONAL = "national subdivision"
HS2022_FROM = 2022  # the first year of the HS 2022 edition: its codes with no list from then
SHOWN = 100  # lines `codes` prints by default


class NoMatch(BriefError):
    """Nothing matches the text; the message suggests the closest words or codes."""


@dataclass
class Entry:
    """A heading, subheading or 9-digit code, with what it is found by and shown with."""

    code: str
    name: str  # English
    name_ja: str = ""  # the Japanese heading name, or a 9-digit code's description
    years: set[int] = field(default_factory=set)  # the years it was listed (or seen)
    units: set[str] = field(default_factory=set)
    kind: str = ""  # `heading`, `subheading`, `export code`, `national subdivision`, …
    parent: str = ""  # 9 digits: the subheading's code and English name
    search_ja: str = ""  # Japanese text it is found by (its heading's name too)

    @property
    def digits(self) -> int:
        return len(self.code)

    def valid_in(self, year: int) -> bool:
        return year in self.years

    def display_name(self) -> str:
        """The name `resolve_commodity` gives: English, a 9-digit export code's Japanese
        description after it."""
        if self.digits == 9 and self.name_ja:
            return f"{self.name}: {self.name_ja}"
        return self.name


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _word_matches(word: str, tokens: set[str]) -> bool:
    """`car` is a word of `Motor cars` (plural), `cars` of `car`, `tyres` of `tyre`."""
    return any(word == t or t in (word + "s", word + "es") or word in (t + "s", t + "es")
               for t in tokens)


def spans(years: set[int]) -> str:
    """`2010-2016 2019-2025`; `-` when none."""
    if not years:
        return "-"
    ordered = sorted(years)
    out, start = [], ordered[0]
    for previous, year in zip(ordered, [*ordered[1:], None], strict=True):
        if year != previous + 1:
            out.append(str(start) if start == previous else f"{start}-{previous}")
            start = year
    return " ".join(out)


def _parse_spans(text: str) -> set[int]:
    years: set[int] = set()
    for span in (text or "").split():
        first, _, last = span.partition("-")
        years.update(range(int(first), int(last or first) + 1))
    return years


def _confidential_name(code: str, headings: dict[str, Entry], chapters: dict[str, str]) -> str:
    kept = code.split("X", 1)[0]
    if len(kept) >= 4 and kept[:4] in headings:
        return f"confidential code within heading {kept[:4]}: {headings[kept[:4]].name}"
    return f"confidential code within chapter {code[:2]}: {chapters.get(code[:2], 'not in the HS')}"


class Dictionary:
    """The commodity dictionary of a warehouse, read once (about 15,000 entries)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        for table in ("ref.hs_headings", "ref.hs_subheadings", "ref.hs9_codes", "ref.units"):
            if not table_exists(conn, table):
                raise NoMatch(f"the warehouse has no {table}: it was built before the commodity "
                              "dictionary; build it again (trade-etl build)")
        self.units = dict(conn.execute(
            "select unit_code, unit_name from ref.units").fetchall())
        chapters = dict(conn.execute(
            "select hs_chapter, chapter_name from ref.hs_chapters").fetchall())
        listed = conn.execute(
            "select hs_code, unit2, description_ja, subheading_name, years_listed "
            "from ref.hs9_codes where flow = 'export'").fetchall()
        headings = {code: Entry(code, name, name_ja or "", kind="heading",
                                search_ja=name_ja or "")
                    for code, name, name_ja in conn.execute(
                        "select hs_heading, heading_name, heading_name_ja "
                        "from ref.hs_headings").fetchall()}
        subheadings = {code: Entry(code, name, kind="subheading",
                                   search_ja=headings[code[:4]].name_ja
                                   if code[:4] in headings else "")
                       for code, name in conn.execute(
                           "select hs_subheading, subheading_name from ref.hs_subheadings"
                       ).fetchall()}
        codes: dict[str, Entry] = {}
        for code, unit, description, parent_name, years_listed in listed:
            heading = headings.get(code[:4])
            years = _parse_spans(years_listed)
            codes[code] = Entry(
                code, parent_name or f"subheading {code[:6]} (not in HS 2022)", description or "",
                years=years, units={unit} if unit else set(), kind="export code",
                parent=f"{code[:6]}: {parent_name}" if parent_name else code[:6],
                search_ja=f"{description} {heading.name_ja if heading else ''}")
            # a heading or subheading is valid in the years of its listed codes
            for level in (headings.get(code[:4]), subheadings.get(code[:6])):
                if level is not None:
                    level.years |= years
                    level.units |= {unit} if unit else set()
        list_years = {y for entry in codes.values() for y in entry.years} or {HS2022_FROM}
        self.first_year, self.last_year = min(list_years), max(list_years)
        for level in (*headings.values(), *subheadings.values()):
            if not level.years:  # no export code of it in any list: HS 2022 from 2022
                level.years = set(range(HS2022_FROM, self.last_year + 1))
        # The codes of the figures no list holds: import codes, unlisted and confidential ones
        seen = conn.execute(
            "select hs_code, list(distinct flow order by flow), list(distinct year), "
            "list(distinct nullif(trim(unit2), '')) from core.trade_latest group by hs_code"
        ).fetchall() if table_exists(conn, "core.trade_latest") else []
        for code, flows, years, units in seen:
            if code in codes and flows == [1]:
                continue
            if "X" in code:
                name, kind = _confidential_name(code, headings, chapters), "confidential code"
            else:
                parent = subheadings.get(code[:6])
                name = f"{parent.name if parent else 'subheading ' + code[:6]} ({NATIONAL})"
                kind = "import code" if 1 not in flows else "export code not in the lists"
            entry = Entry(code, name, years=set(years), units={u for u in units if u},
                          kind=kind, parent=code[:6],
                          search_ja=headings[code[:4]].name_ja if code[:4] in headings else "")
            if code in codes:  # an export code, imported under the same digits
                codes[code].kind = "export code, also an import code"
                continue
            codes[code] = entry
        self.entries: list[Entry] = sorted([*headings.values(), *subheadings.values(),
                                            *codes.values()], key=lambda e: e.code)

    def vocabulary(self) -> set[str]:
        return {t for entry in self.entries if entry.digits < 9 for t in _tokens(entry.name)}

    def find(self, text: str, year: int | None = None,
             digits: int | None = None) -> list[Entry]:
        """The entries `text` names (a code prefix, English words or Japanese words)."""
        found = [entry for entry in self.entries if _matches(entry, text)]
        if digits is not None:
            found = [entry for entry in found if entry.digits == digits]
        if year is not None:
            found = [entry for entry in found if entry.valid_in(year)]
        return found


def code_query(text: str) -> str | None:
    """The digits of a code query (`8703`, `8703.23`, `8703 23 915`, a confidential
    `38XXXXXXX`), or None for words."""
    stripped = text.strip()
    if re.fullmatch(r"[0-9][0-9 .\-]*X*", stripped):
        return re.sub(r"[ .\-]", "", stripped)
    return None


def _matches(entry: Entry, text: str) -> bool:
    digits = code_query(text)
    if digits is not None:
        return entry.code.startswith(digits)
    tokens = None
    for word in text.split():
        if word.isascii():
            tokens = set(_tokens(entry.name)) if tokens is None else tokens
            if not all(_word_matches(w, tokens) for w in _tokens(word)) or not _tokens(word):
                return False
        elif word not in entry.search_ja and word not in entry.name_ja:
            return False
    return bool(text.split())


def _suggestion(dictionary: Dictionary, text: str) -> str:
    """The closest words or codes to a text nothing matches, as a clause."""
    digits = code_query(text)
    if digits is not None:
        level = next((n for n in LEVELS if n >= len(digits)), 9)
        for length in range(min(len(digits), 9) - 1, 0, -1):
            near = [e for e in dictionary.entries
                    if e.code.startswith(digits[:length]) and e.digits == level]
            if near:
                target = int(digits.rstrip("X").ljust(level, "0")[:level])
                near.sort(key=lambda e: (abs(int(e.code) - target) if e.code.isdigit()
                                         else 10**9, e.code))
                return "closest codes: " + ", ".join(
                    f"{e.code} ({_short(e.name)})" for e in near[:5])
        return "give a code of 4, 6 or 9 digits (trade-etl codes 87 lists chapter 87)"
    words = text.split()
    vocabulary = dictionary.vocabulary()
    fixed = []
    for word in words:
        if not word.isascii():  # the longest start of a Japanese word that matches something
            part = next((word[:n] for n in range(len(word), 1, -1)
                         if dictionary.find(word[:n])), None)
            fixed.append(part or word)
            continue
        close = [difflib.get_close_matches(t, vocabulary, n=1, cutoff=0.7) for t in
                 _tokens(word)]
        fixed.append(" ".join(c[0] if c else t for c, t in zip(close, _tokens(word),
                                                                strict=True)))
    guess = " ".join(fixed)
    if guess != text and guess.strip():
        found = dictionary.find(guess)
        if found:
            top = _coarsest(found)
            named = ", ".join(f"{e.code} {_short(e.name)}" for e in top[:3])
            return f"did you mean {guess!r}? ({named})"
    close = sorted({c for t in _tokens(text) for c in difflib.get_close_matches(
        t, vocabulary, n=3, cutoff=0.6)})
    if close:
        return "closest words: " + ", ".join(close[:6])
    return "try fewer words, a code (8703) or trade-etl codes with --digits 4"


def _short(name: str, most: int = 60) -> str:
    return name if len(name) <= most else name[:most - 1].rstrip() + "…"


def _coarsest(found: list[Entry]) -> list[Entry]:
    """The entries of the fewest digits among `found`."""
    least = min(e.digits for e in found)
    return [e for e in found if e.digits == least]


def _check_year(dictionary: Dictionary, year: int | None) -> None:
    if year is not None and not dictionary.first_year <= year <= dictionary.last_year:
        raise NoMatch(f"--year {year}: the export code lists cover {dictionary.first_year}–"
                      f"{dictionary.last_year}; give a year among them")


def find_codes(conn: duckdb.DuckDBPyConnection, text: str, year: int | None = None,
               digits: int | None = None,
               dictionary: Dictionary | None = None) -> list[Entry]:
    """Every heading, subheading and 9-digit code `text` names (valid in `year`, of `digits`
    digits when given); NoMatch, suggesting the closest words or codes, when none does."""
    dictionary = dictionary or Dictionary(conn)
    _check_year(dictionary, year)
    found = dictionary.find(text, year, digits)
    if not found:
        raise NoMatch(_no_match(dictionary, text, year, digits))
    return found


def _no_match(dictionary: Dictionary, text: str, year: int | None, digits: int | None) -> str:
    where = "".join([f" with {digits} digits" if digits else "",
                     f" in the {year} lists" if year else ""])
    elsewhere = dictionary.find(text)
    if elsewhere and (year or digits):
        shown = ", ".join(f"{e.code} ({spans(e.years)})" for e in elsewhere[:5])
        return f"no commodity{where} matches {text!r}; it matches {shown}"
    return f"no commodity{where} matches {text!r}; {_suggestion(dictionary, text)}"


def resolve_commodity(conn: duckdb.DuckDBPyConnection, text: str) -> tuple[str, str]:
    """One commodity for `text`: a code of 4, 6 or 9 digits (`8703`, `870323`, `870323915`) or
    words (`motor cars`, `乗用自動車`), as `(code, English name)`. Words name the coarsest level
    they match: one heading (or one whose name starts with them) is the answer; several are an
    error listing them. Raises BriefError (NoMatch when nothing matches)."""
    dictionary = Dictionary(conn)
    digits = code_query(text)
    if digits is not None:
        if len(digits) not in LEVELS:
            raise BriefError(f"{text!r}: give a heading (4 digits), a subheading (6) or a "
                             "9-digit code")
        entry = next((e for e in dictionary.entries if e.code == digits), None)
        if entry is None:
            raise NoMatch(f"no commodity has the code {digits}; "
                          f"{_suggestion(dictionary, digits)}")
        return entry.code, entry.display_name()
    found = dictionary.find(text)
    if not found:
        raise NoMatch(_no_match(dictionary, text, None, None))
    top = _coarsest(found)
    if len(top) > 1:
        phrase = text.strip().lower()
        starting = [e for e in top if e.name.lower().startswith(phrase)
                    or e.name_ja.startswith(text.strip())]
        top = starting if len(starting) == 1 else top
    if len(top) > 1:
        listed = ", ".join(f"{e.code} {_short(e.name, 40)}" for e in top[:8])
        more = f" and {len(top) - 8} more" if len(top) > 8 else ""
        raise BriefError(f"{text!r} matches {len(top)} {LEVELS[top[0].digits]}s: "
                         f"{listed}{more}; give the code")
    return top[0].code, top[0].display_name()


FAMILIES_SHOWN = 10  # 9-digit codes whose comparable family `codes` prints


def families(conn: duckdb.DuckDBPyConnection, entries: list[Entry]) -> list[str]:
    """For each 9-digit code, the family it belongs to in its latest year, at both levels
    (docs/warehouse.md, "Comparable series"), and since when that family is comparable."""
    from trade_etl.serve.lineage import family_of

    lines = []
    for entry in entries:
        year = max(entry.years) if entry.years else None
        if year is None:
            continue
        parts = []
        for level in ("hs9", "hs6"):
            family = family_of(conn, entry.code, year, level=level)
            if family is None:
                return []  # a warehouse built before the lineage
            size = len(family["members"])
            parts.append(f"{level} family {family['family_label']}"
                         + (f" ({size} codes)" if size > 1 else "")
                         + f", comparable since {family['comparable_since']}")
        lines.append(f"{entry.code} in {year}: " + "; ".join(parts))
    return ["families:", *(f"  {line}" for line in lines)] if lines else []


def partner_trade(conn: duckdb.DuckDBPyConnection, codes: list[str],
                  partner: str) -> tuple[str, int | None, dict[str, tuple[int, int]]]:
    """Each code's (any length) exports and imports in yen with `partner` (any form
    `--partner` takes: trade_etl/serve/partners.py; a group counts its members month by month)
    in the latest calendar year of twelve months of Japan's latest figures: (the partner's
    name, the year, code -> (exports, imports)); LookupFailed for a partner it cannot name."""
    from trade_etl.serve.partners import MEMBERS, resolve

    found = resolve(conn, partner)
    year = conn.sql("select max(year) from (select year from core.trade_latest where reporter = "
                    "'JPN' group by year having count(distinct month) = 12)").fetchall()[0][0]
    if year is None or not codes:
        return found.name, year, {}
    rows = conn.execute(
        f"with members as ({MEMBERS}), wanted as (select unnest($codes::varchar[]) as code) "
        "select wanted.code, "
        "coalesce(sum(latest.value_thousand_jpy) filter (where latest.flow = 1), 0) * 1000, "
        "coalesce(sum(latest.value_thousand_jpy) filter (where latest.flow = 2), 0) * 1000 "
        "from wanted left join (select latest.* from core.trade_latest as latest "
        "  inner join members on latest.country_code = members.country_code "
        "  and make_date(latest.year, latest.month, 1) between members.valid_from "
        "  and members.valid_to where latest.reporter = 'JPN' and latest.year = $year) as latest "
        "on starts_with(latest.hs_code, wanted.code) group by wanted.code",
        {**found.members_params, "codes": codes, "year": year}).fetchall()
    return found.name, year, {code: (int(e), int(i)) for code, e, i in rows}


def _yen(value: int) -> str:
    """¥1.2 tn, ¥340.5 bn, ¥12.3 m."""
    for size, unit in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if abs(value) >= size:
            return f"¥{value / size:,.1f} {unit}"
    return f"¥{value:,}"


def write_codes(conn: duckdb.DuckDBPyConnection, text: str, year: int | None = None,
                digits: int | None = None, limit: int = SHOWN,
                partner: str | None = None) -> str:
    """The `trade-etl codes` listing: one line per commodity (code, what it is, years listed,
    units, names), the units' meanings and how many more there were."""
    dictionary = Dictionary(conn)
    found = find_codes(conn, text, year, digits, dictionary)
    shown = found[:limit]
    rows = []
    for entry in shown:
        names = entry.name
        if entry.digits < 9 and entry.name_ja:
            names += f" | {entry.name_ja}"
        elif entry.digits == 9 and entry.name_ja:
            names = f"{entry.name_ja} | {entry.parent}"
        units = sorted(entry.units)
        unit = ",".join(units[:3]) + (",…" if len(units) > 3 else "")
        rows.append([entry.code, entry.kind, spans(entry.years), unit or "-", names])
    heading = ["code", "what", "years", "unit"]
    if partner is not None:  # a column: the code's trade with the partner, latest full year
        name, trade_year, trade = partner_trade(conn, [e.code for e in shown], partner)
        heading.append(f"{trade_year or '-'} exports / imports, {name}")
        for row in rows:
            exports, imports = trade.get(row[0], (0, 0))
            row.insert(4, f"{_yen(exports)} / {_yen(imports)}")
    columns = len(heading)
    widths = [max(len(r[i]) for r in [heading, *rows]) for i in range(columns)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heading, widths, strict=True)) + "  name"]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r[:columns], widths, strict=True)) + "  "
              + r[columns] for r in rows]
    lines += families(conn, [e for e in shown if e.digits == 9][:FAMILIES_SHOWN])
    used = sorted({u for e in shown for u in e.units if u in dictionary.units})
    if used:
        lines.append("units: " + "; ".join(f"{u} {dictionary.units[u]}" for u in used))
    more = len(found) - len(shown)
    lines.append(f"({len(found):,} commodit{'ies' if len(found) != 1 else 'y'}"
                 + (f"; {more:,} not shown: narrow the search, or use --digits, --year or "
                    "--limit" if more else "") + ")")
    return visible("\n".join(lines))
