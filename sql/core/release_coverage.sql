-- core.release_coverage: the month cells each release reports (any non-zero figure).
-- Grain: release_id, flow, year, month, hs_chapter. A release supersedes earlier ones cell by cell.
select distinct
    release_id,
    flow,
    year,
    month,
    left(hs_code, 2) as hs_chapter
from core.trade_facts
