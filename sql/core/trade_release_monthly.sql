-- core.trade_release_monthly: each release's values summed over HS codes within a chapter and
-- sector. Grain: reporter, release_id, flow, year, month, hs_chapter, country_code,
-- top_sector_code, highlight_sector_code. Small enough to answer "as of" questions quickly; supersession works on
-- (flow, year, month, hs_chapter), which this grain keeps.
-- Maintained per release (trade_etl/incremental.py): this selects the rows of the releases in
-- the temporary table stale_releases.
with

facts as (
    select * from core.trade_facts
    where release_id in (select release_id from stale_releases)
),

sectors as (
    select * from core.hs_code_sectors
),

final as (
    select
        facts.release_id,
        facts.flow,
        facts.year,
        facts.month,
        sectors.hs_chapter,
        facts.country_code,
        sectors.top_sector_code,
        sectors.highlight_sector_code,
        sum(facts.value_thousand_jpy)::bigint as value_thousand_jpy,
        facts.reporter
    from facts
    inner join sectors on facts.hs_code = sectors.hs_code
    group by all
)

select * from final
