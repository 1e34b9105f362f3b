"""Publish: swap the finished working copy in as the warehouse readers see.

Every other asset is upstream, so a failed step or a failed blocking check leaves the published
warehouse as the last complete build left it (trade_etl/store/publish.py).
"""


import dagster as dg

from trade_etl.db import transaction
from trade_etl.defs.fetch.assets import FETCH_ASSETS
from trade_etl.defs.ingest.assets import AUDIT_QUARANTINE, AUDIT_RELEASES, TRADE_FACTS
from trade_etl.defs.resources import (
    WAREHOUSE_WRITER,
    TradeEtlConfig,
    WarehouseResource,
    as_failure,
    user_errors,
    warehouse_connection,
)
from trade_etl.defs.store.core import HS_CODE_SECTORS, TRADE_LATEST
from trade_etl.errors import EXIT_FAILED, UserError
from trade_etl.formats import schema
from trade_etl.ingest import inventory
from trade_etl.store import freshness, publish


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=["warehouse", "published"], group_name="publish", kinds={"duckdb"},
    deps=[TRADE_FACTS, AUDIT_RELEASES, AUDIT_QUARANTINE, TRADE_LATEST, HS_CODE_SECTORS,
          # every mart (and audit table) the spec declares an asset for (schema.TABLES,
          # built_by)
          *[dg.AssetKey(t.split(".")) for t, spec in schema.TABLES.items()
            if "built_by" in spec]],
    description="The warehouse readers open (TRADE_ETL_WAREHOUSE): the run's working copy, "
    "checkpointed, compacted when a third of it is free space, and swapped in atomically once "
    "everything upstream and every blocking check has passed.",
)
def published(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
              trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    with warehouse_connection(warehouse) as conn:
        changed = inventory.changed_on_disk(conn)
        if changed:  # what was read may be half of what is there now: readers keep the last
            raise as_failure(UserError(
                f"{len(changed)} file(s) changed while the build was reading them ("
                f"{', '.join(changed[:3])}{' …' if len(changed) > 3 else ''}); the warehouse "
                "was not published: build again once they are complete", EXIT_FAILED))
        # "Up to date" only after a run that built everything cross-release and left no file
        # unloaded (a run of some releases, or of a few assets, does not count).
        selection = context.run.asset_selection  # empty or None: the whole job
        whole = not selection or cross_release(context) <= set(selection)
        marked = whole and freshness.mark_up_to_date(conn)
        # Tables rebuilt with `create or replace` lost their comments: write them all again,
        # so duckdb_columns() and any SQL client describe every public column.
        with transaction(conn):
            comments = schema.apply_comments(conn)
    warehouse.close_connection()  # publish.publish checkpoints and copies the file
    with user_errors("publishing the warehouse"):
        info = publish.publish(warehouse.path, trade_etl.settings().duckdb_memory_limit)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(warehouse.path.absolute())),
        "megabytes": round(info["bytes"] / 1e6, 1),
        "compacted": info["compacted"],
        "free_share_before": info["free_share_before"],
        "up_to_date_with_raw_folder": marked,
        "comments_written": comments,
    })


def cross_release(context: dg.AssetExecutionContext) -> set[dg.AssetKey]:
    """The unpartitioned assets of the run's job: what every complete build brings up to date."""
    graph = context.job_def.asset_layer.asset_graph
    return {key for key in graph.executable_asset_keys
            if graph.get(key).partitions_def is None and key not in FETCH_ASSETS}
