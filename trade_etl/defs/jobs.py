"""The build job: build the whole warehouse (discover, load, derive) in a single run."""

import dagster as dg

from trade_etl.defs.fetch.assets import ESTAT_DOWNLOADS

# Everything but the download: a build reads the raw folder, it never reaches the network.
build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(ESTAT_DOWNLOADS),
    description="Discover new or changed releases, load them, and rebuild everything derived.",
)
