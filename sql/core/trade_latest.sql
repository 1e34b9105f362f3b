-- core.trade_latest: the latest published figures. Grain: flow, year, month, hs_code,
-- country_code. For each (flow, year, month, HS chapter) the most recent release reporting it wins;
-- rows that release does not have are zero (absent).
with

coverage as (
    select * from core.release_coverage
),

releases as (
    select * from core.releases
),

winners as (
    select
        coverage.release_id,
        coverage.flow,
        coverage.year,
        coverage.month,
        coverage.hs_chapter
    from coverage
    inner join releases using (release_id)
    qualify row_number() over (
        partition by coverage.flow, coverage.year, coverage.month, coverage.hs_chapter
        order by releases.release_seq desc
    ) = 1
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
        facts.release_id
    from core.trade_facts as facts
    inner join winners
        on facts.release_id = winners.release_id
        and facts.flow = winners.flow
        and facts.year = winners.year
        and facts.month = winners.month
        and left(facts.hs_code, 2) = winners.hs_chapter
    group by all
)

select * from final
