"""The `trade-etl` command: parses arguments, builds the settings once, launches Dagster runs of
`trade_etl.definitions` and prints what the layers below return. With `defs/` it sits on top of
the layers (fetch → ingest → store → serve): it may import any of them; none imports it.
"""
