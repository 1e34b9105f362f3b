-- marts.quantity_by_hs_subheading_as_of(as_of): quantities, value and unit values (yen per unit)
-- by HS subheading (the first six digits, the level the HS shares across countries), partner and
-- period, as known on as_of: the 9-digit codes of a subheading added up where they share units
-- (core.quantities_as_of). Grain: period_type, period, flow, hs_subheading, partner_code, unit1,
-- unit2. marts.quantity_by_hs_subheading = this macro on DATE '9999-12-31' (latest), as a view.
with

quantities as (
    select * from core.quantities_as_of(as_of, 6)
),

final as (
    select
        period_type, period, period_start, period_end, months_reported, flow,
        hs_prefix as hs_subheading,
        partner_code, partner_name, partner_iso3,
        unit1, quantity1, unit2, quantity2, value_jpy, jpy_per_unit1, jpy_per_unit2
    from quantities
)

select * from final
