"""``python -m trade_etl.sample OUT --years 2023-2025 [--scale 1] [--seed 0] [--no-bad-rows]``."""

from trade_etl.sample.writer import _main

raise SystemExit(_main())
