-- marts.partner_ranks_as_of(as_of): each partner's rank and share in Japan's trade (exports +
-- imports) by period, as known on as_of. Grain: period_type, period, partner_code.
with

partners as (
    select * from core.balance_as_of(as_of)
    where dimension = 'partner'
),

totals as (
    select * from core.balance_as_of(as_of)
    where dimension = 'total'
),

countries as (
    select * from ref.countries
),

final as (
    select
        partners.period_type, partners.period, partners.period_start, partners.period_end,
        partners.months_reported,
        partners.dimension_key as partner_code,
        countries.country_name as partner_name,
        countries.iso3 as partner_iso3,
        partners.exports_jpy,
        partners.imports_jpy,
        partners.exports_jpy + partners.imports_jpy as trade_jpy,
        rank() over (
            partition by partners.period_type, partners.period
            order by partners.exports_jpy + partners.imports_jpy desc
        ) as trade_rank,
        round(100 * (partners.exports_jpy + partners.imports_jpy)
            / nullif(totals.exports_jpy + totals.imports_jpy, 0), 3)::double as trade_share_pct,
        round(100 * partners.exports_jpy / nullif(totals.exports_jpy, 0), 3)::double
            as exports_share_pct,
        round(100 * partners.imports_jpy / nullif(totals.imports_jpy, 0), 3)::double
            as imports_share_pct
    from partners
    inner join totals
        on partners.period_type = totals.period_type and partners.period = totals.period
    left join countries on partners.dimension_key = countries.country_code
)

select * from final
