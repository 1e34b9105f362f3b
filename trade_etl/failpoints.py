"""Named crash and pause points for the crash-safety and concurrency tests.

When the environment variable `TRADE_ETL_FAILPOINT` equals a point's name, the process kills
itself with SIGKILL right there, exactly as a power cut or `kill -9` would. When
`TRADE_ETL_PAUSEPOINT` equals it, the process says so on stderr and sleeps there
(`TRADE_ETL_PAUSE_SECONDS`, default two minutes; or until the file `TRADE_ETL_PAUSE_UNTIL`
exists, if set) so that a test can act while a build is mid-way. Unset (always, outside
tests) this costs two dictionary lookups.
"""

import os
import signal
import sys
import time

ENV = "TRADE_ETL_FAILPOINT"
PAUSE_ENV = "TRADE_ETL_PAUSEPOINT"
PAUSE_UNTIL_ENV = "TRADE_ETL_PAUSE_UNTIL"


def hit(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        until = time.monotonic() + float(os.environ.get("TRADE_ETL_PAUSE_SECONDS", "120"))
        resume = os.environ.get(PAUSE_UNTIL_ENV)
        while time.monotonic() < until and not (resume and os.path.exists(resume)):
            time.sleep(0.05 if resume else max(until - time.monotonic(), 0))


VERIFY_ENV = "TRADE_ETL_VERIFY"


def verifying(name: str) -> bool:
    """Whether the tests asked for the costly self-check `name` (`TRADE_ETL_VERIFY`, a comma
    list: `sync` compares every table after publishing's catch-up, trade_etl/store/sync.py)."""
    return name in os.environ.get(VERIFY_ENV, "").split(",")
