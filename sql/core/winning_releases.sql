-- core.winning_releases(as_of): for each (reporter, flow, year, month, HS chapter), the most
-- recent release of that reporter published on or before as_of that reports it (a release never
-- supersedes another reporter's). Grain: reporter, flow, year, month, hs_chapter.
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
        releases.published_on,
        coverage.reporter
    from coverage
    inner join releases
        on coverage.release_id = releases.release_id
        and coverage.reporter = releases.reporter
    qualify row_number() over (
        partition by coverage.reporter, coverage.flow, coverage.year, coverage.month,
            coverage.hs_chapter
        order by releases.release_seq desc
    ) = 1
)

select * from final
