"""The report: the brief with charts, one HTML page (trade_etl/serve/report.py).

warehouse/published ─▶ marts/report   (job refresh_report, started by report_sensor after a
                                      publish the report does not follow yet)

It reads the published file, read-only, so it shows what readers see and takes no writer's
slot. It runs in a run of its own after each build rather than as a step of the build: drawing
takes seconds (vl-convert starts a JavaScript engine), which a build need not wait for. The page
covers the latest complete fiscal year (else the latest with any month) and the partner
`TRADE_ETL_REPORT_PARTNER` (default USA), and goes to `TRADE_ETL_REPORTS_DIR` (default
`reports/` beside the warehouse file). Its metadata shows the monthly chart as an image.
"""

import base64

import dagster as dg

from trade_etl import settings
from trade_etl.defs.resources import TradeEtlConfig, user_errors
from trade_etl.serve.brief import BriefError
from trade_etl.serve.query import open_read_only
from trade_etl.serve.report import build_report, render_png, write_report
from trade_etl.versions import code_version

REPORT = dg.AssetKey(["marts", "report"])
PUBLISHED = dg.AssetKey(["warehouse", "published"])


def report_fiscal_year(conn) -> int | None:
    """The latest fiscal year with all twelve months, else the latest with any."""
    rows = conn.execute(
        "select period from marts.balance_total where period_type = 'fiscal_year' "
        "order by months_reported = 12 desc, period desc limit 1").fetchall()
    return int(rows[0][0].removeprefix("FY")) if rows else None


@dg.asset(
    key=REPORT, group_name="marts", kinds={"html", "vega"},
    deps=[PUBLISHED],
    description="The brief with five charts (monthly trade over three fiscal years, the largest "
    "partner balances, the sectors behind the balance, the fiscal year as known at each "
    "release, yen and dollars) as one self-contained HTML page, for the latest complete fiscal "
    f"year and ${settings.REPORT_PARTNER_ENV} (default {settings.DEFAULT_REPORT_PARTNER}), "
    f"written to ${settings.REPORTS_DIR_ENV} (default reports/ beside the warehouse). Any year "
    "or partner: trade-etl report.",
    code_version=code_version("marts/balance_total_as_of", "marts/balance_by_partner_as_of"),
)
def report(context: dg.AssetExecutionContext, trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    with user_errors("writing the report"):
        run = trade_etl.settings()
        conn = open_read_only(run.warehouse)  # the published file
        try:
            fiscal_year = report_fiscal_year(conn)
            if fiscal_year is None:
                return dg.MaterializeResult(metadata={"fiscal_year": "none: no data yet"})
            partner = run.report_partner
            try:  # the fiscal year as the warehouse was built (its core.period_months)
                page = build_report(conn, fiscal_year, partner)
            except BriefError as err:  # the partner has no trade that year: the world alone
                context.log.warning(f"report on {partner}: {err}; writing the world's")
                partner = None
                page = build_report(conn, fiscal_year)
        finally:
            conn.close()
        name = f"report_FY{fiscal_year}" + (f"_{partner}" if partner else "") + ".html"
        out = write_report(page, run.reports_dir / name,
                           f"the report page (${settings.REPORTS_DIR_ENV})", config=run)
        png = render_png(page.charts[0].spec, scale=0.75)
    image = base64.b64encode(png).decode()
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(out.resolve())),
        "fiscal_year": fiscal_year,
        "partner": partner or "world only",
        "charts": len(page.charts),
        "size_kb": round(out.stat().st_size / 1e3),
        "chart": dg.MetadataValue.md(
            f"**{page.charts[0].title}**\n\n![{page.charts[0].title}](data:image/png;base64,"
            f"{image})\n\n{page.charts[0].reading}"),
        "readings": dg.MetadataValue.md("\n".join(
            f"- **{chart.title}**: {chart.reading}" for chart in page.charts)),
    })


refresh_report = dg.define_asset_job(
    "refresh_report", selection=[REPORT],
    description="Draw the report (marts/report) from the published warehouse.")


@dg.asset_sensor(
    asset_key=PUBLISHED, job=refresh_report, minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts refresh_report when a build has published the warehouse (from the UI, "
    "the raw-folder sensor or `trade-etl build`) since the report was last drawn, so the report "
    "follows the marts; a report already newer than the last publish (e.g. drawn by `trade-etl "
    "demo`) is not drawn again when the UI starts.")
def report_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    # With no cursor yet (a new instance, or the sensor's first tick), the asset sensor offers
    # the latest publish however old: draw only if no report followed it.
    published, drawn = (context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key), limit=1, ascending=False).records
        for key in (PUBLISHED, REPORT))
    if drawn and published and drawn[0].storage_id > published[0].storage_id:
        return dg.SkipReason("the report was drawn after the last publish")
    return dg.RunRequest(run_key=f"published:{asset_event.run_id}")
