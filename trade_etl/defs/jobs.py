"""The one job: build the whole warehouse (discover, load, derive) in a single run."""

import dagster as dg

build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Discover new or changed releases, load them, and rebuild everything derived.",
)
