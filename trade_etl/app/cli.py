"""The `trade-etl` command: fetch, build, ui, sample, demo, sql, brief, report, codes, lake."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from trade_etl import settings
from trade_etl.app.memory import RssSampler, step_peaks
from trade_etl.errors import EXIT_BUSY, EXIT_FAILED, EXIT_USAGE, explain
from trade_etl.serve.output import check_output, write_output
from trade_etl.settings import Settings
from trade_etl.text import VisibleFormatter, visible


def _error(message: str) -> None:
    """One line on stderr, control characters escaped (trade_etl/text.py)."""
    print(f"error: {visible(message)}", file=sys.stderr)


def command_settings(args: argparse.Namespace, environ=None) -> Settings:
    """The command's settings: its flags over the environment over the defaults, read and
    checked once; every step of the command (and its Dagster run, as run config) uses them."""
    given = {"raw_dir": getattr(args, "raw_dir", None) or None,
             "warehouse": getattr(args, "warehouse", None) or None,
             "allow_dates": True if getattr(args, "allow_dates", False) else None,
             "debug": True if getattr(args, "debug", False) else None}
    return Settings.from_env(os.environ if environ is None else environ, **given)


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    return args.settings.raw_dir, args.settings.warehouse


def step_timings(result, run_seconds: float) -> dict:
    """Where a build's time went: each Dagster step, the loader's stages, Dagster's own share."""
    steps: dict[str, float] = {}
    loader: dict[str, float] = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            metadata = event.event_specific_data.materialization.metadata
            for name, value in metadata.items():
                if name.startswith("seconds_"):
                    loader[name.removeprefix("seconds_")] = value.value
    return {
        "run_s": round(run_seconds, 3),
        "dagster_overhead_s": round(max(run_seconds - sum(steps.values()), 0.0), 3),
        "stages": {**{k: round(v, 3) for k, v in loader.items()},
                   **{f"step:{k}": round(v, 3) for k, v in steps.items()}},
    }


def run_build(raw: Path, warehouse: Path, quiet: bool = False,
              timings: str | Path | None = None, force: bool = False,
              prune: bool = False, config: Settings | None = None) -> int:
    """Run the build job on the warehouse's Dagster instance (trade_etl/app/runs.py), for the
    releases that need loading; print a summary.

    Waits for files still being written, then starts no run when nothing the build reads has
    changed since the last complete build (trade_etl/store/freshness.py), unless `force` (which
    also loads every release's partition and hashes every file again). `prune` lets the build
    remove what files no longer in the raw folder contributed. `timings`, when given, receives
    a JSON breakdown of where the time went (`make bench`). `config`: the command's settings
    (default: the environment's), with `raw` and `warehouse` as given.
    """
    from trade_etl.store import publish
    from trade_etl.store.warehouse import check_warehouse_path

    if not raw.is_dir():
        _error(f"raw directory {raw} does not exist: create it, or point --raw-dir "
               f"(or ${settings.RAW_DIR_ENV}) at your release folders")
        return EXIT_USAGE
    if config is None or (config.raw_dir, config.warehouse) != (Path(raw), Path(warehouse)):
        config = Settings.from_env(os.environ, raw_dir=raw, warehouse=warehouse)
    check_warehouse_path(warehouse)
    if timings is not None:  # before the build
        timings = check_output(timings, "--timings", warehouse, raw, config)
    # The build lock before any run, so that what would stop the run's first step (another
    # build, a path that cannot be written) is one line with its own exit code and no run in
    # the UI. It is kept to the end of the run when the run's steps are in this process (the
    # run's resource takes it again, re-entrant): no build slips in between. Steps in other
    # processes take it themselves, so it is let go just before such a run (_BuildLock).
    lock = _BuildLock(warehouse)
    try:
        lock.take()
    except publish.BuildRunning as err:
        _error(str(err))
        return EXIT_BUSY
    try:
        return _build(config, quiet, timings, force, prune, lock)
    finally:
        lock.let_go()


class _BuildLock:
    """The build lock `trade-etl build` holds while it decides, and during an in-process run."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse, self.held = warehouse, False

    def take(self) -> None:
        from trade_etl.store import publish

        publish.acquire(self.warehouse)
        self.held = True

    def let_go(self) -> None:
        from trade_etl.store import publish

        if self.held:
            self.held = False
            publish.release(self.warehouse)


def _progress_logger(quiet: bool) -> logging.Logger:
    progress = logging.getLogger("trade_etl.progress")
    for old in list(progress.handlers):  # bound to an earlier sys.stderr (tests replace it)
        progress.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VisibleFormatter("%(message)s"))
    progress.addHandler(handler)
    progress.propagate = False
    progress.setLevel(logging.WARNING if quiet else logging.INFO)
    return progress


def lake_is_current(warehouse: Path, config: Settings) -> bool:
    """True without a lake; with one, whether it holds the warehouse as last published (a
    build whose lake publish failed runs again for it)."""
    from trade_etl import lake
    from trade_etl.store.incremental import stored_token
    from trade_etl.store.publish import PUBLISH_KEY

    where = config.lake
    return where is None or lake.is_current(warehouse, where,
                                            stored_token(warehouse, PUBLISH_KEY))


def _build(config: Settings, quiet: bool, timings: Path | None,
           force: bool, prune: bool, lock: _BuildLock) -> int:
    # Only what an unchanged folder needs: the loader's modules (pandera, polars) are imported
    # once a build runs.
    from trade_etl.app.build_report import BuildReport
    from trade_etl.errors import UserError
    from trade_etl.ingest import shipped
    from trade_etl.ingest.releases import wait_until_settled
    from trade_etl.store import freshness

    raw, warehouse = config.raw_dir, config.warehouse
    started = time.perf_counter()
    _progress_logger(quiet)
    # a layout module that cannot be used: exit 2, now
    reporters, _ = shipped.reporters_and_fingerprint(config.layout_modules)
    sources = wait_until_settled(
        raw, config.quiet_seconds, config.settle_timeout,
        lambda line: print(visible(line), file=sys.stderr, flush=True), config.allow_dates,
        reporters)
    fingerprint = freshness.inputs_fingerprint(raw, sources, config)
    if not force and freshness.is_up_to_date(warehouse, fingerprint) and lake_is_current(
            warehouse, config):
        print(f"{warehouse} is up to date: nothing in {raw}, the reference data, the settings "
              "or the code changed since the last build (--force runs it anyway)",
              file=sys.stderr)
        report = BuildReport.read(warehouse)
        print(visible(report.render(time.perf_counter() - started)))
        if timings is not None:
            write_output(timings, json.dumps({"total_s": round(time.perf_counter() - started, 3),
                                              "skipped": True}, indent=2) + "\n",
                         "--timings", warehouse, raw, config)
        return _report_file_errors(report)
    from trade_etl.ingest import inventory

    try:  # before any run: a refused build is not a failed run in the UI
        inventory.refuse_unless_pruning(freshness.files_gone(warehouse, sources), prune)
    except UserError as err:
        _error(str(err))
        return err.exit_code
    if config.executor != "in_process":
        lock.let_go()  # the run's steps take it in their own processes
    with RssSampler() if timings is not None else contextlib.nullcontext() as sampler:
        return _run(config, quiet, timings, force, prune, sources, started, sampler)


def _run(config: Settings, quiet: bool, timings: Path | None, force: bool,
         prune: bool, sources: list, started: float, sampler: RssSampler | None) -> int:
    from trade_etl.app.build_report import BuildReport
    from trade_etl.store import freshness

    import_started = time.perf_counter()
    from trade_etl.app.runs import launch_build, prepare_instance
    from trade_etl.defs.resources import run_config_for

    raw, warehouse = config.raw_dir, config.warehouse
    home = prepare_instance(config.dagster_home)
    to_load, new_code = freshness.plan(warehouse, sources, raw)
    on_disk = sorted({s.release_id for s in sources})
    import_seconds = time.perf_counter() - import_started
    why = f" (new code for {', '.join(new_code)})" if new_code and not force else ""
    print(f"building {warehouse} from {raw}: {len(on_disk if force else to_load)} of "
          f"{len(on_disk)} release(s) to load{why}", file=sys.stderr)
    run_started = time.perf_counter()
    # Dagster's console log repeats failures with their tracebacks; the CLI prints one line
    # per problem instead, unless --debug.
    # The paths and settings reach the run as run config (resources), not the environment.
    log_level = "DEBUG" if config.debug else "CRITICAL"
    result = launch_build(
        sorted(to_load), on_disk, force=force, home=home, executor=config.executor,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}},
                    "ops": {"release_files": {"config": {"prune": prune, "rehash": force}}},
                    "resources": run_config_for(config)})
    run_seconds = time.perf_counter() - run_started
    report = BuildReport.read(warehouse)
    if timings is not None:
        breakdown = {"total_s": round(time.perf_counter() - started, 3),
                     "import_s": round(import_seconds, 3), **step_timings(result, run_seconds),
                     "rss_mib": step_peaks(sampler, result.run_id, home)}
        write_output(timings, json.dumps(breakdown, indent=2) + "\n", "--timings", warehouse,
                     raw, config)
    explained = _explained_failure(result)
    if explained is not None:
        _error(explained[0])
        return explained[1]
    if not quiet:
        print(f"run {result.run_id} on the Dagster instance {home} (trade-etl ui shows it)",
              file=sys.stderr)
    print(visible(report.render(time.perf_counter() - started)))
    failures = [
        event.step_key for event in result.all_events if event.is_step_failure
    ] + [
        f"{e.asset_check_evaluation_data.asset_check_key.name}"
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
        and e.asset_check_evaluation_data.severity.value == "ERROR"
    ]
    if failures or not result.success:
        _error(f"the build did not complete: {', '.join(failures) or 'run failed'}; "
               "the published warehouse is unchanged (run with --debug for the details)")
        return EXIT_FAILED
    return _report_file_errors(report)


def _explained_failure(result) -> tuple[str, int] | None:
    """The one-line message and exit code of the first step that failed for a reason the user
    can fix (a `dg.Failure` raised with a description), or None."""
    for event in result.all_events:
        if event.event_type_value == "RESOURCE_INIT_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cls_name != "Failure":
                error = error.cause
            if error is not None:  # as_failure's description, e.g. the build lock is held
                busy = "is running (pid" in error.message
                return (error.message.removeprefix("dagster._core.definitions.events.Failure: ")
                        .strip(), EXIT_BUSY if busy else EXIT_FAILED)
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        user = data.user_failure_data
        if user is not None and user.description:
            code = user.metadata.get("exit_code")
            return user.description, int(code.value) if code is not None else EXIT_FAILED
        if data.error is not None and data.error.cls_name == "DagsterAssetCheckFailedError":
            return (f"the build did not complete: blocking check(s) failed: "
                    f"{', '.join(_failed_checks(result)) or data.error.message.strip()}; the "
                    "published warehouse is unchanged (trade-etl ui shows each check's "
                    "findings)", EXIT_FAILED)
        if data.error is not None:
            return (f"step {event.step_key} failed: {data.error.cls_name}: "
                    f"{data.error.message.strip().splitlines()[0][:300]}; the published "
                    "warehouse is unchanged (run with --debug for the traceback)", EXIT_FAILED)
    return None


def _failed_checks(result) -> list[str]:
    """`check on asset (partition)` for every failed check of ERROR severity in the run."""
    failed = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.asset_check_evaluation_data
        if evaluation.passed or evaluation.severity.value != "ERROR":
            continue
        key = evaluation.asset_check_key
        partition = f" ({evaluation.partition})" if evaluation.partition else ""
        finding = f" ({evaluation.description})" if evaluation.description else ""
        failed.append(f"{key.name} on {key.asset_key.to_user_string()}{partition}{finding}")
    return failed


def _report_file_errors(report) -> int:
    if report.files_in_error:
        _error(f"{len(report.files_in_error)} file(s) could not be loaded:")
        for line in report.files_in_error:
            print(f"  {visible(line)}", file=sys.stderr)
        return 1
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    raw, warehouse = _paths(args)  # --allow-dates is in args.settings: discovery, the run
    return run_build(raw, warehouse, quiet=args.quiet, timings=args.timings,
                     force=args.force, prune=args.prune, config=args.settings)


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster UI (webserver and daemon) on the instance `trade-etl build` records its runs
    in, for the warehouse and raw folder given.

    `dagster dev` replaces this process and runs in the instance's folder ($DAGSTER_HOME): from
    anywhere else with a dagster.yaml (the repository's own) it warns that this file "will not
    be used", which is true of that file but reads as if the instance had no settings. Paths
    given relative to the folder the command was started in are made absolute first. SIGTERM
    and SIGINT (Ctrl-C) stop the webserver, the daemon and the code servers, then `dagster
    dev` exits 0.
    """
    from trade_etl.app.runs import prepare_instance

    config = args.settings
    home = prepare_instance(config.dagster_home).resolve()
    print(f"Dagster UI on http://{args.host}:{args.port} (instance {home}; Ctrl-C stops it)",
          file=sys.stderr, flush=True)
    workspace = home / "workspace.yaml"  # as the repository's: code location `trade_etl`
    workspace.write_text("load_from:\n  - python_module:\n      module_name: "
                         "trade_etl.definitions\n      location_name: trade_etl\n"
                         f"      working_directory: {json.dumps(str(Path.cwd()))}\n")
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace),
               "-h", args.host, "-p", str(args.port)]
    env = ui_environment(config, home)
    os.chdir(home)
    os.execve(sys.executable, command, env)  # the UI's process from now on; it does not return


def ui_environment(config: Settings, home: Path, environ=None) -> dict[str, str]:
    """The environment `dagster dev` (and the code servers, runs and sensors it starts) gets:
    this process's, with the command's paths absolute (it runs in the instance's folder) and
    DAGSTER_HOME the instance. Built for the child; this process's environment is unchanged."""
    env = dict(os.environ if environ is None else environ)
    env[settings.DAGSTER_HOME_ENV] = str(home)  # as Path.cwd() will spell it
    env[settings.RAW_DIR_ENV] = str(config.raw_dir.absolute())
    env[settings.WAREHOUSE_ENV] = str(config.warehouse.absolute())
    for name in (settings.REPORTS_DIR_ENV, settings.LAKE_WAREHOUSE_ENV):
        value = env.get(name)
        if value and "://" not in value:
            env[name] = str(Path(value).absolute())
    if config.debug:
        env[settings.DEBUG_ENV] = "1"
    return env



def cmd_fetch(args: argparse.Namespace) -> int:
    from trade_etl.fetch import fetcher
    from trade_etl.formats import manifest

    raw = args.settings.raw_dir
    if args.reporter == "USA":
        return _fetch_census(args, raw)
    usa_only = [flag for flag, given in (("--partners", args.partners),
                                         ("--release-date", args.release_date)) if given]
    if usa_only:
        _error(f"{' and '.join(usa_only)} {'apply' if len(usa_only) > 1 else 'applies'} to "
               "--reporter USA only (the US Census Bureau's figures); e-Stat's tables hold "
               "every partner and are dated by the site")
        return EXIT_USAGE
    if args.fx:
        return _fetch_fx(args, raw)
    if args.fx_base_url:
        _error("--fx-base-url is the exchange rates' site: give it with --fx")
        return EXIT_USAGE
    try:
        options = fetcher.make_options(raw, args.years, args.flows or "export,import",
                                       args.settings,
                                       base_url=args.base_url, pause=args.pause,
                                       dry_run=args.dry_run, deadline=args.deadline,
                                       min_rate=args.min_rate)
    except ValueError as err:
        print(f"error: {visible(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    base_url = options.base_url
    years_text = ", ".join(str(y) for y in options.years)
    print(visible(f"fetching {' and '.join(options.flows)} for {years_text} from {base_url} "
                  f"into {raw}" + (" (dry run)" if args.dry_run else "")), file=sys.stderr)

    def progress(line: str) -> None:  # titles and URLs come from the server: escaped
        print(visible(line), file=sys.stderr, flush=True)

    try:
        report = fetcher.fetch(options, progress)
    except manifest.ManifestError as err:
        print(f"error: {visible(str(err))}; fix or remove it (it lists what was fetched)",
              file=sys.stderr)
        return fetcher.EXIT_STRUCTURE
    except fetcher.FetchBusy as err:
        print(f"error: {visible(str(err))}", file=sys.stderr)
        return EXIT_BUSY
    print(visible(fetcher.render_summary(report, raw, base_url)),
          file=sys.stderr if report.structure_error else sys.stdout)
    return report.exit_code


def _fetch_census(args: argparse.Namespace, raw: Path) -> int:
    """`trade-etl fetch --reporter USA`: the US Census Bureau's monthly trade by HS code and
    partner into RAW/USA/<date>_<stage>/ (trade_etl/fetch/census.py)."""
    from trade_etl.fetch import census as census_fetch

    mixed = [flag for flag, given in (("--fx", args.fx), ("--fx-base-url", args.fx_base_url),
                                      ("--flows", args.flows)) if given]
    if mixed:
        _error(f"--reporter USA fetches both flows of the US Census Bureau's figures and takes "
               f"no {', '.join(mixed)}; run trade-etl fetch without --reporter USA for those")
        return EXIT_USAGE
    try:
        options = census_fetch.make_options(
            raw, args.settings, partners=args.partners, years=args.years,
            base_url=args.base_url, release_date=args.release_date, pause=args.pause,
            deadline=args.deadline, min_rate=args.min_rate, dry_run=args.dry_run)
    except ValueError as err:
        _error(str(err))
        return EXIT_USAGE
    partners = ", ".join(f"{name} {code}" for name, code in zip(options.partners,
                                                                 options.codes, strict=True))
    years = ", ".join(str(y) for y in options.years)
    print(visible(f"fetching US Census Bureau exports and imports with {partners} for {years} "
                  f"from {options.base_url} into {options.reporter_dir}"
                  + (" (dry run)" if args.dry_run else "")), file=sys.stderr)

    def progress(line: str) -> None:  # error bodies come from the server: escaped
        print(visible(line), file=sys.stderr, flush=True)

    try:
        report = census_fetch.fetch(options, progress)
    except census_fetch.CensusBusy as err:
        _error(str(err))
        return EXIT_BUSY
    except census_fetch.CensusUsage as err:
        _error(str(err))
        return EXIT_USAGE
    print(visible(report.render(raw)), file=sys.stderr if report.exit_code else sys.stdout)
    return report.exit_code


def _fetch_fx(args: argparse.Namespace, raw: Path) -> int:
    """`trade-etl fetch --fx`: FRED's rates into vintages under RAW/.fx/ (trade_etl/fetch/fx.py)."""
    from trade_etl.fetch import fx

    mixed = [flag for flag, given in (("--years", args.years), ("--base-url", args.base_url),
                                      ("--dry-run", args.dry_run), ("--flows", args.flows))
             if given]
    if mixed:
        _error(f"--fx fetches only the exchange rates and takes no {', '.join(mixed)}; run "
               "trade-etl fetch without --fx for the releases")
        return EXIT_USAGE
    try:
        base_url = (args.fx_base_url or args.settings.fx_base_url).rstrip("/")
        manners = fx.make_manners(base_url, args.settings)
        if args.pause is not None:
            manners.pause_s = args.pause
        if args.deadline is not None:
            manners.deadline_s = manners.page_deadline_s = args.deadline
        if args.min_rate is not None:
            manners.min_rate = args.min_rate
    except ValueError as err:
        _error(str(err))
        return EXIT_USAGE
    print(visible(f"fetching exchange rates (FRED {', '.join(fx.SERIES)}) from {base_url} "
                  f"into {raw / fx.FX_DIR}"), file=sys.stderr)

    def progress(line: str) -> None:
        print(visible(line), file=sys.stderr, flush=True)

    try:
        report = fx.fetch_rates(raw, args.settings, base_url, progress, manners)
    except fx.FxBusy as err:
        _error(str(err))
        return EXIT_BUSY
    print(visible(report.render(raw)), file=sys.stderr if report.exit_code else sys.stdout)
    return report.exit_code


def cmd_sample(args: argparse.Namespace) -> int:
    from trade_etl.sample import parse_years, write_sample
    from trade_etl.sample.census import Asymmetries

    folders = write_sample(Path(args.out), parse_years(args.years), scale=args.scale,
                           seed=args.seed, cp932=not args.no_cp932,
                           confidential=not args.no_confidential, shape=args.shape,
                           census=Asymmetries() if args.census else None)
    files = sum(1 for folder in folders for p in folder.rglob("*") if p.is_file())
    print(f"wrote {len(folders)} synthetic releases ({files} files) to {args.out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from trade_etl.sample import write_sample
    from trade_etl.sample.census import Asymmetries

    raw, warehouse = _paths(args)
    if not raw.exists() or not any(raw.iterdir()):
        raw.mkdir(parents=True, exist_ok=True)
        folders = write_sample(raw, census=Asymmetries())
        print(f"wrote {len(folders)} synthetic sample releases to {raw} (synthetic data "
              "calibrated to published totals, and made-up US Census releases mirroring the "
              "trade with the United States; see README)")
    else:
        print(f"using the releases already in {raw}")
    code = run_build(raw, warehouse, config=args.settings)
    if not warehouse.exists():
        return code
    from trade_etl.serve.query import open_read_only, print_table

    conn = open_read_only(warehouse)
    try:
        tables = conn.sql(
            "select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
            "where schema_name in ('marts', 'core', 'audit') "
            "order by schema_name desc, table_name").fetchall()
        print(f"\nBuilt {warehouse}:")
        print_table(["table", "rows"], tables, limit=None)
        fiscal_years = conn.sql("select max(period) from marts.balance_total where "
                                "period_type = 'fiscal_year' and months_reported = 12"
                                ).fetchall()[0][0]
        # both sides when the US's own figures are there (the demo's made-up ones)
        mirror = bool(conn.sql("select count(*) from marts.mirror_balance where period = "
                               "$p", params={"p": fiscal_years}).fetchall()[0][0])
    finally:
        conn.close()
    if fiscal_years:
        year = int(fiscal_years.removeprefix("FY"))
        print(f"\n$ trade-etl brief --fiscal-year {year} --partner USA"
              + (" --mirror" if mirror else ""))
        cmd_brief(argparse.Namespace(fiscal_year=year, partner="USA", as_of=None, commodity=None,
                                     warehouse=str(warehouse), settings=args.settings,
                                     mirror=mirror))
    from trade_etl.app.runs import launch_report

    result = launch_report(config=args.settings)  # marts/report, as the UI's sensor runs it
    drawn = result.asset_materializations_for_node("marts__report") if result.success else []
    page = drawn[0].metadata["report"].value if drawn and "report" in drawn[0].metadata else None
    print(f"\nReport (the brief with charts; open it in a browser): {page}" if page else
          "\nThe report could not be drawn; trade-etl report --help")
    print("\nNext: trade-etl sql \"select * from marts.balance_total where period_type = "
          "'fiscal_year'\", trade-etl brief --help, trade-etl report --help, make ui "
          "(docs/warehouse.md lists the tables).")
    return code


def _warehouse_arg(args: argparse.Namespace) -> Path:
    return args.settings.warehouse


def _lake_config(args: argparse.Namespace, warehouse: Path) -> settings.LakeConfig:
    """The lake of the arguments or the settings, else `lake/` beside the warehouse."""
    config = args.settings
    return settings.lake_config(args.catalog_uri or config.lake_catalog_uri,
                                args.warehouse_uri or config.lake_warehouse, environ={},
                                default_dir=warehouse.absolute().parent / "lake")


def cmd_lake_publish(args: argparse.Namespace) -> int:
    from trade_etl.lake import iceberg

    warehouse = _warehouse_arg(args)
    config = _lake_config(args, warehouse)
    print(f"publishing {warehouse} to the lake {config.warehouse_uri} (catalog "
          f"{config.catalog_uri})", file=sys.stderr)
    progress = (lambda _line: None) if args.quiet else (
        lambda line: print(visible(line), file=sys.stderr, flush=True))
    result = iceberg.publish(warehouse, config, progress, new_lake=args.new_lake)
    if result.publish_seq is None:
        print(f"the lake is up to date with {warehouse}: {result.tables} tables, nothing "
              "written")
    else:
        releases = (f", {len(result.releases_written)} release partition(s) of "
                    f"{iceberg.identifier(iceberg.lake_name(iceberg.FACTS))}"
                    if result.releases_written else "")
        print(f"publish {result.publish_seq}: {len(result.tables_written)} of {result.tables} "
              f"tables written{releases}; `trade-etl lake snapshots` lists the vintages")
    return 0


def cmd_lake_snapshots(args: argparse.Namespace) -> int:
    from trade_etl.lake import iceberg

    warehouse = _warehouse_arg(args)
    config = _lake_config(args, warehouse)
    catalog, _ = iceberg.open_lake(warehouse, config, claim=False)  # refuses a forgotten lake
    entries = iceberg.publishes(catalog)
    if args.json:
        print(json.dumps(entries, default=str, indent=2))
        return 0
    if not entries:
        print(f"the lake {config.warehouse_uri} has no publish yet: run `trade-etl lake "
              "publish`", file=sys.stderr)
        return 0
    rows = [[str(e["publish_seq"]), f"{e['published_at']:%Y-%m-%d %H:%M:%S} UTC",
             (e["warehouse_publish_id"] or "")[:12], str(len(e["release_ids"])),
             (e["release_ids"] or ["-"])[-1], str(len(e["tables_written"])),
             _few(e["releases_written"])] for e in entries]
    header = ["publish", "published at", "warehouse publish", "releases", "newest release",
              "tables written", "releases written"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0


def _few(names: list[str], most: int = 3) -> str:
    if len(names) <= most:
        return ", ".join(names) or "-"
    return f"{len(names)} ({names[0]} … {names[-1]})"


def cmd_sql(args: argparse.Namespace) -> int:
    """Run SQL read-only and stream its result: a table of the first --limit rows (the rest
    only counted) or, with --csv, every row as it comes; memory holds --limit rows at most."""
    import duckdb

    from trade_etl.serve.query import (
        SqlFileError,
        WarehouseUnavailable,
        head_and_count,
        open_read_only,
        print_csv,
        print_table,
        read_sql_file,
        rows_of,
        stream_query,
    )

    if (args.query is None) == (args.file is None):
        _error("give a query or --file FILE (one of them)")
        return 2
    if args.limit < 0:
        _error(f"--limit must be 0 or more rows, not {args.limit}")
        return EXIT_USAGE
    try:
        text = read_sql_file(args.file, args.settings.sql_max_bytes) if args.file else args.query
    except SqlFileError as err:
        _error(str(err))
        return EXIT_USAGE
    try:
        conn = open_read_only(_warehouse_arg(args), allow_external=args.allow_external,
                              memory_limit=args.settings.duckdb_memory_limit)
    except WarehouseUnavailable as err:
        _error(str(err))
        return 2
    try:
        columns, batches = stream_query(conn, text)
        if args.csv:
            print_csv(columns, (row for batch in batches for row in rows_of(batch)))
        elif columns:
            shown, total = head_and_count(batches, args.limit)
            print_table(columns, shown, limit=None, total=total)
    except duckdb.Error as err:
        _error(str(err))
        return 1
    except BrokenPipeError:  # `trade-etl sql --csv … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        conn.close()
    return 0


def _as_of_and_connection(args: argparse.Namespace):
    """--as-of as a date and a read-only connection to --warehouse, or an exit code (2) after
    saying on stderr what is wrong with them (`brief`, `report`)."""
    from datetime import date

    from trade_etl.serve.query import WarehouseUnavailable, open_read_only

    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        _error(f"--as-of must be a date YYYY-MM-DD, not {args.as_of!r}")
        return 2
    try:
        return as_of, open_read_only(_warehouse_arg(args))
    except WarehouseUnavailable as err:
        _error(str(err))
        return 2


def cmd_brief(args: argparse.Namespace) -> int:
    from trade_etl.serve.brief import BriefError, write_brief

    opened = _as_of_and_connection(args)
    if isinstance(opened, int):
        return opened
    as_of, conn = opened
    try:
        # The fiscal year as the warehouse was built (its calendar), not as set now.
        print(write_brief(conn, args.fiscal_year, args.partner, as_of,
                          commodity=args.commodity, mirror=args.mirror))
    except BriefError as err:  # a name that resolves to nothing or to several: 2; no data: 1
        _error(str(err))
        return err.exit_code
    finally:
        conn.close()
    return 0


def cmd_codes(args: argparse.Namespace) -> int:
    """Find commodities by words or code in the published warehouse (read-only)."""
    from trade_etl.serve.brief import BriefError
    from trade_etl.serve.codes import write_codes
    from trade_etl.serve.query import WarehouseUnavailable, open_read_only

    if args.limit < 1:
        _error(f"--limit must be 1 or more lines, not {args.limit}")
        return EXIT_USAGE
    if not args.text.strip():
        _error("give words (motor cars, 乗用自動車) or a code (8703)")
        return EXIT_USAGE
    try:
        conn = open_read_only(_warehouse_arg(args))
    except WarehouseUnavailable as err:
        _error(str(err))
        return EXIT_USAGE
    try:
        print(write_codes(conn, args.text, args.year, args.digits, args.limit, args.partner))
    except BriefError as err:
        _error(str(err))
        return EXIT_USAGE
    finally:
        conn.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from trade_etl.serve.brief import BriefError
    from trade_etl.serve.report import build_report, write_report

    opened = _as_of_and_connection(args)
    if isinstance(opened, int):
        return opened
    as_of, conn = opened
    warehouse = _warehouse_arg(args)
    try:
        check_output(args.out, "--out", warehouse, config=args.settings)  # before drawing
        report = build_report(conn, args.fiscal_year, args.partner, as_of,
                              commodity=args.commodity)
    except BriefError as err:
        _error(str(err))
        return err.exit_code
    finally:
        conn.close()
    out = write_report(report, args.out, "--out", warehouse, args.settings)  # main() explains

    print(f"wrote {out} ({out.stat().st_size / 1e3:,.0f} kB, {len(report.charts)} charts): "
          f"{report.title}")
    return 0


PARTNER_HELP = ("a country by ISO code (US, USA), customs code (304) or name (United States, "
                "America, UK, Korea, China), a group (EU, ASEAN: members month by month) or a "
                "customs area (Asia, Western Europe)")
COMMODITY_HELP = ("an HS code of 2, 4, 6 or 9 digits (8703), or its name once the commodity "
                  "dictionary is installed: its trade with the partner (or the world)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trade-etl",
        description="A warehouse of Japan's customs trade statistics: every release kept. "
        "Exit codes: 0 done, 1 failed, 2 usage or configuration, 3 busy (another build or "
        "fetch, or the DuckDB file held open for writing), 4 a build would remove loaded data "
        "(--prune), 5 the system refused (disk full, permissions).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=False,
                        help="show tracebacks instead of one-line errors "
                        f"(or ${settings.DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)  # every command takes --debug

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument("--raw-dir", help=f"release folders (default ${settings.RAW_DIR_ENV} "
                       f"or {settings.DEFAULT_RAW_DIR})")
        p.add_argument("--warehouse", help=f"DuckDB file (default ${settings.WAREHOUSE_ENV} "
                       f"or {settings.DEFAULT_WAREHOUSE})")

    build = add("build", help="load new or changed releases and rebuild the marts")
    paths(build)
    build.add_argument("--quiet", action="store_true", help="no per-release progress lines")
    build.add_argument("--force", action="store_true",
                       help="run even when nothing changed since the last build, and hash "
                       "every file again")
    build.add_argument("--prune", action="store_true",
                       help="remove what files no longer in the raw folder contributed "
                       "(without it such a build stops, exit 4, and changes nothing)")
    build.add_argument("--timings", metavar="FILE",
                       help="write a JSON breakdown of where the build's time went")
    build.add_argument("--allow-dates", action="store_true",
                       help="load release folders dated after today or before 1988 (refused "
                       f"otherwise, as mistyped names; also ${settings.ALLOW_DATES_ENV}=1)")
    build.set_defaults(func=cmd_build)

    ui = add("ui", help="the Dagster UI on the instance builds record their runs in")
    paths(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                    "127.0.0.1: open-source Dagster has no login; see README)")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    fetch = add(
        "fetch", help="download new HS x country releases from e-Stat (or the US Census "
        "Bureau) into the raw folder",
        description="Download every version of Japan's HS x country tables not yet held into "
        "<update-date>_<stage>/ release folders (each with a .manifest.json). Exit 0 when "
        "everything requested is held, 1 when some tables failed (the others are kept), 2 "
        "when the site's structure was not recognised (nothing written), 3 when another "
        "fetch is running. With --reporter USA: the US Census Bureau's monthly trade by HS "
        "code and partner into RAW/USA/<date>_<stage>/ (exit 1 a request failed, 2 an answer "
        "was malformed; nothing written either way).")
    fetch.add_argument("--reporter", type=str.upper, choices=("JPN", "USA"),
                       help="whose figures: JPN (default) Japan's from e-Stat, USA the US "
                       "Census Bureau's International Trade API")
    fetch.add_argument("--partners", metavar="ISO3[,ISO3…]",
                       help="with --reporter USA: the partner countries by ISO 3166-1 "
                       "alpha-3 code (default JPN)")
    fetch.add_argument("--release-date", metavar="YYYY-MM-DD",
                       help="with --reporter USA: the new release folder's date (default "
                       "today, UTC)")
    fetch.add_argument("--years", help="calendar years, e.g. 2024-2025 or 2023,2025 "
                       "(default: this year and last)")
    fetch.add_argument("--flows", help="export, import or both (default both; e-Stat only)")
    fetch.add_argument("--raw-dir", help=f"release folders (default ${settings.RAW_DIR_ENV} "
                       f"or {settings.DEFAULT_RAW_DIR})")
    fetch.add_argument("--base-url", help=f"the site (default ${settings.ESTAT_BASE_URL_ENV} "
                       f"or {settings.DEFAULT_ESTAT_BASE_URL}; with --reporter USA "
                       "https://api.census.gov)")
    fetch.add_argument("--dry-run", action="store_true",
                       help="list what would be downloaded; write nothing")
    fetch.add_argument("--pause", type=float, help="seconds between requests (default "
                       f"${settings.FETCH_PAUSE_ENV} or {settings.DEFAULT_FETCH_PAUSE_S:g})")
    fetch.add_argument("--deadline", type=float, metavar="SECONDS",
                       help="most seconds one attempt at a download may take (default "
                       f"${settings.FETCH_DEADLINE_ENV} or {settings.DEFAULT_FETCH_DEADLINE_S:g})")
    fetch.add_argument("--min-rate", type=float, metavar="BYTES_PER_S",
                       help="slowest average rate accepted once the grace is over; 0: any "
                       f"(default ${settings.FETCH_MIN_RATE_ENV} or "
                       f"{settings.DEFAULT_FETCH_MIN_RATE:g})")
    fetch.add_argument("--fx", action="store_true",
                       help="fetch only the exchange rates (FRED DEXJPUS daily, EXJPUS monthly) "
                       "into dated vintages under RAW/.fx/, which builds use; exit 1 when a "
                       "download failed (older vintages kept), 2 when one was malformed "
                       "(nothing kept)")
    fetch.add_argument("--fx-base-url", metavar="URL",
                       help=f"the rates' site (default ${settings.FX_BASE_URL_ENV} or "
                       f"{settings.DEFAULT_FX_BASE_URL})")
    fetch.set_defaults(func=cmd_fetch)

    sample = add("sample", help="write synthetic releases in the real layout")
    sample.add_argument("--out", required=True, help="folder to write release folders into")
    sample.add_argument("--years", default="2023-2025", help="e.g. 2023-2025 or 2024,2025")
    sample.add_argument("--scale", type=float, default=1.0, help="row-count multiplier")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--no-cp932", action="store_true",
                        help="write the Japanese-language (CP932) file in UTF-8 with the English "
                        "header, for readers that take no CP932 (the benchmark's yardstick)")
    sample.add_argument("--no-confidential", action="store_true",
                        help="no confidential (X) codes from April 2024: their figures stay on "
                        "9-digit codes, for readers that take only 9-digit codes (the "
                        "benchmark's yardstick)")
    sample.add_argument("--shape", choices=("sections", "large"), default="sections",
                        help="how each release's rows are split into files: three per flow by "
                        "HS section (sections, default), or one whole-year file per flow with "
                        "the fixed releases' exports by customs office, a Custom (port) column "
                        "(large); the rows and every total are the same")
    sample.add_argument("--census", action="store_true",
                        help="also write made-up US Census Bureau releases (OUT/USA/) mirroring "
                        "the trade with the United States, with the documented asymmetries "
                        "(docs/mirror.md)")
    sample.set_defaults(func=cmd_sample)

    sql = add("sql", help="run SQL against the warehouse (read-only)")
    sql.add_argument("query", nargs="?", help="SQL text (or use --file)")
    sql.add_argument("--file", help="read the SQL from this file (a regular UTF-8 file of at "
                     f"most ${settings.SQL_MAX_BYTES_ENV} bytes, default 1 MiB)")
    sql.add_argument("--warehouse", help="DuckDB file (default as for build)")
    sql.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sql.add_argument("--limit", type=int, default=1000, help="rows to print in a table (the "
                     "rest are counted, not kept; --csv prints every row)")
    sql.add_argument("--allow-external", action="store_true",
                     help="let the SQL read files and URLs (off by default)")
    sql.set_defaults(func=cmd_sql)

    brief = add("brief", help="the fiscal-year headline, with and without a partner")
    brief.add_argument("--fiscal-year", type=int, required=True, help="e.g. 2024 = Apr 2024 - "
                       "Mar 2025")
    brief.add_argument("--partner", help=PARTNER_HELP)
    brief.add_argument("--commodity", help=COMMODITY_HELP)
    brief.add_argument("--as-of", help="only releases published on or before this date")
    brief.add_argument("--mirror", action="store_true",
                       help="with --partner US: the US Census Bureau's own figures beside "
                       "Japan's, the gap and its three largest reasons (marts.mirror_balance)")
    brief.add_argument("--warehouse", help="DuckDB file (default as for build)")
    brief.set_defaults(func=cmd_brief)

    report = add("report", help="the brief with charts, as one self-contained HTML page",
                 description="Write the brief and five charts (monthly trade over three fiscal "
                 "years, the largest partner balances, the sectors behind the balance, the "
                 "fiscal year as known at each release, yen and dollars; with --commodity, a "
                 "sixth: the commodity's months) into one HTML file that opens offline: no "
                 "script, no request to any host.")
    report.add_argument("--fiscal-year", type=int, required=True, help="e.g. 2024 = Apr 2024 - "
                        "Mar 2025")
    report.add_argument("--partner", help=PARTNER_HELP)
    report.add_argument("--commodity", help=COMMODITY_HELP + " (adds a chart of its months)")
    report.add_argument("--as-of", help="only releases published on or before this date")
    report.add_argument("--out", default="report.html", help="the HTML file (default "
                        "report.html)")
    report.add_argument("--warehouse", help="DuckDB file (default as for build)")
    report.set_defaults(func=cmd_report)

    codes = add("codes", help="find HS headings, subheadings and 9-digit codes by words or code",
                description="Find commodities in the published warehouse's commodity dictionary "
                "by English words (motor cars), Japanese words (乗用自動車) or a code prefix "
                "(8703): code, what it is, the years its export code list holds it, its units "
                "and names (a 9-digit code with its subheading's). Codes no open list describes "
                "(import codes) are named after their subheading, as a national subdivision. "
                "Exit 2 when nothing matches, with the closest words or codes.")
    codes.add_argument("text", help="words or a code prefix (8703, 8703.23)")
    codes.add_argument("--year", type=int, help="only codes of that year's lists (or seen then)")
    codes.add_argument("--digits", type=int, choices=(4, 6, 9),
                       help="only headings (4), subheadings (6) or 9-digit codes")
    codes.add_argument("--limit", type=int, default=100, help="lines to print (default 100)")
    codes.add_argument("--partner", help="add each code's exports and imports with this "
                       "partner in the latest full calendar year (US, USA, 304, United States, "
                       "EU, ASEAN, Asia …)")
    codes.add_argument("--warehouse", help="DuckDB file (default as for build)")
    codes.set_defaults(func=cmd_codes)

    lake = add("lake", help="publish the warehouse as Iceberg tables; list its vintages",
               description="The lake: every public table of the published warehouse as an "
               "Iceberg table (namespace trade_etl) in a SQL catalog, readable by Spark, "
               "Trino, DuckDB and polars (docs/lake.md). The lake is --catalog-uri / "
               f"${settings.LAKE_CATALOG_ENV} and --warehouse-uri / "
               f"${settings.LAKE_WAREHOUSE_ENV}; by default lake/ beside the warehouse file.")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True)

    def lake_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--warehouse", help="DuckDB file (default as for build)")
        p.add_argument("--catalog-uri", help="Iceberg SQL catalog, a SQLAlchemy URL (default "
                       f"${settings.LAKE_CATALOG_ENV}, or catalog.sqlite in the lake folder)")
        p.add_argument("--warehouse-uri", help="where the lake's files go: a folder, file://, "
                       f"s3://… (default ${settings.LAKE_WAREHOUSE_ENV}, or lake/ beside the "
                       "warehouse file)")

    lake_publish = lake_sub.add_parser(
        "publish", parents=[common], help="write what changed since the last publish",
        description="Publish the warehouse file as it is now: the fact store one partition "
        "per release (only new or changed releases are written), every other table whole when "
        "it changed, then one publish_log entry. Unchanged: nothing is written.")
    lake_args(lake_publish)
    lake_publish.add_argument("--quiet", action="store_true", help="no per-table lines")
    lake_publish.add_argument("--new-lake", action="store_true",
                              help="start a new lake on purpose where the one this warehouse "
                              "published to is gone (its catalog missing, emptied or another "
                              "lake's); without it that is an error (exit 2)")
    lake_publish.set_defaults(func=cmd_lake_publish)
    lake_snapshots = lake_sub.add_parser(
        "snapshots", parents=[common], help="list the publishes (vintages) in the lake")
    lake_args(lake_snapshots)
    lake_snapshots.add_argument("--json", action="store_true",
                                help="print JSON, with every table's snapshot id")
    lake_snapshots.set_defaults(func=cmd_lake_snapshots)

    demo = add("demo", help="write the sample into the raw folder if empty, build")
    paths(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or settings.debug()  # before the settings: their own errors too
    try:
        args.settings = command_settings(args)  # read and checked once, for the whole command
        debug = args.settings.debug
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        explained = explain(exc)
        if explained is not None:
            _error(str(explained))
            return explained.exit_code
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        _error(f"unexpected {type(exc).__name__}: {first} (run with --debug for the "
               "traceback, and please report it)")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
