"""Classification lineage: families of Japan's 9-digit export codes that stay comparable when the
code lists change (every January) and when the HS edition changes (2012, 2017, 2022; HS 2028 on
1 January 2028).

`data/ref/hs_lineage.csv` and `data/ref/hs_lineage_families.csv` are the project's own tables,
written by `python -m trade_etl.ingest.lineage SOURCE_DIR` from two public files in SOURCE_DIR
(the shared `reference/codes/` folder; docs/reference.md): Japan's yearly export code lists
2010-2025 (`hs9_export_codes_2010_2025_ja.csv.gz`, compiled from miyamankyushu/Japan_TradeData,
MIT) and the UN correlation tables between HS editions at six digits
(`hs6_edition_concordance.csv`, UN Statistics Division via harvard-growth-lab/
comtrade-conversion-weights, Apache-2.0). The project never reads SOURCE_DIR at run time.

Families, per level (docs/warehouse.md, "Comparable series"), are the connected groups of a
union-find over (code, year) pairs:

- **January breaks, at 9 digits** (both levels). For each pair of consecutive years and each HS
  subheading listed in both: when its set of 9-digit codes is the same, each code is linked to
  itself across the break (it is its own family); when a code appeared or disappeared under it,
  all its codes on both sides are linked (the subheading is one family across that break). A
  subheading listed on one side only (new or deleted by an HS edition) links nothing here.
- **HS editions, at 6 digits** (level `hs6` only). In the year a new edition comes into force,
  each connected group of the UN correlation links between its subheadings and the previous
  edition's (1:1 renumberings, 1:n, n:1, n:n) links all the 9-digit codes of the old
  subheadings in the year before and of the new ones in that year. Groups closed under the
  links, so no code is in two families. A subheading linked to more than MAX_LINKS subheadings
  of the other edition is a catch-all that takes a sliver of many (HS 2022's electrical waste
  8549, linked to 1,019 HS 2017 subheadings; flat-panel modules 8524; 8541.51/.59; HS 2017's
  multi-component ICs 8542.31-.39 and fish offal 0302.99/0303.99): its links are left out, or
  one family would span most of chapters 84, 85 and 90. It starts a family of its own, and the
  subheadings it took from continue theirs (they lose only that sliver).

A family holds either one code (a code that never changed, with its years) or every code of the
subheadings it spans in its years (once any code of a subheading changes, the links chain all its
codes of all years together). Codes outside the lists (imports, whose national digits are not
published openly; export codes a year's list lacks) are given their subheading's family by the
warehouse (sql/ref/hs_families.sql), for which this module also names the family of a
subheading whose codes are families of their own.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from trade_etl.settings import REF_DATA_DIR

LISTS_FILE = "hs9_export_codes_2010_2025_ja.csv.gz"
CONCORDANCE_FILE = "hs6_edition_concordance.csv"
LEVELS = ("hs9", "hs6")
# A subheading linked to more subheadings of the other edition than this is a catch-all (see
# the module docstring); the largest genuine split in the tables links 27 (HS 2017's 2939.80).
MAX_LINKS = 30
LINEAGE_COLUMNS = ["hs_subheading", "first_year", "last_year", "national_codes", "hs9_family",
                   "hs6_family"]
FAMILY_COLUMNS = ["level", "family_id", "comparable_since"]

Node = tuple[str, int]  # (9-digit code, year)


# ---- reading the sources -----------------------------------------------------------------------

def read_lists(path: Path) -> tuple[dict[int, frozenset[str]], int]:
    """The yearly export code lists: year -> its 9-digit codes, and how many rows were left out
    (90 rows of 2010-2017, chapters 50, 69 and 95, were transcribed with only their last three
    digits: their subheading cannot be told)."""
    codes: dict[int, set[str]] = defaultdict(set)
    left_out = 0
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["hs_code"].strip()
            if len(code) == 9 and code.isdigit():
                codes[int(row["year"])].add(code)
            else:
                left_out += 1
    return {year: frozenset(found) for year, found in sorted(codes.items())}, left_out


def read_concordance(path: Path, years: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """The UN correlation links of each edition change inside the lists' years: year the new
    edition came into force -> [(new subheading, old subheading)] (zero-padded: the file drops
    leading zeros). Its adjustments are named `<new> to <old>`, e.g. `2022 to 2017`."""
    listed = set(years)
    links: dict[int, list[tuple[str, str]]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            new, _old = (int(y) for y in row["adjustment"].split(" to "))
            if new in listed and new - 1 in listed:
                links[new].append((row["code.after"].strip().zfill(6),
                                   row["code.before"].strip().zfill(6)))
    return {year: sorted(set(pairs)) for year, pairs in sorted(links.items())}


# ---- the union-find ----------------------------------------------------------------------------

class _Sets:
    """Union-find over hashable items; the representative of a set is its smallest item."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, item):
        parent = self.parent
        parent.setdefault(item, item)
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    def union(self, items: list) -> None:
        roots = {self.find(item) for item in items}
        if len(roots) > 1:
            low = min(roots)
            for root in roots:
                self.parent[root] = low


def _by_subheading(codes: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for code in codes:
        out[code[:6]].add(code)
    return out


def edition_groups(pairs: list[tuple[str, str]], max_links: int = MAX_LINKS
                   ) -> tuple[list[tuple[set[str], set[str]]], list[str]]:
    """The connected groups of one edition change's links, as (old subheadings, new
    subheadings), leaving out groups that only say a subheading stayed itself; and the
    catch-all subheadings (more than `max_links` links) whose links were left out."""
    new_links = Counter(new for new, _old in pairs)
    old_links = Counter(old for _new, old in pairs)
    dropped = sorted({f"new {new}" for new, n in new_links.items() if n > max_links}
                     | {f"old {old}" for old, n in old_links.items() if n > max_links})
    sets = _Sets()
    for new, old in pairs:
        if new_links[new] > max_links or old_links[old] > max_links:
            continue
        sets.union([("new", new), ("old", old)])
    groups: dict = defaultdict(lambda: (set(), set()))
    for side, code in list(sets.parent):
        old, new = groups[sets.find((side, code))]
        (old if side == "old" else new).add(code)
    kept = [(old, new) for old, new in groups.values() if not (old == new and len(old) == 1)]
    return sorted(kept, key=lambda g: (sorted(g[0]), sorted(g[1]))), dropped


@dataclass
class Level:
    """The families of one level: each (code, year) of the lists -> its family's representative
    node, the years in which a family changed, and the family ids."""

    find: dict[Node, Node] = field(default_factory=dict)
    changed: dict[Node, set[int]] = field(default_factory=lambda: defaultdict(set))
    ids: dict[Node, str] = field(default_factory=dict)
    since: dict[Node, int] = field(default_factory=dict)


@dataclass
class Lineage:
    """The code lists, the edition groups kept and left out, and the families of each level."""

    lists: dict[int, frozenset[str]]
    groups: dict[int, list[tuple[set[str], set[str]]]]  # edition year -> kept groups
    dropped: dict[int, list[str]]  # edition year -> catch-all subheadings left out
    levels: dict[str, Level]
    # level -> subheading -> first year of a run of years in which its listed codes are
    # families of their own -> the id of the family of its codes outside the list
    own: dict[str, dict[str, dict[int, str]]]
    left_out: int = 0

    @property
    def years(self) -> list[int]:
        return sorted(self.lists)

    def family(self, level: str, code: str, year: int) -> str:
        lv = self.levels[level]
        return lv.ids[lv.find[(code, year)]]

    def members(self, level: str) -> dict[str, set[Node]]:
        out: dict[str, set[Node]] = defaultdict(set)
        lv = self.levels[level]
        for node, root in lv.find.items():
            out[lv.ids[root]].add(node)
        return out


def compute(lists: dict[int, frozenset[str]], concordance: dict[int, list[tuple[str, str]]],
            max_links: int = MAX_LINKS, left_out: int = 0) -> Lineage:
    """The families of both levels over the code lists (see the module docstring)."""
    years = sorted(lists)
    subs = {year: _by_subheading(lists[year]) for year in years}
    groups, dropped = {}, {}
    for year, pairs in concordance.items():
        groups[year], dropped[year] = edition_groups(pairs, max_links)
    levels = {}
    for level in LEVELS:
        sets = _Sets()
        merges: list[tuple[int, Node]] = []
        for year in years:
            for code in lists[year]:
                sets.find((code, year))
        for year in years[1:]:
            if year - 1 not in lists:
                continue
            before, after = subs[year - 1], subs[year]
            for sub in before.keys() & after.keys():
                if before[sub] == after[sub]:
                    for code in before[sub]:
                        sets.union([(code, year - 1), (code, year)])
                else:
                    nodes = [(c, year - 1) for c in before[sub]] + [(c, year) for c in after[sub]]
                    sets.union(nodes)
                    merges.append((year, nodes[0]))
            if level == "hs6":
                for old, new in groups.get(year, []):
                    was = [(c, year - 1) for s in sorted(old) for c in sorted(before.get(s, ()))]
                    now = [(c, year) for s in sorted(new) for c in sorted(after.get(s, ()))]
                    if was and now:  # a side with no listed code links nothing
                        sets.union(was + now)
                        merges.append((year, was[0]))
        lv = Level()
        lv.find = {node: sets.find(node) for node in list(sets.parent)}
        for year, node in merges:
            lv.changed[lv.find[node]].add(year)
        levels[level] = lv
    lineage = Lineage(lists=lists, groups=groups, dropped=dropped, levels=levels,
                      own={level: defaultdict(dict) for level in LEVELS}, left_out=left_out)
    _name(lineage)
    return lineage


def _runs(years: list[int]) -> list[tuple[int, int]]:
    """[(first, last)] of the runs of consecutive years."""
    runs: list[list[int]] = []
    for year in years:
        if runs and runs[-1][1] == year - 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return [(a, b) for a, b in runs]


def _name(lineage: Lineage) -> None:
    """Family ids: a family of one code is named by the code; a family of several codes by the
    smallest subheading it spans; the family of a subheading's codes outside the list (where
    its listed codes are families of their own) by the subheading. A subheading listed in two
    separate runs of years (13 subheadings of 2903, in HS 2007 and again from HS 2022) adds
    `@<first year of the run>` to the names it gives in its later runs. Raises ValueError if
    two families would still share a name (newer lists would need another rule)."""
    by_year = {year: _by_subheading(lineage.lists[year]) for year in lineage.years}
    subs_years: dict[str, list[int]] = defaultdict(list)
    for year, subs in by_year.items():
        for sub in subs:
            subs_years[sub].append(year)
    suffix: dict[tuple[str, int], str] = {}  # (subheading, year) -> "" or "@<run start>"
    for sub, ys in subs_years.items():
        for n, (first, last) in enumerate(_runs(ys)):
            for year in range(first, last + 1):
                suffix[(sub, year)] = f"@{first}" if n else ""
    for level in LEVELS:
        lv = lineage.levels[level]
        nodes: dict[Node, list[Node]] = defaultdict(list)
        for node, root in lv.find.items():
            nodes[root].append(node)
        names: dict[str, list[object]] = defaultdict(list)
        for root, members in nodes.items():
            codes = {code for code, _ in members}
            lv.since[root] = max(lv.changed.get(root, set()) | {min(y for _, y in members)})
            if len(codes) == 1:
                code, year = min(members, key=lambda n: n[1])
                name = code + suffix[(code[:6], year)]
            else:
                sub = min(code[:6] for code in codes)
                year = min(y for c, y in members if c[:6] == sub)
                name = sub + suffix[(sub, year)]
            lv.ids[root] = name
            names[name].append(root)
        for sub, ys in subs_years.items():
            for first, _last in _runs(ys):
                codes = by_year[first][sub]
                if all(len({c for c, _ in nodes[lv.find[(code, first)]]}) == 1
                       for code in codes):
                    name = sub + suffix[(sub, first)]
                    lineage.own[level][sub][first] = name
                    names[name].append((sub, first))
        shared = sorted(name for name, keys in names.items() if len(keys) > 1)
        if shared:
            raise ValueError(f"level {level}: several families would be named "
                             f"{', '.join(shared[:5])}")


# ---- the project's tables ----------------------------------------------------------------------

def lineage_rows(lineage: Lineage) -> list[dict[str, object]]:
    """Rows of hs_lineage.csv: one per subheading and run of years in which its listed codes
    and their families (at both levels) stay the same."""
    rows: list[dict[str, object]] = []
    by_sub: dict[str, dict[int, set[str]]] = defaultdict(dict)
    for year in lineage.years:
        for sub, codes in _by_subheading(lineage.lists[year]).items():
            by_sub[sub][year] = codes
    for sub in sorted(by_sub):
        current: dict[str, object] | None = None
        for year in sorted(by_sub[sub]):
            codes = sorted(by_sub[sub][year])
            cells = {f"{level}_family": _family_cell(lineage, level, sub, codes, year)
                     for level in LEVELS}
            key = {"national_codes": " ".join(code[6:] for code in codes), **cells}
            if current and current["last_year"] == year - 1 and \
                    all(current[k] == v for k, v in key.items()):
                current["last_year"] = year
                continue
            current = {"hs_subheading": sub, "first_year": year, "last_year": year, **key}
            rows.append(current)
    return rows


def _family_cell(lineage: Lineage, level: str, sub: str, codes: list[str], year: int) -> str:
    """A row's family at `level`: the id of the family all its codes are in; or, when each code
    is a family of its own, empty (named by the code) or `@<year>` (named `<code>@<year>`)."""
    names = {lineage.family(level, code, year) for code in codes}
    if all(name.split("@")[0] == code for name, code in
           zip((lineage.family(level, c, year) for c in codes), codes, strict=True)):
        suffixes = {name.partition("@")[2] for name in names}
        if len(suffixes) != 1:
            raise ValueError(f"{sub} {year}: codes of one row named with different years")
        cell = f"@{suffixes.pop()}" if suffixes != {""} else ""
        # sql/ref/hs_families.sql names the family of its codes outside the list sub + cell
        if sub + cell not in lineage.own[level][sub].values():
            raise ValueError(f"{sub} {year} ({level}): its codes outside the list are not "
                             f"named {sub + cell}")
        return cell
    if len(names) != 1:
        raise ValueError(f"{sub} {year} ({level}): codes in several families {sorted(names)}")
    return names.pop()


def family_rows(lineage: Lineage) -> list[dict[str, object]]:
    """Rows of hs_lineage_families.csv: each family of several codes with the year since which
    it is unchanged."""
    rows = []
    for level in LEVELS:
        lv = lineage.levels[level]
        members = lineage.members(level)
        for root, name in lv.ids.items():
            if len({code for code, _ in members[name]}) > 1:
                rows.append({"level": level, "family_id": name,
                             "comparable_since": lv.since[root]})
    return sorted(rows, key=lambda r: (LEVELS.index(r["level"]), r["family_id"]))


def csv_text(columns: list[str], rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def generate(source_dir: Path, max_links: int = MAX_LINKS) -> Lineage:
    lists, left_out = read_lists(source_dir / LISTS_FILE)
    concordance = read_concordance(source_dir / CONCORDANCE_FILE, lists)
    return compute(lists, concordance, max_links, left_out)


def write(lineage: Lineage, out_dir: Path) -> dict[str, int]:
    """Write hs_lineage.csv and hs_lineage_families.csv into `out_dir`; returns their rows."""
    written = {}
    for name, columns, rows in (("hs_lineage", LINEAGE_COLUMNS, lineage_rows(lineage)),
                                ("hs_lineage_families", FAMILY_COLUMNS, family_rows(lineage))):
        out = out_dir / f"{name}.csv"
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(csv_text(columns, rows), encoding="utf-8")
        tmp.replace(out)
        written[name] = len(rows)
    return written


def summary(lineage: Lineage) -> list[str]:
    """What the families are, in numbers (the generator prints it)."""
    years = lineage.years
    lines = [f"lists {years[0]}-{years[-1]}: "
             f"{sum(len(c) for c in lineage.lists.values()):,} code-years, "
             f"{len(set().union(*lineage.lists.values())):,} codes "
             f"({lineage.left_out} rows without their subheading left out)"]
    breaks = []
    for year in years[1:]:
        before, after = _by_subheading(lineage.lists[year - 1]), _by_subheading(lineage.lists[year])
        changed = sum(1 for s in before.keys() & after.keys() if before[s] != after[s])
        breaks.append(f"{year}: {changed}")
    lines.append("subheadings whose codes changed, by January: " + ", ".join(breaks))
    for year, groups in lineage.groups.items():
        lines.append(f"edition {year}: {len(groups)} correlation groups kept, catch-alls left out: "
                     + " ".join(lineage.dropped[year]))
    for level in LEVELS:
        members = lineage.members(level)
        sizes = {name: len({c for c, _ in nodes}) for name, nodes in members.items()}
        multi = [n for n, s in sizes.items() if s > 1]
        largest = max(sizes, key=lambda n: (sizes[n], n))
        spans = len({c[:6] for c, _ in members[largest]})
        lines.append(f"level {level}: {len(members):,} families, {len(multi):,} of several codes; "
                     f"largest {largest} ({sizes[largest]} codes, {spans} subheadings)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trade_etl.ingest.lineage",
        description="write data/ref/hs_lineage.csv and hs_lineage_families.csv from Japan's "
                    "yearly export code lists and the UN HS edition correlation tables")
    parser.add_argument("source_dir", type=Path,
                        help=f"the folder holding {LISTS_FILE} and {CONCORDANCE_FILE} "
                             "(../shared/reference/codes)")
    parser.add_argument("--out-dir", type=Path, default=REF_DATA_DIR)
    parser.add_argument("--max-links", type=int, default=MAX_LINKS,
                        help=f"links above which a subheading is a catch-all (default {MAX_LINKS})")
    args = parser.parse_args(argv)
    try:
        lineage = generate(args.source_dir, args.max_links)
        written = write(lineage, args.out_dir)
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in summary(lineage):
        print(line)
    for name, count in written.items():
        print(f"{args.out_dir / (name + '.csv')}: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
