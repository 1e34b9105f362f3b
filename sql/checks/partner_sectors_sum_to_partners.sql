-- Partner-periods where the top sectors of marts.balance_by_partner_sector do not sum to
-- marts.balance_by_partner.
with

summed as (
    select period_type, period, partner_code,
        sum(exports_jpy) as exports_jpy, sum(imports_jpy) as imports_jpy
    from marts.balance_by_partner_sector
    where sector_level = 'top'
    group by all
),

partners as (
    select * from marts.balance_by_partner
)

select * from partners
full outer join summed using (period_type, period, partner_code)
where partners.exports_jpy is distinct from summed.exports_jpy
    or partners.imports_jpy is distinct from summed.imports_jpy
