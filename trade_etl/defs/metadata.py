"""Small helpers for asset metadata shown in the Dagster UI."""

import hashlib

import polars as pl

from trade_etl.settings import SQL_DIR


def code_version(*sql_names: str) -> str:
    """The code version of an asset computed by SQL files (`sql/<name>.sql`, or every file of a
    folder given as `marts/`): it changes when their text does, so the UI marks the asset and
    what depends on it as changed code."""
    texts = []
    for name in sql_names:
        paths = sorted((SQL_DIR / name).glob("*.sql")) if name.endswith("/") else [
            SQL_DIR / f"{name}.sql"]
        texts += [p.read_text(encoding="utf-8") for p in paths]
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]


def markdown_table(frame: pl.DataFrame, limit: int = 20) -> str:
    """A markdown table of the first `limit` rows, integers with thousands separators."""
    if frame.is_empty():
        return "_none_"
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        lines.append("| " + " | ".join(
            f"{v:,}" if isinstance(v, int) else str(v).replace("|", "\\|") for v in row) + " |")
    if frame.height > limit:
        lines.append(f"\n_… {frame.height - limit:,} more rows_")
    return "\n".join(lines)
