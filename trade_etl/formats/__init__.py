"""Formats the layers share, and nothing else: what a release manifest, a customs CSV header, a
FRED rate file and a warehouse table look like.

The layers import in one direction, fetch → ingest → store → serve (a later layer may import an
earlier one, never the reverse), with `defs/` on top. What two layers must agree on lives here
instead, so that neither imports the other for it: every layer may import `trade_etl.formats`,
and `trade_etl.formats` imports no layer (tests/test_layers.py checks both).
"""
