-- marts.trade_by_hs_heading_as_of(as_of): value in yen and dollars, quantities and unit values by
-- HS heading (the first four digits), partner and period, as known on as_of, unit by unit
-- (core.hs_trade_as_of), with the heading's English name. Grain: period_type, period, flow,
-- hs_heading, partner_code, unit1, unit2. marts.trade_by_hs_heading = this macro on
-- DATE '9999-12-31' (latest). Summed over headings and units, value_jpy is the total's.
with

trade as (
    select * from core.hs_trade_as_of(as_of, 4)
),

headings as (
    select * from ref.hs_headings
),

chapters as (
    select * from ref.hs_chapters
),

final as (
    select
        trade.period_type, trade.period, trade.period_start, trade.period_end,
        trade.months_reported, trade.flow,
        trade.hs_prefix as hs_heading,
        -- a confidential code that keeps only its chapter (`38XXXXXXX`) is heading `38XX`
        case when contains(trade.hs_prefix, 'X')
            then 'confidential code within chapter ' || left(trade.hs_prefix, 2) || ': '
                || coalesce(chapters.chapter_name, 'not in the HS')
            else headings.heading_name end as heading_name,
        trade.partner_code, trade.partner_name, trade.partner_iso3,
        trade.unit1, trade.quantity1, trade.unit2, trade.quantity2,
        trade.value_jpy, trade.value_usd, trade.jpy_per_unit1, trade.jpy_per_unit2
    from trade
    left join headings on trade.hs_prefix = headings.hs_heading
    left join chapters on left(trade.hs_prefix, 2) = chapters.hs_chapter
)

select * from final
