"""Where trade_etl reads raw releases and writes the warehouse.

Both paths come from the environment so that the CLI, the Dagster UI and the sensor agree:
`TRADE_ETL_RAW_DIR` (default `data/raw`) and `TRADE_ETL_WAREHOUSE` (default
`data/warehouse/trade.duckdb`), relative to the working directory. The fiscal year's first month
is `TRADE_ETL_FISCAL_START_MONTH` (default 4, April, as in Japan). DuckDB's memory limit for
builds is `TRADE_ETL_DUCKDB_MEMORY_LIMIT` (default 1GB; larger work spills to disk).
"""

from __future__ import annotations

import os
from pathlib import Path

RAW_DIR_ENV = "TRADE_ETL_RAW_DIR"
WAREHOUSE_ENV = "TRADE_ETL_WAREHOUSE"
DEFAULT_RAW_DIR = "data/raw"
DEFAULT_WAREHOUSE = "data/warehouse/trade.duckdb"

FISCAL_START_ENV = "TRADE_ETL_FISCAL_START_MONTH"
DEFAULT_FISCAL_START_MONTH = 4  # Japan's fiscal year starts in April

MEMORY_LIMIT_ENV = "TRADE_ETL_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"  # keeps a ten-year build under 2 GiB resident (bench/results.md)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
REF_DATA_DIR = PROJECT_ROOT / "data" / "ref"


def apply_env_defaults() -> None:
    """Fill in the default paths for any variable the user has not set."""
    os.environ.setdefault(RAW_DIR_ENV, DEFAULT_RAW_DIR)
    os.environ.setdefault(WAREHOUSE_ENV, DEFAULT_WAREHOUSE)


def raw_dir() -> Path:
    return Path(os.environ.get(RAW_DIR_ENV, DEFAULT_RAW_DIR))


def warehouse_path() -> Path:
    return Path(os.environ.get(WAREHOUSE_ENV, DEFAULT_WAREHOUSE))


def fiscal_start_month() -> int:
    """First month of the fiscal year (1-12), from `TRADE_ETL_FISCAL_START_MONTH` (default 4)."""
    text = os.environ.get(FISCAL_START_ENV, str(DEFAULT_FISCAL_START_MONTH))
    if not text.strip().isdigit() or not 1 <= int(text) <= 12:
        raise ValueError(f"{FISCAL_START_ENV} must be a month number 1-12, not {text!r}")
    return int(text)


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for the pipeline's connection, e.g. `1GB` or `4GB`."""
    return os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
