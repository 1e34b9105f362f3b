-- Months where marts.balance_total differs from Japan's core.trade_latest (values × 1000).
with

by_month as (
    select year, month,
        coalesce(sum(value_thousand_jpy) filter (where flow = 1), 0) * 1000 as exports_jpy,
        coalesce(sum(value_thousand_jpy) filter (where flow = 2), 0) * 1000 as imports_jpy
    from core.trade_latest
    where reporter = 'JPN'
    group by all
),

latest as (
    select format('{:04d}-{:02d}', year, month) as period, exports_jpy, imports_jpy
    from by_month
),

mart as (
    select * from marts.balance_total where period_type = 'month'
)

select * from latest
full outer join mart using (period)
where latest.exports_jpy is distinct from mart.exports_jpy
    or latest.imports_jpy is distinct from mart.imports_jpy
