"""Releases are the unit of work: one dynamic partition per `<YYYY-MM-DD>_<stage>` folder.

The raw-folder sensor and `trade-etl build` add a partition for each release folder they find
(trade_etl/serve/runs.py); the per-release assets (facts, audit rows, coverage, monthly values)
are partitioned by it, so the UI shows each release's status, rows, checks and history, and
re-runs one. Cross-release assets (latest figures, marts, publish) are not partitioned: every
run brings them up to date after its releases.
"""

import warnings

import dagster as dg

RELEASES = dg.DynamicPartitionsDefinition(name="releases")

# One run writes many releases (a backfill, or `trade-etl build` after a long absence): the
# warehouse has one writer, so a backfill is one run over its partitions, never one per release.
SINGLE_RUN = dg.BackfillPolicy.single_run()

# Partitioned check specs and backfill policies are marked preview/beta in Dagster 1.13; we rely
# on them knowingly (pinned version; tests/test_definitions.py snapshots the graph), so their
# notices are not repeated at every import.
warnings.filterwarnings("ignore", message=r".*partitions_def on an AssetCheckSpec",
                        category=dg.PreviewWarning)
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=dg.BetaWarning)
