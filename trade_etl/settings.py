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

ESTAT_BASE_URL_ENV = "TRADE_ETL_ESTAT_BASE_URL"  # the fetcher's site; tests point it at a local one
DEFAULT_ESTAT_BASE_URL = "https://www.e-stat.go.jp"
FETCH_PAUSE_ENV = "TRADE_ETL_FETCH_PAUSE"  # seconds between two requests to the site
DEFAULT_FETCH_PAUSE_S = 1.0
FETCH_BACKOFF_ENV = "TRADE_ETL_FETCH_BACKOFF"  # seconds before the first retry; doubles after
DEFAULT_FETCH_BACKOFF_S = 2.0

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


def estat_base_url() -> str:
    return os.environ.get(ESTAT_BASE_URL_ENV) or DEFAULT_ESTAT_BASE_URL


def fetch_pause() -> float:
    """Seconds between two requests to e-Stat, from `TRADE_ETL_FETCH_PAUSE` (default 1)."""
    text = os.environ.get(FETCH_PAUSE_ENV, str(DEFAULT_FETCH_PAUSE_S))
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise ValueError(f"{FETCH_PAUSE_ENV} must be a number of seconds 0-60, not {text!r}")
    return value


def fetch_backoff() -> float:
    """Seconds before the first retry (doubling each time), `TRADE_ETL_FETCH_BACKOFF` (2)."""
    text = os.environ.get(FETCH_BACKOFF_ENV, str(DEFAULT_FETCH_BACKOFF_S))
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise ValueError(f"{FETCH_BACKOFF_ENV} must be a number of seconds 0-60, not {text!r}")
    return value


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for the pipeline's connection, e.g. `1GB` or `4GB`."""
    return os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
