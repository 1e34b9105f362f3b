"""Fetch: download new releases from e-Stat, and FRED's exchange rates, into the raw folder, on a
schedule.

raw/estat_downloads ─▶ (new release folders) ─▶ raw_release_sensor ─▶ build_warehouse
raw/fx_rates ─▶ (a new vintage under RAW/.fx/) ─▶ ref/fx_daily, ref/fx_monthly at the next build

The fetch only writes the raw folder, never DuckDB, so it does not wait for the warehouse
writer; the raw-folder sensor then builds what it brought.
"""

import dagster as dg
import polars as pl

from trade_etl import settings
from trade_etl.defs.metadata import markdown_table
from trade_etl.defs.resources import RawDirectory, TradeEtlConfig
from trade_etl.errors import EXIT_OK
from trade_etl.formats import manifest

ESTAT_DOWNLOADS = dg.AssetKey(["raw", "estat_downloads"])
FX_RATES = dg.AssetKey(["raw", "fx_rates"])
FETCH_ASSETS = (ESTAT_DOWNLOADS, FX_RATES)  # they reach the network; a build never does


class FetchConfig(dg.Config):
    years: str = ""  # e.g. "2024-2025"; empty: this calendar year and the previous one
    flows: str = "export,import"


@dg.asset(
    key=ESTAT_DOWNLOADS,
    group_name="raw",
    kinds={"python", "http"},
    description="Japan's HS x country tables downloaded from e-Stat "
    f"({settings.ESTAT_BASE_URL_ENV}) into <update-date>_<stage> release folders of the raw "
    "directory, every version kept, each folder with a .manifest.json. Runs `trade-etl fetch`.",
)
def estat_downloads(context: dg.AssetExecutionContext, config: FetchConfig,
                    raw_dir: RawDirectory, trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    from trade_etl.fetch import fetcher  # httpx: only in the runs that reach the network

    try:
        options = fetcher.make_options(raw_dir.root, config.years, config.flows,
                                       trade_etl.settings())
        report = fetcher.fetch(options, context.log.info)
    except (ValueError, manifest.ManifestError, fetcher.FetchBusy) as err:
        raise dg.Failure(description=str(err)) from None
    summary = report.summary()
    tables = pl.DataFrame(
        [{"table": t.label, "status": t.status, "bytes": t.bytes,
          "release_folder": t.folder, "note": t.reason} for t in report.tables],
        schema={"table": pl.String, "status": pl.String, "bytes": pl.Int64,
                "release_folder": pl.String, "note": pl.String})
    order = {"failed": 0, "downloaded": 1, "pending": 2, "held": 3}
    tables = tables.sort(pl.col("status").replace_strict(order, default=9), "table")
    metadata = {
        **{k: v for k, v in summary.items() if k != "new_release_folders"},
        "new_release_folders": dg.MetadataValue.md(
            "\n".join(f"- {f}" for f in summary["new_release_folders"]) or "_none_"),
        "source": options.base_url,
        "preview": dg.MetadataValue.md(markdown_table(tables, 60)),
    }
    if report.exit_code != EXIT_OK:
        failures = report.structure_error or "; ".join(
            [*report.page_failures, *(f"{t.label}: {t.reason}" for t in report.tables
                                     if t.status == "failed")][:10])
        raise dg.Failure(description=fetcher.render_summary(report, raw_dir.root,
                                                            options.base_url)
                         + f"\n{failures}", metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=FX_RATES,
    group_name="raw",
    kinds={"python", "http"},
    description="FRED's yen per dollar rates, DEXJPUS (daily) and EXJPUS (monthly average), "
    f"downloaded from {settings.FX_BASE_URL_ENV} (default {settings.DEFAULT_FX_BASE_URL}) and "
    "kept as dated vintages under RAW/.fx/ (an unchanged download is not kept twice); the next "
    "build loads the newest into ref.fx_daily and ref.fx_monthly. Runs `trade-etl fetch --fx`.",
)
def fx_rates(context: dg.AssetExecutionContext, raw_dir: RawDirectory,
             trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    from trade_etl.fetch import fx  # httpx: only in the runs that reach the network

    run = trade_etl.settings()
    try:
        report = fx.fetch_rates(raw_dir.root, run, progress=context.log.info)
    except (ValueError, fx.FxBusy) as err:
        raise dg.Failure(description=str(err)) from None
    metadata = {
        "source": run.fx_base_url,
        **{f"{s.series}": f"{s.status} {s.vintage} ({s.first_date} … {s.last_date})"
           if s.vintage else f"{s.status}: {s.reason}" for s in report.series},
    }
    if report.exit_code != EXIT_OK:
        raise dg.Failure(description=report.render(raw_dir.root), metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


fetch_estat = dg.define_asset_job(
    "fetch_estat", selection=list(FETCH_ASSETS),
    description="Download new releases from e-Stat and the exchange rates from FRED into the "
    "raw folder (no DuckDB).")

estat_daily = dg.ScheduleDefinition(
    name="estat_daily",
    job=fetch_estat,
    cron_schedule="15 9 * * 1-5",  # releases come out at 08:50 JST on weekdays
    execution_timezone="Asia/Tokyo",
    default_status=dg.DefaultScheduleStatus.STOPPED,  # it reaches the network: opt in
    description="Weekdays 09:15 Tokyo time: fetch new e-Stat releases and FRED's exchange "
    "rates. Off by default; turn "
    "it on in the UI (Automation) once the fetch works from this machine.",
)
