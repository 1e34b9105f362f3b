"""Reference tables the project ships as CSVs under `data/ref/` (documented in docs/reference.md).

They are facts gathered from public sources (Japan Customs code lists, the HS nomenclature, FRED
exchange rates, the Ministry of Finance's published totals) and written in the project's own
layout. Each is loaded into schema `ref` with explicit column types; users may edit the CSVs
(e.g. the sector map) and rebuild.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from trade_etl.settings import REF_DATA_DIR

# table name -> column types, in file order
REF_TABLES: dict[str, dict[str, str]] = {
    "countries": {"country_code": "VARCHAR", "country_name": "VARCHAR", "iso3": "VARCHAR",
                  "area": "VARCHAR"},
    "country_groups": {"group_code": "VARCHAR", "group_name": "VARCHAR",
                       "country_code": "VARCHAR", "valid_from": "DATE", "valid_to": "DATE"},
    "hs_sections": {"hs_section": "VARCHAR", "section_number": "INTEGER",
                    "section_name": "VARCHAR"},
    "hs_chapters": {"hs_chapter": "VARCHAR", "hs_section": "VARCHAR", "chapter_name": "VARCHAR"},
    "sectors": {"sector_code": "VARCHAR", "sector_name": "VARCHAR", "sector_level": "VARCHAR",
                "parent_sector_code": "VARCHAR", "sort_order": "INTEGER"},
    "sector_map": {"hs_prefix": "VARCHAR", "sector_code": "VARCHAR", "note": "VARCHAR"},
    "fx_monthly": {"month": "VARCHAR", "jpy_per_usd": "DOUBLE"},
    "fx_daily": {"date": "DATE", "jpy_per_usd": "DOUBLE"},
    "official_totals": {"flow": "TINYINT", "year": "SMALLINT", "partner_kind": "VARCHAR",
                        "partner_code": "VARCHAR", "source_area": "VARCHAR",
                        "months": "TINYINT", "vintage_stage": "VARCHAR",
                        "value_thousand_jpy": "BIGINT"},
}


def ref_csv(table: str, ref_dir: Path = REF_DATA_DIR) -> Path:
    return ref_dir / f"{table}.csv"


def load_ref_table(conn: duckdb.DuckDBPyConnection, table: str,
                   ref_dir: Path = REF_DATA_DIR) -> int:
    """Replace `ref.<table>` with the CSV's rows; returns the row count."""
    columns = REF_TABLES[table]  # a fixed list: the only identifiers formatted into SQL here
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    conn.execute(
        f"create or replace table ref.{table} as select * from read_csv($path, header = true, "
        f"auto_detect = false, columns = {{{spec}}}, quote = '\"', delim = ',')",
        {"path": str(ref_csv(table, ref_dir))},
    )
    return conn.sql(f"select count(*) from ref.{table}").fetchall()[0][0]


def country_codes(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in conn.sql("select country_code from ref.countries").fetchall()]
