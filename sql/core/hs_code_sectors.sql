-- core.hs_code_sectors: every code in the fact store with its chapter, HS section, top
-- sector and highlighted sector (longest prefix of ref.sector_map wins, per level).
-- A confidential code (`38XXXXXXX`) matches only prefixes within its kept digits, so it takes
-- its chapter's sector unless a longer prefix fits (docs/warehouse.md, sectors).
-- Grain: hs_code. Maintained per release (trade_etl/incremental.py): this selects the codes of
-- the releases in the temporary table stale_releases.
with

codes as (
    select distinct hs_code from core.trade_facts
    where release_id in (select release_id from stale_releases)
),

sector_prefixes as (
    select
        sector_map.hs_prefix,
        sector_map.sector_code,
        sectors.sector_level
    from ref.sector_map as sector_map
    inner join ref.sectors as sectors on sector_map.sector_code = sectors.sector_code
),

matches as (
    select
        codes.hs_code,
        sector_prefixes.sector_code,
        sector_prefixes.sector_level
    from codes
    inner join sector_prefixes on starts_with(codes.hs_code, sector_prefixes.hs_prefix)
    qualify row_number() over (
        partition by codes.hs_code, sector_prefixes.sector_level
        order by length(sector_prefixes.hs_prefix) desc
    ) = 1
),

final as (
    select
        codes.hs_code,
        left(codes.hs_code, 2) as hs_chapter,
        chapters.hs_section,
        top.sector_code as top_sector_code,
        highlight.sector_code as highlight_sector_code
    from codes
    left join matches as top on codes.hs_code = top.hs_code and top.sector_level = 'top'
    left join matches as highlight
        on codes.hs_code = highlight.hs_code and highlight.sector_level = 'highlight'
    left join ref.hs_chapters as chapters on left(codes.hs_code, 2) = chapters.hs_chapter
)

select * from final
