"""trade_etl: a warehouse of Japan's customs trade statistics, every release kept.

Layers, each plain Python without Dagster: `fetch` (e-Stat downloads), `ingest` (read,
validate, load), `store` (the DuckDB file, supersession, publishing), `serve` (the CLI, SQL,
the brief). `sample` writes synthetic releases for the demo and the tests. The Dagster
definitions live under `defs`, one folder per layer.
"""
