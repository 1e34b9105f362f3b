-- marts.mirror_balance_as_of(as_of): both sides of Japan–US trade by period and direction, as
-- known on as_of (each reporter's releases published on or before it): the sums of
-- marts.mirror_by_hs_section_as_of over its sections (exact: its parts are rounded per cell).
-- Grain: period_type, period, direction. docs/mirror.md explains the columns and the parts.
-- marts.mirror_balance = this macro on DATE '9999-12-31' (latest), as a view.
with

sections as (
    select * from marts.mirror_by_hs_section_as_of(as_of)
),

sums as (
    select
        period_type, period, period_start, period_end, months_compared, direction,
        sum(japan_value_jpy)::bigint as japan_value_jpy,
        sum(us_value_jpy)::bigint as us_value_jpy,
        sum(gap_jpy)::bigint as gap_jpy,
        sum(currency_jpy)::bigint as currency_jpy,
        sum(valuation_jpy)::bigint as valuation_jpy,
        sum(timing_jpy)::bigint as timing_jpy,
        sum(unexplained_jpy)::bigint as unexplained_jpy,
        count(japan_value_usd) = count(*) as has_rate,
        sum(japan_value_usd) as japan_value_usd,
        sum(us_value_usd)::bigint as us_value_usd,
        sum(gap_usd) as gap_usd,
        sum(currency_usd) as currency_usd,
        sum(valuation_usd) as valuation_usd,
        sum(timing_usd) as timing_usd,
        sum(unexplained_usd) as unexplained_usd
    from sections
    group by all
)

select
    period_type, period, period_start, period_end, months_compared, direction,
    japan_value_jpy, us_value_jpy, gap_jpy, currency_jpy, valuation_jpy, timing_jpy,
    unexplained_jpy,
    case when has_rate then japan_value_usd end::decimal(18, 2) as japan_value_usd,
    us_value_usd,
    case when has_rate then gap_usd end::decimal(18, 2) as gap_usd,
    case when has_rate then currency_usd end::decimal(18, 2) as currency_usd,
    case when has_rate then valuation_usd end::decimal(18, 2) as valuation_usd,
    case when has_rate then timing_usd end::decimal(18, 2) as timing_usd,
    case when has_rate then unexplained_usd end::decimal(18, 2) as unexplained_usd,
    round(100 * gap_jpy / nullif(us_value_jpy, 0), 3) as gap_pct
from sums
