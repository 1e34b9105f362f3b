-- core.trade_latest: the latest published figures, after supersession. Grain: flow, year, month,
-- hs_code, country_code. Files of one release (and ports) are summed.
with

facts as (
    select * from core.trade_facts
),

winners as (
    select * from core.winning_releases(DATE '9999-12-31')
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
    from facts
    inner join winners
        on facts.release_id = winners.release_id
        and facts.flow = winners.flow
        and facts.year = winners.year
        and facts.month = winners.month
        and left(facts.hs_code, 2) = winners.hs_chapter
    group by all
)

select * from final
