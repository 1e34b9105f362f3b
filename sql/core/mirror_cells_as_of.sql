-- core.mirror_cells_as_of(as_of): Japan's trade with the United States beside the United
-- States' own figures for its trade with Japan, by direction, month and HS subheading (the
-- first six digits: both sides use the same HS edition in the same month), as known on as_of
-- (each reporter's releases published on or before it), and the gap between them split into
-- parts that add up exactly. Grain: direction, year, month, hs_subheading.
--
-- direction `japan_exports`: Japan's exports to the US (reporter JPN, flow 1, partner the US's
-- Japan Customs code) against US general imports from Japan (reporter USA, flow 2, partner
-- Japan's Census code); `japan_imports`: Japan's imports from the US (c.i.f.) against US total
-- exports to Japan (f.a.s.). Only months both sides report (for the direction) are compared.
--
-- Units: Japan's figures are whole thousand yen, the US's whole dollars. The US figure is
-- restated in Japan's unit line by line (each US fact cell × the month's average rate / 1000,
-- rounded to the thousand yen, as Japan rounds its lines), so that figures that agree compare
-- equal: the gap is Japan's − the restated US figure, in yen, and in dollars at the same
-- monthly rate. The parts (docs/mirror.md), in dollars, r the month's average rate
-- (ref.fx_monthly), q the rate Japan's customs converted at (the mean of the daily rates of the
-- window shifted back core.mirror_assumptions.customs_rate_lag_days days; 0: q = r), J Japan's
-- figure in yen, k the c.i.f./f.o.b. margin (Japan's imports only), s the transit share:
--   currency    = J/r − J/q                       the two conversions
--   valuation   = (J/q) · k/(1+k)                 freight and insurance in Japan's c.i.f.
--   timing      = s · (x − x_prev)  (exports)     x = J/q/(1+k): the importer records the share
--                 s · (x − x_next)  (imports)     s of a month's shipments in the next month
--   unexplained = gap − the three                 origin rules, re-exports, classification, errors
-- A neighbouring month that Japan does not report counts as the month itself (no shift).
-- Every part is rounded per cell (to the yen, to the cent) and `unexplained` is what is left of
-- the rounded gap, so the parts add up exactly to the gap in every cell and every sum of cells.
with

assumptions as (
    select
        max(value) filter (where assumption = 'cif_fob_margin') as margin,
        max(value) filter (where assumption = 'transit_share') as transit,
        max(value) filter (where assumption = 'customs_rate_lag_days')::integer as lag_days
    from core.mirror_assumptions
),

winners as (
    select * from core.winning_releases(as_of)
    where reporter in ('JPN', 'USA')
),

-- The cells of the winning releases: on DATE '9999-12-31' the latest ones, kept in
-- core.trade_latest; otherwise the winning releases' facts.
cells as (
    select reporter, flow, year, month, hs_code, country_code, value_thousand_jpy
    from core.trade_latest
    where as_of = DATE '9999-12-31' and reporter in ('JPN', 'USA')
    union all
    select facts.reporter, facts.flow, facts.year, facts.month, facts.hs_code,
        facts.country_code, facts.value_thousand_jpy
    from core.trade_facts as facts
    inner join winners
        on facts.release_id = winners.release_id
        and facts.reporter = winners.reporter
        and facts.flow = winners.flow
        and facts.year = winners.year
        and facts.month = winners.month
        and left(facts.hs_code, 2) = winners.hs_chapter
    where as_of <> DATE '9999-12-31' and facts.reporter in ('JPN', 'USA')
),

monthly_rates as (
    select
        cast(left(month, 4) as integer) as year,
        cast(right(month, 2) as integer) as month,
        jpy_per_usd
    from ref.fx_monthly
),

japan as (
    select
        case cells.flow when 1 then 'japan_exports' else 'japan_imports' end as direction,
        cells.year, cells.month, left(cells.hs_code, 6) as hs_subheading,
        sum(cells.value_thousand_jpy) as japan_thousand_jpy
    from cells
    inner join ref.countries as partner
        on cells.country_code = partner.country_code and partner.iso3 = 'USA'
    where cells.reporter = 'JPN'
    group by all
),

united_states as (
    select
        case cells.flow when 2 then 'japan_exports' else 'japan_imports' end as direction,
        cells.year, cells.month, left(cells.hs_code, 6) as hs_subheading,
        sum(cells.value_thousand_jpy) as us_usd,
        -- each US fact cell restated in Japan's unit, rounded as Japan rounds its lines
        sum(round(cells.value_thousand_jpy * rates.jpy_per_usd / 1000)) as us_thousand_jpy,
        count(rates.jpy_per_usd) = count(*) as restated
    from cells
    inner join ref.census_countries as partner
        on cells.country_code = partner.census_code and partner.iso3 = 'JPN'
    left join monthly_rates as rates
        on cells.year = rates.year and cells.month = rates.month
    where cells.reporter = 'USA'
    group by all
),

japan_months as (
    select distinct direction, year, month from japan
),

compared as (
    select direction, year, month from japan_months
    intersect
    select distinct direction, year, month from united_states
),

-- every cell of a compared month that either side reports, or whose neighbouring month
-- (the previous for Japan's exports, the next for its imports) Japan reports
keys as (
    select direction, year, month, hs_subheading from japan
    union
    select direction, year, month, hs_subheading from united_states
    union
    select direction,
        year(make_date(year, month, 1) + interval 1 month),
        month(make_date(year, month, 1) + interval 1 month), hs_subheading
    from japan where direction = 'japan_exports'
    union
    select direction,
        year(make_date(year, month, 1) - interval 1 month),
        month(make_date(year, month, 1) - interval 1 month), hs_subheading
    from japan where direction = 'japan_imports'
),

months_needed as (
    select distinct
        year(make_date(year, month, 1) + to_months(shift)) as year,
        month(make_date(year, month, 1) + to_months(shift)) as month
    from compared, (values (-1), (0), (1)) as shifts(shift)
),

rates as (
    select
        months_needed.year, months_needed.month,
        monthly_rates.jpy_per_usd as average_rate,
        case when assumptions.lag_days = 0 then monthly_rates.jpy_per_usd
            else (select avg(daily.jpy_per_usd) from ref.fx_daily as daily
                  where daily.date between
                      make_date(months_needed.year, months_needed.month, 1)
                          - to_days(assumptions.lag_days)
                      and last_day(make_date(months_needed.year, months_needed.month, 1))
                          - to_days(assumptions.lag_days))
            end as customs_rate
    from months_needed
    cross join assumptions
    left join monthly_rates
        on months_needed.year = monthly_rates.year and months_needed.month = monthly_rates.month
),

-- x: Japan's figure as the US records it, in dollars: at Japan's customs rate, without the
-- c.i.f. margin on Japan's imports; null in a month Japan does not report
shifted as (
    select
        japan.direction, japan.year, japan.month, japan.hs_subheading,
        japan.japan_thousand_jpy * 1000 / coalesce(rates.customs_rate, rates.average_rate)
            / case japan.direction when 'japan_imports' then 1 + assumptions.margin else 1 end
            as x
    from japan
    cross join assumptions
    inner join rates on japan.year = rates.year and japan.month = rates.month
),

joined as (
    select
        keys.direction, keys.year, keys.month, keys.hs_subheading,
        coalesce(japan.japan_thousand_jpy, 0) as japan_thousand_jpy,
        coalesce(us.us_usd, 0) as us_usd,
        case when coalesce(us.restated, true) then coalesce(us.us_thousand_jpy, 0) end
            as us_thousand_jpy,
        coalesce(us.restated, true) as restated,
        rates.average_rate,
        coalesce(rates.customs_rate, rates.average_rate) as customs_rate,
        coalesce(own.x, 0) as x,
        -- the neighbour: its x, 0 where Japan reports that month without this cell, and
        -- this month's own x where Japan does not report that month
        case when neighbour_month.month is null then coalesce(own.x, 0)
            else coalesce(neighbour.x, 0) end as x_neighbour
    from keys
    inner join compared using (direction, year, month)
    left join japan using (direction, year, month, hs_subheading)
    left join united_states as us using (direction, year, month, hs_subheading)
    left join rates on keys.year = rates.year and keys.month = rates.month
    left join shifted as own using (direction, year, month, hs_subheading)
    left join japan_months as neighbour_month
        on keys.direction = neighbour_month.direction
        and make_date(neighbour_month.year, neighbour_month.month, 1)
            = make_date(keys.year, keys.month, 1)
                + to_months(case keys.direction when 'japan_exports' then -1 else 1 end)
    left join shifted as neighbour
        on keys.direction = neighbour.direction
        and keys.hs_subheading = neighbour.hs_subheading
        and neighbour_month.year = neighbour.year
        and neighbour_month.month = neighbour.month
),

parts as (
    select
        joined.*,
        japan_thousand_jpy * 1000 / average_rate
            - japan_thousand_jpy * 1000 / customs_rate as currency_usd_exact,
        case direction when 'japan_imports'
            then japan_thousand_jpy * 1000 / customs_rate * assumptions.margin
                / (1 + assumptions.margin)
            else 0 end as valuation_usd_exact,
        assumptions.transit * (x - x_neighbour) as timing_usd_exact
    from joined
    cross join assumptions
),

final as (
    select
        direction, year, month, hs_subheading,
        japan_thousand_jpy * 1000 as japan_jpy,
        round(japan_thousand_jpy * 1000 / average_rate, 2)::decimal(18, 2) as japan_usd,
        us_usd::bigint as us_usd,
        us_thousand_jpy::bigint * 1000 as us_jpy,
        (japan_thousand_jpy - us_thousand_jpy)::bigint * 1000 as gap_jpy,
        round((japan_thousand_jpy - us_thousand_jpy) * 1000 / average_rate, 2)::decimal(18, 2)
            as gap_usd,
        round(currency_usd_exact * average_rate)::bigint as currency_jpy,
        round(valuation_usd_exact * average_rate)::bigint as valuation_jpy,
        round(timing_usd_exact * average_rate)::bigint as timing_jpy,
        round(currency_usd_exact, 2)::decimal(18, 2) as currency_usd,
        round(valuation_usd_exact, 2)::decimal(18, 2) as valuation_usd,
        round(timing_usd_exact, 2)::decimal(18, 2) as timing_usd,
        average_rate as jpy_per_usd,
        customs_rate as jpy_per_usd_customs,
        restated and average_rate is not null as has_rate
    from parts
)

select
    *,
    gap_jpy - currency_jpy - valuation_jpy - timing_jpy as unexplained_jpy,
    gap_usd - currency_usd - valuation_usd - timing_usd as unexplained_usd
from final
