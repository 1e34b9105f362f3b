"""The build job: build the whole warehouse (discover, load, derive) in a single run."""

import dagster as dg

from trade_etl.defs.fetch.assets import FETCH_ASSETS
from trade_etl.defs.ingest.staging import STAGED_RELEASES
from trade_etl.defs.report.assets import REPORT

# Everything but the downloads, the staging and the report: a build reads the raw folder (or what
# was staged from it), it never reaches the network; the report follows in a run of its own.
build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*FETCH_ASSETS,
                                                                  STAGED_RELEASES, REPORT),
    description="Discover new or changed releases, load them, and rebuild everything derived.",
    # deploy/dagster.yaml lets one run with this tag run at a time (staging runs go beside it).
    tags={"trade_etl/writes": "warehouse"},
)
