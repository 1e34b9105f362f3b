-- marts.revisions: how each month's figures with each partner changed from first publication to
-- the latest release. Grain: flow, year, month, partner_code. The first published value takes
-- every (flow, month, HS chapter) cell from the first release that reported it. Japan's
-- releases only (reporter 'JPN'), as in the balance marts.
-- Builds that recompute only the months new releases touched set the variable trade_etl_months
-- (a list of first days of months); unset (always, for users) it changes nothing.
with

monthly as (
    select * from core.trade_release_monthly
    where reporter = 'JPN' and (getvariable('trade_etl_months') is null
        -- the year bounds reach the scan's zone maps; the list picks the months
        or year between year(list_min(getvariable('trade_etl_months')::date[]))
            and year(list_max(getvariable('trade_etl_months')::date[]))
        and list_contains(getvariable('trade_etl_months')::date[], make_date(year, month, 1)))
),

releases as (
    select * from core.releases
    where reporter = 'JPN'
),

first_cells as (
    select coverage.release_id, coverage.flow, coverage.year, coverage.month,
        coverage.hs_chapter, releases.published_on, releases.release_seq
    from core.release_coverage as coverage
    inner join releases on coverage.release_id = releases.release_id
    where getvariable('trade_etl_months') is null
        or list_contains(getvariable('trade_etl_months')::date[],
            make_date(coverage.year, coverage.month, 1))
    qualify row_number() over (
        partition by coverage.flow, coverage.year, coverage.month, coverage.hs_chapter
        order by releases.release_seq
    ) = 1
),

latest_cells as (
    select winners.*, releases.release_seq
    from core.winning_releases(DATE '9999-12-31') as winners
    inner join releases on winners.release_id = releases.release_id
    where getvariable('trade_etl_months') is null
        or list_contains(getvariable('trade_etl_months')::date[],
            make_date(winners.year, winners.month, 1))
),

first_values as (
    select monthly.flow, monthly.year, monthly.month, monthly.country_code,
        sum(monthly.value_thousand_jpy) * 1000 as value_jpy
    from monthly
    inner join first_cells
        on monthly.release_id = first_cells.release_id
        and monthly.flow = first_cells.flow
        and monthly.year = first_cells.year
        and monthly.month = first_cells.month
        and monthly.hs_chapter = first_cells.hs_chapter
    group by all
),

latest_values as (
    select flow, year, month, country_code, sum(value_thousand_jpy) * 1000 as value_jpy
    from core.trade_monthly_as_of(DATE '9999-12-31')
    where reporter = 'JPN' and (getvariable('trade_etl_months') is null
        -- the year bounds reach the scan's zone maps; the list picks the months
        or year between year(list_min(getvariable('trade_etl_months')::date[]))
            and year(list_max(getvariable('trade_etl_months')::date[]))
        and list_contains(getvariable('trade_etl_months')::date[], make_date(year, month, 1)))
    group by all
),

month_releases as (
    select
        first_cells.flow, first_cells.year, first_cells.month,
        arg_min(first_cells.release_id, first_cells.release_seq) as first_release_id,
        min(first_cells.published_on) as first_published_on
    from first_cells
    group by all
),

month_latest as (
    select flow, year, month,
        arg_max(release_id, release_seq) as latest_release_id,
        max(published_on) as latest_published_on
    from latest_cells
    group by all
),

partner_months as (
    select flow, year, month, country_code from first_values
    union
    select flow, year, month, country_code from latest_values
),

final as (
    select
        case partner_months.flow when 1 then 'export' else 'import' end as flow,
        partner_months.year,
        partner_months.month,
        format('{:04d}-{:02d}', partner_months.year, partner_months.month) as period,
        partner_months.country_code as partner_code,
        countries.country_name as partner_name,
        countries.iso3 as partner_iso3,
        month_releases.first_release_id,
        month_releases.first_published_on,
        coalesce(first_values.value_jpy, 0)::bigint as first_value_jpy,
        month_latest.latest_release_id,
        month_latest.latest_published_on,
        coalesce(latest_values.value_jpy, 0)::bigint as latest_value_jpy,
        (coalesce(latest_values.value_jpy, 0) - coalesce(first_values.value_jpy, 0))::bigint
            as revision_jpy,
        round(100 * (coalesce(latest_values.value_jpy, 0)
            / nullif(first_values.value_jpy, 0) - 1), 3) as revision_pct
    from partner_months
    left join first_values using (flow, year, month, country_code)
    left join latest_values using (flow, year, month, country_code)
    inner join month_releases using (flow, year, month)
    inner join month_latest using (flow, year, month)
    left join ref.countries as countries
        on partner_months.country_code = countries.country_code
)

select * from final
