-- marts.balance_by_hs_section_as_of(as_of): trade by HS section (I … XXI) and period.
-- Grain: period_type, period, hs_section. Sections sum to the total.
with

balances as (
    select * from core.balance_as_of(as_of)
    where dimension = 'hs_section'
),

sections as (
    select * from ref.hs_sections
),

final as (
    select
        balances.period_type, balances.period, balances.period_start, balances.period_end,
        balances.months_reported,
        balances.dimension_key as hs_section,
        coalesce(sections.section_name, 'Unknown HS chapter') as section_name,
        sections.section_number,
        balances.exports_jpy, balances.imports_jpy, balances.balance_jpy,
        balances.exports_usd, balances.imports_usd, balances.balance_usd,
        balances.exports_yoy_pct, balances.imports_yoy_pct
    from balances
    left join sections on balances.dimension_key = sections.hs_section
)

select * from final
