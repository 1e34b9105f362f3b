-- marts.mirror_by_hs_section_as_of(as_of): both sides of Japan–US trade by period, direction and
-- HS section, as known on as_of (each reporter's releases published on or before it), from the
-- cells of core.mirror_cells_as_of (docs/mirror.md explains every column and part). Grain:
-- period_type, period, direction, hs_section. `balance` = japan_exports − japan_imports, over
-- the months both directions compare. The parts are rounded per cell there, so every sum here
-- is exact: the parts add up to the gap, and sections to marts.mirror_balance_as_of.
-- marts.mirror_by_hs_section = this macro on DATE '9999-12-31' (latest), as a view.
with

cells as (
    select
        cells.*,
        coalesce(chapters.hs_section, '?') as hs_section
    from core.mirror_cells_as_of(as_of) as cells
    left join ref.hs_chapters as chapters on left(cells.hs_subheading, 2) = chapters.hs_chapter
),

both_directions as (
    select year, month from cells
    group by year, month
    having count(distinct direction) = 2
),

signed as (
    select
        direction, year, month, hs_section, japan_jpy, us_jpy, gap_jpy, currency_jpy,
        valuation_jpy, timing_jpy, unexplained_jpy, japan_usd, us_usd, gap_usd, currency_usd,
        valuation_usd, timing_usd, unexplained_usd, has_rate
    from cells
    union all
    select
        'balance', year, month, hs_section,
        sign * japan_jpy, sign * us_jpy, sign * gap_jpy, sign * currency_jpy,
        sign * valuation_jpy, sign * timing_jpy, sign * unexplained_jpy, sign * japan_usd,
        sign * us_usd, sign * gap_usd, sign * currency_usd, sign * valuation_usd,
        sign * timing_usd, sign * unexplained_usd, has_rate
    from (
        select *, case direction when 'japan_exports' then 1 else -1 end as sign
        from cells
        semi join both_directions using (year, month)
    )
),

calendar as (
    select * from core.period_months
),

compared as (
    select
        calendar.period_type, calendar.period, calendar.period_start, calendar.period_end,
        months.direction, count(*) as months_compared
    from (select distinct direction, year, month from signed) as months
    inner join calendar using (year, month)
    group by all
),

sums as (
    select
        calendar.period_type, calendar.period, signed.direction, signed.hs_section,
        sum(signed.japan_jpy)::bigint as japan_value_jpy,
        sum(signed.us_jpy)::bigint as us_value_jpy,
        sum(signed.gap_jpy)::bigint as gap_jpy,
        sum(signed.currency_jpy)::bigint as currency_jpy,
        sum(signed.valuation_jpy)::bigint as valuation_jpy,
        sum(signed.timing_jpy)::bigint as timing_jpy,
        sum(signed.unexplained_jpy)::bigint as unexplained_jpy,
        bool_and(signed.has_rate) as has_rate,
        sum(signed.japan_usd) as japan_value_usd,
        sum(signed.us_usd)::bigint as us_value_usd,
        sum(signed.gap_usd) as gap_usd,
        sum(signed.currency_usd) as currency_usd,
        sum(signed.valuation_usd) as valuation_usd,
        sum(signed.timing_usd) as timing_usd,
        sum(signed.unexplained_usd) as unexplained_usd
    from signed
    inner join calendar using (year, month)
    group by all
),

final as (
    select
        sums.period_type, sums.period, compared.period_start, compared.period_end,
        compared.months_compared, sums.direction, sums.hs_section,
        coalesce(sections.section_name, 'Unknown HS chapter') as section_name,
        sums.japan_value_jpy, sums.us_value_jpy, sums.gap_jpy, sums.currency_jpy,
        sums.valuation_jpy, sums.timing_jpy, sums.unexplained_jpy,
        case when sums.has_rate then sums.japan_value_usd end::decimal(18, 2)
            as japan_value_usd,
        sums.us_value_usd,
        case when sums.has_rate then sums.gap_usd end::decimal(18, 2) as gap_usd,
        case when sums.has_rate then sums.currency_usd end::decimal(18, 2) as currency_usd,
        case when sums.has_rate then sums.valuation_usd end::decimal(18, 2) as valuation_usd,
        case when sums.has_rate then sums.timing_usd end::decimal(18, 2) as timing_usd,
        case when sums.has_rate then sums.unexplained_usd end::decimal(18, 2)
            as unexplained_usd,
        round(100 * sums.gap_jpy / nullif(sums.us_value_jpy, 0), 3) as gap_pct
    from sums
    inner join compared using (period_type, period, direction)
    left join ref.hs_sections as sections on sums.hs_section = sections.hs_section
)

select * from final
