"""Why a brief or a report cannot be written, with the exit code the command returns.

Kept apart from brief.py so that the partner and commodity lookups (partners.py,
commodity_trade.py), which brief.py imports, can raise them too. `trade_etl.serve.brief`
re-exports both names, where callers have always found `BriefError`.
"""

from __future__ import annotations

from trade_etl.errors import EXIT_FAILED, EXIT_USAGE


class BriefError(Exception):
    """The brief cannot be written; the message says why (exit 1: no data, no release)."""

    exit_code = EXIT_FAILED


class LookupFailed(BriefError):
    """A partner or commodity given on the command line names nothing, or several things: the
    message lists the candidates or suggests the closest name (exit 2, a usage error)."""

    exit_code = EXIT_USAGE
