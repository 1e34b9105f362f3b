"""Reference tables the project ships as CSVs under `data/ref/` (documented in docs/reference.md).

They are facts gathered from public sources (Japan Customs code lists, the HS nomenclature, FRED
exchange rates, the Ministry of Finance's published totals) and written in the project's own
layout. Each is loaded into schema `ref` with explicit column types; users may edit the CSVs
(e.g. the sector map) and rebuild.

The exchange-rate tables also take the newest vintages `trade-etl fetch --fx` keeps in the raw
folder (trade_etl/formats/fx_rates.py): a fetched rate wins over the shipped one for the same
day or month, the shipped CSV fills what the download lacks, and `source` says which is which.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from trade_etl.formats.fx_rates import fetched_rates
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
    # classification lineage (trade_etl/ingest/lineage.py writes both)
    "hs_lineage": {"hs_subheading": "VARCHAR", "first_year": "SMALLINT", "last_year": "SMALLINT",
                   "national_codes": "VARCHAR", "hs9_family": "VARCHAR",
                   "hs6_family": "VARCHAR"},
    "hs_lineage_families": {"level": "VARCHAR", "family_id": "VARCHAR",
                            "comparable_since": "SMALLINT"},
}
# The rate tables' key column; each also has `source` ('shipped' or 'fred:<ID>/<vintage>').
FX_TABLES = {"fx_daily": "date", "fx_monthly": "month"}


def ref_csv(table: str, ref_dir: Path = REF_DATA_DIR) -> Path:
    return ref_dir / f"{table}.csv"


def load_ref_table(conn: duckdb.DuckDBPyConnection, table: str,
                   ref_dir: Path = REF_DATA_DIR, *, raw_dir: Path | None = None) -> int:
    """Replace `ref.<table>` with the CSV's rows (for the rate tables, merged with the newest
    fetched vintages in `raw_dir`); returns the row count."""
    columns = REF_TABLES[table]  # a fixed list: the only identifiers formatted into SQL here
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    shipped = (f"select * from read_csv($path, header = true, auto_detect = false, "
               f"columns = {{{spec}}}, quote = '\"', delim = ',')")
    params = {"path": str(ref_csv(table, ref_dir))}
    if table not in FX_TABLES:
        conn.execute(f"create or replace table ref.{table} as {shipped}", params)
    else:
        key = FX_TABLES[table]
        fetched = fetched_rates(raw_dir)
        rows = fetched.daily if table == "fx_daily" else fetched.monthly
        import polars as pl

        frame = pl.DataFrame(rows, schema={key: pl.Date if key == "date" else pl.String,
                                           "jpy_per_usd": pl.Float64, "source": pl.String},
                             orient="row")
        conn.register("fx_fetched", frame)
        try:
            conn.execute(
                f"create or replace table ref.{table} as "
                f"select {key}, jpy_per_usd, source from fx_fetched union all "
                f"select {key}, jpy_per_usd, 'shipped' as source from ({shipped}) "
                f"where {key} not in (select {key} from fx_fetched) order by {key}", params)
        finally:
            conn.unregister("fx_fetched")
    return conn.sql(f"select count(*) from ref.{table}").fetchall()[0][0]


def country_codes(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in conn.sql("select country_code from ref.countries").fetchall()]
