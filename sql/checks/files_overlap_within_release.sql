-- Pairs of files of release $release that report the same cells: a (flow, year, month, hs_code,
-- country_code) in both. core.trade_latest sums a release's files, so such a cell would be
-- counted twice (two versions of one table in one folder, a file copied under a second name).
-- Grain: first_file, second_file.
with

-- Each file holds a range of HS sections, so only chapters that several files of the release
-- report can overlap: usually none. This pass reads two columns of the release.
shared_chapters as (
    select flow, left(hs_code, 2) as hs_chapter
    from core.trade_facts
    where release_id = $release
    group by all
    having count(distinct file_name) > 1
),

facts as (
    select facts.file_name, facts.flow, facts.year, facts.month, facts.hs_code,
        facts.country_code
    from core.trade_facts as facts
    semi join shared_chapters
        on facts.flow = shared_chapters.flow
        and left(facts.hs_code, 2) = shared_chapters.hs_chapter
    where facts.release_id = $release
),

pairs as (
    select
        first.file_name as first_file,
        second.file_name as second_file,
        first.flow,
        first.year,
        first.month,
        first.hs_code,
        first.country_code
    from facts as first
    inner join facts as second
        on first.flow = second.flow
        and first.year = second.year
        and first.month = second.month
        and first.hs_code = second.hs_code
        and first.country_code = second.country_code
        and first.file_name < second.file_name
),

final as (
    select
        first_file,
        second_file,
        count(*) as shared_cells,
        min(printf('flow %d, %d-%02d, HS %s, country %s', flow, year, month, hs_code,
            country_code)) as example_cell
    from pairs
    group by all
)

select * from final
order by shared_cells desc, first_file, second_file
