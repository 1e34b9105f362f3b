"""Reporters: whose statistics a release holds, and where their release folders live.

A reporter is the country whose statistics office publishes the figures, named by its ISO 3166-1
alpha-3 code. Japan (`JPN`) is the default and the only reporter shipped: its release folders
sit directly under the raw folder, as the fetcher writes them, or under `raw/JPN/`; either way a
Japan release's id is its folder name (`2025-04-17_preliminary`). Another reporter's release
folders sit under `raw/<ISO3>/`, and their ids carry the reporter (`USA/2024-06-05_revised`),
which is also the folder's path under the raw folder, so ids stay unique across reporters.
Shared by the fetcher's manifests (trade_etl/formats/manifest.py) and release discovery
(trade_etl/ingest/releases.py).
"""

from __future__ import annotations

import re

DEFAULT_REPORTER = "JPN"
# A folder directly under the raw folder named by three capital letters holds a reporter's
# release folders (release folders themselves start with a date).
REPORTER_FOLDER = re.compile(r"^[A-Z]{3}$")
SEPARATOR = "/"  # between a reporter and its folder in a release id (allowed in Dagster keys)
# The files a reporter's release folders hold (anything else there is a file problem): Japan's,
# and any reporter's not listed, CSV files and zip archives of them; the US Census Bureau's, the
# API's JSON answers (trade_etl/formats/census.py).
DATA_SUFFIXES = {"USA": (".json",)}
DEFAULT_DATA_SUFFIXES = (".csv", ".zip")


def data_suffixes(reporter: str) -> tuple[str, ...]:
    return DATA_SUFFIXES.get(reporter, DEFAULT_DATA_SUFFIXES)


def is_reporter_folder(name: str) -> bool:
    return REPORTER_FOLDER.fullmatch(name) is not None


def release_id(reporter: str, folder: str) -> str:
    """The id of `reporter`'s release folder `folder`: the folder name for Japan, else
    `<reporter>/<folder>`."""
    return folder if reporter == DEFAULT_REPORTER else f"{reporter}{SEPARATOR}{folder}"


def reporter_of(release: str) -> str:
    """The reporter a release id belongs to (`USA/2024-06-05_revised` -> `USA`)."""
    head, sep, _rest = release.partition(SEPARATOR)
    return head if sep and is_reporter_folder(head) else DEFAULT_REPORTER
