-- Every table the pipeline writes incrementally, in one place. Derived tables and table macros
-- (core.trade_latest, marts.*) are rebuilt with `create or replace` from their own SQL files.
create schema if not exists raw;
create schema if not exists core;
create schema if not exists marts;
create schema if not exists audit;
create schema if not exists ref;

-- One row per file found in the raw directory at the last discovery (the inventory).
create table if not exists raw.release_files (
    release_id varchar not null,
    published_on date,
    stage varchar,
    file_name varchar not null,
    path varchar not null,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    sha256 varchar,
    problem varchar,
    discovered_at timestamp not null
);
-- Added later (add, never rename): with size and mtime, a stored hash is reused only when all
-- four match, so a file replaced with its timestamp preserved is hashed again.
alter table raw.release_files add column if not exists ctime_ns bigint;
alter table raw.release_files add column if not exists inode bigint;

-- The stage of every month of every file the fetcher downloaded, from the release folders'
-- .manifest.json (rewritten from them at each build). Grain: release_id, file_name, flow, year,
-- month. Files dropped by hand have no manifest and no rows here (audit.latest_month_stages
-- falls back to their folder's stage).
create table if not exists audit.release_months (
    release_id varchar not null,
    file_name varchar not null,
    flow tinyint not null,
    year smallint not null,
    month tinyint not null,
    stage varchar not null,
    stat_inf_id varchar,
    update_date date,
    title varchar
);

-- One row per CSV read (zip members count separately) or per file that could not be read.
-- rows_read = rows_loaded + rows_quarantined, always.
create table if not exists audit.releases (
    release_id varchar not null,
    published_on date,
    stage varchar,
    file_name varchar not null,
    sha256 varchar,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    loaded_at timestamp not null,
    source_file varchar not null,
    source_sha256 varchar,
    status varchar not null,
    error varchar,
    layout varchar,
    encoding varchar,
    cells_loaded bigint not null,
    value_year_mismatches bigint not null
);

-- Added later: the inventory's problem for the file on disk when it was stored, so that a
-- file whose problem changes (its manifest edited, say) is stored again (raw/pending_files).
alter table audit.releases add column if not exists source_problem varchar;

create table if not exists audit.quarantine (
    release_id varchar not null,
    file_name varchar not null,
    line_number bigint not null,
    reason varchar not null,
    raw_line varchar not null,
    source_file varchar not null
);

-- The fact store: every release's month cells, append-only by release. Grain: reporter,
-- release_id, file_name, flow, year, month, hs_code, country_code. Values as published: Japan's
-- in thousand yen (another reporter's in its ref.reporters value_unit of its currency).
create table if not exists core.trade_facts (
    release_id varchar not null,
    file_name varchar not null,
    flow tinyint not null,
    year smallint not null,
    month tinyint not null,
    hs_code varchar not null,
    country_code varchar not null,
    unit1 varchar,
    unit2 varchar,
    quantity1 bigint not null,
    quantity2 bigint not null,
    value_thousand_jpy bigint not null
);

-- Added later (issue 23, a reporter dimension): the reporting country, ISO3, at the end of every
-- table that holds releases or their cells; everything loaded before is Japan's. The derived
-- tables are created by their own SQL (reporter last there too), so an existing warehouse's
-- copies get the column here, when they exist.
alter table raw.release_files add column if not exists reporter varchar default 'JPN';
alter table audit.release_months add column if not exists reporter varchar default 'JPN';
alter table audit.releases add column if not exists reporter varchar default 'JPN';
alter table audit.quarantine add column if not exists reporter varchar default 'JPN';
alter table core.trade_facts add column if not exists reporter varchar default 'JPN';
alter table if exists core.release_coverage add column if not exists reporter varchar
    default 'JPN';
alter table if exists core.trade_release_monthly add column if not exists reporter varchar
    default 'JPN';
alter table if exists core.trade_latest add column if not exists reporter varchar
    default 'JPN';
alter table if exists core.trade_latest_sources add column if not exists reporter varchar
    default 'JPN';

create or replace macro core.stage_rank(stage) as case lower(stage)
    when 'preliminary' then 1 when 'provisional' then 1
    when 'detailed' then 2 when 'confirmed' then 2
    when 'revised' then 3
    when 'fixed' then 4 when 'final' then 4
    else 0 end;

-- 2 for `2025-04-17_preliminary-r2` (a second version of tables published the same day, which
-- the fetcher keeps in a release folder of its own), 1 without the suffix.
create or replace macro core.release_revision(release_id) as
    coalesce(try_cast(regexp_extract(release_id, '-[rR]([0-9]{1,3})$', 1) as integer), 1);

-- Releases in publication order, numbered within each reporter; supersession follows
-- release_seq, and a release of one reporter never supersedes another's.
create or replace view core.releases as
with loaded as (
    select release_id, published_on, stage, reporter
    from audit.releases
    where status = 'loaded' and published_on is not null
    group by all
)
select
    release_id,
    published_on,
    stage,
    row_number() over (
        partition by reporter
        order by published_on, core.stage_rank(stage), core.release_revision(release_id),
            release_id
    ) as release_seq,
    reporter
from loaded;

-- The stage each month is at in the latest loaded release that reports it: "are July's imports
-- still provisional?" is one select. Grain: reporter, flow, year, month (each reporter's months
-- from its own releases). Where the release's manifest
-- states the month's stage (fetched files), that stage (stage_source 'manifest'); where it does
-- not (files dropped by hand, the sample's older releases), the release folder's own stage
-- (stage_source 'folder', update_date = the folder's date). A release reports a month when it
-- holds a non-zero figure for it (core.trade_facts; core.release_coverage is created later).
create or replace view audit.latest_month_stages as
with

manifest_stages as (
    select flow, year, month, stage, release_id, update_date, file_name,
        'manifest' as stage_source, reporter
    from audit.release_months
),

reported_months as (
    select distinct release_id, flow, year, month, reporter
    from core.trade_facts
),

folder_stages as (
    select reported.flow, reported.year, reported.month, releases.stage, reported.release_id,
        releases.published_on as update_date, '' as file_name, 'folder' as stage_source,
        reported.reporter
    from reported_months as reported
    inner join core.releases as releases on reported.release_id = releases.release_id
    anti join audit.release_months as months
        on reported.release_id = months.release_id
        and reported.flow = months.flow
        and reported.year = months.year
        and reported.month = months.month
),

stated as (
    select * from manifest_stages
    union all
    select * from folder_stages
)

select
    stated.flow,
    stated.year,
    stated.month,
    stated.stage,
    stated.release_id,
    stated.update_date,
    stated.stage_source,
    stated.reporter
from stated
inner join core.releases as releases on stated.release_id = releases.release_id
qualify row_number() over (
    partition by stated.reporter, stated.flow, stated.year, stated.month
    order by releases.release_seq desc, core.stage_rank(stated.stage), stated.file_name
) = 1;

-- Bookkeeping of incremental maintenance (trade_etl/incremental.py): for each derived table, the
-- token of every release (or, with release_id '', of all inputs) it was last brought up to date
-- with. Written in the same transaction as the table it describes.
create table if not exists audit.derived_state (
    table_name varchar not null,
    release_id varchar not null,
    token varchar not null
);
