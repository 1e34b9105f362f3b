"""One settings object: flags over environment over defaults, checked once, never written back."""

import os

import pytest

from trade_etl.defs.resources import (
    NOT_RUN_SETTINGS,
    RUN_SETTINGS,
    TradeEtlConfig,
    run_config_for,
)
from trade_etl.settings import SETTING_NAMES, SettingError, Settings


def test_flags_win_over_the_environment_which_wins_over_defaults():
    assert Settings.from_env({}).fiscal_start_month == 4
    env = {"TRADE_ETL_FISCAL_START_MONTH": "1", "TRADE_ETL_RAW_DIR": "r"}
    assert Settings.from_env(env).fiscal_start_month == 1
    given = Settings.from_env(env, fiscal_start_month=7, raw_dir=None, allow_dates=True)
    assert (given.fiscal_start_month, str(given.raw_dir), given.allow_dates) == (7, "r", True)


def test_a_bad_value_is_the_same_one_line_error_from_any_source():
    with pytest.raises(SettingError, match=r"^TRADE_ETL_FISCAL_START_MONTH must be a month"):
        Settings.from_env({"TRADE_ETL_FISCAL_START_MONTH": "13"})
    with pytest.raises(SettingError, match=r"^TRADE_ETL_FISCAL_START_MONTH must be a month"):
        Settings.from_env({}, fiscal_start_month=0)


def test_the_resource_mirrors_the_settings_and_run_config_round_trips(tmp_path):
    assert set(TradeEtlConfig.model_fields) == set(SETTING_NAMES) - set(NOT_RUN_SETTINGS)
    config = Settings.from_env({}, raw_dir=tmp_path / "raw", warehouse=tmp_path / "w.duckdb",
                               allow_dates=True)
    given = run_config_for(config)["trade_etl"]["config"]
    in_run = TradeEtlConfig(**given).settings()  # every run setting given: none from the env
    assert all(getattr(in_run, name) == getattr(config, name) for name in RUN_SETTINGS)


def test_the_cli_leaves_the_environment_as_it_found_it(tmp_path):
    from trade_etl.app import cli

    before = dict(os.environ)
    cli.main(["build", "--raw-dir", str(tmp_path / "none"), "--warehouse",
              str(tmp_path / "w.duckdb"), "--allow-dates", "--debug"])
    assert dict(os.environ) == before
