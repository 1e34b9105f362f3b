"""Publish the warehouse as Iceberg tables through a SQL catalog, and read them back by vintage.

One Iceberg table per public table or view of the published DuckDB file, in the namespace
`trade_etl`, named `<schema>_<table>` (`marts.balance_total` is `trade_etl.marts_balance_total`).
The fact store is partitioned by release and each new or changed release is one overwrite of its
partition; every other table is replaced whole when its content changed. Unchanged tables get
no snapshot. Each table carries its content token (row count and a sum of row hashes, computed
by DuckDB) in its properties, written in the same commit as its data, so a publish killed half
way redoes only what it had not committed.

`trade_etl.publish_log` is written last: one row per table per publish, with the table's
snapshot id. Read protocol: take the rows of one `publish_seq` (the highest for the latest
vintage) and scan each table at its `snapshot_id`; tables committed by a publish that has no
log row yet are never seen that way. A publish that finds every table and the log as the
warehouse is writes nothing.

The lake refuses to forget: each publish records, in the lake marker beside the warehouse, the
lake's id (a namespace property) and its last publish; a catalog found missing, empty,
unreadable, of another lake or behind that record stops the publish (exit 2) until it is
restored, or `--new-lake` says to start again.

Concurrent writers are refused, never merged: a commit checks that the table is still at the
snapshot this publish read (pyiceberg's validation), and the publish stops naming the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from trade_etl import failpoints
from trade_etl.errors import EXIT_BUSY, EXIT_USAGE, UserError
from trade_etl.formats import schema
from trade_etl.lake import NAMESPACE, marker_path, record_published, recorded_lake
from trade_etl.settings import LakeConfig

CATALOG_NAME = "trade_etl"
LOG = "publish_log"
FACTS = "core.trade_facts"
TOKEN = "trade-etl.content-token"
RELEASE_TOKEN = "trade-etl.release-token."  # + release_id, on the fact table
PUBLISH_ID = "trade-etl.warehouse-publish-id"  # on each snapshot this tool writes
LAKE_ID = "trade-etl.lake-id"  # on the namespace: which lake this catalog holds
BATCH_ROWS = 250_000

LOG_SCHEMA = pa.schema([
    pa.field("publish_seq", pa.int64()),
    pa.field("published_at", pa.timestamp("us", tz="UTC")),
    pa.field("warehouse_publish_id", pa.string()),
    pa.field("table_name", pa.string()),
    pa.field("source_table", pa.string()),
    pa.field("snapshot_id", pa.int64()),
    pa.field("row_count", pa.int64()),
    pa.field("content_token", pa.string()),
    pa.field("written", pa.bool_()),
    pa.field("release_ids", pa.list_(pa.string())),
    pa.field("releases_written", pa.list_(pa.string())),
])


class LakeError(UserError):
    """The lake cannot be published or read (the message says why)."""


def lake_name(table: str) -> str:
    """The Iceberg table of a warehouse table: `marts.balance_total` -> `marts_balance_total`."""
    return table.replace(".", "_")


def identifier(name: str) -> str:
    return f"{NAMESPACE}.{name}"


def _sqlite_file(config: LakeConfig) -> Path | None:
    if config.catalog_uri.startswith("sqlite:///"):
        return Path(config.catalog_uri.removeprefix("sqlite:///"))
    return None


def _restore_hint(warehouse: Path, config: LakeConfig, recorded: dict) -> str:
    return (f"{marker_path(warehouse)} records {recorded.get('publish_seq')} publish(es) of this "
            f"warehouse to it (lake {str(recorded.get('lake_id'))[:8]}, the last at "
            f"{recorded.get('published_at')}): restore the catalog from a backup or re-register "
            f"the tables from their metadata under {config.warehouse_uri} (docs/lake.md), or run "
            "`trade-etl lake publish --new-lake` to start a new lake on purpose")


def open_lake(warehouse: Path, config: LakeConfig, new_lake: bool = False, claim: bool = True):
    """The catalog of `config` and the lake's id, refusing (LakeError, exit 2) a catalog that
    is missing, empty, unreadable, of another lake or behind the publishes the warehouse's lake
    marker records, unless `new_lake`. With `claim`, a lake without an id (new, or published
    before lakes had one) gets one."""
    recorded = None if new_lake else recorded_lake(warehouse, config)
    file = _sqlite_file(config)
    if recorded is not None and file is not None and (not file.exists()
                                                      or file.stat().st_size == 0):
        state = "missing" if not file.exists() else "empty (0 bytes)"
        raise LakeError(f"the lake catalog {file} is {state}, but "
                        f"{_restore_hint(warehouse, config, recorded)}", EXIT_USAGE)
    try:
        catalog = open_catalog(config)
    except LakeError as err:
        if recorded is None:
            raise
        raise LakeError(f"{err}; {_restore_hint(warehouse, config, recorded)}",
                        EXIT_USAGE) from err
    lake_id = catalog.load_namespace_properties(NAMESPACE).get(LAKE_ID)
    if recorded is not None:
        held = publishes(catalog)
        last = held[-1]["publish_seq"] if held else 0
        if lake_id is None and last >= (recorded.get("publish_seq") or 0):
            lake_id = recorded.get("lake_id")  # tables registered again from their metadata
            if claim:
                catalog.update_namespace_properties(NAMESPACE, updates={LAKE_ID: lake_id})
        if lake_id != recorded.get("lake_id"):
            raise LakeError(f"the lake catalog {config.catalog_uri} holds another lake (id "
                            f"{str(lake_id)[:8]}, {last} publish(es)), not the one this "
                            f"warehouse published to: {_restore_hint(warehouse, config, recorded)}",
                            EXIT_USAGE)
        if last < (recorded.get("publish_seq") or 0):
            raise LakeError(f"the lake catalog {config.catalog_uri} holds {last} publish(es), "
                            f"but {_restore_hint(warehouse, config, recorded)}", EXIT_USAGE)
    if lake_id is None and claim:
        lake_id = uuid.uuid4().hex
        catalog.update_namespace_properties(NAMESPACE, updates={LAKE_ID: lake_id})
    return catalog, lake_id


def open_catalog(config: LakeConfig):
    """The SqlCatalog of `config` (created on first use, with the namespace)."""
    from pyiceberg.catalog.sql import SqlCatalog

    if config.catalog_uri.startswith("sqlite:///"):
        Path(config.catalog_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                          exist_ok=True)
    if config.warehouse_uri.startswith("file://"):
        Path(config.warehouse_uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    try:
        catalog = SqlCatalog(CATALOG_NAME, uri=config.catalog_uri,
                             warehouse=config.warehouse_uri)
        catalog.create_namespace_if_not_exists(NAMESPACE)
    except Exception as err:  # SQLAlchemy's errors name the URL's problem
        raise LakeError(f"cannot open the lake catalog {config.catalog_uri}: "
                        f"{type(err).__name__}: {str(err).splitlines()[0]}",
                        EXIT_USAGE) from err
    return catalog


# ---- types ---------------------------------------------------------------------------------

def iceberg_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type Iceberg can hold for a DuckDB column: small and unsigned integers widened,
    decimals and HUGEINT (decimal 38) exact, nanoseconds to microseconds."""
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t) \
            or pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_uint64(t):
        return pa.decimal128(20, 0)
    if pa.types.is_decimal(t):
        if t.precision > 38:
            raise LakeError(f"a decimal({t.precision}, {t.scale}) column cannot be held exactly "
                            "by Iceberg (38 digits at most)")
        return t
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(iceberg_type(t.value_type))
    return t


def iceberg_schema(arrow: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, iceberg_type(f.type), nullable=True) for f in arrow])


# ---- what the warehouse holds --------------------------------------------------------------

def public_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The public tables and views of schema.TABLES present in the warehouse that the lake
    copies (schema.in_lake), in spec order."""
    present = {f"{s}.{t}" for s, t in conn.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = "
        "current_database() union all select schema_name, view_name from duckdb_views() "
        "where database_name = current_database() and not internal").fetchall()}
    return [table for table in schema.TABLES if table in present and schema.in_lake(table)]


def _schema_of(conn: duckdb.DuckDBPyConnection, table: str) -> pa.Schema:
    reader = conn.sql(f"select * from {table} limit 0").to_arrow_reader()
    return iceberg_schema(reader.read_all().schema)


def _token(count: int, hashes: int, arrow: pa.Schema) -> str:
    shape = hashlib.sha256(str(arrow).encode()).hexdigest()[:12]
    return f"{count}:{hashes}:{shape}"


def table_token(conn: duckdb.DuckDBPyConnection, table: str, arrow: pa.Schema) -> tuple[str, int]:
    count, hashes = conn.sql(f"select count(*), coalesce(sum(hash(t))::hugeint, 0) "
                             f"from {table} as t").fetchall()[0]
    return _token(count, hashes, arrow), count


def release_tokens(conn: duckdb.DuckDBPyConnection, arrow: pa.Schema) -> dict[str, tuple[str, int]]:
    rows = conn.sql(f"select release_id, count(*), sum(hash(t))::hugeint from {FACTS} as t "
                    "group by release_id").fetchall()
    return {release: (_token(count, hashes, arrow), count) for release, count, hashes in rows}


def _reader(conn: duckdb.DuckDBPyConnection, sql: str, arrow: pa.Schema,
            params: dict | None = None) -> pa.RecordBatchReader:
    source = conn.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
    return pa.RecordBatchReader.from_batches(arrow, (b.cast(arrow) for b in source))


# ---- publishing ----------------------------------------------------------------------------

@dataclass
class PublishResult:
    publish_seq: int | None  # None when nothing changed
    warehouse_publish_id: str | None
    tables_written: list[str] = field(default_factory=list)
    releases_written: list[str] = field(default_factory=list)
    tables: int = 0


@contextmanager
def _refused(table: str) -> Iterator[None]:
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    try:
        yield
    except (CommitFailedException, ValidationException) as err:
        raise LakeError(
            f"lake table {identifier(table)} was changed by another writer since this publish "
            f"read it ({type(err).__name__}): refused, the table keeps its current snapshot; "
            "run `trade-etl lake publish` again", EXIT_BUSY) from err


def _load_or_create(catalog, name: str, arrow: pa.Schema, partitioned: bool):
    table = catalog.create_table_if_not_exists(identifier(name), schema=arrow)
    if partitioned and not table.spec().fields:  # also after a kill between the two commits
        with _refused(name), table.update_spec() as spec:
            spec.add_identity("release_id")
    have = {f.name for f in table.schema().fields}
    if any(f.name not in have for f in arrow):  # columns are added, never renamed or dropped
        with _refused(name), table.update_schema() as update:
            update.union_by_name(arrow)
    return table


def _current(table) -> int | None:
    snapshot = table.current_snapshot()
    return snapshot.snapshot_id if snapshot else None


def publish(warehouse: Path, config: LakeConfig,
            progress: Callable[[str], None] = lambda _line: None,
            new_lake: bool = False) -> PublishResult:
    """Publish the warehouse file (read-only, as it is now) to the lake of `config`; a lake
    the warehouse's marker records must still be there (open_lake), unless `new_lake`."""
    from pyiceberg.expressions import EqualTo

    from trade_etl.store.incremental import recorded_tokens
    from trade_etl.store.publish import PUBLISH_KEY

    if not warehouse.is_file():
        raise LakeError(f"warehouse {warehouse} does not exist: run `trade-etl build` first",
                        EXIT_USAGE)
    catalog, lake_id = open_lake(warehouse, config, new_lake)
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        warehouse_id = recorded_tokens(conn, PUBLISH_KEY).get("")
        tables = public_tables(conn)
        if FACTS not in tables:
            raise LakeError(f"{warehouse} holds no {FACTS}: is it a trade_etl warehouse?",
                            EXIT_USAGE)
        snapshots: dict[str, int | None] = {}
        counts: dict[str, int] = {}
        tokens: dict[str, str] = {}
        written: list[str] = []
        releases_written: list[str] = []
        # Load every table first: a publish that meets another one refuses to overwrite it.
        handles = {}
        for table in tables:
            arrow = _schema_of(conn, table)
            handles[table] = (arrow, _load_or_create(catalog, lake_name(table), arrow,
                                                      table == FACTS))
        failpoints.hit("lake_publish:tables_loaded")
        releases = release_tokens(conn, handles[FACTS][0])
        for number, table in enumerate(tables, start=1):
            arrow, iceberg = handles[table]
            name = lake_name(table)
            props = {PUBLISH_ID: warehouse_id or ""}
            if table == FACTS:
                changed = _publish_facts(conn, iceberg, arrow, releases, props, EqualTo,
                                         progress)
                releases_written += changed
                counts[table] = sum(n for _, n in releases.values())
                tokens[table] = hashlib.sha256(repr(sorted(
                    (r, t) for r, (t, _) in releases.items())).encode()).hexdigest()[:24]
                if changed:
                    written.append(name)
            else:
                token, counts[table] = table_token(conn, table, arrow)
                tokens[table] = token
                if iceberg.properties.get(TOKEN) != token:
                    with _refused(name), warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # "did not match any records"
                        with iceberg.transaction() as tx:
                            tx.overwrite(_reader(conn, f"select * from {table}", arrow),
                                         snapshot_properties=props)
                            tx.set_properties({TOKEN: token})
                            failpoints.hit("lake_publish:table_written")
                    written.append(name)
                    failpoints.hit("lake_publish:after_table")
            snapshots[table] = _current(iceberg)
            if name in written:
                progress(f"lake: {number}/{len(tables)} {identifier(name)} written")
        release_ids = sorted(releases)
        entries = publishes(catalog)
        last = entries[-1] if entries else {"publish_seq": 0, "snapshots": {}}
        if last["snapshots"] == {lake_name(t): s for t, s in snapshots.items()}:
            result = PublishResult(None, warehouse_id, tables=len(tables))
            seq, at = last["publish_seq"], last.get("published_at")
        else:
            result = _write_log(catalog, last["publish_seq"] + 1, warehouse_id, tables,
                                snapshots, counts, tokens, written, release_ids,
                                releases_written)
            seq, at = result.publish_seq, dt.datetime.now(dt.UTC)
    finally:
        conn.close()
    record_published(warehouse, config, warehouse_id, lake_id, seq,
                     at.isoformat(timespec="seconds") if at else None)
    return result


def _publish_facts(conn, iceberg, arrow: pa.Schema, releases: dict[str, tuple[str, int]],
                   props: dict, equal_to, progress: Callable[[str], None]) -> list[str]:
    """Overwrite the partition of each new or changed release, delete those of releases the
    warehouse no longer holds; each is one commit with its token. Returns the releases."""
    name = lake_name(FACTS)
    done = []
    known = {key.removeprefix(RELEASE_TOKEN): value for key, value in iceberg.properties.items()
             if key.startswith(RELEASE_TOKEN)}
    for release in sorted(releases):
        token, _ = releases[release]
        if known.get(release) == token:
            continue
        data = conn.sql(f"select * from {FACTS} where release_id = $release",
                        params={"release": release}).to_arrow_table().cast(arrow)
        with _refused(name), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with iceberg.transaction() as tx:
                tx.overwrite(data, overwrite_filter=equal_to("release_id", release),
                             snapshot_properties={**props, "trade-etl.release-id": release})
                tx.set_properties({RELEASE_TOKEN + release: token})
                failpoints.hit("lake_publish:table_written")
        done.append(release)
        progress(f"lake: {identifier(name)} release {release} written ({data.num_rows:,} rows)")
        failpoints.hit("lake_publish:after_table")
    for release in sorted(set(known) - set(releases)):  # pruned from the warehouse
        with _refused(name), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with iceberg.transaction() as tx:
                tx.delete(equal_to("release_id", release), snapshot_properties=props)
                tx.remove_properties(RELEASE_TOKEN + release)
        done.append(release)
        progress(f"lake: {identifier(name)} release {release} removed (not in the warehouse)")
    return done


def _write_log(catalog, seq, warehouse_id, tables, snapshots, counts, tokens, written,
               release_ids, releases_written) -> PublishResult:
    log = _load_or_create(catalog, LOG, LOG_SCHEMA, partitioned=False)
    at = dt.datetime.now(dt.UTC)
    rows = [{"publish_seq": seq, "published_at": at, "warehouse_publish_id": warehouse_id,
             "table_name": lake_name(t), "source_table": t, "snapshot_id": snapshots[t],
             "row_count": counts[t], "content_token": tokens[t],
             "written": lake_name(t) in written, "release_ids": release_ids,
             "releases_written": releases_written if t == FACTS else []} for t in tables]
    with _refused(LOG):
        log.append(pa.Table.from_pylist(rows, schema=LOG_SCHEMA),
                   snapshot_properties={PUBLISH_ID: warehouse_id or "",
                                        "trade-etl.publish-seq": str(seq)})
    return PublishResult(seq, warehouse_id, written, releases_written, len(tables))


# ---- reading -------------------------------------------------------------------------------

def publishes(catalog) -> list[dict]:
    """One summary per publish, oldest first: seq, time, warehouse publish id, releases, what
    was written, and each table's snapshot id."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        log = catalog.load_table(identifier(LOG))
    except NoSuchTableError:
        return []
    out: dict[int, dict] = {}
    for row in sorted(log.scan().to_arrow().to_pylist(), key=lambda r: r["publish_seq"]):
        entry = out.setdefault(row["publish_seq"], {
            "publish_seq": row["publish_seq"], "published_at": row["published_at"],
            "warehouse_publish_id": row["warehouse_publish_id"],
            "release_ids": row["release_ids"], "releases_written": [], "tables_written": [],
            "snapshots": {}})
        entry["snapshots"][row["table_name"]] = row["snapshot_id"]
        if row["written"]:
            entry["tables_written"].append(row["table_name"])
        entry["releases_written"] += row["releases_written"] or []
    return list(out.values())


def snapshot_of(catalog, table: str, publish_seq: int | None = None) -> int | None:
    """The snapshot id of a warehouse table (`marts.balance_total`) in one publish (default the
    latest), following the read protocol."""
    entries = publishes(catalog)
    if not entries:
        raise LakeError("the lake has no publish yet: run `trade-etl lake publish`")
    chosen = entries[-1] if publish_seq is None else next(
        (e for e in entries if e["publish_seq"] == publish_seq), None)
    if chosen is None:
        raise LakeError(f"no publish {publish_seq} in the lake (there are "
                        f"{entries[0]['publish_seq']}–{entries[-1]['publish_seq']})")
    name = lake_name(table)
    if name not in chosen["snapshots"]:
        raise LakeError(f"publish {chosen['publish_seq']} has no table {table}")
    return chosen["snapshots"][name]


def scan(catalog, table: str, publish_seq: int | None = None):
    """A pyiceberg scan of a warehouse table as of one publish (default the latest)."""
    snapshot = snapshot_of(catalog, table, publish_seq)
    return catalog.load_table(identifier(lake_name(table))).scan(snapshot_id=snapshot)
