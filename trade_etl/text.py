"""Text from the data, made safe to show: control characters escaped.

A partner name, a file name or a SQL result can hold control characters (ESC starts terminal
escape sequences; vl-convert panicked on one in a chart label). Every text output (the brief,
the report and its chart specs, CLI errors, the `sql` table, the progress log) passes through
`visible`, which writes each C0 and C1 control character and DEL as a Python-style escape
(`\\x1b`), keeping newlines and tabs where the output is lines of text.
"""

from __future__ import annotations

import logging
import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n
_CONTROLS_ALL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible(text: str, lines: bool = True) -> str:
    """`text` with control characters escaped (`\\x1b`); newlines and tabs kept when `lines`,
    escaped otherwise (a table cell, a chart label)."""
    return (_CONTROLS if lines else _CONTROLS_ALL).sub(_escape, text)


def visible_tree(value, lines: bool = False):
    """Every string in nested dicts and lists (a Vega-Lite spec) made visible, keys included."""
    if isinstance(value, str):
        return visible(value, lines)
    if isinstance(value, dict):
        return {visible_tree(k, lines): visible_tree(v, lines) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_tree(v, lines) for v in value]
    return value


class VisibleFormatter(logging.Formatter):
    """A logging formatter whose lines show control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))
