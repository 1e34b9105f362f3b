-- core.quantities_as_of(as_of, hs_digits): quantities, value and unit values by HS code cut to
-- its first hs_digits digits (9: the code, 6: the subheading), partner and period, as known on
-- as_of. Grain: period_type, period, flow, hs_prefix, partner_code, unit1, unit2. The marts
-- marts.quantity_by_hs_code_as_of and marts.quantity_by_hs_subheading_as_of select from it; their
-- views are those macros on DATE '9999-12-31' (latest). Japan's figures only (reporter 'JPN':
-- values in yen).
-- The units are in the grain, so quantities in different units are never added up: a period
-- that spans a change of a code's unit has one row per unit. Each fact cell is in one unit
-- because each (flow, year, month, HS chapter) cell comes from one release
-- (core.winning_releases) and a release's files agree on each cell's units (the blocking check
-- units_agree_within_release). Filters on the grain reach the scans: a view over it reads only
-- the codes, partners and months a query selects (docs/design.md).
-- A build computing one fiscal year's preview sets the variable trade_etl_months_between to
-- [its first month, its last month]: then only the cells of those months are read (a preview in
-- proportion to a year, not to the history); periods inside the window come out as without it.
-- Unset (always, for users) it changes nothing.
with

winners as (
    select * from core.winning_releases(as_of)
    where reporter = 'JPN'
),

calendar as (
    select * from core.period_months
),

countries as (
    select * from ref.countries
),

-- The cells of the winning releases. The latest ones are kept in core.trade_latest (each
-- release's files summed), a fraction of the fact store: on DATE '9999-12-31' this reads them
-- there, and the optimizer drops the branch that a constant as_of rules out. The code is cut in
-- each branch, and left whole for 9 digits, so that a filter on it reaches both scans.
cells as (
    select flow, year, month,
        case when hs_digits = 9 then hs_code else left(hs_code, hs_digits) end as hs_prefix,
        country_code, unit1, unit2, quantity1, quantity2, value_thousand_jpy
    from core.trade_latest
    where as_of = DATE '9999-12-31' and reporter = 'JPN'
        and (getvariable('trade_etl_months_between') is null
            or year between year((getvariable('trade_etl_months_between')::date[])[1])
                and year((getvariable('trade_etl_months_between')::date[])[2])
            and make_date(year, month, 1)
                between (getvariable('trade_etl_months_between')::date[])[1]
                and (getvariable('trade_etl_months_between')::date[])[2])
    union all
    select facts.flow, facts.year, facts.month,
        case when hs_digits = 9 then facts.hs_code else left(facts.hs_code, hs_digits) end,
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
    where as_of <> DATE '9999-12-31'
        and (getvariable('trade_etl_months_between') is null
            or facts.year between year((getvariable('trade_etl_months_between')::date[])[1])
                and year((getvariable('trade_etl_months_between')::date[])[2])
            and make_date(facts.year, facts.month, 1)
                between (getvariable('trade_etl_months_between')::date[])[1]
                and (getvariable('trade_etl_months_between')::date[])[2])
),

-- months of each period present in the data, as in the balance marts
reported as (
    select calendar.period_type, calendar.period, count(*) as months_reported
    from (select distinct year, month from winners) as months
    inner join calendar on months.year = calendar.year and months.month = calendar.month
    group by all
),

periods as (
    select
        calendar.period_type,
        calendar.period,
        calendar.period_start,
        calendar.period_end,
        cells.flow,
        cells.hs_prefix,
        cells.country_code,
        -- a blank unit is published as spaces or as nothing: both are "no unit"
        nullif(cells.unit1, '') as unit1,
        nullif(cells.unit2, '') as unit2,
        sum(cells.quantity1)::bigint as quantity1,
        sum(cells.quantity2)::bigint as quantity2,
        (sum(cells.value_thousand_jpy) * 1000)::bigint as value_jpy
    from cells
    inner join calendar on cells.year = calendar.year and cells.month = calendar.month
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
