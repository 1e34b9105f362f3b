-- Periods where the HS headings ($digits = 4) or subheadings ($digits = 6), over every partner
-- and unit, do not sum to marts.balance_total.
with

parts as (
    select 4 as digits, period_type, period, flow, value_jpy
    from marts.trade_by_hs_heading
    union all
    select 6, period_type, period, flow, value_jpy
    from marts.trade_by_hs_subheading
),

summed as (
    select
        period_type,
        period,
        coalesce(sum(value_jpy) filter (where flow = 'export'), 0) as exports_jpy,
        coalesce(sum(value_jpy) filter (where flow = 'import'), 0) as imports_jpy
    from parts
    where digits = $digits
    group by all
),

total as (
    select * from marts.balance_total
)

select * from total
full outer join summed using (period_type, period)
where total.exports_jpy is distinct from summed.exports_jpy
    or total.imports_jpy is distinct from summed.imports_jpy
