"""Release folder names: `<publication-date>_<stage>[-rN]`, how they order, and what makes one
unusable. Shared by release discovery (trade_etl/ingest/releases.py) and the fetchers, which name
the folders they write (trade_etl/fetch/census.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

RELEASE_DIR = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})_([A-Za-z][A-Za-z0-9-]*)$")
# `<date>_<stage>-r2`: a second version of tables published the same day (the fetcher puts it
# there, trade_etl/fetch/fetcher.py), ordered after `<date>_<stage>` and before `-r3`.
REVISION = re.compile(r"^(.+?)-r([0-9]{1,3})$", re.IGNORECASE)
# The 9-digit HS layout of these files starts with the Harmonized System, 1988; a release
# dated later than today (plus a day for Japan's time zone ahead of UTC and one for clocks) is
# a mistyped name, and it would supersede every figure.
FIRST_RELEASE_DATE = date(1988, 1, 1)
FUTURE_ALLOWANCE_DAYS = 2
# Japan Customs publishes each month in these stages; several spellings are in use.
STAGE_RANK = {"preliminary": 1, "provisional": 1, "detailed": 2, "confirmed": 2, "revised": 3,
              "fixed": 4, "final": 4}


def stage_rank(stage: str | None) -> int:
    return STAGE_RANK.get((stage or "").lower(), 0)


def release_revision(release_id: str) -> int:
    """2 for `2025-04-17_preliminary-r2`, 1 without the suffix (as core.release_revision)."""
    match = REVISION.match(release_id)
    return int(match.group(2)) if match else 1


def parse_release_dir(name: str, today: date | None = None, allow_dates: bool = False
                      ) -> tuple[date | None, str | None, str | None]:
    """(published_on, stage, problem) for a release folder name. The stage leaves out a
    revision suffix (`preliminary-r2` is a preliminary release). A date after today or before
    1988 is a problem unless `allow_dates` (Settings.allow_dates, `--allow-dates`)."""
    match = RELEASE_DIR.match(name)
    if not match:
        return None, None, "folder name is not <YYYY-MM-DD>_<stage>, e.g. 2025-04-17_preliminary"
    try:
        published = date.fromisoformat(match.group(1))
    except ValueError:
        return None, None, f"folder name has an invalid date {match.group(1)!r}"
    stage = match.group(2).lower()
    revision = REVISION.match(stage)
    if revision:
        stage = revision.group(1)
    today = today or date.today()
    problem = None
    if not allow_dates and published > today + timedelta(days=FUTURE_ALLOWANCE_DAYS):
        problem = (f"release date {published} is in the future: a mistyped folder name? (it "
                   "would supersede every earlier figure); rename the folder, or build with "
                   "--allow-dates to load it")
    elif not allow_dates and published < FIRST_RELEASE_DATE:
        problem = (f"release date {published} is before 1988, the first year of the HS "
                   "layout these files use; rename the folder, or build with --allow-dates "
                   "to load it")
    return published, stage, problem
