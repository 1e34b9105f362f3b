-- Files in the current inventory whose content (sha256) has not been loaded yet: new files and
-- files whose content changed since they were loaded, or whose problem changed (a manifest
-- edited after the file was loaded: an incremental build must end where a clean one does).
-- Grain: release_id, file_name.
with

inventory as (
    select * from raw.release_files
),

recorded as (
    select distinct release_id, source_file, source_sha256, source_problem
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
            and recorded.source_problem is not distinct from inventory.problem
    )
)

select * from final
order by published_on nulls first, core.stage_rank(stage), core.release_revision(release_id),
    release_id, file_name
