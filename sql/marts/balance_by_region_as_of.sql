-- marts.balance_by_region_as_of(as_of): trade with customs areas (Asia, Western Europe, …) and
-- groups (ASEAN, EU, with membership as of each month), by period. A country counts in its area
-- and in every group it belonged to. Grain: period_type, period, region.
with

balances as (
    select * from core.balance_as_of(as_of)
    where dimension = 'region'
),

groups as (
    select distinct group_code from ref.country_groups
),

final as (
    select
        balances.period_type, balances.period, balances.period_start, balances.period_end,
        balances.months_reported,
        balances.dimension_key as region,
        case when groups.group_code is null then 'area' else 'group' end as region_type,
        balances.exports_jpy, balances.imports_jpy, balances.balance_jpy,
        balances.exports_usd, balances.imports_usd, balances.balance_usd,
        balances.exports_yoy_pct, balances.imports_yoy_pct
    from balances
    left join groups on balances.dimension_key = groups.group_code
)

select * from final
