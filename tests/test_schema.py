"""The one column spec (trade_etl/formats/schema.py) agrees with a built warehouse, and the DuckDB
comments, the Dagster column schemas and docs/warehouse.md all come from it."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import REPO
from trade_etl.defs.columns import column_schema, table_metadata
from trade_etl.formats import schema

DOCS = REPO / "docs" / "warehouse.md"
CONTRACT = REPO.parent / "shared" / "contract" / "check_contract.py"
REGENERATE = "run `python -m trade_etl.formats.schema --write-docs`"


def warehouse_objects(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """`schema.name` -> `table` or `view`, for everything user-made in the database."""
    tables = conn.execute("select schema_name || '.' || table_name from duckdb_tables() "
                          "where database_name = current_database() and not internal").fetchall()
    views = conn.execute("select schema_name || '.' || view_name from duckdb_views() "
                         "where database_name = current_database() and not internal").fetchall()
    return {**{t: "table" for (t,) in tables}, **{v: "view" for (v,) in views}}


def warehouse_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """`schema.name` -> [(column, DuckDB type)] in column order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in conn.execute(
            "select schema_name || '.' || table_name, column_name, data_type "
            "from duckdb_columns() where database_name = current_database() and not internal "
            "order by schema_name, table_name, column_index").fetchall():
        out.setdefault(table, []).append((column, data_type))
    return out


def object_comments(conn: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    return dict(conn.execute(
        "select schema_name || '.' || table_name, comment from duckdb_tables() "
        "where database_name = current_database() union all "
        "select schema_name || '.' || view_name, comment from duckdb_views() "
        "where database_name = current_database() and not internal").fetchall())


def column_comments(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str | None]:
    return {(t, c): comment for t, c, comment in conn.execute(
        "select schema_name || '.' || table_name, column_name, comment from duckdb_columns() "
        "where database_name = current_database() and not internal").fetchall()}


@pytest.fixture(scope="module")
def built(sample_warehouse: Path):
    """A read-only connection to the session's sample warehouse."""
    conn = duckdb.connect(str(sample_warehouse), read_only=True)
    yield conn
    conn.close()


# ---- the spec itself ---------------------------------------------------------------------------

def test_spec_is_consistent():
    problems = []
    used = set()
    for table, spec in schema.TABLES.items():
        names = spec["columns"]
        used |= set(names)
        if not re.fullmatch(r"(raw|audit|core|marts|ref)\.[a-z][a-z0-9_]*", table):
            problems.append(f"{table}: not schema.name in a known layer")
        if len(set(names)) != len(names):
            problems.append(f"{table}: a column is listed twice")
        problems += [f"{table}: {n} is not in FIELDS" for n in names if n not in schema.FIELDS]
        problems += [f"{table}: grain column {g} is not a column" for g in spec["grain"]
                     if g not in names]
        for name, override in spec.get("overrides", {}).items():
            if name not in names:
                problems.append(f"{table}: override of {name}, which it does not have")
            if not set(override) <= {"type", "description", "unit"}:
                problems.append(f"{table}.{name}: override keys {sorted(override)}")
        if spec.get("kind", "table") not in ("table", "view"):
            problems.append(f"{table}: kind {spec['kind']!r}")
        if not set(spec) <= {"description", "columns", "grain", "kind", "lake", "overrides",
                              "sql", "as_of", "built_by", "preview", "checks", "params"}:
            problems.append(f"{table}: unknown keys {sorted(set(spec))}")
        if spec.get("lake", True) is not True and spec.get("kind") != "view":
            problems.append(f"{table}: only views stay out of the lake")
        if not spec["description"].strip():
            problems.append(f"{table}: no description")
    problems += [f"FIELDS[{n!r}] is used by no table" for n in schema.FIELDS if n not in used]
    for name in schema.FIELDS:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.append(f"{name}: not a plain lowercase identifier")
    for table in schema.TABLES:
        for col in schema.columns(table):
            if not col.description.strip() or not col.type.isupper():
                problems.append(f"{table}.{col.name}: empty description or odd type {col.type}")
    assert not problems, "\n".join(problems)


def test_spec_names_existing_sql_and_complete_marts():
    """Every SQL file the spec names exists; a table macro is `<table>_as_of` (file stem = name);
    every mart is built by an asset, with a preview; every check's SQL exists."""
    problems = []
    for table, spec in schema.TABLES.items():
        files = [spec["sql"]] if "sql" in spec else []
        files += [check["sql"] for check in spec.get("checks", [])]
        problems += [f"{table}: sql/{f}.sql does not exist" for f in files
                     if not (REPO / "sql" / f"{f}.sql").is_file()]
        if spec.get("as_of") and spec.get("sql") != table.replace(".", "/") + "_as_of":
            problems.append(f"{table}: a table macro's file must be sql/<schema>/<name>_as_of.sql")
        if table.startswith("marts.") and not {"built_by", "sql", "preview"} <= set(spec):
            problems.append(f"{table}: a mart needs built_by, sql and preview")
        for check in spec.get("checks", []):
            if set(check) != {"name", "sql", "params", "description", "reads"}:
                problems.append(f"{table}: check {check.get('name')} keys {sorted(check)}")
            problems += [f"{table}: check {check['name']} reads {r}, not in TABLES"
                         for r in check["reads"] if r not in schema.TABLES]
    names = [c["name"] for t in schema.TABLES for c in schema.checks(t)]
    problems += [f"check {n} declared twice" for n in set(names) if names.count(n) > 1]
    assert not problems, "\n".join(problems)


# docs/warehouse.md: "Units are suffixes: `_jpy` yen, `_usd` US dollars, `_thousand_jpy` thousand
# yen as published, `_pct` percent."
SUFFIX_UNITS = {"_thousand_jpy": "thousand JPY", "_jpy": "JPY", "_usd": "USD", "_pct": "percent",
                "_kg": "kg"}


def test_units_follow_the_name_suffixes():
    problems = []
    for table in schema.TABLES:
        for col in schema.columns(table):
            suffix = next((s for s in SUFFIX_UNITS if col.name.endswith(s)), None)
            if "_per_" in col.name:  # a rate such as jpy_per_usd: yen per dollar, not dollars
                suffix = None
            if suffix and col.unit != SUFFIX_UNITS[suffix]:
                problems.append(f"{table}.{col.name}: unit {col.unit!r}, the name says "
                                f"{SUFFIX_UNITS[suffix]!r}")
            if not suffix and col.unit in SUFFIX_UNITS.values():
                problems.append(f"{table}.{col.name}: unit {col.unit!r} without its suffix")
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/contract is not beside the project")
def test_spec_covers_the_public_contract():
    loader = importlib.util.spec_from_file_location("check_contract", CONTRACT)
    contract = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(contract)
    problems = []
    for table, required in contract.TABLES.items():
        if table not in schema.TABLES:
            problems.append(f"{table}: promised by the contract, not in the spec")
            continue
        have = [c.name for c in schema.columns(table)]
        problems += [f"{table}: no column {c}" for c in required if c not in have]
    assert not problems, "\n".join(problems)


# ---- the spec against a built warehouse --------------------------------------------------------

def test_spec_matches_the_built_warehouse(built):
    """Same tables, same columns in the same order, same types: the warehouse is the truth."""
    actual = warehouse_columns(built)
    kinds = warehouse_objects(built)
    problems = []
    for table in schema.TABLES:
        if table not in actual:
            problems.append(f"{table}: in the spec, not in the warehouse")
            continue
        if kinds[table] != schema.kind(table):
            problems.append(f"{table}: a {kinds[table]} in the warehouse, a "
                            f"{schema.kind(table)} in the spec")
        expected = [(c.name, c.type) for c in schema.columns(table)]
        if actual[table] != expected:
            problems.append(f"{table}:\n  warehouse {actual[table]}\n  spec      {expected}")
    assert not problems, "\n".join(problems)


def test_every_warehouse_table_is_specified_or_internal(built):
    """A new table or view must be described (and documented) or declared internal."""
    unknown = set(warehouse_objects(built)) - set(schema.TABLES) - set(schema.INTERNAL)
    assert not unknown, f"add {sorted(unknown)} to TABLES or INTERNAL (trade_etl/formats/schema.py)"
    assert not set(schema.TABLES) & set(schema.INTERNAL)


def test_grains_identify_rows(built):
    problems = []
    for table in schema.TABLES:
        keys = schema.grain(table)
        if not keys:
            continue
        listed = ", ".join(f'"{k}"' for k in keys)
        duplicates = built.execute(f"select count(*) from (select {listed} from {table} "
                                   f"group by all having count(*) > 1)").fetchall()[0][0]
        if duplicates:
            problems.append(f"{table}: {duplicates} grain value(s) ({', '.join(keys)}) repeat")
    assert not problems, "\n".join(problems)


# ---- DuckDB comments ---------------------------------------------------------------------------

def test_apply_comments_writes_every_table_and_column_comment(sample_warehouse, tmp_path):
    copy = tmp_path / "trade.duckdb"
    shutil.copyfile(sample_warehouse, copy)
    conn = duckdb.connect(str(copy))
    try:
        written = schema.apply_comments(conn)
        assert written == sum(1 + len(schema.columns(t)) for t in schema.TABLES)
        tables, cols = object_comments(conn), column_comments(conn)
        problems = []
        for table in schema.TABLES:
            got = tables.get(table)
            if got != schema.table_comment(table) or \
                    not got.startswith(schema.TABLES[table]["description"]):
                problems.append(f"{table}: comment {got!r}")
            for col in schema.columns(table):
                got = cols.get((table, col.name))
                unit_ok = col.unit is None or f"(unit: {col.unit})" in (got or "")
                if got != col.comment or not unit_ok or \
                        col.description.removesuffix(".") not in got:
                    problems.append(f"{table}.{col.name}: comment {got!r}")
        assert not problems, "\n".join(problems)
        # quoting: descriptions with an apostrophe arrive intact
        assert any("'" in c for c in tables.values() if c)
        assert tables["marts.balance_total"].startswith("Japan's ")
        for table in schema.INTERNAL:
            assert tables.get(table) is None
        # re-creating a table drops its comments; applying again restores them
        conn.execute("create or replace table marts.balance_total as "
                     "select * from marts.balance_total")
        assert object_comments(conn)["marts.balance_total"] is None
        assert schema.apply_comments(conn) == written
        assert object_comments(conn) == tables and column_comments(conn) == cols
    finally:
        conn.close()


def test_apply_comments_skips_what_does_not_exist():
    conn = duckdb.connect()
    try:
        assert schema.apply_comments(conn) == 0
        conn.execute("create schema ref; create table ref.fx_daily (date date, extra int)")
        conn.execute("create schema marts; create table marts.unlisted (period varchar)")
        assert schema.apply_comments(conn) == 2  # the table and its one spec'd column
        cols = column_comments(conn)
        assert cols[("ref.fx_daily", "date")] == schema.columns("ref.fx_daily")[0].comment
        assert cols[("ref.fx_daily", "extra")] is None
        assert cols[("marts.unlisted", "period")] is None
        assert object_comments(conn)["ref.fx_daily"] == schema.table_comment("ref.fx_daily")
    finally:
        conn.close()


# ---- Dagster column schemas --------------------------------------------------------------------

def test_column_schema_of_balance_total(built):
    got = column_schema("marts.balance_total")
    assert isinstance(got, dg.TableSchema)
    spec = schema.columns("marts.balance_total")
    assert [(c.name, c.type) for c in got.columns] == [(c.name, c.type) for c in spec]
    # what the UI shows is what users query
    assert [(c.name, c.type) for c in got.columns] == \
        warehouse_columns(built)["marts.balance_total"]
    for shown, col in zip(got.columns, spec, strict=True):
        assert col.description.removesuffix(".") in shown.description
        if col.unit:
            assert f"(unit: {col.unit})" in shown.description
    assert any(c.unit == "JPY" for c in spec) and any(c.unit is None for c in spec)
    assert table_metadata("marts.balance_total") == {"dagster/column_schema": got}
    with pytest.raises(KeyError):
        column_schema("marts.no_such_table")


# ---- docs/warehouse.md -------------------------------------------------------------------------

def test_docs_are_current():
    text = DOCS.read_text(encoding="utf-8")
    assert schema.render_docs(text) == text, f"docs/warehouse.md is out of date: {REGENERATE}"


def test_docs_have_a_block_for_every_table():
    named = {m["table"] for m in schema.BLOCK.finditer(DOCS.read_text(encoding="utf-8"))}
    assert named == set(schema.TABLES), (
        f"missing: {sorted(set(schema.TABLES) - named)}; unknown: "
        f"{sorted(named - set(schema.TABLES))}")


def table_rows(markdown: str) -> list[list[str]]:
    rows = [line.strip("|").split(" | ") for line in markdown.splitlines()
            if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


def test_render_docs_replaces_marked_blocks():
    stale = ("intro\n\n<!-- columns: marts.balance_by_region except marts.balance_total -->\n"
             "| old | table |\n<!-- /columns -->\n\nmiddle\n\n<!-- table: ref.fx_daily -->\n"
             "<!-- /table -->\noutro\n")
    out = schema.render_docs(stale)
    assert out.startswith("intro\n\n") and "\n\nmiddle\n\n" in out and out.endswith("outro\n")
    assert "| old | table |" not in out
    region, fx = out.split("middle")
    common = {c.name for c in schema.columns("marts.balance_total")}
    extra = [c for c in schema.columns("marts.balance_by_region") if c.name not in common]
    assert extra and table_rows(region) == [
        [f"`{c.name}`", c.type, c.unit or "", c.description] for c in extra]
    fx_rows = table_rows(fx)
    assert [r[0] for r in fx_rows] == [f"`{c.name}`" for c in schema.columns("ref.fx_daily")]
    assert fx_rows[1][2] == schema.columns("ref.fx_daily")[1].unit == "JPY per USD"
    assert schema.TABLES["ref.fx_daily"]["description"] in " ".join(fx.split())
    assert schema.render_docs(out) == out
    with pytest.raises(ValueError, match="marts.nope"):
        schema.render_docs("<!-- columns: marts.nope -->\n<!-- /columns -->\n")


def test_write_docs_command(tmp_path):
    page = tmp_path / "warehouse.md"
    current = DOCS.read_text(encoding="utf-8")
    page.write_text(re.sub(r"\| `exports_jpy` \|[^\n]*", "| `exports_jpy` | int | | stale |",
                           current), encoding="utf-8")
    assert page.read_text(encoding="utf-8") != current
    check = [sys.executable, "-m", "trade_etl.formats.schema", "--check-docs", "--docs", str(page)]
    out = subprocess.run(check, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "--write-docs" in out.stderr
    assert schema.main(["--write-docs", "--docs", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == current
    assert schema.main(["--check-docs", "--docs", str(page)]) == 0


def test_a_build_publishes_every_comment(sample_warehouse):
    """The publish step writes the comments: a built warehouse describes itself to any client."""
    conn = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        tables, columns = object_comments(conn), column_comments(conn)
    finally:
        conn.close()
    for table in schema.TABLES:
        if table in tables:
            assert tables[table] == schema.table_comment(table), table
            for column in schema.columns(table):
                assert columns[(table, column.name)] == column.comment, (table, column.name)
