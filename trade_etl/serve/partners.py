"""Partners as people name them: what `--partner` of `trade-etl brief` and `report` accepts.

A partner is a country (a Japan Customs country code, `ref.countries`), a group (`EU`,
`ASEAN`: `ref.country_groups`, composed month by month) or a customs area (`Asia`,
`Western Europe`: the `area` column of `ref.countries`). It can be given as

- the customs code (`304`), the ISO 3166-1 alpha-2 (`US`) or alpha-3 code (`USA`), the group's
  code (`EU`) or the area's name (`Asia`);
- the name as Customs spells it (`United States of America`), without its parenthesis
  (`Gibraltar` for `Gibraltar (UK)`), or a common name from `ref.partner_aliases`
  (`United States`, `America`, `UK`, `Britain`, `Korea`, `China`, `PRC`, …);
- a part of a name, on word boundaries (`Emirates`, `Bahamas`).

Exact forms win over parts of names: `US` is the United States (not Russia or Austria, whose
names merely contain the letters), `EU` the European Union (not Ceuta and Melilla), `Korea` the
Republic of Korea (North Korea only by its own name), `Guinea` Guinea (not Papua New Guinea).
Case, accents, dots between initials (`U.S.A.`) and a leading `the` do not matter. Several
partners for one text is an error listing them with their codes; none, an error suggesting the
closest names (difflib). Both are `LookupFailed` (exit 2). The rules are in docs/reference.md
(`partner_aliases.csv`).

Group and area figures come from `marts.balance_by_region` (a country counts in a group in
each month it was a member on the month's first day); `MEMBERS` gives the same membership for
SQL that sums country rows month by month (the sectors behind a group's balance, a commodity's
trade with it).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import duckdb

from trade_etl.serve.errors import LookupFailed
from trade_etl.text import visible

COUNTRY, GROUP, AREA = "country", "group", "area"

# The countries of a partner and the months each counts in it (the rule of marts.balance_by_region
# and core.balance_as_of: month M counts when `valid_from <= first day of M <= valid_to`), for
# the parameters $partner_kind and $partner_code. Used as a CTE named `members`.
MEMBERS = """
    select country_code, DATE '0001-01-01' as valid_from, DATE '9999-12-31' as valid_to
    from ref.countries
    where ($partner_kind = 'country' and country_code = $partner_code)
        or ($partner_kind = 'area' and area = $partner_code)
    union all
    select country_code, valid_from, coalesce(valid_to, DATE '9999-12-31') as valid_to
    from ref.country_groups
    where $partner_kind = 'group' and group_code = $partner_code
"""

FORMS = ("give an ISO code (US, USA), a customs code (304), a name (United States), a group "
         "(EU, ASEAN) or a customs area (Asia)")


@dataclass(frozen=True)
class Partner:
    """One partner: `code` is its key in the marts (`partner_code` of the partner marts for a
    country; `region` of marts.balance_by_region for a group or an area)."""

    kind: str  # COUNTRY, GROUP or AREA
    code: str
    name: str
    iso3: str | None = None
    iso2: str | None = None

    @property
    def label(self) -> str:
        """Short form for tables and headings: USA, EU, Asia."""
        return self.iso3 or self.code

    @property
    def title(self) -> str:
        """The brief's heading: `United States of America (USA)`, `European Union (EU,
        members month by month)`, `Asia (customs area)`."""
        if self.kind == GROUP:
            return f"{self.name} ({self.code}, members month by month)"
        if self.kind == AREA:
            return f"{self.name} (customs area)"
        return f"{self.name} ({self.label})"

    @property
    def listed(self) -> str:
        """How an error message lists it: `Republic of Congo (COG, 532)`."""
        if self.kind == COUNTRY:
            return f"{self.name} ({self.iso3 + ', ' if self.iso3 else ''}{self.code})"
        return f"{self.name} ({self.code})" if self.kind == GROUP else self.title

    @property
    def mart(self) -> str:
        """The balance mart holding its figures (a fixed name, safe to format into SQL)."""
        return "balance_by_partner" if self.kind == COUNTRY else "balance_by_region"

    @property
    def key_column(self) -> str:
        """The column of `mart` that holds `code` (a fixed name)."""
        return "partner_code" if self.kind == COUNTRY else "region"

    @property
    def members_params(self) -> dict[str, str]:
        """The parameters of MEMBERS for this partner."""
        return {"partner_kind": self.kind, "partner_code": self.code}


def normalize(text: str) -> str:
    """The form names are compared in: accents dropped, case folded, dots between initials
    removed (U.S.A. -> usa), other dots and underscores as spaces (St.Lucia -> st lucia), one
    space between words, no leading `the`."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("\u2019", "'")
    text = re.sub(r"(?<![^\W\d_])((?:[^\W\d_]\.){2,})",
                  lambda m: m.group(1).replace(".", ""), text)
    text = " ".join(re.sub(r"[._]", " ", text).split())
    return text.removeprefix("the ")


def _without_parenthesis(name: str) -> str:
    return " ".join(re.sub(r"\([^)]*\)", " ", name).split())


@dataclass
class Index:
    """Every partner of a warehouse with the texts that name it."""

    partners: dict[tuple[str, str], Partner] = field(default_factory=dict)
    exact: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # normalized -> keys
    names: list[tuple[str, tuple[str, str]]] = field(default_factory=list)  # for parts of names

    def add(self, partner: Partner, exact: list[str | None], names: list[str]) -> None:
        key = (partner.kind, partner.code)
        self.partners.setdefault(key, partner)
        for text in [*exact, *names]:
            if text:
                self.exact.setdefault(normalize(text), set()).add(key)
        self.names += [(normalize(name), key) for name in names if name]


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """The rows as dicts, or none when the table is missing (a warehouse built before it)."""
    try:
        cursor = conn.execute(sql)
    except duckdb.CatalogException:
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def index(conn: duckdb.DuckDBPyConnection) -> Index:
    """The partners of the warehouse's reference tables, with their codes, names and aliases
    (a warehouse built before `iso2` or `ref.partner_aliases` existed has neither)."""
    found = Index()
    countries = _rows(conn, "select * from ref.countries order by country_code")
    aliases: dict[str, list[str]] = {}
    for row in _rows(conn, "select alias, partner_code from ref.partner_aliases"):
        if row["alias"] and row["partner_code"]:
            aliases.setdefault(row["partner_code"], []).append(row["alias"])
    for row in countries:
        partner = Partner(COUNTRY, row["country_code"], row["country_name"] or row["country_code"],
                          row.get("iso3") or None, row.get("iso2") or None)
        name = row["country_name"] or ""
        found.add(partner, [partner.code, partner.iso2, partner.iso3],
                  [name, _without_parenthesis(name), *aliases.get(partner.code, [])])
    groups = _rows(conn, "select group_code, min(group_name) as group_name "
                         "from ref.country_groups group by all order by group_code")
    for row in groups:
        partner = Partner(GROUP, row["group_code"], row["group_name"] or row["group_code"])
        found.add(partner, [partner.code], [partner.name, *aliases.get(partner.code, [])])
    for area in sorted({row["area"] for row in countries if row.get("area")}):
        found.add(Partner(AREA, area, area), [], [area, *aliases.get(area, [])])
    return found


def _several(text: str, keys: set[tuple[str, str]], found: Index) -> LookupFailed:
    order = {COUNTRY: 0, GROUP: 1, AREA: 2}
    partners = sorted((found.partners[k] for k in keys), key=lambda p: (order[p.kind], p.code))
    listed = ", ".join(visible(p.listed, False) for p in partners[:8])  # one line
    more = f" and {len(partners) - 8} more" if len(partners) > 8 else ""
    return LookupFailed(f"{text!r} matches several partners: {listed}{more}; give one of "
                        "their codes")


def _unknown(text: str, wanted: str, found: Index) -> LookupFailed:
    """No partner: the closest names (by difflib's ratio), or the forms --partner takes."""
    # Names and aliases only: two- and three-letter codes are close to any short text.
    candidates = {name for name, _key in found.names}
    suggested: list[Partner] = []
    for close in difflib.get_close_matches(wanted, sorted(candidates), n=6, cutoff=0.6):
        for key in sorted(found.exact.get(close, ())):
            partner = found.partners[key]
            if partner not in suggested:
                suggested.append(partner)
    if wanted in ("japan", "jp", "jpn"):
        return LookupFailed(f"{text!r} is the reporter, not a partner: leave out --partner for "
                            "Japan's trade with the world")
    if suggested:
        return LookupFailed(f"no partner matches {text!r}: did you mean "
                            + " or ".join(visible(p.listed, False) for p in suggested[:3])
                            + "?")
    return LookupFailed(f"no partner matches {text!r}: {FORMS}")


def resolve(conn: duckdb.DuckDBPyConnection, text: str) -> Partner:
    """The one partner `text` names (module docstring), or LookupFailed listing the
    candidates or suggesting the closest."""
    wanted = normalize(text)
    if not wanted:
        raise LookupFailed(f"--partner is empty: {FORMS}")
    found = index(conn)
    exact = found.exact.get(wanted, set())
    if len(exact) == 1:
        return found.partners[next(iter(exact))]
    if exact:
        raise _several(text, exact, found)
    word = re.compile(rf"(?<!\w){re.escape(wanted)}(?!\w)")
    parts = {key for name, key in found.names if word.search(name)}
    if len(parts) == 1:
        return found.partners[next(iter(parts))]
    if parts:
        raise _several(text, parts, found)
    raise _unknown(text, wanted, found)
