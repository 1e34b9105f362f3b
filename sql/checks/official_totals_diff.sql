-- audit.official_totals_diff: the warehouse's latest totals by flow, calendar year and partner
-- (and the world) beside the Ministry's published ones (ref.official_totals), for every year the
-- warehouse holds (Japan's figures: reporter 'JPN'). Grain: flow, year, partner_code ('' = the
-- world).
-- status: 'match' (equal to the thousand yen), 'differs', or 'incomplete' (the warehouse holds
-- other months of the year than the published total covers). blocks: a difference the check
-- totals_match_official fails the build for: the year complete, the warehouse's figures at the
-- same stage (revised or fixed) as the published vintage, and the warehouse holding more than
-- a sliver of the year's trade (at least 1% of the published world total of the flow: a few
-- hand-made rows of test data are not a release to check). A preliminary year, one at another
-- stage than the vintage (revised figures against fixed ones, say), or such a sliver is
-- reported only.
-- Each year's rows depend on that year's figures only: the check totals_match_official keeps
-- them (audit.official_totals_checked) and recomputes the years a release changed, with the
-- variable trade_etl_years_between set to [first, last] (unset: every year).
with

latest as (
    select
        latest.flow, latest.year, latest.month, latest.country_code, latest.value_thousand_jpy,
        core.stage_rank(releases.stage) as stage_rank
    from core.trade_latest as latest
    inner join core.releases as releases on latest.release_id = releases.release_id
    where latest.reporter = 'JPN'
        and (getvariable('trade_etl_years_between') is null
            or latest.year between (getvariable('trade_etl_years_between')::integer[])[1]
                and (getvariable('trade_etl_years_between')::integer[])[2])
),

years as (
    select flow, year, count(distinct month) as months_reported,
        max(month) as last_month, min(stage_rank) as stage_rank
    from latest
    group by flow, year
),

warehouse as (
    select flow, year, '' as partner_code, sum(value_thousand_jpy) as value_thousand_jpy
    from latest
    group by flow, year
    union all
    select flow, year, country_code, sum(value_thousand_jpy)
    from latest
    group by flow, year, country_code
),

official as (
    select flow, year, partner_kind, coalesce(partner_code, '') as partner_code, months,
        vintage_stage, core.stage_rank(vintage_stage) as vintage_rank, value_thousand_jpy
    from ref.official_totals
    where partner_kind in ('world', 'country')
),

coverage as (
    select official.flow, official.year,
        coalesce(warehouse.value_thousand_jpy, 0) >= official.value_thousand_jpy / 100
            as substantial
    from official
    left join warehouse
        on official.flow = warehouse.flow and official.year = warehouse.year
        and official.partner_code = warehouse.partner_code
    where official.partner_kind = 'world'
),

compared as (
    select
        official.flow,
        official.year,
        official.partner_code,
        case when official.partner_kind = 'world' then 'World'
            else coalesce(countries.country_name, official.partner_code) end as partner_name,
        official.months as official_months,
        years.months_reported,
        case years.stage_rank when 4 then 'fixed' when 3 then 'revised' when 2 then 'detailed'
            when 1 then 'preliminary' else 'other' end as warehouse_stage,
        official.vintage_stage,
        official.value_thousand_jpy::hugeint * 1000 as official_jpy,
        coalesce(warehouse.value_thousand_jpy, 0)::hugeint * 1000 as warehouse_jpy,
        (years.months_reported = official.months and years.last_month = official.months)
            as comparable,
        official.months = 12 and years.stage_rank = official.vintage_rank
            and official.vintage_rank >= 3 and coalesce(coverage.substantial, true)
            as binding
    from official
    inner join years on official.flow = years.flow and official.year = years.year
    left join coverage on official.flow = coverage.flow and official.year = coverage.year
    left join warehouse
        on official.flow = warehouse.flow and official.year = warehouse.year
        and official.partner_code = warehouse.partner_code
    left join ref.countries as countries on official.partner_code = countries.country_code
)

select
    flow,
    year,
    partner_code,
    partner_name,
    official_months,
    months_reported,
    warehouse_stage,
    vintage_stage,
    official_jpy,
    warehouse_jpy,
    warehouse_jpy - official_jpy as difference_jpy,
    case when not comparable then 'incomplete'
        when warehouse_jpy = official_jpy then 'match' else 'differs' end as status,
    comparable and binding and warehouse_jpy <> official_jpy as blocks
from compared
order by blocks desc, abs(warehouse_jpy - official_jpy) desc, flow, year, partner_code
