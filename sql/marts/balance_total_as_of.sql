-- marts.balance_total_as_of(as_of): Japan's trade with the world by period, as known on as_of.
-- Grain: period_type, period. marts.balance_total = this macro on DATE '9999-12-31' (latest).
with

balances as (
    select * from core.balance_as_of(as_of)
    where dimension = 'total'
),

final as (
    select
        period_type, period, period_start, period_end, months_reported,
        exports_jpy, imports_jpy, balance_jpy, exports_usd, imports_usd, balance_usd,
        exports_yoy_pct, imports_yoy_pct
    from balances
)

select * from final
