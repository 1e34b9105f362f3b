-- core.balance_as_of(as_of): exports, imports and balance in yen and dollars for every dimension
-- (total, partner, region, hs_section, sector, partner_sector) and period, from the releases
-- published on or before as_of. Grain: dimension, dimension_key, period_type, period.
-- Japan's figures only (reporter 'JPN'): yen, dollars at yen rates and the fiscal calendar are
-- Japan's (the marts answer "Japan's trade as its Ministry of Finance reports it").
-- Yen: thousand-yen values × 1000, summed exactly. Dollars: each month at its monthly average
-- rate (ref.fx_monthly), kept to the micro-dollar as an exact decimal, then summed (so the sum
-- does not depend on row order); null when a month of the period has no rate.
-- Year on year: against the same months a year earlier; null unless every reported month of the
-- period has its month a year earlier reported too (so a partial year compares like with like).
-- Builds that recompute only the periods a new release touched set the variable
-- trade_etl_periods_between to [first day, last day]: then only periods inside that range come
-- out, computed from its months and the twelve before (year on year), exactly as without it.
-- Unset (always, for users) it changes nothing.
with

monthly as (
    select * from core.trade_monthly_as_of(as_of)
    where reporter = 'JPN'
        and (getvariable('trade_etl_periods_between') is null
            -- the year bounds first: they reach the scan's zone maps
            or year between year((getvariable('trade_etl_periods_between')::date[])[1]) - 1
                and year((getvariable('trade_etl_periods_between')::date[])[2])
            and make_date(year, month, 1) between
                (getvariable('trade_etl_periods_between')::date[])[1] - interval 12 month
                and (getvariable('trade_etl_periods_between')::date[])[2])
),

calendar as (
    select * from core.period_months
    where getvariable('trade_etl_periods_between') is null
        or (period_start >= (getvariable('trade_etl_periods_between')::date[])[1]
            and period_end <= (getvariable('trade_etl_periods_between')::date[])[2])
),

partner_regions as (
    select country_code, area as region, DATE '0001-01-01' as valid_from,
        DATE '9999-12-31' as valid_to
    from ref.countries
    union all
    select country_code, group_code, valid_from, coalesce(valid_to, DATE '9999-12-31')
    from ref.country_groups
),

by_dimension as (
    select 'total' as dimension, '' as dimension_key, year, month, flow, value_thousand_jpy
    from monthly
    union all
    select 'partner', country_code, year, month, flow, value_thousand_jpy
    from monthly
    union all
    select 'region', partner_regions.region, monthly.year, monthly.month, monthly.flow,
        monthly.value_thousand_jpy
    from monthly
    inner join partner_regions
        on monthly.country_code = partner_regions.country_code
        and make_date(monthly.year, monthly.month, 1)
            between partner_regions.valid_from and partner_regions.valid_to
    union all
    select 'hs_section', coalesce(chapters.hs_section, '?'), monthly.year, monthly.month,
        monthly.flow, monthly.value_thousand_jpy
    from monthly
    left join ref.hs_chapters as chapters on monthly.hs_chapter = chapters.hs_chapter
    union all
    select 'sector', top_sector_code, year, month, flow, value_thousand_jpy
    from monthly
    union all
    select 'sector', highlight_sector_code, year, month, flow, value_thousand_jpy
    from monthly
    where highlight_sector_code is not null
    union all
    select 'partner_sector', country_code || ':' || top_sector_code, year, month, flow,
        value_thousand_jpy
    from monthly
    union all
    select 'partner_sector', country_code || ':' || highlight_sector_code, year, month, flow,
        value_thousand_jpy
    from monthly
    where highlight_sector_code is not null
),

month_totals as (
    select
        by_dimension.dimension,
        by_dimension.dimension_key,
        by_dimension.year,
        by_dimension.month,
        coalesce(sum(by_dimension.value_thousand_jpy) filter (where by_dimension.flow = 1), 0)
            * 1000 as exports_jpy,
        coalesce(sum(by_dimension.value_thousand_jpy) filter (where by_dimension.flow = 2), 0)
            * 1000 as imports_jpy
    from by_dimension
    group by all
),

month_usd as (
    select
        month_totals.*,
        fx.jpy_per_usd
    from month_totals
    left join ref.fx_monthly as fx
        on fx.month = format('{:04d}-{:02d}', month_totals.year, month_totals.month)
),

reported_months as (
    select distinct year, month from monthly
),

period_months_reported as (
    select calendar.period_type, calendar.period, calendar.year, calendar.month
    from reported_months
    inner join calendar
        on reported_months.year = calendar.year and reported_months.month = calendar.month
),

reported as (
    select period_type, period, count(*) as months_reported
    from period_months_reported
    group by all
),

-- the same months a year earlier, where they are reported
comparable_months as (
    select current_months.period_type, current_months.period, current_months.year - 1 as year,
        current_months.month
    from period_months_reported as current_months
    inner join reported_months
        on reported_months.year = current_months.year - 1
        and reported_months.month = current_months.month
),

comparable as (
    select period_type, period, count(*) as months_comparable
    from comparable_months
    group by all
),

prior as (
    select
        month_totals.dimension,
        month_totals.dimension_key,
        comparable_months.period_type,
        comparable_months.period,
        sum(month_totals.exports_jpy) as exports_jpy,
        sum(month_totals.imports_jpy) as imports_jpy
    from comparable_months
    inner join month_totals
        on comparable_months.year = month_totals.year
        and comparable_months.month = month_totals.month
    group by all
),

periods as (
    select
        month_usd.dimension,
        month_usd.dimension_key,
        calendar.period_type,
        calendar.period,
        calendar.period_start,
        calendar.period_end,
        sum(month_usd.exports_jpy)::bigint as exports_jpy,
        sum(month_usd.imports_jpy)::bigint as imports_jpy,
        case when count(month_usd.jpy_per_usd) = count(*)
            then sum((month_usd.exports_jpy / month_usd.jpy_per_usd)::decimal(38, 6))
            end as exports_usd,
        case when count(month_usd.jpy_per_usd) = count(*)
            then sum((month_usd.imports_jpy / month_usd.jpy_per_usd)::decimal(38, 6))
            end as imports_usd
    from month_usd
    inner join calendar
        on month_usd.year = calendar.year and month_usd.month = calendar.month
    group by all
),

final as (
    select
        cur.dimension,
        cur.dimension_key,
        cur.period_type,
        cur.period,
        cur.period_start,
        cur.period_end,
        reported.months_reported,
        cur.exports_jpy,
        cur.imports_jpy,
        cur.exports_jpy - cur.imports_jpy as balance_jpy,
        round(cur.exports_usd, 2)::double as exports_usd,
        round(cur.imports_usd, 2)::double as imports_usd,
        round(cur.exports_usd - cur.imports_usd, 2)::double as balance_usd,
        case when comparable.months_comparable = reported.months_reported
            then round(100 * (cur.exports_jpy / nullif(prior.exports_jpy, 0) - 1), 2)
        end as exports_yoy_pct,
        case when comparable.months_comparable = reported.months_reported
            then round(100 * (cur.imports_jpy / nullif(prior.imports_jpy, 0) - 1), 2)
        end as imports_yoy_pct
    from periods as cur
    inner join reported
        on cur.period_type = reported.period_type and cur.period = reported.period
    left join comparable
        on cur.period_type = comparable.period_type and cur.period = comparable.period
    left join prior
        on cur.dimension = prior.dimension
        and cur.dimension_key = prior.dimension_key
        and cur.period_type = prior.period_type
        and cur.period = prior.period
)

select * from final
