"""Small helpers for asset metadata shown in the Dagster UI."""

import polars as pl


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
