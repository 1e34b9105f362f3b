-- core.period_months: which periods each calendar month belongs to, for the six period types.
-- Grain: year, month, period_type. $fiscal_start_month is the first month of the fiscal year
-- (Japan: 4, so FY2024 = 2024-04 … 2025-03, FY2024Q1 = Apr-Jun 2024, FY2024H2 = Oct 2024-Mar 2025).
with

months as (
    select unnest(generate_series(DATE '1950-01-01', DATE '2100-12-01', interval 1 month))::date
        as month_start
),

parts as (
    select
        month_start,
        year(month_start) as year,
        month(month_start) as month,
        case
            when month(month_start) >= $fiscal_start_month then year(month_start)
            else year(month_start) - 1
        end as fiscal_year,
        (month(month_start) - $fiscal_start_month + 12) % 12 // 3 + 1 as fiscal_quarter,
        quarter(month_start) as calendar_quarter
    from months
),

anchored as (
    select
        *,
        make_date(fiscal_year, $fiscal_start_month, 1) as fiscal_year_start,
        (fiscal_quarter + 1) // 2 as fiscal_half
    from parts
),

final as (
    select year, month, 'month' as period_type, strftime(month_start, '%Y-%m') as period,
        month_start as period_start, last_day(month_start) as period_end
    from anchored
    union all
    select year, month, 'fiscal_quarter', format('FY{}Q{}', fiscal_year, fiscal_quarter),
        (fiscal_year_start + to_months(3 * (fiscal_quarter - 1)))::date,
        last_day(fiscal_year_start + to_months(3 * fiscal_quarter - 1))
    from anchored
    union all
    select year, month, 'fiscal_half', format('FY{}H{}', fiscal_year, fiscal_half),
        (fiscal_year_start + to_months(6 * (fiscal_half - 1)))::date,
        last_day(fiscal_year_start + to_months(6 * fiscal_half - 1))
    from anchored
    union all
    select year, month, 'fiscal_year', format('FY{}', fiscal_year),
        fiscal_year_start, last_day(fiscal_year_start + to_months(11))
    from anchored
    union all
    select year, month, 'calendar_quarter', format('CY{}Q{}', year, calendar_quarter),
        make_date(year, 3 * calendar_quarter - 2, 1),
        last_day(make_date(year, 3 * calendar_quarter, 1))
    from anchored
    union all
    select year, month, 'calendar_year', format('CY{}', year),
        make_date(year, 1, 1), make_date(year, 12, 31)
    from anchored
)

select * from final
