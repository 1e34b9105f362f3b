-- core.trade_monthly_as_of(as_of): the figures known on as_of (releases published on or before
-- it, after supersession within each reporter), by month, chapter, partner and sector.
-- Grain: reporter, flow, year, month, hs_chapter, country_code, top_sector_code,
-- highlight_sector_code.
with

monthly as (
    select * from core.trade_release_monthly
),

winners as (
    select * from core.winning_releases(as_of)
),

final as (
    select
        monthly.flow,
        monthly.year,
        monthly.month,
        monthly.hs_chapter,
        monthly.country_code,
        monthly.top_sector_code,
        monthly.highlight_sector_code,
        monthly.value_thousand_jpy,
        monthly.release_id,
        monthly.reporter
    from monthly
    inner join winners
        on monthly.release_id = winners.release_id
        and monthly.reporter = winners.reporter
        and monthly.flow = winners.flow
        and monthly.year = winners.year
        and monthly.month = winners.month
        and monthly.hs_chapter = winners.hs_chapter
)

select * from final
