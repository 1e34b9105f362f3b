"""Reference tables the project ships as CSVs under `data/ref/` (documented in docs/reference.md).

They are facts gathered from public sources (Japan Customs code lists, the HS nomenclature, FRED
exchange rates, the Ministry of Finance's published totals) and written in the project's own
layout. Each is loaded into schema `ref` with explicit column types; users may edit the CSVs
(e.g. the sector map) and rebuild.

The exchange-rate tables also take the newest vintages `trade-etl fetch --fx` keeps in the raw
folder (trade_etl/formats/fx_rates.py): a fetched rate wins over the shipped one for the same
day or month, the shipped CSV fills what the download lacks, and `source` says which is which.
`ref.reporters` is the shipped rows (Japan) and a row for each other reporter a registered layout
module brings (trade_etl/ingest/layouts.py): the CSV wins for a reporter it lists.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from trade_etl.formats.fx_rates import fetched_rates
from trade_etl.ingest.layouts import BUILT_IN, Registry
from trade_etl.settings import REF_DATA_DIR

# table name -> column types, in file order
REF_TABLES: dict[str, dict[str, str]] = {
    "reporters": {"reporter": "VARCHAR", "name": "VARCHAR", "currency": "VARCHAR",
                  "value_unit": "BIGINT", "partner_codes": "VARCHAR", "hs_digits": "INTEGER"},
    "countries": {"country_code": "VARCHAR", "country_name": "VARCHAR", "iso3": "VARCHAR",
                  "area": "VARCHAR", "iso2": "VARCHAR"},
    "census_countries": {"census_code": "VARCHAR", "census_name": "VARCHAR", "iso2": "VARCHAR",
                         "iso3": "VARCHAR"},
    "partner_aliases": {"alias": "VARCHAR", "partner_code": "VARCHAR", "note": "VARCHAR"},
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
    # the commodity dictionary (trade_etl/ingest/commodities.py writes these four)
    "hs_headings": {"hs_heading": "VARCHAR", "hs_chapter": "VARCHAR", "heading_name": "VARCHAR",
                    "hs_edition": "VARCHAR", "heading_name_ja": "VARCHAR"},
    "hs_subheadings": {"hs_subheading": "VARCHAR", "hs_heading": "VARCHAR",
                       "subheading_name": "VARCHAR", "hs_edition": "VARCHAR"},
    "hs9_codes": {"hs_code": "VARCHAR", "flow": "VARCHAR", "first_year": "SMALLINT",
                  "last_year": "SMALLINT", "unit2": "VARCHAR", "description_ja": "VARCHAR",
                  "years_listed": "VARCHAR"},
    "units": {"unit_code": "VARCHAR", "unit_name": "VARCHAR", "unit_name_ja": "VARCHAR"},
    # classification lineage (trade_etl/ingest/lineage.py writes both)
    "hs_lineage": {"hs_subheading": "VARCHAR", "first_year": "SMALLINT", "last_year": "SMALLINT",
                   "national_codes": "VARCHAR", "hs9_family": "VARCHAR",
                   "hs6_family": "VARCHAR"},
    "hs_lineage_families": {"level": "VARCHAR", "family_id": "VARCHAR",
                            "comparable_since": "SMALLINT"},
}
# The rate tables' key column; each also has `source` ('shipped' or 'fred:<ID>/<vintage>').
FX_TABLES = {"fx_daily": "date", "fx_monthly": "month"}
# Tables loaded from more than their own CSV: ref.hs9_codes gains each code's subheading and its
# English name from hs_subheadings.csv (kept once there, not in every code's row).
REF_SOURCES: dict[str, tuple[str, ...]] = {"hs9_codes": ("hs9_codes", "hs_subheadings")}


def ref_csv(table: str, ref_dir: Path = REF_DATA_DIR) -> Path:
    return ref_dir / f"{table}.csv"


def ref_sources(table: str, ref_dir: Path = REF_DATA_DIR) -> list[Path]:
    """The CSVs `ref.<table>` is loaded from."""
    return [ref_csv(name, ref_dir) for name in REF_SOURCES.get(table, (table,))]


def _csv_select(table: str, param: str) -> str:
    """`select * from read_csv($param, …)` with the CSV's declared column types."""
    columns = REF_TABLES[table]  # a fixed list: the only identifiers formatted into SQL here
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    return (f"select * from read_csv(${param}, header = true, auto_detect = false, "
            f"columns = {{{spec}}}, quote = '\"', delim = ',')")


def load_ref_table(conn: duckdb.DuckDBPyConnection, table: str,
                   ref_dir: Path = REF_DATA_DIR, *, raw_dir: Path | None = None,
                   registry: Registry = BUILT_IN) -> int:
    """Replace `ref.<table>` with the CSV's rows (for the rate tables, merged with the newest
    fetched vintages in `raw_dir`; for `reporters`, with the reporters `registry` adds);
    returns the row count."""
    shipped = _csv_select(table, "path")
    params = {"path": str(ref_csv(table, ref_dir))}
    if table == "reporters":
        _load_reporters(conn, shipped, params, registry)
    elif table == "hs9_codes":
        conn.execute(
            "create or replace table ref.hs9_codes as select codes.hs_code, codes.flow, "
            "codes.first_year, codes.last_year, codes.unit2, codes.description_ja, "
            "left(codes.hs_code, 6) as hs_subheading, subheadings.subheading_name, "
            f"codes.years_listed from ({shipped}) as codes "
            f"left join ({_csv_select('hs_subheadings', 'subheadings')}) as subheadings "
            "on left(codes.hs_code, 6) = subheadings.hs_subheading order by codes.hs_code",
            {**params, "subheadings": str(ref_csv("hs_subheadings", ref_dir))})
    elif table not in FX_TABLES:
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


def _load_reporters(conn: duckdb.DuckDBPyConnection, shipped: str, params: dict,
                    registry: Registry) -> None:
    """ref.reporters: the shipped rows, then the registered reporters the CSV does not list,
    from their registry entries, in registration order."""
    import polars as pl

    columns = REF_TABLES["reporters"]
    frame = pl.DataFrame(registry.rows(), schema={"reporter": pl.String, "name": pl.String,
                                                  "currency": pl.String, "value_unit": pl.Int64,
                                                  "partner_codes": pl.String,
                                                  "hs_digits": pl.Int32}, orient="row")
    conn.register("registered_reporters", frame)
    try:
        conn.execute(
            f"create or replace table ref.reporters as select * from ({shipped}) union all "
            f"select {', '.join(columns)} from registered_reporters "
            f"where reporter not in (select reporter from ({shipped}))", params)
    finally:
        conn.unregister("registered_reporters")


def country_codes(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in conn.sql("select country_code from ref.countries").fetchall()]
