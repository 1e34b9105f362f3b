"""The Dagster code location: everything under `trade_etl/defs/` is loaded automatically."""

from pathlib import Path

import dagster as dg

from trade_etl.settings import PROJECT_ROOT

# In a checkout the project's settings are pyproject.toml's [tool.dg]; an installed package
# carries the same in trade_etl/dg.toml.
_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
defs = dg.load_from_defs_folder(path_within_project=PROJECT_ROOT if _CHECKOUT
                                else Path(__file__).parent)
