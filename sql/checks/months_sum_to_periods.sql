-- Rows where a quarter, half or year of marts.balance_total differs from the sum of its months.
with

months as (
    select * from marts.balance_total where period_type = 'month'
),

periods as (
    select * from marts.balance_total where period_type <> 'month'
),

summed as (
    select periods.period_type, periods.period,
        any_value(periods.exports_jpy) as exports_jpy, any_value(periods.imports_jpy) as imports_jpy,
        sum(months.exports_jpy) as month_exports_jpy, sum(months.imports_jpy) as month_imports_jpy,
        any_value(periods.months_reported) as months_reported, count(*) as months
    from periods
    inner join months
        on months.period_start between periods.period_start and periods.period_end
    group by all
)

select * from summed
where exports_jpy <> month_exports_jpy or imports_jpy <> month_imports_jpy
    or months_reported <> months
