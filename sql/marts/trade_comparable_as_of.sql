-- marts.trade_comparable_as_of(as_of, level): values and quantities by family of codes that stay
-- comparable when codes change (level 'hs9': across the January changes of the 9-digit codes;
-- 'hs6': across HS editions too), partner and period, as known on as_of. Grain: period_type,
-- period, flow, family_id, partner_code (and the level). marts.trade_comparable = this macro on
-- DATE '9999-12-31' (latest) at both levels, as a view.
-- Each month's 9-digit figures (core.quantities_as_of, the supersession of every other mart)
-- are put in their code's family of that year (core.hs_code_families), then summed by period:
-- values add up exactly to the balance marts. A quantity is given only where every code and
-- month of the row has the same unit; otherwise it and its unit are empty. Columns named
-- `level` are qualified: unqualified, `level` is the macro's parameter.
with

months as (
    select * from core.quantities_as_of(as_of, 9)
    where period_type = 'month'
),

code_families as (
    select * from core.hs_code_families as families
    where families.level = level
),

winners as (
    select * from core.winning_releases(as_of)
    where reporter = 'JPN'
),

calendar as (
    select * from core.period_months
),

-- months of each period present in the data, as in the other marts
reported as (
    select calendar.period_type, calendar.period, count(*) as months_reported
    from (select distinct year, month from winners) as reported_months
    inner join calendar
        on reported_months.year = calendar.year and reported_months.month = calendar.month
    group by all
),

cells as (
    select
        year(months.period_start) as year,
        month(months.period_start) as month,
        months.flow,
        months.hs_prefix as hs_code,
        months.partner_code,
        months.unit1,
        months.quantity1,
        months.unit2,
        months.quantity2,
        months.value_jpy,
        code_families.family_id
    from months
    inner join code_families
        on code_families.flow = case months.flow when 'export' then 1 else 2 end
        and code_families.hs_code = months.hs_prefix
        and code_families.year = year(months.period_start)
),

-- each code's figures by period first, so that counting a family's codes needs no distinct
-- (names and family facts are joined at the end: narrow rows aggregate faster)
code_periods as (
    select
        calendar.period_type,
        calendar.period,
        cells.flow,
        cells.family_id,
        cells.partner_code,
        cells.hs_code,
        min(coalesce(cells.unit1, '')) as min_unit1,
        max(coalesce(cells.unit1, '')) as max_unit1,
        sum(cells.quantity1) as quantity1,
        min(coalesce(cells.unit2, '')) as min_unit2,
        max(coalesce(cells.unit2, '')) as max_unit2,
        sum(cells.quantity2) as quantity2,
        sum(cells.value_jpy) as value_jpy
    from cells
    inner join calendar on cells.year = calendar.year and cells.month = calendar.month
    group by all
),

periods as (
    select
        period_type,
        period,
        flow,
        family_id,
        partner_code,
        count(*) as codes_reported,
        -- a unit is given where every code and month has the same (blank = none)
        nullif(case when min(min_unit1) = max(max_unit1) then min(min_unit1) end, '') as unit1,
        sum(quantity1) as quantity1,
        nullif(case when min(min_unit2) = max(max_unit2) then min(min_unit2) end, '') as unit2,
        sum(quantity2) as quantity2,
        sum(value_jpy)::bigint as value_jpy
    from code_periods
    group by all
),

period_dates as (
    select distinct period_type, period, period_start, period_end from calendar
),

family_facts as (
    select distinct family_id, family_label, comparable_since from code_families
),

countries as (
    select * from ref.countries
),

final as (
    select
        periods.period_type,
        periods.period,
        period_dates.period_start,
        period_dates.period_end,
        reported.months_reported,
        level::varchar as level,
        periods.flow,
        periods.family_id,
        family_facts.family_label,
        family_facts.comparable_since,
        periods.partner_code,
        countries.country_name as partner_name,
        countries.iso3 as partner_iso3,
        periods.codes_reported,
        periods.unit1,
        case when periods.unit1 is not null then periods.quantity1 end::bigint as quantity1,
        periods.unit2,
        case when periods.unit2 is not null then periods.quantity2 end::bigint as quantity2,
        periods.value_jpy
    from periods
    inner join reported
        on periods.period_type = reported.period_type and periods.period = reported.period
    inner join period_dates
        on periods.period_type = period_dates.period_type and periods.period = period_dates.period
    inner join family_facts on periods.family_id = family_facts.family_id
    left join countries on periods.partner_code = countries.country_code
)

select * from final
