-- core.hs_trade_as_of(as_of, hs_digits): value in yen and dollars, quantities and unit values by
-- HS code cut to its first hs_digits digits (4: the heading, 6: the subheading), partner and
-- period, as known on as_of (Japan's figures: reporter 'JPN'). Grain: period_type, period, flow,
-- hs_prefix, partner_code, unit1,
-- unit2. The marts marts.trade_by_hs_heading_as_of and marts.trade_by_hs_subheading_as_of select
-- from it and add the names; their tables are those macros on DATE '9999-12-31' (latest).
-- As core.quantities_as_of: the units are in the grain, so quantities in different units are
-- never added up, and each fact cell is in one unit (units_agree_within_release). Dollars as in
-- core.balance_as_of: each month at its monthly average rate (ref.fx_monthly), kept to the
-- micro-dollar as an exact decimal, then summed; null when a month of the period has no rate.
-- A build computing one fiscal year's preview sets the variable trade_etl_months_between to
-- [its first month, its last month]: then only the cells of those months are read (a preview in
-- proportion to a year, not to the history); periods inside the window come out as without it.
-- Unset (always, for users) it changes nothing.
with

winners as (
    select * from core.winning_releases(as_of)
),

calendar as (
    select * from core.period_months
),

countries as (
    select * from ref.countries
),

rates as (
    select * from ref.fx_monthly
),

-- The cells of the winning releases: on DATE '9999-12-31' the latest ones, kept in
-- core.trade_latest; otherwise the winning releases' facts (the optimizer drops the branch a
-- constant as_of rules out).
cells as (
    select flow, year, month, left(hs_code, hs_digits) as hs_prefix, country_code, unit1, unit2,
        quantity1, quantity2, value_thousand_jpy
    from core.trade_latest
    where as_of = DATE '9999-12-31' and reporter = 'JPN'
        and (getvariable('trade_etl_months_between') is null
            or year between year((getvariable('trade_etl_months_between')::date[])[1])
                and year((getvariable('trade_etl_months_between')::date[])[2])
            and make_date(year, month, 1)
                between (getvariable('trade_etl_months_between')::date[])[1]
                and (getvariable('trade_etl_months_between')::date[])[2])
    union all
    select facts.flow, facts.year, facts.month, left(facts.hs_code, hs_digits),
        facts.country_code, facts.unit1, facts.unit2, facts.quantity1, facts.quantity2,
        facts.value_thousand_jpy
    from core.trade_facts as facts
    inner join winners
        on facts.release_id = winners.release_id
        and facts.reporter = winners.reporter
        and facts.flow = winners.flow
        and facts.year = winners.year
        and facts.month = winners.month
        and left(facts.hs_code, 2) = winners.hs_chapter
    where as_of <> DATE '9999-12-31' and facts.reporter = 'JPN'
        and (getvariable('trade_etl_months_between') is null
            or facts.year between year((getvariable('trade_etl_months_between')::date[])[1])
                and year((getvariable('trade_etl_months_between')::date[])[2])
            and make_date(facts.year, facts.month, 1)
                between (getvariable('trade_etl_months_between')::date[])[1]
                and (getvariable('trade_etl_months_between')::date[])[2])
),

months as (
    select
        flow,
        year,
        month,
        hs_prefix,
        country_code,
        -- a blank unit is published as spaces or as nothing: both are "no unit"
        nullif(unit1, '') as unit1,
        nullif(unit2, '') as unit2,
        sum(quantity1) as quantity1,
        sum(quantity2) as quantity2,
        sum(value_thousand_jpy) * 1000 as value_jpy
    from cells
    group by all
),

months_usd as (
    select
        months.*,
        (months.value_jpy / rates.jpy_per_usd)::decimal(38, 6) as value_usd
    from months
    left join rates on rates.month = format('{:04d}-{:02d}', months.year, months.month)
),

-- months of each period present in the data, as in the balance marts
reported as (
    select calendar.period_type, calendar.period, count(*) as months_reported
    from (select distinct year, month from winners) as reported_months
    inner join calendar
        on reported_months.year = calendar.year and reported_months.month = calendar.month
    group by all
),

periods as (
    select
        calendar.period_type,
        calendar.period,
        calendar.period_start,
        calendar.period_end,
        months_usd.flow,
        months_usd.hs_prefix,
        months_usd.country_code,
        months_usd.unit1,
        months_usd.unit2,
        sum(months_usd.quantity1)::bigint as quantity1,
        sum(months_usd.quantity2)::bigint as quantity2,
        sum(months_usd.value_jpy)::bigint as value_jpy,
        case when count(months_usd.value_usd) = count(*)
            then round(sum(months_usd.value_usd), 2)::double end as value_usd
    from months_usd
    inner join calendar
        on months_usd.year = calendar.year and months_usd.month = calendar.month
    group by all
),

final as (
    select
        periods.period_type,
        periods.period,
        periods.period_start,
        periods.period_end,
        reported.months_reported,
        case periods.flow when 1 then 'export' else 'import' end as flow,
        periods.hs_prefix,
        periods.country_code as partner_code,
        countries.country_name as partner_name,
        countries.iso3 as partner_iso3,
        periods.unit1,
        periods.quantity1,
        periods.unit2,
        periods.quantity2,
        periods.value_jpy,
        periods.value_usd,
        case when periods.unit1 is not null and periods.quantity1 <> 0
            then periods.value_jpy / periods.quantity1 end as jpy_per_unit1,
        case when periods.unit2 is not null and periods.quantity2 <> 0
            then periods.value_jpy / periods.quantity2 end as jpy_per_unit2
    from periods
    inner join reported
        on periods.period_type = reported.period_type and periods.period = reported.period
    left join countries on periods.country_code = countries.country_code
)

select * from final
