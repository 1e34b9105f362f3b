-- Cells of release $release whose files disagree on the units: a (flow, year, month, hs_code,
-- country_code) that two files report with different (unit1, unit2). core.trade_latest sums a
-- release's files cell by cell, so such a cell's quantity would add up different units. Blank
-- and missing units are the same (no unit). Grain: flow, year, month, hs_code, country_code.
with

-- A file gives each of its cells one pair of units (the fact grain includes the file), so only
-- the chapters that several files of the release report can disagree: usually none, as each
-- file holds a range of HS sections. This pass reads two columns of the release.
shared_chapters as (
    select flow, left(hs_code, 2) as hs_chapter
    from core.trade_facts
    where release_id = $release
    group by all
    having count(distinct file_name) > 1
),

facts as (
    select
        facts.file_name,
        facts.flow,
        facts.year,
        facts.month,
        facts.hs_code,
        facts.country_code,
        coalesce(facts.unit1, '') as unit1,
        coalesce(facts.unit2, '') as unit2
    from core.trade_facts as facts
    semi join shared_chapters
        on facts.flow = shared_chapters.flow
        and left(facts.hs_code, 2) = shared_chapters.hs_chapter
    where facts.release_id = $release
),

disagreeing as (
    select flow, year, month, hs_code, country_code
    from facts
    group by all
    having min(unit1) <> max(unit1) or min(unit2) <> max(unit2)
),

final as (
    select
        disagreeing.flow,
        disagreeing.year,
        disagreeing.month,
        disagreeing.hs_code,
        disagreeing.country_code,
        string_agg(facts.file_name || ': ' || facts.unit1 || '/' || facts.unit2, '; '
            order by facts.file_name) as units_by_file
    from disagreeing
    inner join facts
        on disagreeing.flow = facts.flow
        and disagreeing.year = facts.year
        and disagreeing.month = facts.month
        and disagreeing.hs_code = facts.hs_code
        and disagreeing.country_code = facts.country_code
    group by all
)

select * from final
