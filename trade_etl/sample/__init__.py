"""Deterministic **synthetic** sample of Japan Customs trade-statistics release files.

Nothing written here is real customs data.  The package fabricates HS x country x month rows that
*look like* the CSV downloads of Japan's trade statistics, calibrated so that a warehouse built on
them reproduces published headline figures.  Use it for demos, tests and benchmarks; never quote it.

API
---
``write_sample(out_dir, years=(2023, 2024, 2025), scale=1.0, seed=0, bad_rows=True, cp932=True)``
writes one folder per release, ``<out_dir>/<YYYY-MM-DD>_<stage>/``, and returns them sorted
(ValueError if ``out_dir`` already holds release folders).
``parse_years("2023-2025" | "2023,2024")`` parses a year spec.  ``release_schedule(year)`` lists
a year's releases.  ``header(...)`` gives a release file's column names.
``build_profile(reference_dir)`` is a developer tool that re-derives the package's
``profile.csv`` from the shared reference files; at run time the package reads only that
file and the project's ``data/ref/countries.csv`` (``settings.REF_DATA_DIR``).  CLI:
``python -m trade_etl.sample OUT --years 2023-2025 [--scale 1] [--seed 0] [--no-bad-rows]
[--no-cp932] [--no-confidential] [--shape sections|large]`` (``cp932=False``: the Japanese download
is written in UTF-8 with the English header, for the benchmark's yardstick, which reads no CP932;
``shape``: how each release's rows are split into files, below).
Only polars and the standard library are used (randomness: counter-based splitmix64 hashes of
``seed``, so identical arguments give byte-identical files; zip members are dated 2020-01-01).

Modules: ``rand`` (the splitmix64 helpers), ``calibration`` (real-world constants, the reference
profile, partner tables), ``plan`` (releases, exact targets, the rows of each flow-year) and
``writer`` (files, ``write_sample``, the CLI); each imports only modules listed before it.

Layout
------
``Exp or Imp,Year,HS,Country,Unit1,Unit2,Quantity1-Year,Quantity2-Year,Value-Year,Quantity1-Jan,
Quantity2-Jan,Value-Jan,...,Value-Dec`` (45 columns).  Values in thousand yen; ``Exp or Imp`` 1 =
export, 2 = import; HS = 9-digit code (real HS 2022 subheading + real Japanese 3-digit suffix from
the 2024 export statistical code list, which imports reuse; Unit2 from that list); Country = customs
code from ``countries.csv``; Unit1 is blank except KL for 2709/2710 and DZ for chapters 61/62;
Year columns = sums of the months; months not yet published are 0.  One file per flow, year and HS
section range: ``exp_2024_s01-s07.csv`` (chapters 01-40), ``_s08-s15`` (41-83), ``_s16-s21``
(84-97).  At scale 1 a flow-year has about 3,800 export / 3,400 import rows.

Shapes (``shape=``, ``trade-etl sample --shape``): the above is ``"sections"``, the default, many
section-sized files per release as e-Stat lists its tables.  ``"large"`` writes the same rows as
few large files, as the Ministry's whole-year downloads: one file per flow and release with every
HS section (``exp_2024.csv``; the zipped release: ``exp_2024.zip`` holding it), and in every fixed
(R6) release the exports as a customs-office file instead (``exp_2024_custom.csv``: the
``Custom`` column, every HS x country row spread over 2-4 ports whose figures sum exactly to it,
as the quirk below does for one section file).  The warehouse sums ports and the files of a
release (docs/ingest.md), so both shapes give the same facts and totals to the yen; only the
number of files, their sizes and the lines read differ (ports are extra lines).  The quirks
below apply to the whole-year file that holds the named section file's rows (the Japanese
download is the whole import file; the bad lines go into both whole-year files of the release,
the subtotal repeats the US lines of the whole export file).

Releases of each year Y and where the quirks are
------------------------------------------------
====  =======================  =======  =========================================================
kind  folder                   months   quirks
====  =======================  =======  =========================================================
R1    Y-04-17_preliminary      Jan-Mar  HS as ``'870323915'``, blank Unit1, LF.  Last year of
                                        ``years``: ``imp_Y_s01-s07.csv`` is a Japanese download,
                                        cp932, header ``輸出入,年,HS,国,単位1,単位2,数量1-年,...,
                                        金額-12月``.
R2    Y-07-17_preliminary      Jan-Jun  bare HS ``870323915``; Unit1 = two spaces.  First year:
                                        the release is zipped (``exp_Y.zip`` / ``imp_Y.zip``,
                                        each holding the three section CSVs).
R3    Y-10-16_preliminary      Jan-Sep  April spelled ``Apl``; Unit1 = two spaces.
R4    (Y+1)-01-2x_preliminary  Jan-Dec  UTF-8 BOM.  2025-01-23 for 2024, 2026-01-22 for 2025,
                                        otherwise the Thursday of 19-25 January.
R5    (Y+1)-03-10_revised      Jan-Dec  CRLF line endings; Unit1 = two spaces.
R6    (Y+1)-11-28_fixed        Jan-Dec  First year: ``exp_Y_s08-s15.csv`` is the customs-office
                                        variant (``Custom`` after ``Year``, 46 columns, 2-4 ports
                                        per HS x country, summing exactly to the plain figures).
====  =======================  =======  =========================================================

Each release holds the whole year-Y file set.  Relative to the fixed release, 25-50 % of the rows
of an earlier release differ (typically by 0.1-2 %; R5 by ~0.4 %) and the rest are equal; about
0.15 % of rows vanish after R3 and as many after R4, and as many appear only from R4 / R5 on.

Bad rows (``bad_rows=True``): six EXTRA lines a validator must quarantine, counted in no total,
in the R4 release of the middle year of ``years`` (default 2024: ``2025-01-23_preliminary``).
``exp_Y_s16-s21.csv``: unknown country ``999``; 8-digit HS ``'87089910'``; negative month value;
a subtotal line, HS ``'S-TOTAL'``, country 304, repeating the sum of that file's US lines.
``imp_Y_s01-s07.csv``: a line with 20 fields; a decimal value ``1234.5``.

Confidential codes (from the April 2024 figures, as Customs does): in each flow-year from 2024,
two rows (seeded draw among non-anchor rows present in every release, chapters 32, 33, 38, 48, 70,
82, 95, whose codes all fall in one sector) move their figures from April 2024 on to a code of
their own in the same file, same partner and units: one keeps the chapter (``38XXXXXXX``), one
the heading (``4821XXXXX``).  Totals by partner, segment, month and sector do not change, so the
calibration below holds with them counted.

Code changes (``plan.CODE_CHANGES``): the sample's codes are those of the 2024 list in every year,
except two real code changes it stages on dates of its own, so that the classification lineage
(``marts.trade_comparable``, docs/warehouse.md "Comparable series") has something to show.  An
**edition change**: HS 2022 split telephones for cellular networks (8517.12, code ``851712000``)
into smartphones (``851713000``) and other such telephones (``851714000``) in January 2022; the
sample writes the old code until 2023 and the new ones from 2024.  A **January split**: Customs
split semiconductor testers ``903082000`` into ``903082100`` and ``903082900`` in January 2018;
the sample writes the old code until 2024 and the new ones from 2025.  Before the change the new
codes' figures are summed, partner by partner, under the old code (same units, ``NO``), so every
total stays the same.  The families come from the real lists, so in the sample ``851712000`` of
2023 and ``903082000`` of 2023-2024 are codes missing from their year's list that take the family
of the nearest list holding them (2021, 2017): one family with their successors at level ``hs6``
(the edition change) and ``hs9`` (the split), whose ``comparable_since`` is the real year (2022,
2018), not the sample's.

Manifests: release folders published from 2025-01-01 (``writer.MANIFESTS_FROM``) hold a
``.manifest.json`` shaped like the fetcher's (``trade_etl/formats/manifest.py``): per file its flow,
year, months with stages (a preliminary release: earlier months ``detailed``, the newest
``preliminary``, as e-Stat titles say ``Import Jan-Feb:Detailed, Mar:9-digit Provisional``;
revised and fixed: every month at that stage), title, bytes, sha256, statInfId ``9999…`` (not an
e-Stat id) and release count 1.  Earlier folders are as dropped by hand: the warehouse gives their
months their folder's stage.

Supersession and calibration
----------------------------
Releases are ordered by date, then stage (preliminary < revised < fixed).  For every (flow, year,
month, HS chapter) cell a release reports (any non-zero number), its rows replace all earlier rows
of that cell.  Every chapter and country present in a flow-year keeps an "anchor" row that is
non-zero in every published month of every release, so "as of D" equals, month by month, the
latest release on or before D covering that month.  Largest-remainder integer apportionment makes
these views hit, to the thousand yen, at any ``scale`` and ``seed``:

* FY2024 (Apr 2024-Mar 2025) as of 2025-04-17: exports 108,934,500,000; imports 114,156,200,000;
  USA (304) 21,648,200,000 / 12,642,900,000; China (105) 18,890,000,000 / 25,940,000,000; EU-27
  balance -2,530,000,000; customs area Asia exports 58,051,300,000.  FY2023 as of the same date:
  exports 102,865,400,000, imports 109,031,700,000 (+5.9 % / +4.7 %).
* Calendar 2024 as of 2025-01-23: exports 107,090,000,000; imports 112,420,000,000; USA
  21,300,000,000 / 12,650,000,000; China 18,870,000,000 / 25,310,000,000.
* Calendar 2025 as of 2026-01-22: exports 110,448,000,000; imports 113,098,700,000; US balance
  +7,521,400,000; China balance -7,914,700,000.
  (Ministry of Finance press releases of 2025-04-17, 2025-01-23 and 2026-01-22 as reported by
  Kyodo, Xinhua, AP and Jiji; see the shared ``reference/facts/mof_headline_figures.md``.)
* The fixed (R6) release of every year: world, EU-27 and every partner that ``trade_year.csv``
  names equal that file's calendar-year totals exactly (e.g. CY2024 exports 107,087,511,087,
  imports 112,715,960,939).  ``trade_year.csv`` = MOF principal-commodity-by-area tables in
  billion yen, as packaged by the public repository mitsuoxv/jp-trade (MIT).  EU-27 before 2020 =
  EU minus the UK; years outside 2009-2025 reuse the nearest year.

Composition: partner totals per year and, per partner and flow, the shares of ~50 MOF
principal-commodity groups (average 2023-2025; e.g. cars, auto parts, ICs, semiconductor
equipment, crude oil, LNG, coal, medicines) come from ``trade_year.csv`` via ``profile.csv``;
trade of countries the file does not name is spread with hand-set weights
(``calibration._REST_WEIGHTS``).  The monthly pattern is a stylised seasonality with noise.  Rows
per partner x group grow with the square root of its value; the 6,760 real codes cap a flow-year at
~1.56 million rows (scale ~ 400).
"""

from trade_etl.sample.calibration import build_profile
from trade_etl.sample.plan import parse_years, release_schedule
from trade_etl.sample.writer import header, write_sample

__all__ = ["build_profile", "header", "parse_years", "release_schedule", "write_sample"]
