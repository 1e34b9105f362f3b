"""A code's family: the codes it stays comparable with when codes change (docs/warehouse.md,
"Comparable series"), for `trade-etl codes` and other readers of a built warehouse.

`family_of` gives any code the family the warehouse gives it (the rules of
sql/core/hs_code_families.sql, applied to one code, so it also answers for a code the fact store
does not hold), from `ref.hs_families`.
"""

from __future__ import annotations

import duckdb

from trade_etl.db import table_exists

LEVELS = ("hs9", "hs6")


def _nearest(conn: duckdb.DuckDBPyConnection, level: str, key: str, year: int) -> tuple | None:
    """The row of `key` (a code or a subheading) in ref.hs_families in `year`, or in the listed
    year nearest to it (the later of two as near), as core.hs_code_families picks it."""
    rows = conn.execute(
        "select year, family_id, family_label, comparable_since from ref.hs_families "
        "where level = $level and hs_code = $key "
        "order by abs(year - $year), year desc limit 1",
        {"level": level, "key": key, "year": year}).fetchall()
    return rows[0] if rows else None


def family_of(conn: duckdb.DuckDBPyConnection, hs_code: str, year: int, *, level: str = "hs9",
              flow: int = 1) -> dict | None:
    """The family of `hs_code` in `year` at `level` (`hs9`: across January code changes; `hs6`:
    across HS editions too) for `flow` (1 export, 2 import), as the warehouse gives it:

    `{"family_id", "family_label", "level", "comparable_since", "mapped_by", "members"}`, where
    `members` lists the family's listed export codes as `{"hs_code", "first_year",
    "last_year"}` (empty for the family of a subheading's codes outside the list) and
    `mapped_by` says how the code got it (`code`, `code_nearest_year`, `subheading`, `own`; see
    core.hs_code_families). None when the warehouse has no ref.hs_families (built before the
    lineage) or `hs_code` is not a code of at least six characters."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    hs_code = hs_code.strip()
    if len(hs_code) < 6 or not table_exists(conn, "ref.hs_families"):
        return None
    found = _nearest(conn, level, hs_code, year) if flow == 1 and len(hs_code) == 9 else None
    if found:
        mapped_by = "code" if found[0] == year else "code_nearest_year"
    else:
        found = _nearest(conn, level, hs_code[:6], year)
        mapped_by = "subheading"
    if found:
        _year, family_id, label, since = found
    else:  # its subheading is in no list: a family of its own
        family_id, label, since, mapped_by = hs_code[:6], hs_code[:6], None, "own"
    members = conn.execute(
        "select hs_code, min(year), max(year) from ref.hs_families "
        "where level = $level and family_id = $family and length(hs_code) = 9 "
        "group by hs_code order by hs_code", {"level": level, "family": family_id}).fetchall()
    return {"family_id": family_id, "family_label": label, "level": level,
            "comparable_since": since, "mapped_by": mapped_by,
            "members": [{"hs_code": code, "first_year": first, "last_year": last}
                        for code, first, last in members]}
