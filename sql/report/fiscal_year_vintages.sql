-- The fiscal year $period's trade with the world ('') and with the partner $partner_code as
-- known on each release day up to $as_of: what marts.balance_total_as_of(day) and
-- marts.balance_by_partner_as_of(day) (for a group or an area, $partner_kind 'group' or 'area':
-- marts.balance_by_region_as_of(day)) say of the period, for every day at once. Grain: day,
-- partner_code. Supersession as in core.winning_releases: each (flow, year, month, HS chapter)
-- cell from the latest release published on or before the day that reports it. Japan's
-- releases only (reporter 'JPN'), as in the marts.
with

-- the partner's countries and the months each counts in it, as core.balance_as_of composes
-- regions (trade_etl/serve/partners.py, MEMBERS); none without a partner
members as (
    select country_code, DATE '0001-01-01' as valid_from, DATE '9999-12-31' as valid_to
    from ref.countries
    where ($partner_kind = 'country' and country_code = $partner_code)
        or ($partner_kind = 'area' and area = $partner_code)
    union all
    select country_code, valid_from, coalesce(valid_to, DATE '9999-12-31') as valid_to
    from ref.country_groups
    where $partner_kind = 'group' and group_code = $partner_code
),

days as (
    select distinct published_on as day
    from core.releases
    where published_on <= $as_of and reporter = 'JPN'
),

period_months as (
    select year, month
    from core.period_months
    where period_type = 'fiscal_year' and period = $period
),

coverage as (
    select coverage.*, releases.published_on, releases.release_seq
    from core.release_coverage as coverage
    inner join core.releases as releases
        on coverage.release_id = releases.release_id and releases.reporter = 'JPN'
    inner join period_months
        on coverage.year = period_months.year and coverage.month = period_months.month
),

winners as (
    select days.day, coverage.*
    from days
    inner join coverage on coverage.published_on <= days.day
    qualify row_number() over (
        partition by days.day, coverage.flow, coverage.year, coverage.month, coverage.hs_chapter
        order by coverage.release_seq desc
    ) = 1
),

monthly as (
    select winners.day, monthly.flow, monthly.year, monthly.month, monthly.country_code,
        monthly.value_thousand_jpy
    from winners
    inner join core.trade_release_monthly as monthly
        on monthly.release_id = winners.release_id
        and monthly.flow = winners.flow
        and monthly.year = winners.year
        and monthly.month = winners.month
        and monthly.hs_chapter = winners.hs_chapter
),

reported as (
    select day, count(distinct (year, month)) as months_reported
    from monthly
    group by all
),

by_partner as (
    select day, '' as partner_code, flow, value_thousand_jpy
    from monthly
    union all
    select monthly.day, $partner_code, monthly.flow, monthly.value_thousand_jpy
    from monthly
    inner join members
        on monthly.country_code = members.country_code
        and make_date(monthly.year, monthly.month, 1)
            between members.valid_from and members.valid_to
),

final as (
    select
        by_partner.day,
        by_partner.partner_code,
        reported.months_reported,
        (coalesce(sum(by_partner.value_thousand_jpy) filter (where by_partner.flow = 1), 0)
            * 1000)::bigint as exports_jpy,
        (coalesce(sum(by_partner.value_thousand_jpy) filter (where by_partner.flow = 2), 0)
            * 1000)::bigint as imports_jpy
    from by_partner
    inner join reported on by_partner.day = reported.day
    group by all
)

select *, exports_jpy - imports_jpy as balance_jpy
from final
order by day, partner_code
