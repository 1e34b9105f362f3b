-- core.confidential_codes: how much of the latest figures Customs withholds under confidential
-- codes (from the April 2024 figures: a code keeping its upper digits, the rest `X`, e.g.
-- `38XXXXXXX`). Grain: flow, year, month, hs_code. These values are in every total (partner,
-- world, section, sector by their kept digits); this view only shows them apart. Japan's figures
-- only (reporter 'JPN').
with

latest as (
    select * from core.trade_latest
    where reporter = 'JPN'
),

month_totals as (
    select flow, year, month, sum(value_thousand_jpy) as flow_value_thousand_jpy
    from latest
    group by all
),

confidential as (
    select
        flow,
        year,
        month,
        hs_code,
        count(distinct country_code) as partners,
        sum(value_thousand_jpy)::bigint as value_thousand_jpy
    from latest
    where contains(hs_code, 'X')
    group by all
),

final as (
    select
        confidential.flow,
        confidential.year,
        confidential.month,
        confidential.hs_code,
        left(confidential.hs_code, 2) as hs_chapter,
        length(rtrim(confidential.hs_code, 'X')) as hs_digits_kept,
        confidential.partners,
        confidential.value_thousand_jpy,
        round(100 * confidential.value_thousand_jpy
            / nullif(month_totals.flow_value_thousand_jpy, 0), 4) as share_of_month_pct
    from confidential
    inner join month_totals
        on confidential.flow = month_totals.flow
        and confidential.year = month_totals.year
        and confidential.month = month_totals.month
)

select * from final
