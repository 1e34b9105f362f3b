-- core.release_coverage: the month cells each release reports (any non-zero figure).
-- Grain: reporter, release_id, flow, year, month, hs_chapter. A release supersedes its
-- reporter's earlier ones cell by cell.
-- Maintained per release (trade_etl/incremental.py): this selects the rows of the releases in
-- the temporary table stale_releases.
select distinct
    release_id,
    flow,
    year,
    month,
    left(hs_code, 2) as hs_chapter,
    reporter
from core.trade_facts
where release_id in (select release_id from stale_releases)
