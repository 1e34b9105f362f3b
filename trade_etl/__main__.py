"""`python -m trade_etl ...` is `trade-etl ...`."""

import sys

from trade_etl.app.cli import main

sys.exit(main())
