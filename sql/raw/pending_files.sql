-- Files in the current inventory whose content (sha256) has not been loaded yet: new files and
-- files whose content changed since they were loaded. Grain: release_id, file_name.
with

inventory as (
    select * from raw.release_files
),

recorded as (
    select distinct release_id, source_file, source_sha256
    from audit.releases
),

final as (
    select inventory.*
    from inventory
    where not exists (
        select 1
        from recorded
        where recorded.release_id = inventory.release_id
            and recorded.source_file = inventory.file_name
            and recorded.source_sha256 is not distinct from inventory.sha256
    )
)

select * from final
order by published_on nulls first, core.stage_rank(stage), release_id, file_name
