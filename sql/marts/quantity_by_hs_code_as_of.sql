-- marts.quantity_by_hs_code_as_of(as_of): quantities, value and unit values (yen per unit) by
-- 9-digit HS code, partner and period, as known on as_of, unit by unit (core.quantities_as_of),
-- with the code's names: its subheading's English name (a national subdivision of it where no
-- open list describes the code: every import code) and, for an export code in the lists, its
-- Japanese description. Grain: period_type, period, flow, hs_code, partner_code, unit1, unit2.
-- marts.quantity_by_hs_code = this macro on DATE '9999-12-31' (latest), as a view.
with

quantities as (
    select * from core.quantities_as_of(as_of, 9)
),

export_codes as (
    select * from ref.hs9_codes
    where flow = 'export'
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
        quantities.hs_prefix as hs_code,
        quantities.partner_code, quantities.partner_name, quantities.partner_iso3,
        quantities.unit1, quantities.quantity1, quantities.unit2, quantities.quantity2,
        quantities.value_jpy, quantities.jpy_per_unit1, quantities.jpy_per_unit2,
        case
            -- a confidential code keeps its chapter (`38XXXXXXX`) or its heading (`4821XXXXX`)
            when contains(left(quantities.hs_prefix, 4), 'X')
            then 'confidential code within chapter ' || left(quantities.hs_prefix, 2) || ': '
                || coalesce(chapters.chapter_name, 'not in the HS')
            when contains(quantities.hs_prefix, 'X')
            then 'confidential code within heading ' || left(quantities.hs_prefix, 4) || ': '
                || coalesce(headings.heading_name, 'not in HS 2022')
            when quantities.flow = 'export' and export_codes.hs_code is not null
            then subheadings.subheading_name
            else subheadings.subheading_name || ' (national subdivision)'
        end as hs_code_name,
        case when quantities.flow = 'export' then export_codes.description_ja end
            as description_ja
    from quantities
    left join export_codes on quantities.hs_prefix = export_codes.hs_code
    left join subheadings on left(quantities.hs_prefix, 6) = subheadings.hs_subheading
    left join headings on left(quantities.hs_prefix, 4) = headings.hs_heading
    left join chapters on left(quantities.hs_prefix, 2) = chapters.hs_chapter
)

select * from final
