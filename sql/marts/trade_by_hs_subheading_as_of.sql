-- marts.trade_by_hs_subheading_as_of(as_of): value in yen and dollars, quantities and unit values
-- by HS subheading (the first six digits, the level the HS shares across countries), partner and
-- period, as known on as_of, unit by unit (core.hs_trade_as_of), with the English names of the
-- subheading and its heading. Grain: period_type, period, flow, hs_subheading, partner_code,
-- unit1, unit2. marts.trade_by_hs_subheading = this macro on DATE '9999-12-31' (latest).
with

trade as (
    select * from core.hs_trade_as_of(as_of, 6)
),

subheadings as (
    select * from ref.hs_subheadings
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
        trade.hs_prefix as hs_subheading,
        -- a confidential code keeps its chapter (`38XXXX`) or its heading (`4821XX`)
        case when contains(left(trade.hs_prefix, 4), 'X')
            then 'confidential code within chapter ' || left(trade.hs_prefix, 2) || ': '
                || coalesce(chapters.chapter_name, 'not in the HS')
            when contains(trade.hs_prefix, 'X')
            then 'confidential code within heading ' || left(trade.hs_prefix, 4) || ': '
                || coalesce(headings.heading_name, 'not in HS 2022')
            else subheadings.subheading_name end as subheading_name,
        left(trade.hs_prefix, 4) as hs_heading,
        case when contains(left(trade.hs_prefix, 4), 'X')
            then 'confidential code within chapter ' || left(trade.hs_prefix, 2) || ': '
                || coalesce(chapters.chapter_name, 'not in the HS')
            else headings.heading_name end as heading_name,
        trade.partner_code, trade.partner_name, trade.partner_iso3,
        trade.unit1, trade.quantity1, trade.unit2, trade.quantity2,
        trade.value_jpy, trade.value_usd, trade.jpy_per_unit1, trade.jpy_per_unit2
    from trade
    left join subheadings on trade.hs_prefix = subheadings.hs_subheading
    left join headings on left(trade.hs_prefix, 4) = headings.hs_heading
    left join chapters on left(trade.hs_prefix, 2) = chapters.hs_chapter
)

select * from final
