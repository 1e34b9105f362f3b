-- marts.balance_by_partner_as_of(as_of): trade with each partner country by period, as known on
-- as_of. Grain: period_type, period, partner_code.
with

balances as (
    select * from core.balance_as_of(as_of)
    where dimension = 'partner'
),

countries as (
    select * from ref.countries
),

final as (
    select
        balances.period_type, balances.period, balances.period_start, balances.period_end,
        balances.months_reported,
        balances.dimension_key as partner_code,
        countries.country_name as partner_name,
        countries.iso3 as partner_iso3,
        countries.area,
        balances.exports_jpy, balances.imports_jpy, balances.balance_jpy,
        balances.exports_usd, balances.imports_usd, balances.balance_usd,
        balances.exports_yoy_pct, balances.imports_yoy_pct
    from balances
    left join countries on balances.dimension_key = countries.country_code
)

select * from final
