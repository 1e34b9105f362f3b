"""What a build left in the warehouse, summarised for the terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trade_etl.store.warehouse import connect


@dataclass
class BuildReport:
    releases: int = 0
    files: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    cells: int = 0
    files_in_error: list[str] = field(default_factory=list)
    rates_warning: str | None = None  # releases newer than the exchange rates

    @classmethod
    def read(cls, warehouse: Path) -> BuildReport:
        if not warehouse.exists():
            return cls()
        conn = connect(warehouse, read_only=True)
        try:
            totals = conn.sql(
                "select count(distinct release_id), count(*), coalesce(sum(rows_read), 0), "
                "coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
                "from audit.releases").fetchall()[0]
            cells = conn.sql("select count(*) from core.trade_facts").fetchall()[0][0]
            errors = [row[0] for row in conn.sql(
                "select a.release_id || '/' || a.file_name || ': ' || a.error "
                "from audit.releases a join raw.release_files f "
                "on f.release_id = a.release_id and f.file_name = a.source_file "
                "where a.status = 'error' order by 1").fetchall()]
            warning = rates_warning(conn)
        finally:
            conn.close()
        return cls(*(int(v) for v in totals), cells=cells, files_in_error=errors,
                   rates_warning=warning)

    def render(self, seconds: float) -> str:
        return (
            f"warehouse holds {self.releases} releases, {self.files} files: "
            f"{self.rows_read:,} rows read, {self.rows_loaded:,} loaded, "
            f"{self.rows_quarantined:,} quarantined ({self.cells:,} month cells); "
            f"{len(self.files_in_error)} file(s) in error; {seconds:.1f}s"
        ) + (f"\nwarning: {self.rates_warning}" if self.rates_warning else "")


def rates_warning(conn) -> str | None:
    """One line when releases are newer than the exchange rates: the newest release day after
    the last daily rate, or months reported without a monthly rate (their dollar figures are
    empty); None when the rates cover them."""
    names = {f"{schema}.{name}" for schema, name in conn.sql(
        "select table_schema, table_name from information_schema.tables").fetchall()}
    if not {"ref.fx_daily", "ref.fx_monthly", "core.releases", "core.release_coverage"} <= names:
        return None  # tables and views
    newest, daily_end, monthly_end = conn.sql(
        "select (select max(published_on) from core.releases where reporter = 'JPN'), "
        "(select max(date) from ref.fx_daily), (select max(month) from ref.fx_monthly)"
    ).fetchall()[0]
    missing = [m for (m,) in conn.sql(
        "select distinct format('{:04d}-{:02d}', year, month) as m from core.release_coverage "
        "where reporter = 'JPN' and m not in (select month from ref.fx_monthly) order by m"
    ).fetchall()]
    gaps = []
    if newest is not None and (daily_end is None or newest > daily_end):
        gaps.append(f"the newest release ({newest}) is after the last daily rate ({daily_end})")
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                           else "")
        gaps.append(f"no monthly rate for {shown} (ref.fx_monthly ends {monthly_end}; their "
                    "dollar figures are empty)")
    if not gaps:
        return None
    return ("releases are newer than the exchange rates: " + "; ".join(gaps)
            + ": run trade-etl fetch --fx, then trade-etl build")
