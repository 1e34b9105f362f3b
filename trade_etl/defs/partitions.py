"""Releases are the unit of work: one dynamic partition per `<YYYY-MM-DD>_<stage>` folder.

The raw-folder sensor and `trade-etl build` keep one partition per release folder they find,
deleting the partitions of folders removed or renamed (trade_etl/app/runs.py); the per-release
assets (facts, audit rows, coverage, monthly values) are partitioned by it, so the UI shows each
release's status, rows, checks and history, and re-runs one. Cross-release assets (latest
figures, marts, publish) are not partitioned: every run brings them up to date after its
releases.
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


def partition_tags(known: list[str], wanted: list[str]) -> dict[str, str] | None:
    """The tags of one run over `wanted` partitions (None for none): one partition, or the
    range from the first to the last in the order they were added (`known`); releases in
    between are run too (one writer: one run, never one per release)."""
    order = {key: i for i, key in enumerate(known)}
    wanted = sorted(wanted, key=order.__getitem__)
    if not wanted:
        return None
    if wanted[0] == wanted[-1]:
        return {"dagster/partition": wanted[0]}
    return {"dagster/asset_partition_range_start": wanted[0],
            "dagster/asset_partition_range_end": wanted[-1]}


def partition_checks(context: dg.AssetExecutionContext,
                     results: dict[str, list[dg.AssetCheckResult]]):
    """The events of per-partition check results: each evaluation on its own partition.

    A yielded `AssetCheckResult` is recorded on the run's partition only when the run has one;
    a run over several releases would record it once, on no partition. So each result becomes
    an `AssetCheckEvaluation` for its partition, aimed at that partition's latest
    materialization, plus the check's output once (what Dagster itself yields for a result).
    Blocking checks still stop the run: Dagster fails the step on any failed blocking
    evaluation."""
    assets_def = context.assets_def
    selected = context.selected_asset_check_keys
    emitted: set[dg.AssetCheckKey] = set()
    for partition, checks in results.items():
        targets: dict[dg.AssetKey, object] = {}
        for result in checks:
            key = dg.AssetCheckKey(result.asset_key, result.check_name)
            if key not in selected:
                continue
            if key not in emitted:
                emitted.add(key)
                yield dg.Output(None, output_name=assets_def.get_output_name_for_asset_check_key(
                    key))
            if key.asset_key not in targets:
                targets[key.asset_key] = _latest_materialization(context, key.asset_key,
                                                                 partition)
            yield dg.AssetCheckEvaluation(
                asset_key=key.asset_key, check_name=key.name, passed=result.passed,
                metadata=result.metadata, severity=result.severity,
                description=result.description, partition=partition,
                blocking=assets_def.get_spec_for_check_key(key).blocking,
                target_materialization_data=targets[key.asset_key])


def _latest_materialization(context: dg.AssetExecutionContext, asset_key: dg.AssetKey,
                            partition: str):
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=records[0].storage_id, run_id=records[0].event_log_entry.run_id,
        timestamp=records[0].timestamp)
