"""Named crash points for the crash-safety tests.

When the environment variable `TRADE_ETL_FAILPOINT` equals a point's name, the process kills
itself with SIGKILL right there, exactly as a power cut or `kill -9` would. Unset (always, outside
tests) this costs one dictionary lookup.
"""

import os
import signal

ENV = "TRADE_ETL_FAILPOINT"


def hit(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
