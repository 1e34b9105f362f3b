"""The columns of every public table, defined once (after PUDL's `src/pudl/metadata/`).

`FIELDS` describes each column name once (DuckDB type, unit, meaning); `TABLES` composes each
public table or view from those names, with per-table `overrides` where a shared name means
something specific there. From this spec come the DuckDB comments (`apply_comments`), the
Dagster column schemas (`trade_etl.defs.columns`) and the column tables of docs/warehouse.md
(`render_docs`; `python -m trade_etl.formats.schema --write-docs` rewrites the page).

Names and types follow the warehouse, never the reverse: public names are a contract, and
tests/test_schema.py compares this spec with a built warehouse column by column.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Units by column-name suffix (docs/warehouse.md: "Units are suffixes").
JPY, THOUSAND_JPY, USD, PCT = "JPY", "thousand JPY", "USD", "percent"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as DuckDB reports it in duckdb_columns().data_type
    description: str
    unit: str | None = None

    @property
    def comment(self) -> str:
        """The description with its unit, as written to DuckDB and Dagster."""
        if not self.unit:
            return self.description
        text = self.description.removesuffix(".")
        return f"{text} (unit: {self.unit}){'.' if text != self.description else ''}"


# Each column name once: {"type", "description", optional "unit"}.
FIELDS: dict[str, dict[str, str]] = {
    # releases and files
    "release_id": {"type": "VARCHAR", "description":
                   "The release: its folder name `<publication-date>_<stage>`, e.g. "
                   "`2025-04-17_preliminary`; a release of a reporter other than Japan is "
                   "`<reporter>/<folder name>` (`USA/2024-06-05_revised`), the folder's path "
                   "under the raw folder."},
    "reporter": {"type": "VARCHAR", "description":
                 "The reporting country whose statistics these are, ISO 3166-1 alpha-3 "
                 "(`ref.reporters`): `JPN`, Japan as its Ministry of Finance reports it (the "
                 "default), or `USA`, the United States as its Census Bureau reports it."},
    "published_on": {"type": "DATE", "description":
                     "Publication date of the release, from its folder name."},
    "stage": {"type": "VARCHAR", "description":
              "Stage of the release, from its folder name (`preliminary`, `detailed`, "
              "`revised`, `fixed`, …; free text)."},
    "file_name": {"type": "VARCHAR", "description":
                  "The CSV within the release folder; a zip member is `<zip>/<member>`."},
    "sha256": {"type": "VARCHAR", "description": "SHA-256 of the CSV's bytes (of the member, "
               "for a zip member)."},
    "path": {"type": "VARCHAR", "description": "Absolute path of the file when it was found."},
    "size_bytes": {"type": "BIGINT", "unit": "bytes", "description": "Size of the file."},
    "mtime_ns": {"type": "BIGINT", "unit": "ns since the Unix epoch",
                 "description": "Modification time of the file."},
    "ctime_ns": {"type": "BIGINT", "unit": "ns since the Unix epoch",
                 "description": "Status-change time of the file."},
    "inode": {"type": "BIGINT", "description": "Inode number of the file. With size and both "
              "times, a stored hash is reused only when all four match."},
    "problem": {"type": "VARCHAR", "description":
                "Why the file cannot be loaded as found (not a .csv or .zip, still "
                "downloading, differs from its .manifest.json, …); empty when none."},
    "discovered_at": {"type": "TIMESTAMP", "description": "When the discovery ran (local time)."},
    "rows_read": {"type": "BIGINT", "description":
                  "Data lines read (blank lines are not rows); rows_read = rows_loaded + "
                  "rows_quarantined."},
    "rows_loaded": {"type": "BIGINT", "description": "Lines that passed validation."},
    "rows_quarantined": {"type": "BIGINT", "description":
                         "Lines quarantined with a reason (audit.quarantine)."},
    "loaded_at": {"type": "TIMESTAMP", "description": "When the build stored the file (local "
                  "time)."},
    "source_file": {"type": "VARCHAR", "description":
                    "The file on disk within the release folder (the zip, for a member)."},
    "source_sha256": {"type": "VARCHAR", "description": "SHA-256 of the file on disk."},
    "status": {"type": "VARCHAR", "description": "`loaded`, `error` (the file could not be "
               "read; see error) or `skipped` (not a .csv or .zip, or still downloading)."},
    "error": {"type": "VARCHAR", "description":
              "Why the file failed or was skipped; empty when loaded."},
    "source_problem": {"type": "VARCHAR", "description":
                       "The problem raw.release_files recorded for the file on disk when it "
                       "was stored (differs from its .manifest.json, dated in the future, "
                       "…); empty when none. A file is stored again when its problem changes, "
                       "so an incremental build ends where a clean one does."},
    "layout": {"type": "VARCHAR", "description": "The file layout: `hs_country`, or "
               "`hs_country_custom` (with a customs-office column; ports are summed); for "
               "another reporter, the name of its registered layout."},
    "encoding": {"type": "VARCHAR", "description": "The text encoding read: `utf-8`, "
                 "`utf-8-sig` (with a BOM), `cp932`, `utf-16-le` or `utf-16-be`."},
    "cells_loaded": {"type": "BIGINT", "description":
                     "Non-zero month cells stored in core.trade_facts from the file."},
    "value_year_mismatches": {"type": "BIGINT", "description":
                              "Lines whose Value-Year differs from the sum of their months "
                              "(the months are loaded)."},
    "line_number": {"type": "BIGINT", "description":
                    "Physical line number in the CSV (the header is line 1)."},
    "reason": {"type": "VARCHAR", "description": "Every reason the line failed, separated by "
               "`; `."},
    "raw_line": {"type": "VARCHAR", "description": "The line as read (only its first 4,096 "
                 "characters when it is longer than 65,536)."},
    "stat_inf_id": {"type": "VARCHAR", "description":
                    "e-Stat's 12-digit statInfId of the table version."},
    "update_date": {"type": "DATE", "description": "The table's update date on e-Stat."},
    "title": {"type": "VARCHAR", "description": "The table's title on e-Stat, from which the "
              "months and their stages are read."},
    "stage_source": {"type": "VARCHAR", "description":
                     "`manifest` (the month's stage stated by the fetcher's .manifest.json, "
                     "from the table title) or `folder` (no manifest states it: the stage in "
                     "the release folder's name)."},
    "release_seq": {"type": "BIGINT", "description":
                    "Position in supersession order among its reporter's releases (1 = first): "
                    "by publication date, then stage (preliminary < detailed < revised < "
                    "fixed), then name."},
    # trade cells
    "flow": {"type": "TINYINT", "description": "1 = export, 2 = import."},
    "year": {"type": "SMALLINT", "description": "Calendar year."},
    "month": {"type": "TINYINT", "description": "Calendar month, 1–12."},
    "hs_code": {"type": "VARCHAR", "description": "The 9-digit statistical code, as text; "
                "from the April 2024 figures also a confidential code, its upper digits kept "
                "and the rest `X` (`38XXXXXXX`)."},
    "hs_digits_kept": {"type": "BIGINT", "description": "How many leading digits a "
                       "confidential code keeps (2 = the chapter, as in `38XXXXXXX`)."},
    "partners": {"type": "BIGINT", "description": "Number of partner countries with a value."},
    "share_of_month_pct": {"type": "DOUBLE", "unit": PCT, "description":
                           "The value as a share of the flow's total that month."},
    "hs_chapter": {"type": "VARCHAR", "description":
                   "HS chapter: the first two digits of the code (`01` … `97`)."},
    "hs_section": {"type": "VARCHAR", "description": "HS section, Roman numeral `I` … `XXI`."},
    "country_code": {"type": "VARCHAR", "description":
                     "Japan Customs 3-digit country code, as text (`304` United States, "
                     "`105` China)."},
    "unit1": {"type": "VARCHAR", "description": "Unit of quantity1 as published (blank when "
              "none)."},
    "unit2": {"type": "VARCHAR", "description": "Unit of quantity2 as published (e.g. `KG`, "
              "`NO`)."},
    "quantity1": {"type": "BIGINT", "description": "First quantity, in unit1."},
    "quantity2": {"type": "BIGINT", "description": "Second quantity, in unit2."},
    "value_thousand_jpy": {"type": "BIGINT", "unit": THOUSAND_JPY,
                           "description": "Value as published. For a reporter whose currency "
                           "is not JPY (`ref.reporters`), its value in its `value_unit` of its "
                           "currency (docs/warehouse.md, Reporters)."},
    "top_sector_code": {"type": "VARCHAR", "description":
                        "The top-level sector of the code (`ref.sectors`, longest "
                        "`ref.sector_map` prefix among top-level rows)."},
    "highlight_sector_code": {"type": "VARCHAR", "description":
                              "The highlighted sector of the code, if any (longest prefix "
                              "among highlight rows); empty for most codes."},
    # periods and balances
    "period_type": {"type": "VARCHAR", "description":
                    "`month`, `fiscal_quarter`, `fiscal_half`, `fiscal_year`, "
                    "`calendar_quarter` or `calendar_year`."},
    "period": {"type": "VARCHAR", "description":
               "Period label: `2024-04`, `FY2024Q1`, `FY2024H2`, `FY2024`, `CY2024Q2`, "
               "`CY2024`."},
    "period_start": {"type": "DATE", "description": "First day of the period."},
    "period_end": {"type": "DATE", "description": "Last day of the period."},
    "months_reported": {"type": "BIGINT", "description":
                        "Months of the period present in the data (12 for a complete fiscal "
                        "year; fewer while it is under way); the same for every row of a "
                        "period."},
    "exports_jpy": {"type": "BIGINT", "unit": JPY, "description":
                    "Exports: the published thousand-yen values × 1000, summed exactly."},
    "imports_jpy": {"type": "BIGINT", "unit": JPY, "description":
                    "Imports: the published thousand-yen values × 1000, summed exactly."},
    "balance_jpy": {"type": "BIGINT", "unit": JPY, "description": "Exports − imports."},
    "exports_usd": {"type": "DOUBLE", "unit": USD, "description":
                    "Exports, each month converted at its monthly average rate "
                    "(`ref.fx_monthly`), then summed, to the cent; empty when a month of the "
                    "period has no rate."},
    "imports_usd": {"type": "DOUBLE", "unit": USD, "description":
                    "Imports, each month converted at its monthly average rate "
                    "(`ref.fx_monthly`), then summed, to the cent; empty when a month of the "
                    "period has no rate."},
    "balance_usd": {"type": "DOUBLE", "unit": USD, "description":
                    "Exports − imports in dollars, to the cent."},
    "exports_yoy_pct": {"type": "DOUBLE", "unit": PCT, "description":
                        "Change of exports against the same months a year earlier; empty "
                        "unless every reported month of the period has its month a year "
                        "earlier."},
    "imports_yoy_pct": {"type": "DOUBLE", "unit": PCT, "description":
                        "Change of imports against the same months a year earlier; empty "
                        "unless every reported month of the period has its month a year "
                        "earlier."},
    # dimensions
    "partner_code": {"type": "VARCHAR", "description":
                     "The partner's Japan Customs 3-digit country code (`304` United States, "
                     "`105` China)."},
    "partner_name": {"type": "VARCHAR", "description":
                     "The partner's English name, as Customs spells it (`ref.countries`)."},
    "partner_iso3": {"type": "VARCHAR", "description": "The partner's ISO 3166-1 alpha-3 code; "
                     "empty where it has none."},
    "area": {"type": "VARCHAR", "description":
             "Customs area: `Asia`, `Middle East`, `Western Europe`, `Central and Eastern "
             "Europe/Russia`, `North America`, `Latin America`, `Africa`, `Oceania` or "
             "`Special Area`."},
    "region": {"type": "VARCHAR", "description":
               "A customs area (`Asia`, `Western Europe`, …) or a group (`ASEAN`, `EU`); a "
               "country counts in its area and in each group it belonged to that month."},
    "region_type": {"type": "VARCHAR", "description": "`area` or `group`."},
    "section_name": {"type": "VARCHAR", "description": "Short English name of the section."},
    "section_number": {"type": "INTEGER", "description": "Number of the section, 1 … 21."},
    "sector_code": {"type": "VARCHAR", "description":
                    "Sector code (`ref.sectors`), e.g. `machinery`, `motor_vehicles`."},
    "sector_name": {"type": "VARCHAR", "description": "Sector name, e.g. `Transport equipment`."},
    "sector_level": {"type": "VARCHAR", "description":
                     "`top` (the nine principal-commodity groups, which sum to the total) or "
                     "`highlight` (a group inside one of them)."},
    "parent_sector_code": {"type": "VARCHAR", "description":
                           "For a highlight, the top group it lies in; empty for top groups."},
    # revisions
    "first_release_id": {"type": "VARCHAR", "description":
                         "The first release that reported the month (any of its cells)."},
    "first_published_on": {"type": "DATE", "description": "Publication date of that release."},
    "first_value_jpy": {"type": "BIGINT", "unit": JPY, "description":
                        "The value as first published: each (month, HS chapter) cell from the "
                        "first release that reported it."},
    "latest_release_id": {"type": "VARCHAR", "description":
                          "The most recent of the releases that supply the month's latest "
                          "cells."},
    "latest_published_on": {"type": "DATE", "description": "Publication date of that release."},
    "latest_value_jpy": {"type": "BIGINT", "unit": JPY, "description": "The latest value."},
    "revision_jpy": {"type": "BIGINT", "unit": JPY, "description": "Latest − first."},
    "revision_pct": {"type": "DOUBLE", "unit": PCT, "description":
                     "Latest against first, to 3 decimals; empty when the first value is 0."},
    # partner ranks
    "trade_jpy": {"type": "BIGINT", "unit": JPY, "description": "Trade: exports + imports."},
    "trade_rank": {"type": "BIGINT", "description":
                   "Rank of the partner by trade_jpy within the period, 1 = the largest; "
                   "partners with equal trade share a rank."},
    "trade_share_pct": {"type": "DOUBLE", "unit": PCT, "description":
                        "The partner's trade_jpy as a share of Japan's trade with the world "
                        "that period, to 3 decimals."},
    "exports_share_pct": {"type": "DOUBLE", "unit": PCT, "description":
                          "The partner's share of Japan's exports that period, to 3 decimals; "
                          "empty when Japan has none."},
    "imports_share_pct": {"type": "DOUBLE", "unit": PCT, "description":
                          "The partner's share of Japan's imports that period, to 3 decimals; "
                          "empty when Japan has none."},
    # quantities
    "hs_subheading": {"type": "VARCHAR", "description":
                      "HS subheading: the first six digits of the code, the level the HS "
                      "nomenclature shares across countries (`870323`)."},
    "value_jpy": {"type": "BIGINT", "unit": JPY, "description":
                  "Value: the published thousand-yen values × 1000, summed exactly."},
    "jpy_per_unit1": {"type": "DOUBLE", "unit": "JPY per unit1", "description":
                      "Unit value: value_jpy / quantity1; empty when unit1 is empty or "
                      "quantity1 is 0."},
    "jpy_per_unit2": {"type": "DOUBLE", "unit": "JPY per unit2", "description":
                      "Unit value: value_jpy / quantity2; empty when unit2 is empty or "
                      "quantity2 is 0."},
    # commodities: names, codes and units (ref.hs_headings, ref.hs_subheadings, ref.hs9_codes)
    "hs_heading": {"type": "VARCHAR", "description":
                   "HS heading: the first four digits of the code (`8703`)."},
    "heading_name": {"type": "VARCHAR", "description":
                     "The heading's English name, HS 2022 wording (`ref.hs_headings`)."},
    "heading_name_ja": {"type": "VARCHAR", "description":
                        "The heading's Japanese name as Japan's export code lists of 2022 on "
                        "print it; empty where they list no code of it."},
    "subheading_name": {"type": "VARCHAR", "description":
                        "The subheading's English name, HS 2022 wording "
                        "(`ref.hs_subheadings`); empty for a subheading not in HS 2022."},
    "hs_edition": {"type": "VARCHAR", "description":
                   "The HS edition of the code and its name: `HS2022`."},
    "description_ja": {"type": "VARCHAR", "description":
                       "The code's Japanese description below its heading, as the latest export "
                       "code list holding it prints it (levels marked `－`, `－－`, …)."},
    "first_year": {"type": "SMALLINT", "description": "First year of the row's years."},
    "last_year": {"type": "SMALLINT", "description": "Last year of the row's years."},
    "years_listed": {"type": "VARCHAR", "description":
                     "Every year whose export code list holds the code, as spans: `2010-2025`, "
                     "or `2010-2011 2017-2025` where it left the lists and came back."},
    "hs_code_name": {"type": "VARCHAR", "description":
                     "The code's English name: its subheading's (HS 2022); followed by "
                     "`(national subdivision)` where no open list describes the code (every "
                     "import code, and export codes the lists do not hold); for a confidential "
                     "code, `confidential code within chapter 38: …` (or heading)."},
    "unit_code": {"type": "VARCHAR", "description":
                  "A unit of quantity as the release files and the code lists write it (`KG`, "
                  "`NO`, `KG (I.I.)`)."},
    "unit_name": {"type": "VARCHAR", "description": "What the unit measures, in English."},
    "unit_name_ja": {"type": "VARCHAR", "description": "What the unit measures, in Japanese."},
    "first_month": {"type": "VARCHAR", "description": "The first month seen, `YYYY-MM`."},
    "last_month": {"type": "VARCHAR", "description": "The last month seen, `YYYY-MM`."},
    "value_usd": {"type": "DOUBLE", "unit": USD, "description":
                  "Value in dollars: each month converted at its monthly average rate "
                  "(`ref.fx_monthly`), then summed, to the cent; empty when a month of the "
                  "period has no rate."},
    # reference tables
    "country_name": {"type": "VARCHAR", "description":
                     "English name, exactly as Customs spells it."},
    "iso3": {"type": "VARCHAR", "description":
             "ISO 3166-1 alpha-3 code; empty where the code is not a country or territory with "
             "its own ISO code."},
    "iso2": {"type": "VARCHAR", "description":
             "ISO 3166-1 alpha-2 code (`US`, `GB`), the one of `iso3`; empty where `iso3` is."},
    "alias": {"type": "VARCHAR", "description":
              "A name people use for the partner (`UK`, `America`, `Korea`); `--partner` "
              "compares it ignoring case, accents and dots between initials."},
    "group_code": {"type": "VARCHAR", "description": "`ASEAN` or `EU`."},
    "group_name": {"type": "VARCHAR", "description": "Full name of the group."},
    "valid_from": {"type": "DATE", "description":
                   "First day of the first month of membership."},
    "valid_to": {"type": "DATE", "description":
                 "Last day of the last month of membership; empty while still a member."},
    "chapter_name": {"type": "VARCHAR", "description": "Chapter title (HS 2022 wording)."},
    "sort_order": {"type": "INTEGER", "description":
                   "Order for reports (a highlight sorts right after its parent)."},
    "hs_prefix": {"type": "VARCHAR", "description": "An HS code prefix of 2 to 9 digits."},
    "note": {"type": "VARCHAR", "description": "Why the prefix maps to that sector."},
    "date": {"type": "DATE", "description": "A business day with a rate."},
    "source": {"type": "VARCHAR", "description":
               "Where the row comes from: `shipped` (the CSV under data/ref/) or "
               "`fred:<series>/<vintage>`, a download kept by `trade-etl fetch --fx`."},
    "jpy_per_usd": {"type": "DOUBLE", "unit": "JPY per USD", "description":
                    "Yen per US dollar, monthly average of the daily noon buying rates in "
                    "New York."},
    # reporters
    "name": {"type": "VARCHAR", "description": "The reporting country's English name."},
    "currency": {"type": "VARCHAR", "description":
                 "ISO 4217 code of the currency its values are in (`JPY`)."},
    "value_unit": {"type": "BIGINT", "description":
                   "How many units of the currency one unit of its stored values is (1000 for "
                   "Japan's thousand yen): value_thousand_jpy × value_unit is the value in "
                   "the currency."},
    "partner_codes": {"type": "VARCHAR", "description":
                      "The code list its partner codes (`country_code`) come from: "
                      "`japan_customs`, the Japan Customs country codes of `ref.countries`."},
    "hs_digits": {"type": "INTEGER", "description":
                  "Digits of its commodity codes (`hs_code`): 9 for Japan's statistical codes."},
    # the Ministry's published totals
    "partner_kind": {"type": "VARCHAR", "description":
                     "`world` (the grand total), `country` (partner_code a customs country "
                     "code) or `group` (partner_code a `ref.country_groups` group, `EU`)."},
    "source_area": {"type": "VARCHAR", "description":
                    "The area as the Ministry's table names it (`USA`, `Grand Total`)."},
    "months": {"type": "TINYINT", "description":
               "Months of the year the published total covers (12, or 3 for a year published "
               "to March)."},
    "vintage_stage": {"type": "VARCHAR", "description":
                      "The stage of the published figures of that year: `fixed`, `revised` or "
                      "`preliminary`."},
    "official_months": {"type": "TINYINT", "description":
                        "Months of the year the published total covers."},
    "warehouse_stage": {"type": "VARCHAR", "description":
                        "The lowest stage among the warehouse's latest figures of the flow and "
                        "year (`preliminary` while any month is)."},
    "official_jpy": {"type": "HUGEINT", "unit": JPY, "description":
                     "The Ministry's published total."},
    "warehouse_jpy": {"type": "HUGEINT", "unit": JPY, "description":
                      "The warehouse's latest total (core.trade_latest)."},
    "difference_jpy": {"type": "HUGEINT", "unit": JPY, "description":
                       "warehouse_jpy - official_jpy."},
    "blocks": {"type": "BOOLEAN", "description":
               "Whether the difference fails the build (check totals_match_official): the "
               "year complete and at the stage of the published vintage (revised or fixed)."},
    # classification lineage (docs/warehouse.md, "Comparable series")
    "national_codes": {"type": "VARCHAR", "description":
                       "The last three digits of the subheading's 9-digit export codes in those "
                       "years, space-separated (`100 900`: `903082100` and `903082900`)."},
    "hs9_family": {"type": "VARCHAR", "description":
                   "Their family at level `hs9` (January changes): the family's id when all the "
                   "row's codes are in one family; empty when each code is a family of its own "
                   "(named by the code); `@<year>` when each is a family of its own named "
                   "`<code>@<year>` (a subheading listed again after a gap)."},
    "hs6_family": {"type": "VARCHAR", "description":
                   "Their family at level `hs6` (January changes and HS editions), as "
                   "hs9_family."},
    "level": {"type": "VARCHAR", "description":
              "`hs9`: families across the January changes of the 9-digit codes; `hs6`: across "
              "HS editions too (UN correlations of subheadings)."},
    "family_id": {"type": "VARCHAR", "description":
                  "The family: a code that never changed is a family named by the code "
                  "(`870323915`); a family of several codes is named by the smallest subheading "
                  "it spans (`903082`); codes outside the lists whose subheading's codes are "
                  "families of their own form a family named by the subheading."},
    "comparable_since": {"type": "SMALLINT", "description":
                         "The year since which the family is unchanged: its last code change "
                         "(or, at level hs6, edition change), or its first year; from then on "
                         "its codes are comparable one by one, before it only the family is."},
    "family_label": {"type": "VARCHAR", "description":
                     "The family in words: its one code, or the subheadings it spans (`903082`; "
                     "`851712, 851713, 851714`; `020840 and 129 more subheadings`)."},
    "family_codes": {"type": "BIGINT", "description":
                     "Listed 9-digit codes in the family, over all its years (0 for the family "
                     "of a subheading's codes outside the list)."},
    "mapped_by": {"type": "VARCHAR", "description":
                  "How the code got its family: `code` (the year's list holds it), "
                  "`code_nearest_year` (the list of the nearest year holding it: a year outside "
                  "2010-2025, or missing that year), `subheading` (an import, or an export code in "
                  "no list: its subheading's family) or `own` (its subheading is in no list, "
                  "e.g. a confidential code)."},
    "codes_reported": {"type": "BIGINT", "description":
                       "9-digit codes with figures in the row."},
    # both sides: the mirror marts (docs/mirror.md)
    "census_code": {"type": "VARCHAR", "description":
                    "The US Census Bureau's 4-digit country code (Schedule C): `5880` Japan."},
    "census_name": {"type": "VARCHAR", "description": "The country's name as the Census "
                    "Bureau's code list spells it."},
    "assumption": {"type": "VARCHAR", "description":
                   "`cif_fob_margin`, `transit_share` or `customs_rate_lag_days`."},
    "value": {"type": "DOUBLE", "description": "The assumption's value in this build."},
    "meaning": {"type": "VARCHAR", "description": "What the assumption says."},
    "setting": {"type": "VARCHAR", "description": "The environment variable that sets it."},
    "months_compared": {"type": "BIGINT", "description":
                        "Months of the period that both Japan and the US report (for the "
                        "direction; for `balance`, in both directions): only those are "
                        "compared."},
    "direction": {"type": "VARCHAR", "description":
                  "`japan_exports`: Japan's exports to the US (f.o.b.) against US general "
                  "imports from Japan (customs value); `japan_imports`: Japan's imports from "
                  "the US (c.i.f.) against US total exports to Japan (f.a.s.); `balance`: the "
                  "first minus the second, Japan's surplus with the US on each side's figures "
                  "(for the US: its imports from Japan minus its exports to Japan)."},
    "japan_value_jpy": {"type": "BIGINT", "unit": JPY, "description":
                        "Japan's figure: its thousand-yen values × 1000, summed exactly."},
    "us_value_jpy": {"type": "BIGINT", "unit": JPY, "description":
                     "The US figure in yen: each US fact cell restated at its month's average "
                     "rate (`ref.fx_monthly`), rounded to the thousand yen as Japan rounds its "
                     "lines, × 1000."},
    "gap_jpy": {"type": "BIGINT", "unit": JPY, "description":
                "japan_value_jpy − us_value_jpy; = currency_jpy + valuation_jpy + timing_jpy + "
                "unexplained_jpy exactly."},
    "currency_jpy": {"type": "BIGINT", "unit": JPY, "description":
                     "The part of the gap from the two conversions: Japan's customs converts "
                     "invoices at the weekly rate of two weeks earlier, the comparison at the "
                     "month's average (currency_usd at the month's rate, per cell, to the yen)."},
    "valuation_jpy": {"type": "BIGINT", "unit": JPY, "description":
                      "The part of the gap from valuation: freight and insurance in Japan's "
                      "c.i.f. imports, at the c.i.f./f.o.b. margin (`core.mirror_assumptions`); "
                      "0 for Japan's exports."},
    "timing_jpy": {"type": "BIGINT", "unit": JPY, "description":
                   "The part of the gap from timing: the importer records the transit share of "
                   "a month's shipments in the next month (`core.mirror_assumptions`)."},
    "unexplained_jpy": {"type": "BIGINT", "unit": JPY, "description":
                        "What the three parts leave of the gap: origin rules, re-exports, "
                        "classification, confidential codes, errors."},
    "japan_value_usd": {"type": "DECIMAL(18,2)", "unit": USD, "description":
                        "Japan's figure in dollars, each month at its average rate "
                        "(`ref.fx_monthly`), per cell to the cent, summed; empty when a month "
                        "has no rate."},
    "us_value_usd": {"type": "BIGINT", "unit": USD, "description":
                     "The US figure as the Census Bureau publishes it, whole dollars."},
    "gap_usd": {"type": "DECIMAL(18,2)", "unit": USD, "description":
                "The gap in dollars at each month's average rate, per cell to the cent; = "
                "currency_usd + valuation_usd + timing_usd + unexplained_usd exactly."},
    "currency_usd": {"type": "DECIMAL(18,2)", "unit": USD, "description":
                     "Currency part: Japan's figure at the month's average rate minus at the "
                     "rate its customs used (the mean daily rate of the month shifted back "
                     "customs_rate_lag_days)."},
    "valuation_usd": {"type": "DECIMAL(18,2)", "unit": USD, "description":
                      "Valuation part: Japan's c.i.f. imports × margin / (1 + margin); 0 for "
                      "Japan's exports."},
    "timing_usd": {"type": "DECIMAL(18,2)", "unit": USD, "description":
                   "Timing part: transit share × (this month − the previous month) of Japan's "
                   "exports; × (this month − the next month) of Japan's imports."},
    "unexplained_usd": {"type": "DECIMAL(18,2)", "unit": USD, "description":
                        "gap_usd minus the three parts."},
    "gap_pct": {"type": "DOUBLE", "unit": PCT, "description":
                "gap_jpy / us_value_jpy × 100; empty when the US figure is 0."},
}

BALANCE = ["exports_jpy", "imports_jpy", "balance_jpy", "exports_usd", "imports_usd",
           "balance_usd", "exports_yoy_pct", "imports_yoy_pct"]
PERIOD = ["period_type", "period", "period_start", "period_end", "months_reported"]
LATEST_MART = " Latest figures; `{name}_as_of(d)` gives them as known on date d."
# The marts answer "Japan's trade as Japan's Ministry of Finance reports it": yen, dollars at
# yen rates and Japan's fiscal year assume its figures (docs/design.md, "Reporters").
JAPAN_ONLY = " Japan's figures only (reporter `JPN`)."
# The reconciliations read marts.balance_total too: it is built before they run.
ON_TOTAL = ["marts.balance_total"]


def _check(name: str, sql: str, description: str, params: dict | None = None,
           reads: list[str] | None = None) -> dict:
    """A blocking reconciliation: `sql/checks/<sql>.sql` returns the rows that disagree (none
    when it passes), with `params` bound; `reads` are the other tables it reads."""
    return {"name": name, "sql": f"checks/{sql}", "params": params or {},
            "description": description, "reads": reads or []}


def _balance_preview(label: str) -> dict:
    return {"select": f"{label} as name, round(exports_jpy / 1e12, 3) as exports_tn_jpy, "
                      "round(imports_jpy / 1e12, 3) as imports_tn_jpy, "
                      "round(balance_jpy / 1e12, 3) as balance_tn_jpy, "
                      "round(balance_usd / 1e9, 1) as balance_bn_usd",
            "order": "abs(balance_jpy) desc", "title": "largest balances"}


def _mart(name: str, description: str, dimensions: list[str], grain: list[str],
          overrides: dict | None = None, *, preview: str, checks: tuple = ()) -> dict:
    """A balance mart: the table macro `sql/marts/<name>_as_of.sql` and the table `marts.<name>`
    = the macro at the latest date, built by the asset `balance_marts`."""
    return {"description": description + JAPAN_ONLY + LATEST_MART.format(name=name),
            "columns": PERIOD + dimensions + BALANCE, "grain": ["period_type", "period", *grain],
            "overrides": overrides or {}, "built_by": "balance_marts", "as_of": True,
            "sql": f"{name.replace('.', '/')}_as_of", "preview": _balance_preview(preview),
            "checks": list(checks)}


QUANTITY_OVERRIDES = {
    "flow": {"type": "VARCHAR", "description": "`export` or `import`."},
    "unit1": {"description": "Unit of quantity1 as published (`KL`, `DZ`, …); empty when the "
                             "code has none."},
    "unit2": {"description": "Unit of quantity2 as published (`KG`, `NO`, …); empty when the "
                             "code has none."},
    "quantity1": {"description": "First quantity, in unit1, summed over the period's months."},
    "quantity2": {"description": "Second quantity, in unit2, summed over the period's months."},
}


# The names of HS levels on the marts: a confidential code's figures are named after what it
# keeps (docs/warehouse.md, "Confidential codes").
CONFIDENTIAL_NAMES = {
    "heading_name": {"description": "The heading's English name, HS 2022 wording "
                                    "(`ref.hs_headings`); for a confidential code that keeps "
                                    "only its chapter (heading `38XX`), `confidential code "
                                    "within chapter 38: ` and the chapter's name."},
    "subheading_name": {"description": "The subheading's English name, HS 2022 wording "
                                       "(`ref.hs_subheadings`); for a confidential code "
                                       "(`38XXXX`, `4821XX`), `confidential code within chapter "
                                       "38: ` (or `heading 4821: `) and its name; empty for a "
                                       "subheading not in HS 2022."},
}
QUANTITY_NAMES = {
    "description_ja": {"description": "For an export, the code's Japanese description in the "
                                      "export code lists (`ref.hs9_codes`, the latest list "
                                      "holding it); empty for imports (import codes are in no "
                                      "open list) and for codes the lists do not hold."},
}


def _only(overrides: dict, columns: list[str]) -> dict:
    """The overrides of the columns a table has."""
    return {name: change for name, change in overrides.items() if name in columns}


def _hs_mart(name: str, description: str, code: str, names: list[str]) -> dict:
    """A mart by HS level: a view (the macro at the latest date), by period, flow, HS `code`
    column, partner and units, with the level's `names`, value in yen and dollars, built by the
    asset `quantity_marts`. A view, not a table: it is core.trade_latest several times over
    (hundreds of thousands of rows on the sample, tens of millions at ten years), so it is
    computed when read and not copied to the lake; that its levels sum to marts.balance_total
    is a test (tests/test_commodities.py), not a check that would compute it at every build."""
    columns = [*PERIOD, "flow", code, *names, "partner_code", "partner_name", "partner_iso3",
               "unit1", "quantity1", "unit2", "quantity2", "value_jpy", "value_usd",
               "jpy_per_unit1", "jpy_per_unit2"]
    return {"kind": "view", "lake": False,
            "description": description + JAPAN_ONLY + LATEST_MART.format(name=name),
            "columns": columns,
            "grain": ["period_type", "period", "flow", code, "partner_code", "unit1", "unit2"],
            "overrides": _only({**QUANTITY_OVERRIDES, **CONFIDENTIAL_NAMES}, columns),
            "built_by": "quantity_marts", "as_of": True,
            "sql": f"{name.replace('.', '/')}_as_of",
            "preview": {"select": f"flow, {code}, left({names[0]}, 40) as name, partner_name, "
                                  "unit2, quantity2, round(value_jpy / 1e9, 3) as value_bn_jpy, "
                                  "round(value_usd / 1e6, 1) as value_m_usd",
                        "order": f"value_jpy desc, flow, {code}, partner_code",
                        "title": "largest values"}}


def _quantity_mart(name: str, description: str, code: str, names: list[str]) -> dict:
    """A quantity mart: a view, by period, flow, HS `code` column, partner and units, built by
    the asset `quantity_marts`; the code's `names` come last (added after the first release of
    the view: columns are only ever appended). Not copied to the lake: it is core.trade_latest
    several times over, computed when read (docs/lake.md)."""
    columns = [*PERIOD, "flow", code, "partner_code", "partner_name", "partner_iso3", "unit1",
               "quantity1", "unit2", "quantity2", "value_jpy", "jpy_per_unit1", "jpy_per_unit2",
               *names]
    return {"kind": "view", "lake": False,
            "description": description + JAPAN_ONLY + LATEST_MART.format(name=name),
            "columns": columns,
            "grain": ["period_type", "period", "flow", code, "partner_code", "unit1", "unit2"],
            "overrides": _only({**QUANTITY_OVERRIDES, **CONFIDENTIAL_NAMES, **QUANTITY_NAMES},
                               columns),
            "built_by": "quantity_marts", "as_of": True,
            "sql": f"{name.replace('.', '/')}_as_of",
            "preview": {"select": f"flow, {code}, partner_name, unit1, quantity1, unit2, "
                                  "quantity2, round(value_jpy / 1e9, 3) as value_bn_jpy, "
                                  "round(jpy_per_unit1) as jpy_per_unit1, "
                                  "round(jpy_per_unit2) as jpy_per_unit2",
                        "order": "value_jpy desc", "title": "largest values"}}


MIRROR = ["months_compared", "direction", "japan_value_jpy", "us_value_jpy", "gap_jpy",
          "currency_jpy", "valuation_jpy", "timing_jpy", "unexplained_jpy", "japan_value_usd",
          "us_value_usd", "gap_usd", "currency_usd", "valuation_usd", "timing_usd",
          "unexplained_usd", "gap_pct"]


def _mirror_mart(name: str, description: str, dimensions: list[str], grain: list[str]) -> dict:
    """A mirror mart: a view (the macro `sql/marts/<name>_as_of.sql` at the latest date) of
    reporters JPN and USA side by side, built by the asset `mirror_marts`. A view: it reads
    only the two partners' cells, so it is computed when read."""
    return {"kind": "view", "description": description + LATEST_MART.format(name=name)
            + " Both reporters' releases count as of d.",
            "columns": [*PERIOD[:4], *MIRROR[:2], *dimensions, *MIRROR[2:]],
            "grain": ["period_type", "period", "direction", *grain],
            "overrides": _only({"hs_section": {
                "description": "HS section, Roman numeral `I` … `XXI`; `?` for a chapter not "
                               "in `ref.hs_chapters`."}}, dimensions),
            "built_by": "mirror_marts", "as_of": True,
            "sql": f"{name.replace('.', '/')}_as_of",
            "preview": {"select": "direction, " + ", ".join(dimensions + [""]) +
                                  "round(japan_value_usd / 1e9, 2) as japan_bn_usd, "
                                  "round(us_value_usd / 1e9, 2) as us_bn_usd, "
                                  "round(gap_usd / 1e9, 2) as gap_bn_usd, "
                                  "round(unexplained_usd / 1e9, 2) as unexplained_bn_usd",
                        "order": "abs(gap_jpy) desc", "title": "largest gaps"}}


# Each public table or view, declared once. Keys:
#   description, columns (names of FIELDS, in warehouse order), grain (the columns that identify
#   a row; empty when no column set does), overrides (per-column changes to FIELDS);
#   kind        "table" (default) or "view" (what `COMMENT ON` and readers see);
#   lake        False: `trade-etl lake publish` leaves it out (views readers compute; default True);
#   sql         the SQL file that defines it, under sql/ without `.sql` (none: sql/ddl.sql or the
#               loader writes it);
#   as_of       True: `sql` is the table macro `<name>_as_of(as_of)` and the table or view is that
#               macro at the latest date (trade_etl.store.warehouse.build_as_of);
#   params      more parameters of that macro, each with its values: {"level": ["hs9", "hs6"]}
#               makes `<name>_as_of(as_of, level)`, and the table or view the union of the macro
#               at the latest date over those values;
#   built_by    the Dagster asset that builds it (`balance_marts`, `quantity_marts`, `revisions`):
#               the multi-assets' specs, descriptions, previews and checks come from here;
#   preview     {select, order, title}: the rows its materialization shows (the latest complete
#               fiscal year's, when it has a period_type);
#   checks      reconciliations on its asset: {name, sql (under sql/checks/, returns the rows that
#               disagree), params, description, reads (other tables it reads)}, all blocking.
TABLES: dict[str, dict] = {
    "raw.release_files": {
        "description": "The files found in the raw folder at the last discovery (the "
                       "inventory).",
        "columns": ["release_id", "published_on", "stage", "file_name", "path", "size_bytes",
                    "mtime_ns", "sha256", "problem", "discovered_at", "ctime_ns", "inode",
                    "reporter"],
        "grain": ["release_id", "file_name"],
        "overrides": {
            "file_name": {"description": "The file's path within its release folder."},
            "sha256": {"description": "SHA-256 of the file on disk; empty when it could not "
                                      "be hashed."},
        },
    },
    "audit.releases": {
        "description": "What was loaded: one row per CSV read (zip members separately) or per "
                       "file that failed or was skipped.",
        "columns": ["release_id", "published_on", "stage", "file_name", "sha256", "rows_read",
                    "rows_loaded", "rows_quarantined", "loaded_at", "source_file",
                    "source_sha256", "status", "error", "layout", "encoding", "cells_loaded",
                    "value_year_mismatches", "source_problem", "reporter"],
        "grain": ["release_id", "file_name"],
    },
    "audit.quarantine": {
        "description": "What was rejected: every line that failed validation, with its "
                       "reasons and the line itself.",
        "columns": ["release_id", "file_name", "line_number", "reason", "raw_line",
                    "source_file", "reporter"],
        "grain": ["release_id", "file_name", "line_number"],
    },
    "audit.release_months": {
        "description": "The stage of every month of every fetched file, from the release "
                       "folders' .manifest.json (rewritten at each build); files dropped by "
                       "hand have no rows here.",
        "columns": ["release_id", "file_name", "flow", "year", "month", "stage",
                    "stat_inf_id", "update_date", "title", "reporter"],
        "grain": ["release_id", "file_name", "flow", "year", "month"],
        "overrides": {
            "file_name": {"description": "The fetched file within its release folder."},
            "stage": {"description": "The month's stage in that file, from its title: "
                                     "`preliminary`, `detailed`, `revised` or `fixed`."},
        },
    },
    "audit.latest_month_stages": {
        "kind": "view",
        "description": "For each reporter's month, its stage in the reporter's latest loaded "
                       "release that reports it: from the release's .manifest.json where it "
                       "states the month, otherwise the release folder's own stage "
                       "(`stage_source`).",
        "columns": ["flow", "year", "month", "stage", "release_id", "update_date",
                    "stage_source", "reporter"],
        "grain": ["reporter", "flow", "year", "month"],
        "overrides": {
            "stage": {"description": "The month's stage in that release (the lower stage when "
                                     "its files disagree); for `stage_source` `folder`, the "
                                     "folder's stage as named."},
            "release_id": {"description": "The latest loaded release that reports the month."},
            "update_date": {"description": "The table's update date on e-Stat; for "
                                           "`stage_source` `folder`, the folder's date."},
        },
    },
    "core.trade_facts": {
        "description": "The fact store: every release's non-zero month cells, as published, "
                       "append-only by release.",
        "columns": ["release_id", "file_name", "flow", "year", "month", "hs_code",
                    "country_code", "unit1", "unit2", "quantity1", "quantity2",
                    "value_thousand_jpy", "reporter"],
        "grain": ["reporter", "release_id", "file_name", "flow", "year", "month", "hs_code",
                  "country_code"],
    },
    "core.trade_latest": {
        "description": "The latest figures after supersession: each (reporter, flow, year, "
                       "month, HS chapter) cell from the most recent release of that reporter "
                       "that reports it; the files (and ports) of one release are summed.",
        "columns": ["flow", "year", "month", "hs_code", "country_code", "unit1", "unit2",
                    "quantity1", "quantity2", "value_thousand_jpy", "release_id", "reporter"],
        "grain": ["reporter", "flow", "year", "month", "hs_code", "country_code"],
        "overrides": {"release_id": {"description": "The release the figures come from."}},
    },
    "core.confidential_codes": {
        "kind": "view", "lake": False,
        "description": "The latest values Japan Customs withholds under confidential codes "
                       "(from the April 2024 figures), summed over partners: Japan's figures "
                       "(reporter `JPN`). They are in every total already; this view shows how "
                       "much is withheld. Computed from core.trade_latest when read, so not "
                       "copied to the lake.",
        "columns": ["flow", "year", "month", "hs_code", "hs_chapter", "hs_digits_kept",
                    "partners", "value_thousand_jpy", "share_of_month_pct"],
        "grain": ["flow", "year", "month", "hs_code"],
        "sql": "core/confidential_codes",
        "overrides": {"hs_code": {"description": "The confidential code, e.g. `38XXXXXXX`."},
                      "value_thousand_jpy": {"description": "Value withheld under the code, "
                                                            "all partners, as published."}},
    },
    "core.hs_code_families": {
        "kind": "view", "lake": False,
        "description": "The family of every code the fact store holds, in every year it holds "
                       "it, at both levels (ref.hs_families): an export code's own in that "
                       "year's list (or the nearest year's), otherwise its subheading's. "
                       "Computed when read, so not copied to the lake.",
        "columns": ["flow", "hs_code", "year", "level", "family_id", "family_label",
                    "comparable_since", "mapped_by"],
        "grain": ["flow", "hs_code", "year", "level"],
        "sql": "core/hs_code_families",
        "overrides": {"comparable_since": {"description": "As in ref.hs_families; empty for a "
                                                          "code whose subheading is in no list."}},
    },
    "core.releases": {
        "kind": "view",
        "description": "The loaded releases in publication order, numbered within each "
                       "reporter; supersession follows release_seq, and a release of one "
                       "reporter never supersedes another's.",
        "columns": ["release_id", "published_on", "stage", "release_seq", "reporter"],
        "grain": ["reporter", "release_id"],
    },
    "core.release_coverage": {
        "description": "The month cells each release reports (any non-zero figure); a release "
                       "supersedes its reporter's earlier ones cell by cell.",
        "columns": ["release_id", "flow", "year", "month", "hs_chapter", "reporter"],
        "grain": ["reporter", "release_id", "flow", "year", "month", "hs_chapter"],
    },
    "core.hs_code_sectors": {
        "description": "Every code in the fact store with its chapter, HS section and "
                       "sectors (longest prefix of ref.sector_map wins, per level; a "
                       "confidential code `38XXXXXXX` matches only prefixes within its kept "
                       "digits, so it falls in its chapter's sector).",
        "columns": ["hs_code", "hs_chapter", "hs_section", "top_sector_code",
                    "highlight_sector_code"],
        "grain": ["hs_code"],
        "overrides": {"hs_section": {"description": "HS section of the chapter, Roman numeral "
                                                    "`I` … `XXI`; empty when the chapter is not "
                                                    "in `ref.hs_chapters`."}},
    },
    "core.trade_release_monthly": {
        "description": "Each release's values summed over the HS codes of a chapter, partner "
                       "and sector: what the as-of macros and the marts read.",
        "columns": ["release_id", "flow", "year", "month", "hs_chapter", "country_code",
                    "top_sector_code", "highlight_sector_code", "value_thousand_jpy",
                    "reporter"],
        "grain": ["reporter", "release_id", "flow", "year", "month", "hs_chapter",
                  "country_code", "top_sector_code", "highlight_sector_code"],
    },
    "core.period_months": {
        "description": "The calendar: the period of each type that each month of 1950–2100 "
                       "belongs to; the fiscal year starts in TRADE_ETL_FISCAL_START_MONTH "
                       "(default 4, April).",
        "columns": ["year", "month", "period_type", "period", "period_start", "period_end"],
        "grain": ["year", "month", "period_type"],
        "overrides": {"year": {"type": "BIGINT"}, "month": {"type": "BIGINT"}},
    },
    "marts.balance_total": _mart(
        "marts.balance_total", "Japan's exports, imports and balance with the world, by "
        "period.", [], [], preview="period_type",
        checks=(_check("total_matches_latest", "total_matches_latest",
                       "Monthly totals equal core.trade_latest, to the yen."),
                _check("months_sum_to_periods", "months_sum_to_periods",
                       "Months sum to fiscal and calendar quarters, halves and years."))),
    "marts.balance_by_partner": _mart(
        "marts.balance_by_partner", "Trade with each partner country, by period.",
        ["partner_code", "partner_name", "partner_iso3", "area"], ["partner_code"],
        preview="partner_name",
        checks=(_check("partners_sum_to_total", "parts_sum_to_total",
                       "Partners sum to marts.balance_total in every period.",
                       {"breakdown": "partner"}, ON_TOTAL),
                # evaluated by trade_etl.defs.store.marts.official_totals_check: it reports
                # differences (WARN) that do not block, and fails (ERROR) on those that do
                _check("totals_match_official", "official_totals_diff",
                       "The world's and every partner's calendar-year exports and imports equal "
                       "the Ministry of Finance's published totals (ref.official_totals), to the "
                       "thousand yen. Fails the build (ERROR) for a complete year whose figures "
                       "are at the stage of the published vintage (revised or fixed); a "
                       "preliminary year, or one at another stage, is reported as a warning. "
                       "Differences: audit.official_totals_diff.", reads=ON_TOTAL))),
    "marts.balance_by_region": _mart(
        "marts.balance_by_region", "Trade with each customs area and with the groups ASEAN "
        "and EU (membership month by month), by period; regions overlap, the areas alone sum "
        "to the total.", ["region", "region_type"], ["region"], preview="region",
        checks=(_check("areas_sum_to_total", "parts_sum_to_total",
                       "Customs areas sum to marts.balance_total in every period.",
                       {"breakdown": "area"}, ON_TOTAL),)),
    "marts.balance_by_hs_section": _mart(
        "marts.balance_by_hs_section", "Trade by HS section, by period; sections sum to the "
        "total.", ["hs_section", "section_name", "section_number"], ["hs_section"],
        {"hs_section": {"description": "HS section, Roman numeral `I` … `XXI`; `?` for codes "
                                       "whose chapter is not in `ref.hs_chapters`."},
         "section_name": {"description": "Short English name of the section; `Unknown HS "
                                         "chapter` for `?`."},
         "section_number": {"description": "Number of the section, 1 … 21; empty for `?`."}},
        preview="hs_section || ' ' || left(section_name, 40)",
        checks=(_check("hs_sections_sum_to_total", "parts_sum_to_total",
                       "HS sections sum to marts.balance_total in every period.",
                       {"breakdown": "hs_section"}, ON_TOTAL),)),
    "marts.balance_by_sector": _mart(
        "marts.balance_by_sector", "Trade by principal-commodity sector, by period: the nine "
        "top groups (they sum to the total) and the highlighted groups inside them.",
        ["sector_code", "sector_name", "sector_level", "parent_sector_code"], ["sector_code"],
        preview="sector_name || ' (' || sector_level || ')'",
        checks=(_check("sectors_sum_to_total", "parts_sum_to_total",
                       "The nine top sectors sum to marts.balance_total in every period.",
                       {"breakdown": "sector"}, ON_TOTAL),)),
    "marts.balance_by_partner_sector": _mart(
        "marts.balance_by_partner_sector", "Trade with each partner by sector, by period; "
        "each partner's top sectors sum to the partner.",
        ["partner_code", "partner_name", "partner_iso3", "sector_code", "sector_name",
         "sector_level"], ["partner_code", "sector_code"],
        preview="partner_iso3 || ' ' || sector_name",
        checks=(_check("partner_sectors_sum_to_partners", "partner_sectors_sum_to_partners",
                       "For every partner, the top sectors sum to the partner's trade.",
                       reads=ON_TOTAL),)),
    "marts.partner_ranks": {
        "description": "Japan's partners ranked by trade (exports + imports) in every period, "
                       "with their shares of Japan's trade, exports and imports; the shares of "
                       "all partners sum to 100." + JAPAN_ONLY
                       + LATEST_MART.format(name="marts.partner_ranks"),
        "columns": [*PERIOD, "partner_code", "partner_name", "partner_iso3", "exports_jpy",
                    "imports_jpy", "trade_jpy", "trade_rank", "trade_share_pct",
                    "exports_share_pct", "imports_share_pct"],
        "grain": ["period_type", "period", "partner_code"],
        "built_by": "balance_marts", "as_of": True, "sql": "marts/partner_ranks_as_of",
        "preview": {"select": "trade_rank, partner_name, round(trade_jpy / 1e12, 3) as "
                              "trade_tn_jpy, trade_share_pct, exports_share_pct, "
                              "imports_share_pct",
                    "order": "trade_rank, partner_code", "title": "largest partners"},
    },
    "marts.quantity_by_hs_code": _quantity_mart(
        "marts.quantity_by_hs_code", "Quantities, value and unit values by 9-digit HS code, "
        "partner and period, unit by unit: quantities in different units are never added up "
        "(a period that spans a change of a code's unit has a row per unit).", "hs_code",
        ["hs_code_name", "description_ja"]),
    "marts.quantity_by_hs_subheading": _quantity_mart(
        "marts.quantity_by_hs_subheading", "Quantities, value and unit values by HS subheading "
        "(6 digits), partner and period: `marts.quantity_by_hs_code` summed over the 9-digit "
        "codes of each subheading, unit by unit.", "hs_subheading", ["subheading_name"]),
    "marts.trade_by_hs_heading": _hs_mart(
        "marts.trade_by_hs_heading", "Trade by HS heading (4 digits, named), partner and "
        "period: value in yen and dollars, and quantities unit by unit (quantities in different "
        "units are never added up; value_jpy summed over headings and units is the total's).",
        "hs_heading", ["heading_name"]),
    "marts.trade_by_hs_subheading": _hs_mart(
        "marts.trade_by_hs_subheading", "Trade by HS subheading (6 digits, named, with its "
        "heading), partner and period: value in yen and dollars, and quantities unit by unit "
        "(quantities in different units are never added up; value_jpy summed over subheadings "
        "and units is the total's).",
        "hs_subheading", ["subheading_name", "hs_heading", "heading_name"]),
    "marts.trade_comparable": {
        "kind": "view", "lake": False,
        "description": "Values and quantities by family of codes that stay comparable when "
                       "codes change (docs/warehouse.md, Comparable series), partner and period, "
                       "at both levels: `hs9` follows the January changes of the 9-digit codes, "
                       "`hs6` HS editions too. Families sum exactly to the balance marts; a "
                       "quantity is given where the units of the row's codes and months agree. "
                       "Latest figures; `marts.trade_comparable_as_of(d, level)` gives one level "
                       "as known on date d. Computed when read (a view), so not in the lake.",
        "columns": [*PERIOD, "level", "flow", "family_id", "family_label", "comparable_since",
                    "partner_code", "partner_name", "partner_iso3", "codes_reported", "unit1",
                    "quantity1", "unit2", "quantity2", "value_jpy"],
        "grain": ["period_type", "period", "level", "flow", "family_id", "partner_code"],
        "overrides": {
            **QUANTITY_OVERRIDES,
            "unit1": {"description": "Unit of quantity1, when every code and month of the row "
                                     "has the same; empty when none has one or they differ."},
            "unit2": {"description": "Unit of quantity2, when every code and month of the row "
                                     "has the same; empty when none has one or they differ."},
            "quantity1": {"description": "First quantity, in unit1, summed over the family's "
                                         "codes and the period's months; empty without a unit."},
            "quantity2": {"description": "Second quantity, in unit2, summed over the family's "
                                         "codes and the period's months; empty without a unit."},
        },
        "built_by": "comparable_marts", "as_of": True, "sql": "marts/trade_comparable_as_of",
        "params": {"level": ["hs9", "hs6"]},
        "preview": {"select": "level, flow, family_id, family_label, partner_name, "
                              "codes_reported, round(value_jpy / 1e9, 3) as value_bn_jpy",
                    "order": "value_jpy desc, level desc", "title": "largest families"},
    },
    "marts.revisions": {
        "description": "How each month's figures with each partner changed from first "
                       "publication to the latest release." + JAPAN_ONLY,
        "columns": ["flow", "year", "month", "period", "partner_code", "partner_name",
                    "partner_iso3", "first_release_id", "first_published_on",
                    "first_value_jpy", "latest_release_id", "latest_published_on",
                    "latest_value_jpy", "revision_jpy", "revision_pct"],
        "grain": ["flow", "year", "month", "partner_code"],
        "overrides": {
            "flow": {"type": "VARCHAR", "description": "`export` or `import`."},
            "period": {"description": "The month as `YYYY-MM`."},
        },
        "built_by": "revisions", "sql": "marts/revisions",
        "preview": {"select": "flow, period, partner_name, first_value_jpy, latest_value_jpy, "
                              "revision_jpy",
                    "order": "abs(revision_jpy) desc", "title": "largest revisions"},
    },
    "core.mirror_assumptions": {
        "description": "The assumptions the mirror marts split the gap with, as set for this "
                       "build (settings `TRADE_ETL_MIRROR_*`, docs/mirror.md).",
        "columns": ["assumption", "value", "meaning", "setting", "source"],
        "grain": ["assumption"],
        "overrides": {"source": {"description": "Where its default comes from."}},
        "built_by": "mirror_marts",
    },
    "marts.mirror_balance": _mirror_mart(
        "marts.mirror_balance", "Both sides: Japan's trade with the United States as Japan "
        "reports it beside the United States' own figures for its trade with Japan, by "
        "period and direction, and the gap split into currency, valuation, timing and "
        "unexplained parts that add up exactly.", [], []),
    "marts.mirror_by_hs_section": _mirror_mart(
        "marts.mirror_by_hs_section", "Both sides by HS section (from the first two digits of "
        "each side's codes); sections sum to marts.mirror_balance.",
        ["hs_section", "section_name"], ["hs_section"]),
    "ref.census_countries": {
        "description": "The US Census Bureau's country codes (Schedule C) with ISO codes "
                       "(data/ref/census_countries.csv): the partners of reporter USA.",
        "columns": ["census_code", "census_name", "iso2", "iso3"],
        "grain": ["census_code"],
        "overrides": {"iso2": {"description": "ISO 3166-1 alpha-2 code; empty for a Census "
                                              "code no ISO code covers (Gaza Strip, West "
                                              "Bank, Kosovo)."},
                      "iso3": {"description": "ISO 3166-1 alpha-3 code; empty where there is "
                                              "no ISO code."}},
    },
    "ref.countries": {
        "description": "Japan Customs country codes with their English name, ISO codes and "
                       "customs area (data/ref/countries.csv).",
        "columns": ["country_code", "country_name", "iso3", "area", "iso2"],
        "grain": ["country_code"],
    },
    "ref.partner_aliases": {
        "description": "Common names of partners beyond Customs' own (`United States`, "
                       "`America`, `UK`, `Korea`, `PRC`), which `--partner` of `trade-etl "
                       "brief` and `report` takes as exactly as a code (data/ref/"
                       "partner_aliases.csv, user-editable; docs/reference.md).",
        "columns": ["alias", "partner_code", "note"],
        "grain": ["alias"],
        "overrides": {
            "partner_code": {"description": "The partner the alias names: a Japan Customs "
                                            "country code (`304`), a group (`EU`) or a customs "
                                            "area (`Asia`), as the balance marts key them."},
            "note": {"description": "Where the alias comes from (ISO 3166-1, common usage) "
                                    "and why it is needed."},
        },
    },
    "ref.reporters": {
        "description": "The reporting countries and what their values are in "
                       "(data/ref/reporters.csv: Japan), with a row for each reporter a "
                       "registered layout module adds (docs/design.md, Reporters).",
        "columns": ["reporter", "name", "currency", "value_unit", "partner_codes", "hs_digits"],
        "grain": ["reporter"],
    },
    "ref.country_groups": {
        "description": "Members of ASEAN and the EU, one row per member and membership period, "
                       "month-aligned (data/ref/country_groups.csv).",
        "columns": ["group_code", "group_name", "country_code", "valid_from", "valid_to"],
        "grain": ["group_code", "country_code", "valid_from"],
        "overrides": {"country_code": {"description": "The member's Japan Customs 3-digit "
                                                      "country code."}},
    },
    "ref.hs_sections": {
        "description": "The 21 sections of the HS nomenclature (data/ref/hs_sections.csv).",
        "columns": ["hs_section", "section_number", "section_name"],
        "grain": ["hs_section"],
        "overrides": {"section_name": {"description": "Short English name written for this "
                                                      "project."}},
    },
    "ref.hs_chapters": {
        "description": "The HS chapters 01–97 (77 reserved) and their section "
                       "(data/ref/hs_chapters.csv).",
        "columns": ["hs_chapter", "hs_section", "chapter_name"],
        "grain": ["hs_chapter"],
        "overrides": {"hs_chapter": {"description": "The two-digit chapter, as text."}},
    },
    "ref.sectors": {
        "description": "Principal-commodity sectors: nine top groups and the highlighted "
                       "groups inside them (data/ref/sectors.csv).",
        "columns": ["sector_code", "sector_name", "sector_level", "parent_sector_code",
                    "sort_order"],
        "grain": ["sector_code"],
    },
    "ref.sector_map": {
        "description": "HS code prefix to sector; the longest prefix wins, separately for each "
                       "level (top, highlight); at most one row per prefix and level "
                       "(data/ref/sector_map.csv, user-editable).",
        "columns": ["hs_prefix", "sector_code", "note"],
        "grain": [],
    },
    "ref.fx_monthly": {
        "description": "Monthly average exchange rates: FRED EXJPUS, then means of DEXJPUS "
                       "(data/ref/fx_monthly.csv), overridden and extended by the newest "
                       "vintages `trade-etl fetch --fx` kept (docs/ingest.md, Exchange rates).",
        "columns": ["month", "jpy_per_usd", "source"],
        "grain": ["month"],
        "overrides": {"month": {"type": "VARCHAR", "description": "The month, `YYYY-MM`."},
                      "source": {"description":
                                 "Where the rate comes from: `shipped` (data/ref/fx_monthly.csv), "
                                 "`fred:EXJPUS/<vintage>` (a download kept by `trade-etl fetch "
                                 "--fx`) or `fred:DEXJPUS/<vintage> mean` (the mean of a month "
                                 "the downloaded daily series covers whole)."}},
    },
    "ref.official_totals": {
        "description": "The Ministry of Finance's published exports and imports by partner and "
                       "calendar year (its principal-commodity-by-area tables, Grand Total), in "
                       "thousand yen (data/ref/official_totals.csv).",
        "columns": ["flow", "year", "partner_kind", "partner_code", "source_area", "months",
                    "vintage_stage", "value_thousand_jpy"],
        "grain": ["flow", "year", "partner_kind", "partner_code"],
        "overrides": {
            "partner_code": {"description": "The partner's customs country code, a group code "
                                            "(`EU`), or empty for the world."},
            "value_thousand_jpy": {"description": "The published total (billion yen to six "
                                                  "decimals in the source)."},
        },
    },
    "ref.hs_headings": {
        "description": "The headings (4 digits) of the HS 2022 nomenclature with their English "
                       "and Japanese names (data/ref/hs_headings.csv, written by "
                       "trade_etl/ingest/commodities.py).",
        "columns": ["hs_heading", "hs_chapter", "heading_name", "hs_edition", "heading_name_ja"],
        "grain": ["hs_heading"],
        "overrides": {"hs_heading": {"description": "The four-digit heading, as text."}},
    },
    "ref.hs_subheadings": {
        "description": "The subheadings (6 digits) of the HS 2022 nomenclature with their English "
                       "names (data/ref/hs_subheadings.csv, written by "
                       "trade_etl/ingest/commodities.py).",
        "columns": ["hs_subheading", "hs_heading", "subheading_name", "hs_edition"],
        "grain": ["hs_subheading"],
        "overrides": {"hs_subheading": {"description": "The six-digit subheading, as text."},
                      "subheading_name": {"description": "The subheading's English name, HS "
                                                         "2022 wording."}},
    },
    "ref.hs9_codes": {
        "description": "Every 9-digit code of Japan's yearly export statistical code lists "
                       "2010–2025, with the years it is listed, its unit and Japanese "
                       "description, and its subheading's English name (data/ref/hs9_codes.csv, "
                       "written by trade_etl/ingest/commodities.py). Import codes are in no open "
                       "list: they are not here.",
        "columns": ["hs_code", "flow", "first_year", "last_year", "unit2", "description_ja",
                    "hs_subheading", "subheading_name", "years_listed"],
        "grain": ["hs_code"],
        "overrides": {
            "hs_code": {"description": "The 9-digit statistical code, as text."},
            "flow": {"type": "VARCHAR", "description": "`export`: the code is in the export "
                                                       "lists (the only open ones)."},
            "unit2": {"description": "Unit of quantity 2 in the latest list holding the code "
                                     "(`ref.units`), e.g. `KG`, `NO`, `KG (I.I.)`."},
            "hs_subheading": {"description": "The code's subheading: its first six digits."},
            "first_year": {"description": "The first year whose export code list holds the "
                                          "code."},
            "last_year": {"description": "The last year whose export code list holds the code "
                                         "(2025: the latest list)."},
        },
    },
    "ref.units": {
        "description": "Every unit of quantity the release files and the code lists use, with "
                       "its meaning in English and Japanese (data/ref/units.csv).",
        "columns": ["unit_code", "unit_name", "unit_name_ja"],
        "grain": ["unit_code"],
    },
    "audit.unknown_codes": {
        "description": "The 9-digit export codes of the latest figures that the year's export "
                       "code list does not hold, with the months they were seen in and their "
                       "value (reported by the check export_codes_in_the_lists, a warning). Only "
                       "exports can be judged (the open lists are export lists), in the years a "
                       "list covers; confidential codes are in core.confidential_codes.",
        "columns": ["flow", "year", "hs_code", "first_month", "last_month", "partners",
                    "value_jpy", "hs_subheading", "subheading_name", "first_year", "last_year"],
        "grain": ["flow", "year", "hs_code"],
        "sql": "audit/unknown_codes", "built_by": "unknown_codes",
        "overrides": {
            "flow": {"type": "VARCHAR", "description": "`export` (import codes cannot be "
                                                       "judged: no open list holds them)."},
            "year": {"description": "Calendar year of the figures, and of the list they were "
                                    "judged by."},
            "hs_code": {"description": "The 9-digit code, as the release files wrote it."},
            "partners": {"description": "Partner countries it was exported to that year."},
            "value_jpy": {"description": "Its value that year: the published thousand-yen values "
                                         "× 1000, summed exactly."},
            "hs_subheading": {"description": "The code's first six digits."},
            "first_year": {"description": "The first year whose list holds the code; empty when "
                                          "no list does."},
            "last_year": {"description": "The last year whose list holds the code; empty when "
                                         "no list does."},
        },
    },
    "audit.official_totals_diff": {
        "kind": "view",
        "description": "The warehouse's latest calendar-year totals, for the world and each "
                       "partner the Ministry's table names, beside the published ones: what the "
                       "check totals_match_official reads (created by the marts' build).",
        "columns": ["flow", "year", "partner_code", "partner_name", "official_months",
                    "months_reported", "warehouse_stage", "vintage_stage", "official_jpy",
                    "warehouse_jpy", "difference_jpy", "status", "blocks"],
        "grain": ["flow", "year", "partner_code"],
        "sql": "checks/official_totals_diff",
        "overrides": {
            "partner_code": {"description": "The partner's customs country code; empty for "
                                            "the world."},
            "partner_name": {"description": "`World`, or the partner's name (`ref.countries`)."},
            "months_reported": {"description": "Months of the year the warehouse holds."},
            "status": {"description": "`match` (equal to the yen), `differs`, or `incomplete` "
                                      "(the warehouse holds other months than the published "
                                      "total covers)."},
        },
    },
    "ref.fx_daily": {
        "description": "Daily exchange rates, business days only: FRED DEXJPUS "
                       "(data/ref/fx_daily.csv), overridden and extended by the newest vintage "
                       "`trade-etl fetch --fx` kept (docs/ingest.md, Exchange rates).",
        "columns": ["date", "jpy_per_usd", "source"],
        "grain": ["date"],
        "overrides": {"jpy_per_usd": {"description": "Yen per US dollar, noon buying rate in "
                                                     "New York that day."}},
    },
    "ref.hs_lineage": {
        "description": "Japan's 9-digit export codes 2010-2025 by subheading and run of years, "
                       "with their families at both levels (data/ref/hs_lineage.csv, written by "
                       "python -m trade_etl.ingest.lineage; docs/reference.md). ref.hs_families "
                       "is the same, one row per code and year.",
        "columns": ["hs_subheading", "first_year", "last_year", "national_codes", "hs9_family",
                    "hs6_family"],
        "grain": ["hs_subheading", "first_year"],
        "overrides": {
            "hs_subheading": {"description": "HS subheading: the first six digits of the codes."},
            "first_year": {"description": "First year of a run of years in which the "
                                          "subheading's codes and their families stay the same."},
            "last_year": {"description": "Last year of that run."},
        },
    },
    "ref.hs_families": {
        "description": "Japan's 9-digit export codes of each year's list 2010-2025 with their "
                       "family at each level, and each listed subheading with the family its "
                       "codes outside the list take (imports; export codes a list lacks): "
                       "ref.hs_lineage, one row per code and year (built from it by the asset "
                       "marts/trade_comparable).",
        "columns": ["level", "hs_code", "year", "hs_subheading", "family_id", "family_label",
                    "family_codes", "comparable_since"],
        "grain": ["level", "hs_code", "year"],
        "sql": "ref/hs_families",
        "overrides": {
            "hs_code": {"description": "A 9-digit export code of the year's list, or a "
                                       "6-digit subheading: then the row gives the family of "
                                       "the subheading's codes outside the list."},
            "year": {"description": "A year of the code lists (2010-2025)."},
            "hs_subheading": {"description": "The code's subheading (its first six digits)."},
        },
    },
    "ref.hs_lineage_families": {
        "description": "Every family of several codes and the year since which it is unchanged "
                       "(data/ref/hs_lineage_families.csv, written by python -m "
                       "trade_etl.ingest.lineage).",
        "columns": ["level", "family_id", "comparable_since"],
        "grain": ["level", "family_id"],
    },
}

# What the rows of each per-release table (and the code table beside them) are computed by:
# the names trade_etl.versions.code_version hashes (SQL files, modules, reference CSVs). The
# asset's Dagster code version, the version its rows record in the warehouse and the planner's
# "did the code change" (trade_etl/store/freshness.plan) are all this, evaluated when asked, so
# an edited sector map is seen by a CLI build, by the sensor and by a run alike.
SECTOR_MAPPING = ("ref/sector_map.csv", "ref/sectors.csv", "ref/hs_chapters.csv")
CODE: dict[str, tuple[str, ...]] = {
    "core.trade_facts": ("raw/pending_files", "ddl", "trade_etl.formats.customs_csv",
                         "trade_etl.formats.reporters", "trade_etl.ingest.layouts",
                         "trade_etl.ingest.loader", "trade_etl.ingest.raw_csv",
                         "trade_etl.ingest.releases", "trade_etl.ingest.validation",
                         "trade_etl.ingest.staging", "trade_etl.ingest.census",
                         "trade_etl.formats.census", "trade_etl.formats.release_names"),
    "core.release_coverage": ("core/release_coverage", "core/winning_releases",
                              "trade_etl.store.incremental"),
    "core.hs_code_sectors": ("core/hs_code_sectors", *SECTOR_MAPPING,
                             "trade_etl.store.incremental"),
    "core.trade_release_monthly": ("core/trade_release_monthly", "core/trade_monthly_as_of",
                                   "core/hs_code_sectors", *SECTOR_MAPPING,
                                   "trade_etl.store.incremental"),
}


def code(table: str) -> tuple[str, ...]:
    """What `table`'s rows are computed by (CODE)."""
    return CODE[table]


# Tables a build writes that are bookkeeping, not for users (docs/ingest.md describes them).
INTERNAL = ("core.trade_latest_sources", "audit.derived_state",
            "audit.official_totals_checked")


def columns(table: str) -> list[Column]:
    """The columns of a public table, in warehouse order, overrides applied."""
    spec = TABLES[table]
    overrides = spec.get("overrides", {})
    return [Column(name=name, **{**FIELDS[name], **overrides.get(name, {})})
            for name in spec["columns"]]


def grain(table: str) -> list[str]:
    return list(TABLES[table]["grain"])


def kind(table: str) -> str:
    """`table` or `view`."""
    return TABLES[table].get("kind", "table")


def in_lake(table: str) -> bool:
    """Whether `trade-etl lake publish` copies the table (every public table but a few large
    views that readers compute from the tables they read)."""
    return TABLES[table].get("lake", True)


def built_by(asset: str) -> list[str]:
    """The tables and views the asset `asset` builds, in spec order."""
    return [table for table, spec in TABLES.items() if spec.get("built_by") == asset]


def sql_file(table: str) -> str:
    """The SQL file defining `table` (under sql/, without `.sql`): for an `as_of` table, its
    table macro."""
    return TABLES[table]["sql"]


def as_of(table: str) -> bool:
    """Whether `table` is its table macro `<table>_as_of(as_of)` at the latest date."""
    return TABLES[table].get("as_of", False)


def macro_params(table: str) -> dict[str, list[str]]:
    """The parameters of `table`'s table macro after `as_of`, each with the values its latest
    table or view unions (`{"level": ["hs9", "hs6"]}`); none for most."""
    return dict(TABLES[table].get("params", {}))


def checks(table: str) -> list[dict]:
    """The reconciliation checks on `table`'s asset (see TABLES)."""
    return list(TABLES[table].get("checks", []))


# DuckDB type -> polars dtype name, for frames written into a spec'd table.
POLARS_TYPES = {"VARCHAR": "String", "DATE": "Date", "BIGINT": "Int64", "INTEGER": "Int32",
                "SMALLINT": "Int16", "TINYINT": "Int8", "DOUBLE": "Float64",
                "BOOLEAN": "Boolean", "TIMESTAMP": "Datetime"}


def polars_schema(table: str) -> dict:
    """`{column: polars dtype}` of `table`, in warehouse order: the schema of a frame the
    ingest writes into it (TIMESTAMP is microseconds, as DuckDB stores it)."""
    import polars as pl

    return {c.name: pl.Datetime("us") if c.type == "TIMESTAMP"
            else getattr(pl, POLARS_TYPES[c.type]) for c in columns(table)}


def table_comment(table: str) -> str:
    """The table's description and grain, as written to DuckDB and Dagster."""
    keys = grain(table)
    suffix = f" Grain: {', '.join(keys)}." if keys else ""
    return TABLES[table]["description"] + suffix


# ---- DuckDB comments ---------------------------------------------------------------------------

def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(*names: str) -> str:
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


def apply_comments(conn: duckdb.DuckDBPyConnection) -> int:
    """Write `COMMENT ON` for every spec'd table or view and column that exists in the
    connected database; returns how many comments were written.

    Comments vanish when a table is re-created, so call this at the end of each build (one
    statement per comment; identifiers come from the spec, values are quoted).
    """
    existing: dict[tuple[str, str], set[str]] = {}
    for schema, name, column in conn.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and not internal").fetchall():
        existing.setdefault((schema, name), set()).add(column)
    statements = []
    for table in TABLES:
        schema, name = table.split(".")
        if (schema, name) not in existing:
            continue
        on = "VIEW" if kind(table) == "view" else "TABLE"
        statements.append(f"COMMENT ON {on} {_ident(schema, name)} IS "
                          f"{_literal(table_comment(table))}")
        statements += [f"COMMENT ON COLUMN {_ident(schema, name, col.name)} IS "
                       f"{_literal(col.comment)}"
                       for col in columns(table) if col.name in existing[(schema, name)]]
    for statement in statements:
        conn.execute(statement)
    return len(statements)


# ---- docs/warehouse.md -------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"
# <!-- columns: TABLE [except OTHER] --> … <!-- /columns -->: the column table only;
# <!-- table: TABLE [except OTHER] --> … <!-- /table -->: description and grain, then columns.
# `except OTHER` leaves out the columns TABLE shares with OTHER (the marts' common columns).
BLOCK = re.compile(r"<!-- (?P<tag>columns|table): (?P<table>[a-z0-9_]+\.[a-z0-9_]+)"
                   r"(?: except (?P<other>[a-z0-9_]+\.[a-z0-9_]+))? -->\n.*?<!-- /(?P=tag) -->",
                   re.S)


# <!-- marts --> … <!-- /marts -->: the index of every mart, from the spec.
MARTS_BLOCK = re.compile(r"<!-- marts -->\n.*?<!-- /marts -->", re.S)


def marts_index() -> str:
    """A markdown table of every spec'd mart: kind, as-of macro, grain, checks, lake."""
    lines = ["| mart | kind | as of date d | grain | checks on every build | in the lake |",
             "|---|---|---|---|---|---|"]
    for table in TABLES:
        if not table.startswith("marts."):
            continue
        args = "".join(f", {name}" for name in macro_params(table))
        macro = f"`{table}_as_of(d{args})`" if as_of(table) else ""
        names = ", ".join(f"`{c['name']}`" for c in checks(table))
        lines.append(f"| `{table}` | {kind(table)} | {macro} | "
                     f"{', '.join(grain(table))} | {names} | "
                     f"{'yes' if in_lake(table) else 'no'} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def column_table(table: str, leave_out: str | None = None) -> str:
    """A markdown table (column | type | unit | meaning) of `table`'s columns, without those
    of `leave_out`."""
    skip = {c.name for c in columns(leave_out)} if leave_out else set()
    lines = ["| column | type | unit | meaning |", "|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {_cell(c.unit or '')} | {_cell(c.description)} |"
              for c in columns(table) if c.name not in skip]
    return "\n".join(lines)


def _render(match: re.Match) -> str:
    table, other = match["table"], match["other"]
    for name in (table, other):
        if name is not None and name not in TABLES:
            raise ValueError(f"docs marker names {name!r}, which is not in TABLES "
                             f"(trade_etl/formats/schema.py)")
    body = column_table(table, other)
    if match["tag"] == "table":
        keys = grain(table)
        about = TABLES[table]["description"]
        if keys:
            about += " Grain: " + ", ".join(f"`{k}`" for k in keys) + "."
        if other:
            about += f" Columns: those of `{other}`, and:"
        about = textwrap.fill(about, 100, break_long_words=False, break_on_hyphens=False)
        body = f"{about}\n\n{body}"
    head = match.group(0).split("\n", 1)[0]
    return f"{head}\n{body}\n<!-- /{match['tag']} -->"


def render_docs(text: str) -> str:
    """`text` with every marked block replaced by the table generated from the spec."""
    text = MARTS_BLOCK.sub(lambda _: f"<!-- marts -->\n{marts_index()}\n<!-- /marts -->", text)
    return BLOCK.sub(_render, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trade_etl.formats.schema",
        description="Regenerate (or check) the column tables of docs/warehouse.md from the spec.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-docs", action="store_true", help="rewrite the page in place")
    action.add_argument("--check-docs", action="store_true",
                        help="exit 1 when the page is not what the spec generates")
    parser.add_argument("--docs", type=Path, default=DOCS, help=f"the page (default {DOCS})")
    args = parser.parse_args(argv)
    try:
        text = args.docs.read_text(encoding="utf-8")
    except OSError as error:
        print(f"cannot read {args.docs}: {error.strerror}; give the page with --docs",
              file=sys.stderr)
        return 2
    rendered = render_docs(text)
    if args.check_docs:
        if rendered != text:
            print(f"{args.docs} is out of date: run python -m trade_etl.formats.schema "
                  f"--write-docs", file=sys.stderr)
            return 1
        return 0
    if rendered != text:
        args.docs.write_text(rendered, encoding="utf-8")
    print(f"{args.docs}: {len(BLOCK.findall(text))} generated block(s), "
          f"{'rewritten' if rendered != text else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
