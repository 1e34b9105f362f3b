-- core.trade_latest: the latest published figures, after supersession. Grain: reporter, flow,
-- year, month, hs_code, country_code. Files of one release (and ports) are summed.
-- Maintained cell by cell (trade_etl/incremental.py): this selects the figures of the
-- (reporter, flow, year, month, HS chapter) cells in the temporary table latest_cells, each from
-- the release that supplies it (core.winning_releases).
with

facts as (
    select * from core.trade_facts
),

cells as (
    select * from latest_cells
    where release_id is not null
),

final as (
    select
        facts.flow,
        facts.year,
        facts.month,
        facts.hs_code,
        facts.country_code,
        max(facts.unit1) as unit1,
        max(facts.unit2) as unit2,
        sum(facts.quantity1)::bigint as quantity1,
        sum(facts.quantity2)::bigint as quantity2,
        sum(facts.value_thousand_jpy)::bigint as value_thousand_jpy,
        facts.release_id,
        facts.reporter
    from facts
    inner join cells
        on facts.release_id = cells.release_id
        and facts.reporter = cells.reporter
        and facts.flow = cells.flow
        and facts.year = cells.year
        and facts.month = cells.month
        and left(facts.hs_code, 2) = cells.hs_chapter
    group by all
)

select * from final
