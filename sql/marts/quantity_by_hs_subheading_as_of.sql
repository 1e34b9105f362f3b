-- marts.quantity_by_hs_subheading_as_of(as_of): quantities, value and unit values (yen per unit)
-- by HS subheading (the first six digits, the level the HS shares across countries), partner and
-- period, as known on as_of: the 9-digit codes of a subheading added up where they share units
-- (core.quantities_as_of), with the subheading's English name. Grain: period_type, period, flow,
-- hs_subheading, partner_code, unit1, unit2. marts.quantity_by_hs_subheading = this macro on
-- DATE '9999-12-31' (latest), as a view.
with

quantities as (
    select * from core.quantities_as_of(as_of, 6)
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
        quantities.period_type, quantities.period, quantities.period_start,
        quantities.period_end, quantities.months_reported, quantities.flow,
        quantities.hs_prefix as hs_subheading,
        quantities.partner_code, quantities.partner_name, quantities.partner_iso3,
        quantities.unit1, quantities.quantity1, quantities.unit2, quantities.quantity2,
        quantities.value_jpy, quantities.jpy_per_unit1, quantities.jpy_per_unit2,
        case
            -- a confidential code keeps its chapter (`38XXXX`) or its heading (`4821XX`)
            when contains(left(quantities.hs_prefix, 4), 'X')
            then 'confidential code within chapter ' || left(quantities.hs_prefix, 2) || ': '
                || coalesce(chapters.chapter_name, 'not in the HS')
            when contains(quantities.hs_prefix, 'X')
            then 'confidential code within heading ' || left(quantities.hs_prefix, 4) || ': '
                || coalesce(headings.heading_name, 'not in HS 2022')
            else subheadings.subheading_name
        end as subheading_name
    from quantities
    left join subheadings on quantities.hs_prefix = subheadings.hs_subheading
    left join headings on left(quantities.hs_prefix, 4) = headings.hs_heading
    left join chapters on left(quantities.hs_prefix, 2) = chapters.hs_chapter
)

select * from final
