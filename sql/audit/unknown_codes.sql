-- audit.unknown_codes: the 9-digit export codes of the latest figures that the year's export code
-- list (ref.hs9_codes) does not hold, by year, with the months they were seen in and their value.
-- Only exports can be judged: the open lists are export lists (import codes are in none), and
-- only the years a list covers. Confidential codes (`38XXXXXXX`) are not codes of any list; they
-- are in core.confidential_codes. Japan's figures only (the lists are Japan's). Grain: flow, year,
-- hs_code.
-- Each year's rows depend on that year's figures only: a build recomputes the years a release
-- changed by setting the variable trade_etl_years_between to [first, last] (unset: every year).
with

latest as (
    select * from core.trade_latest
    where reporter = 'JPN' and flow = 1 and not contains(hs_code, 'X')
        and (getvariable('trade_etl_years_between') is null
            or year between (getvariable('trade_etl_years_between')::integer[])[1]
                and (getvariable('trade_etl_years_between')::integer[])[2])
),

export_codes as (
    select * from ref.hs9_codes
    where flow = 'export'
),

list_years as (
    select min(first_year) as first_year, max(last_year) as last_year
    from export_codes
),

-- each code with every year whose list holds it (years_listed: `2010-2011 2017-2025`)
spans as (
    select hs_code, unnest(string_split(years_listed, ' ')) as span
    from export_codes
),

listed as (
    select
        hs_code,
        unnest(generate_series(
            split_part(span, '-', 1)::integer,
            coalesce(nullif(split_part(span, '-', 2), ''), split_part(span, '-', 1))::integer
        )) as year
    from spans
),

seen as (
    select
        latest.year,
        latest.hs_code,
        format('{:04d}-{:02d}', latest.year, min(latest.month)) as first_month,
        format('{:04d}-{:02d}', latest.year, max(latest.month)) as last_month,
        count(distinct latest.country_code) as partners,
        (sum(latest.value_thousand_jpy) * 1000)::bigint as value_jpy
    from latest
    cross join list_years
    where latest.year between list_years.first_year and list_years.last_year
    group by latest.year, latest.hs_code
),

final as (
    select
        'export' as flow,
        seen.year,
        seen.hs_code,
        seen.first_month,
        seen.last_month,
        seen.partners,
        seen.value_jpy,
        left(seen.hs_code, 6) as hs_subheading,
        subheadings.subheading_name,
        export_codes.first_year,
        export_codes.last_year
    from seen
    anti join listed on seen.hs_code = listed.hs_code and seen.year = listed.year
    left join export_codes on seen.hs_code = export_codes.hs_code
    left join ref.hs_subheadings as subheadings
        on left(seen.hs_code, 6) = subheadings.hs_subheading
)

select * from final
order by year, hs_code
