-- The yardstick for `make bench`: a hand-written DuckDB script that does what the pipeline's
-- core does, with nothing else around it. It reads the release files with explicit column types
-- (every field as text, then explicit casts, so '1234.5' is quarantined rather than rounded),
-- quarantines malformed rows, applies release supersession cell by cell, and writes totals by
-- partner, HS section and fiscal period.
--
-- auto_detect = false matters: with the sniffer on, read_csv applies the first file's dialect to
-- every file of the list, and a CRLF file after LF ones comes back with no rows and no rejects.
--
-- bench/baseline.py prepares the inputs: the variables plain_files and custom_files (paths of
-- the 45- and 46-column CSVs; each path ends in <release folder>/<file>), with zip members
-- extracted and CP932 files converted to UTF-8 first, because DuckDB reads neither natively.
-- The variables ref_dir (data/ref) names the country and chapter lists.

create or replace table wide as
select *, null::varchar as custom
from read_csv(getvariable('plain_files'), auto_detect = false, delim = ',', quote = '"',
              header = true, columns = {'flow': 'VARCHAR', 'year': 'VARCHAR', 'hs': 'VARCHAR', 'country': 'VARCHAR', 'unit1': 'VARCHAR', 'unit2': 'VARCHAR', 'q1_year': 'VARCHAR', 'q2_year': 'VARCHAR', 'v_year': 'VARCHAR', 'q1_01': 'VARCHAR', 'q2_01': 'VARCHAR', 'v_01': 'VARCHAR', 'q1_02': 'VARCHAR', 'q2_02': 'VARCHAR', 'v_02': 'VARCHAR', 'q1_03': 'VARCHAR', 'q2_03': 'VARCHAR', 'v_03': 'VARCHAR', 'q1_04': 'VARCHAR', 'q2_04': 'VARCHAR', 'v_04': 'VARCHAR', 'q1_05': 'VARCHAR', 'q2_05': 'VARCHAR', 'v_05': 'VARCHAR', 'q1_06': 'VARCHAR', 'q2_06': 'VARCHAR', 'v_06': 'VARCHAR', 'q1_07': 'VARCHAR', 'q2_07': 'VARCHAR', 'v_07': 'VARCHAR', 'q1_08': 'VARCHAR', 'q2_08': 'VARCHAR', 'v_08': 'VARCHAR', 'q1_09': 'VARCHAR', 'q2_09': 'VARCHAR', 'v_09': 'VARCHAR', 'q1_10': 'VARCHAR', 'q2_10': 'VARCHAR', 'v_10': 'VARCHAR', 'q1_11': 'VARCHAR', 'q2_11': 'VARCHAR', 'v_11': 'VARCHAR', 'q1_12': 'VARCHAR', 'q2_12': 'VARCHAR', 'v_12': 'VARCHAR'},
              filename = true, store_rejects = true, rejects_table = 'reject_rows',
              rejects_scan = 'reject_scans_plain')
union all by name
select *
from read_csv(getvariable('custom_files'), auto_detect = false, delim = ',', quote = '"',
              header = true, columns = {'flow': 'VARCHAR', 'year': 'VARCHAR', 'custom': 'VARCHAR', 'hs': 'VARCHAR', 'country': 'VARCHAR', 'unit1': 'VARCHAR', 'unit2': 'VARCHAR', 'q1_year': 'VARCHAR', 'q2_year': 'VARCHAR', 'v_year': 'VARCHAR', 'q1_01': 'VARCHAR', 'q2_01': 'VARCHAR', 'v_01': 'VARCHAR', 'q1_02': 'VARCHAR', 'q2_02': 'VARCHAR', 'v_02': 'VARCHAR', 'q1_03': 'VARCHAR', 'q2_03': 'VARCHAR', 'v_03': 'VARCHAR', 'q1_04': 'VARCHAR', 'q2_04': 'VARCHAR', 'v_04': 'VARCHAR', 'q1_05': 'VARCHAR', 'q2_05': 'VARCHAR', 'v_05': 'VARCHAR', 'q1_06': 'VARCHAR', 'q2_06': 'VARCHAR', 'v_06': 'VARCHAR', 'q1_07': 'VARCHAR', 'q2_07': 'VARCHAR', 'v_07': 'VARCHAR', 'q1_08': 'VARCHAR', 'q2_08': 'VARCHAR', 'v_08': 'VARCHAR', 'q1_09': 'VARCHAR', 'q2_09': 'VARCHAR', 'v_09': 'VARCHAR', 'q1_10': 'VARCHAR', 'q2_10': 'VARCHAR', 'v_10': 'VARCHAR', 'q1_11': 'VARCHAR', 'q2_11': 'VARCHAR', 'v_11': 'VARCHAR', 'q1_12': 'VARCHAR', 'q2_12': 'VARCHAR', 'v_12': 'VARCHAR'},
              filename = true, store_rejects = true, rejects_table = 'reject_rows_custom',
              rejects_scan = 'reject_scans_custom');

create or replace table countries as
select country_code from read_csv(getvariable('ref_dir') || '/countries.csv', all_varchar = true);

create or replace table chapters as
select hs_chapter, hs_section from read_csv(getvariable('ref_dir') || '/hs_chapters.csv', all_varchar = true);

-- Field checks: the same rules as the pipeline's pandera models.
create or replace table checked as
select
    *,
    regexp_extract(filename, '([^/]+)/[^/]+$', 1) as release_id,
    trim(trim(hs), '''') as hs_code,
    trim(country) as country_code,
    case
        when trim(flow) not in ('1', '2') then 'bad flow'
        when not regexp_full_match(trim(year), '\d{4}') then 'bad year'
        when not regexp_full_match(trim(trim(hs), ''''), '\d{9}') then 'bad HS'
        when trim(country) not in (select country_code from countries) then 'unknown country'
        when custom is not null and not regexp_full_match(trim(custom), '\d{1,4}') then 'bad custom'
        when not regexp_full_match(
            concat_ws(
                ',',
                q1_year, q2_year, v_year, q1_01, q2_01, v_01,
                q1_02, q2_02, v_02, q1_03, q2_03, v_03,
                q1_04, q2_04, v_04, q1_05, q2_05, v_05,
                q1_06, q2_06, v_06, q1_07, q2_07, v_07,
                q1_08, q2_08, v_08, q1_09, q2_09, v_09,
                q1_10, q2_10, v_10, q1_11, q2_11, v_11,
                q1_12, q2_12, v_12
            ),
            '(\d{1,18},){38}\d{1,18}'
        ) then 'bad number'  -- blank fields are null and drop out of concat_ws
        when greatest(
            v_year::bigint, v_01::bigint, v_02::bigint, v_03::bigint, v_04::bigint,
            v_05::bigint, v_06::bigint, v_07::bigint, v_08::bigint, v_09::bigint,
            v_10::bigint, v_11::bigint, v_12::bigint
        ) > 1e12 then 'value too large'
    end as reason
from wide;

create or replace table quarantine as
select release_id, filename as file_path, null::bigint as line, reason
from checked
where reason is not null
union all
select distinct  -- one row per line, not per failing column
    regexp_extract(s.file_path, '([^/]+)/[^/]+$', 1), s.file_path, e.line, e.error_type::varchar
from reject_rows as e inner join reject_scans_plain as s using (scan_id, file_id)
union all
select distinct
    regexp_extract(s.file_path, '([^/]+)/[^/]+$', 1), s.file_path, e.line, e.error_type::varchar
from reject_rows_custom as e inner join reject_scans_custom as s using (scan_id, file_id);

create or replace table cells as
with

valid as (
    select * from checked where reason is null
),

long as (
    unpivot valid on
        (q1_01, q2_01, v_01) as '01',
        (q1_02, q2_02, v_02) as '02',
        (q1_03, q2_03, v_03) as '03',
        (q1_04, q2_04, v_04) as '04',
        (q1_05, q2_05, v_05) as '05',
        (q1_06, q2_06, v_06) as '06',
        (q1_07, q2_07, v_07) as '07',
        (q1_08, q2_08, v_08) as '08',
        (q1_09, q2_09, v_09) as '09',
        (q1_10, q2_10, v_10) as '10',
        (q1_11, q2_11, v_11) as '11',
        (q1_12, q2_12, v_12) as '12'
    into name month value q1, q2, v
),

typed as (
    select
        release_id,
        flow::tinyint as flow,
        year::smallint as year,
        month::tinyint as month,
        hs_code,
        country_code,
        q1::bigint as q1,
        q2::bigint as q2,
        v::bigint as v
    from long
),

final as (
    select release_id, flow, year, month, hs_code, country_code, sum(v) as value_thousand_jpy
    from typed
    where q1 <> 0 or q2 <> 0 or v <> 0
    group by all
)

select * from final;

create or replace table releases as
select
    release_id,
    row_number() over (
        order by
            split_part(release_id, '_', 1)::date,
            case split_part(release_id, '_', 2)
                when 'preliminary' then 1 when 'provisional' then 1
                when 'detailed' then 2 when 'confirmed' then 2
                when 'revised' then 3
                when 'fixed' then 4 when 'final' then 4
                else 0 end,
            release_id
    ) as release_seq
from (select distinct release_id from cells);

-- Supersession: for every (flow, year, month, chapter) the latest release reporting it wins.
create or replace table latest as
with

coverage as (
    select distinct release_id, flow, year, month, left(hs_code, 2) as hs_chapter from cells
),

winners as (
    select coverage.*
    from coverage
    inner join releases using (release_id)
    qualify row_number() over (
        partition by flow, year, month, hs_chapter order by release_seq desc
    ) = 1
),

final as (
    select cells.*
    from cells
    inner join winners
        on cells.release_id = winners.release_id
        and cells.flow = winners.flow
        and cells.year = winners.year
        and cells.month = winners.month
        and left(cells.hs_code, 2) = winners.hs_chapter
)

select * from final;

-- Totals by fiscal period (April start): months, fiscal quarters and fiscal years.
create or replace table latest_periods as
with

fiscal as (
    select
        *,
        year - (month < 4)::int as fiscal_year,
        (((month + 8) % 12) // 3) + 1 as fiscal_quarter
    from latest
),

periods as (
    select *, 'month' as period_type, format('{}-{:02d}', year, month) as period from fiscal
    union all
    select *, 'fiscal_quarter', format('FY{}Q{}', fiscal_year, fiscal_quarter) from fiscal
    union all
    select *, 'fiscal_year', format('FY{}', fiscal_year) from fiscal
)

select * from periods;

create or replace table totals_by_partner as
select
    period_type,
    period,
    country_code as partner_code,
    sum(value_thousand_jpy) filter (where flow = 1) * 1000 as exports_jpy,
    sum(value_thousand_jpy) filter (where flow = 2) * 1000 as imports_jpy
from latest_periods
group by all;

create or replace table totals_by_hs_section as
select
    period_type,
    period,
    chapters.hs_section,
    sum(value_thousand_jpy) filter (where flow = 1) * 1000 as exports_jpy,
    sum(value_thousand_jpy) filter (where flow = 2) * 1000 as imports_jpy
from latest_periods
inner join chapters on left(latest_periods.hs_code, 2) = chapters.hs_chapter
group by all;

create or replace table totals as
select
    period_type,
    period,
    sum(value_thousand_jpy) filter (where flow = 1) * 1000 as exports_jpy,
    sum(value_thousand_jpy) filter (where flow = 2) * 1000 as imports_jpy
from latest_periods
group by all;

drop table wide;
drop table checked;
drop table latest_periods;
