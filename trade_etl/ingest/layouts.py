"""The layout registry: for each reporter, the file layouts its releases come in.

A reporter (trade_etl/formats/reporters.py) is registered with its metadata (name, currency, the
unit of its stored values, its partner code list, its HS digits: a row of `ref.reporters`) and
its layouts. A layout says how to recognise a file from its header line (`matches`), how to
read the decoded text into named text columns (`read`, a RawTable), the pandera model of a
typed row (`model`, after `typed`), and how valid rows become month cells at the fact grain
(`reshape`). The loader decodes each file with its reporter's decoder, asks the reporter's
layouts in turn whether the header is theirs, and reads, validates and reshapes it with the
first that says yes; a file no layout takes is a file error with the reason.

Japan (`JPN`) is built in: its two Japan Customs layouts (`hs_country` and the customs-office
variant `hs_country_custom`), whose matcher is trade_etl/formats/customs_csv.resolve_header and
whose models and rules are in trade_etl/ingest/validation.py. Other reporters come from modules
named in the setting `TRADE_ETL_LAYOUT_MODULES` (Settings.layout_modules): each such module
defines `REPORTERS`, a sequence of `Reporter`s (tests/toy_layout.py is one). `registry(modules)`
imports them and gives the registry a build uses; everything that discovers, reads or stages
files takes it (docs/design.md, "Reporters").
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

from trade_etl.formats.customs_csv import FileProblem, decode, resolve_header
from trade_etl.formats.reporters import DEFAULT_REPORTER, is_reporter_folder
from trade_etl.ingest import census as census_layout
from trade_etl.ingest import shipped
from trade_etl.ingest.raw_csv import RawTable, split_lines
from trade_etl.ingest.validation import (
    JAPAN_CUSTOMS,
    MODELS,
    to_month_cells,
    typed_rows,
    validate_customs,
)
from trade_etl.settings import LAYOUT_MODULES_ENV, SettingError

# Code lists a layout's partner column can be checked against (the loader has them).
PARTNER_CODE_LISTS = (JAPAN_CUSTOMS,)
_CURRENCY = re.compile(r"^[A-Z]{3}$")  # ISO 4217


@dataclass(frozen=True)
class Layout:
    """One file layout of one reporter.

    - `matches(header_line)`: whether a file with this header line is in this layout; it may
      raise FileProblem to say why not (the reason recorded when no layout matches).
    - `read(text)`: the decoded file as a RawTable: `rows` with `line_number`, `raw_line` and a
      text column per field, `malformed` lines with their reason, `rows_read`.
    - `typed(rows)`: the text columns converted to what `model` checks, row for row (a text
      that cannot be converted becomes null, so the model's check names it).
    - `model`: the pandera DataFrameModel of a typed row.
    - `reshape(valid)`: valid typed rows (with `file_index`) -> non-zero month cells with
      `file_index`, flow (1 export, 2 import), year, month, hs_code, country_code (the partner),
      unit1, unit2, quantity1, quantity2 and value_thousand_jpy (the value in its reporter's
      `value_unit` of its currency: the column keeps its name, docs/warehouse.md).
    - `keys`: the typed columns that identify a row in a file; a later line repeating them is
      quarantined as a duplicate.
    - `partner_column`, `partner_codes`: the column checked against a code list, by name
      (`japan_customs`: ref.countries); None: the model checks partners itself.
    - `describe(check, column, raw_row)`: the quarantine reason of a failed check, from the
      row's text fields (None: `<column> fails <check>: <text>`); `validate`: a whole
      validation of its own (Japan's), else the model alone (validation.validate_rows).
    """

    reporter: str
    name: str  # audit.releases.layout
    matches: Callable[[str], bool]
    read: Callable[[str], RawTable]
    typed: Callable[[pl.DataFrame], pl.DataFrame]
    model: type[pa.DataFrameModel]
    reshape: Callable[[pl.DataFrame], pl.DataFrame]
    keys: tuple[str, ...] = ()
    partner_column: str | None = None
    partner_codes: str | None = None
    describe: Callable[[str, str | None, dict], str] | None = None
    validate: Callable | None = None


@dataclass(frozen=True)
class Reporter:
    """A reporter, its row of ref.reporters and its layouts (tried in order)."""

    reporter: str  # ISO 3166-1 alpha-3
    name: str
    currency: str  # ISO 4217 of its values
    value_unit: int  # currency units per stored value unit (Japan: 1000, thousand yen)
    partner_codes: str  # the code list its partners use
    hs_digits: int  # digits of its commodity codes
    layouts: tuple[Layout, ...] = ()
    decode: Callable[[bytes], tuple[str, str]] = field(default=decode)  # -> (text, encoding)

    def layout(self, name: str) -> Layout:
        for layout in self.layouts:
            if layout.name == name:
                return layout
        raise KeyError(f"reporter {self.reporter} has no layout {name!r}")

    def row(self) -> dict:
        """Its row of ref.reporters."""
        return {"reporter": self.reporter, "name": self.name, "currency": self.currency,
                "value_unit": self.value_unit, "partner_codes": self.partner_codes,
                "hs_digits": self.hs_digits}


def _customs_variant(variant: str) -> Callable[[str], bool]:
    """Japan's matcher of one variant: resolve_header decides the layout of a header, or says
    what is wrong with it (FileProblem)."""
    def matches(header: str) -> bool:
        return resolve_header(header)[0] == variant
    matches.__name__ = f"is_{variant}"
    return matches


def _customs(name: str, keys: tuple[str, ...], aggregate: bool) -> Layout:
    return Layout(
        reporter=DEFAULT_REPORTER, name=name, matches=_customs_variant(name), read=split_lines,
        typed=typed_rows, model=MODELS[name],
        reshape=functools.partial(to_month_cells, aggregate=aggregate), keys=keys,
        partner_column="country", partner_codes=JAPAN_CUSTOMS, validate=validate_customs)


# Japan, as Japan's Ministry of Finance reports it: the row data/ref/reporters.csv ships.
JAPAN = Reporter(
    reporter=DEFAULT_REPORTER, name="Japan", currency="JPY", value_unit=1000,
    partner_codes=JAPAN_CUSTOMS, hs_digits=9,
    layouts=(_customs("hs_country", ("flow", "year", "hs", "country"), aggregate=False),
             _customs("hs_country_custom", ("flow", "year", "custom", "hs", "country"),
                      aggregate=True)))

# The United States, as the US Census Bureau reports it (trade_etl/ingest/census.py): the
# International Trade API's answers, whole dollars, Census country codes, HS 10 digits.
UNITED_STATES = Reporter(
    reporter=census_layout.census.REPORTER, name="United States", currency="USD", value_unit=1,
    partner_codes="census", hs_digits=10,
    layouts=(Layout(reporter=census_layout.census.REPORTER, name=census_layout.LAYOUT,
                    matches=census_layout.matches, read=census_layout.read,
                    typed=census_layout.typed, model=census_layout.CensusRows,
                    reshape=census_layout.reshape, keys=census_layout.KEYS,
                    describe=census_layout.describe),))

# The reporters every build reads; another shipped reporter is added here (with its row in
# data/ref/reporters.csv), a user's through TRADE_ETL_LAYOUT_MODULES.
SHIPPED: tuple[Reporter, ...] = (JAPAN, UNITED_STATES)
if tuple(entry.reporter for entry in SHIPPED) != shipped.SHIPPED_REPORTERS:
    raise RuntimeError("trade_etl/ingest/shipped.py's SHIPPED_REPORTERS must name the reporters "
                       "of layouts.SHIPPED, in order")

_FIRST_LINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Registry:
    """The reporters a build reads: the shipped ones (Japan), and those of `modules`."""

    entries: tuple[Reporter, ...]
    modules: tuple[str, ...] = ()

    @property
    def reporters(self) -> tuple[str, ...]:
        return tuple(entry.reporter for entry in self.entries)

    def reporter(self, code: str) -> Reporter:
        for entry in self.entries:
            if entry.reporter == code:
                return entry
        raise FileProblem(f"no layout is registered for reporter {code}")

    def read(self, data: bytes, reporter: str) -> tuple[Layout, RawTable]:
        """Decode one file of `reporter` and read it with the first of its layouts whose
        matcher takes its header line; FileProblem when it cannot be read at all."""
        entry = self.reporter(reporter)
        text, encoding = entry.decode(data)
        header = _FIRST_LINE.split(text, maxsplit=1)[0]
        if not header.strip():
            raise FileProblem("first line is blank: expected the header")
        reasons = []
        for layout in entry.layouts:
            try:
                if not layout.matches(header):
                    continue
            except FileProblem as problem:
                reasons.append(str(problem))
                continue
            table = layout.read(text)
            table.layout, table.encoding = layout.name, encoding
            return layout, table
        if reasons:
            raise FileProblem(reasons[0])
        raise FileProblem(f"header is not a {entry.name} ({entry.reporter}) layout (one of "
                          f"{', '.join(layout.name for layout in entry.layouts)}): "
                          f"{header[:120]!r}")

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes when the registered layouts' code does (the staged bundles' key and the
        build's input fingerprint): this module's, and each registering module's file."""
        return shipped.fingerprint(self.modules)

    def rows(self) -> list[dict]:
        """The reporters' rows of ref.reporters, in registration order."""
        return [entry.row() for entry in self.entries]


def _problem(entry: object, seen: set[str]) -> str | None:
    """Why a module's REPORTERS entry cannot be registered; None when it can."""
    if not isinstance(entry, Reporter):
        return f"REPORTERS holds {type(entry).__name__}, not a trade_etl.ingest.layouts.Reporter"
    if not is_reporter_folder(entry.reporter):
        return f"reporter {entry.reporter!r} is not an ISO 3166-1 alpha-3 code (three capitals)"
    if entry.reporter in seen:
        return f"reporter {entry.reporter} is registered already"
    if not _CURRENCY.fullmatch(entry.currency):
        return f"{entry.reporter}: currency {entry.currency!r} is not an ISO 4217 code"
    if not entry.layouts:
        return f"{entry.reporter}: no layouts"
    names = [layout.name for layout in entry.layouts]
    for layout in entry.layouts:
        if layout.reporter != entry.reporter:
            return f"{entry.reporter}: layout {layout.name} belongs to {layout.reporter}"
        if names.count(layout.name) > 1:
            return f"{entry.reporter}: layout {layout.name} is listed twice"
        if layout.partner_codes not in (None, *PARTNER_CODE_LISTS):
            return (f"{entry.reporter}: layout {layout.name} checks partners against "
                    f"{layout.partner_codes!r}; known lists: {', '.join(PARTNER_CODE_LISTS)}")
    return None


@functools.lru_cache(maxsize=8)
def registry(modules: tuple[str, ...] = ()) -> Registry:
    """The shipped reporters' layouts (Japan's) and those the `modules` register
    (Settings.layout_modules); SettingError, one line naming the module, when one cannot be
    imported or registers something invalid."""
    entries = list(SHIPPED)
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - any failure of a user's module is one line
            raise SettingError(f"{LAYOUT_MODULES_ENV} names {name}, which cannot be imported: "
                               f"{type(err).__name__}: {err}") from None
        reporters = getattr(module, "REPORTERS", None)
        if not isinstance(reporters, (list, tuple)) or not reporters:
            raise SettingError(f"{LAYOUT_MODULES_ENV} names {name}, which defines no "
                               "REPORTERS (a list of trade_etl.ingest.layouts.Reporter)")
        for entry in reporters:
            problem = _problem(entry, {e.reporter for e in entries})
            if problem is not None:
                raise SettingError(f"{LAYOUT_MODULES_ENV}: {name}: {problem}")
            entries.append(entry)
    return Registry(tuple(entries), tuple(modules))


BUILT_IN = registry()
