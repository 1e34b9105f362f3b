-- ref.hs_families: every 9-digit export code of each year's list (2010-2025) with its family at
-- each level, and every listed subheading (6 digits) with the family its codes outside the list
-- take (imports, export codes a year's list lacks). Grain: level, hs_code, year.
-- ref.hs_lineage holds the same as runs of years (written by python -m trade_etl.ingest.lineage;
-- docs/warehouse.md, "Comparable series"). A row's family column is a family's id, or empty /
-- `@<year>` when each of its codes is a family of its own named by the code (and that suffix);
-- the subheading's other codes then form the family named by the subheading (and the suffix).
-- Every `level` column is qualified: DuckDB binds a view inside a table macro with the macro's
-- parameters in scope, and marts.trade_comparable_as_of has one named `level`.
with

lineage as (
    select * from ref.hs_lineage
),

families_of_several_codes as (
    select * from ref.hs_lineage_families
),

levels as (
    select unnest(['hs9', 'hs6']) as level
),

subheading_years as (
    select
        levels.level,
        lineage.hs_subheading,
        lineage.national_codes,
        case levels.level when 'hs9' then lineage.hs9_family else lineage.hs6_family end as cell,
        unnest(generate_series(lineage.first_year, lineage.last_year))::smallint as year
    from lineage
    cross join levels
),

code_years as (
    select
        subheading_years.level,
        subheading_years.hs_subheading
            || unnest(string_split(subheading_years.national_codes, ' ')) as hs_code,
        subheading_years.year,
        subheading_years.hs_subheading,
        subheading_years.cell
    from subheading_years
),

entries as (
    select
        code_years.level,
        code_years.hs_code,
        code_years.year,
        code_years.hs_subheading,
        case when code_years.cell is null or code_years.cell like '@%'
            then code_years.hs_code || coalesce(code_years.cell, '')
            else code_years.cell end as family_id
    from code_years
    union all
    select
        subheading_years.level,
        subheading_years.hs_subheading,
        subheading_years.year,
        subheading_years.hs_subheading,
        case when subheading_years.cell is null or subheading_years.cell like '@%'
            then subheading_years.hs_subheading || coalesce(subheading_years.cell, '')
            else subheading_years.cell end
    from subheading_years
),

family_facts as (
    select
        entries.level,
        entries.family_id,
        count(distinct hs_code) filter (where length(hs_code) = 9) as family_codes,
        count(distinct hs_subheading) as subheadings,
        min(hs_code) filter (where length(hs_code) = 9) as first_code,
        min(hs_subheading) as first_subheading,
        string_agg(distinct hs_subheading, ', ' order by hs_subheading) as subheading_list,
        min(year) as first_year
    from entries
    group by all
),

final as (
    select
        entries.level,
        entries.hs_code,
        entries.year,
        entries.hs_subheading,
        entries.family_id,
        case
            when family_facts.family_codes = 1 then family_facts.first_code
            when family_facts.subheadings <= 4 then family_facts.subheading_list
            else format('{} and {} more subheadings', family_facts.first_subheading,
                        family_facts.subheadings - 1)
        end as family_label,
        family_facts.family_codes,
        coalesce(several.comparable_since, family_facts.first_year) as comparable_since
    from entries
    inner join family_facts
        on entries.level = family_facts.level and entries.family_id = family_facts.family_id
    left join families_of_several_codes as several
        on entries.level = several.level and entries.family_id = several.family_id
)

select * from final
