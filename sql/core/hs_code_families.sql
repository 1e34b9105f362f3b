-- core.hs_code_families: the family of every code the fact store holds, in every year it holds
-- it, at both levels (ref.hs_families). Grain: flow, hs_code, year, level.
-- An export code takes its own family in that year's list, or, missing from it, in the listed
-- year nearest to it (the last list for years after 2025, the first for years before 2010);
-- imports (whose national digits are not published openly) and export codes in no list take
-- the family of their subheading, in that year or the nearest year it is listed; a code whose
-- subheading is in no list (a confidential code `38XXXXXXX`) is a family of its own, named by
-- its first six characters. Exact years are joined first, so that only the few codes missing
-- from a year's list look for the nearest one.
-- A build computing one fiscal year's preview sets the variable trade_etl_months_between to
-- [its first month, its last month]: then only the codes of those years are mapped. Unset
-- (always, for users) it changes nothing.
with

codes as (
    select distinct flow, hs_code, year from core.trade_facts
    where reporter = 'JPN'
        and (getvariable('trade_etl_months_between') is null
            or year between year((getvariable('trade_etl_months_between')::date[])[1])
                and year((getvariable('trade_etl_months_between')::date[])[2]))
),

families as (
    select * from ref.hs_families
),

levels as (
    select unnest(['hs9', 'hs6']) as level
),

code_in_its_year as (
    select
        codes.flow,
        codes.hs_code,
        codes.year,
        families.level,
        families.family_id,
        families.family_label,
        families.comparable_since,
        'code' as mapped_by
    from codes
    inner join families on families.hs_code = codes.hs_code and families.year = codes.year
    where codes.flow = 1
),

code_in_nearest_year as (
    select
        missing.flow,
        missing.hs_code,
        missing.year,
        families.level,
        families.family_id,
        families.family_label,
        families.comparable_since,
        'code_nearest_year' as mapped_by
    from (
        select * from codes
        anti join code_in_its_year using (flow, hs_code, year)
        where codes.flow = 1
    ) as missing
    inner join families on families.hs_code = missing.hs_code
    qualify row_number() over (
        partition by missing.flow, missing.hs_code, missing.year, families.level
        order by abs(families.year - missing.year), families.year desc
    ) = 1
),

by_code as (
    select * from code_in_its_year
    union all
    select * from code_in_nearest_year
),

others as (
    select * from codes
    anti join by_code using (flow, hs_code, year)
),

subheading_in_its_year as (
    select
        others.flow,
        others.hs_code,
        others.year,
        families.level,
        families.family_id,
        families.family_label,
        families.comparable_since,
        'subheading' as mapped_by
    from others
    inner join families
        on families.hs_code = left(others.hs_code, 6) and families.year = others.year
),

subheading_in_nearest_year as (
    select
        missing.flow,
        missing.hs_code,
        missing.year,
        families.level,
        families.family_id,
        families.family_label,
        families.comparable_since,
        'subheading' as mapped_by
    from (
        select * from others
        anti join subheading_in_its_year using (flow, hs_code, year)
    ) as missing
    inner join families on families.hs_code = left(missing.hs_code, 6)
    qualify row_number() over (
        partition by missing.flow, missing.hs_code, missing.year, families.level
        order by abs(families.year - missing.year), families.year desc
    ) = 1
),

mapped as (
    select * from by_code
    union all
    select * from subheading_in_its_year
    union all
    select * from subheading_in_nearest_year
),

own as (
    select
        others.flow,
        others.hs_code,
        others.year,
        levels.level,
        left(others.hs_code, 6) as family_id,
        left(others.hs_code, 6) as family_label,
        null::smallint as comparable_since,
        'own' as mapped_by
    from others
    cross join levels
    anti join mapped using (flow, hs_code, year)
),

final as (
    select * from mapped
    union all
    select * from own
)

select * from final
