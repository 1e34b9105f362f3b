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
        finally:
            conn.close()
        return cls(*(int(v) for v in totals), cells=cells, files_in_error=errors)

    def render(self, seconds: float) -> str:
        return (
            f"warehouse holds {self.releases} releases, {self.files} files: "
            f"{self.rows_read:,} rows read, {self.rows_loaded:,} loaded, "
            f"{self.rows_quarantined:,} quarantined ({self.cells:,} month cells); "
            f"{len(self.files_in_error)} file(s) in error; {seconds:.1f}s"
        )
