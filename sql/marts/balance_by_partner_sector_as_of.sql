-- marts.balance_by_partner_sector_as_of(as_of): trade with each partner by sector and period.
-- Grain: period_type, period, partner_code, sector_code.
with

balances as (
    select * from core.balance_as_of(as_of)
    where dimension = 'partner_sector'
),

countries as (
    select * from ref.countries
),

sectors as (
    select * from ref.sectors
),

final as (
    select
        balances.period_type, balances.period, balances.period_start, balances.period_end,
        balances.months_reported,
        split_part(balances.dimension_key, ':', 1) as partner_code,
        countries.country_name as partner_name,
        countries.iso3 as partner_iso3,
        split_part(balances.dimension_key, ':', 2) as sector_code,
        sectors.sector_name,
        sectors.sector_level,
        balances.exports_jpy, balances.imports_jpy, balances.balance_jpy,
        balances.exports_usd, balances.imports_usd, balances.balance_usd,
        balances.exports_yoy_pct, balances.imports_yoy_pct
    from balances
    left join countries on split_part(balances.dimension_key, ':', 1) = countries.country_code
    left join sectors on split_part(balances.dimension_key, ':', 2) = sectors.sector_code
)

select * from final
