-- marts.balance_by_sector_as_of(as_of): trade by sector and period. sector_level 'top' = the nine
-- principal-commodity groups (they sum to the total); 'highlight' = groups within them (motor
-- vehicles, semiconductors, LNG, …). Grain: period_type, period, sector_code.
with

balances as (
    select * from core.balance_as_of(as_of)
    where dimension = 'sector'
),

sectors as (
    select * from ref.sectors
),

final as (
    select
        balances.period_type, balances.period, balances.period_start, balances.period_end,
        balances.months_reported,
        balances.dimension_key as sector_code,
        sectors.sector_name,
        sectors.sector_level,
        sectors.parent_sector_code,
        balances.exports_jpy, balances.imports_jpy, balances.balance_jpy,
        balances.exports_usd, balances.imports_usd, balances.balance_usd,
        balances.exports_yoy_pct, balances.imports_yoy_pct
    from balances
    left join sectors on balances.dimension_key = sectors.sector_code
)

select * from final
