-- core.winning_releases(as_of): for each (flow, year, month, HS chapter), the most recent release
-- published on or before as_of that reports it. Grain: flow, year, month, hs_chapter.
with

releases as (
    select * from core.releases
    where published_on <= as_of
),

coverage as (
    select * from core.release_coverage
),

final as (
    select
        coverage.release_id,
        coverage.flow,
        coverage.year,
        coverage.month,
        coverage.hs_chapter,
        releases.published_on
    from coverage
    inner join releases on coverage.release_id = releases.release_id
    qualify row_number() over (
        partition by coverage.flow, coverage.year, coverage.month, coverage.hs_chapter
        order by releases.release_seq desc
    ) = 1
)

select * from final
