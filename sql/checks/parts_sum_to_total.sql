-- Periods where the parts of a breakdown ($breakdown: partner, hs_section, sector, area) do not
-- sum to marts.balance_total.
with

parts as (
    select 'partner' as breakdown, period_type, period, exports_jpy, imports_jpy
    from marts.balance_by_partner
    union all
    select 'hs_section', period_type, period, exports_jpy, imports_jpy
    from marts.balance_by_hs_section
    union all
    select 'sector', period_type, period, exports_jpy, imports_jpy
    from marts.balance_by_sector where sector_level = 'top'
    union all
    select 'area', period_type, period, exports_jpy, imports_jpy
    from marts.balance_by_region where region_type = 'area'
),

summed as (
    select period_type, period, sum(exports_jpy) as exports_jpy, sum(imports_jpy) as imports_jpy
    from parts
    where breakdown = $breakdown
    group by all
),

total as (
    select * from marts.balance_total
)

select * from total
full outer join summed using (period_type, period)
where total.exports_jpy is distinct from summed.exports_jpy
    or total.imports_jpy is distinct from summed.imports_jpy
