"""What the synthetic sample holds: releases, exact targets and the rows of every flow-year.

``release_schedule`` / ``parse_years`` say which releases and years are written; ``_plan``
fixes the integer segment x month targets of every release (the calibrated views hit the
published figures exactly); ``_FlowYear`` draws the HS x country rows of one flow-year and
apportions the targets over them, release by release.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Sequence
from functools import lru_cache

import polars as pl

from trade_etl.sample.calibration import (
    _BASE_ROWS,
    _BOOST,
    _CAL_YEARS,
    _HS_PRICE,
    _KG_PRICE_BY_CHAPTER,
    _REVISE_RATE,
    _UNIT1,
    _UNIT2_PRICE,
    _VERSION_SIGMA,
    AO,
    CN,
    CY2024_PRELIM,
    CY2024_PRELIM_CN,
    CY2024_PRELIM_US,
    CY2025_PRELIM,
    CY2025_PRELIM_CN_BALANCE,
    CY2025_PRELIM_US_BALANCE,
    EU,
    FY2023,
    FY2024,
    FY2024_ASIA_EXPORTS,
    FY2024_CN,
    FY2024_EU_BALANCE,
    FY2024_US,
    ROW,
    US,
    _country_table,
    _flow_leaf,
    _prefix_lookup,
    _profile,
    _seasonality,
    _segment_annuals,
)
from trade_etl.sample.rand import _key, _normal, _normal_e, _u64, _unif, _unif_e
from trade_etl.settings import REF_DATA_DIR

# ----------------------------------------------------------------------------------------------
# Releases
# ----------------------------------------------------------------------------------------------
STAGE_ORDER = {"preliminary": 0, "revised": 1, "fixed": 2}
# fmt: off
# release kinds 1..6: (months published, stage)
_KINDS = {1: (3, "preliminary"), 2: (6, "preliminary"), 3: (9, "preliminary"),
          4: (12, "preliminary"), 5: (12, "revised"), 6: (12, "fixed")}
# fmt: on
_RELEASE_DIR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}_(preliminary|revised|fixed)$")
# Confidential codes (real from the April 2024 figures): a few rows per flow-year move their
# figures from that month on to a code keeping the chapter (or heading) with X for the rest.
# Chapters whose codes all fall in one sector and no highlight, so that moving a row there
# changes no sector total; non-anchor rows present in every release, so coverage is unchanged.
CONFIDENTIAL_FROM = (2024, 4)
_CONFIDENTIAL_CHAPTERS = (32, 33, 38, 48, 70, 82, 95)
_CONFIDENTIAL_KEPT = (2, 4)  # one code per flow-year keeps the chapter, one the heading
# Code changes the sample stages inside its years (its codes are otherwise the 2024 list's in
# every year): (first year of the new codes, the old code, the new codes). Real codes of Japan's
# lists, on dates of the sample's own: the HS 2022 split of telephones for cellular networks
# (8517.12) into smartphones (8517.13) and others (8517.14) came into force in January 2022, and
# semiconductor testers 9030.82-000 were split into -100 and -900 in January 2018. Before the
# first year, the new codes' figures are written under the old code (summed by partner); values,
# quantities and units are those of the new codes (all counted in NO), so no total changes.
CODE_CHANGES = (
    (2024, "851712000", ("851713000", "851714000")),  # as an HS edition change
    (2025, "903082000", ("903082100", "903082900")),  # as a January split
)


def parse_years(spec: str | int | Sequence[int]) -> list[int]:
    """``"2023-2025"`` -> [2023, 2024, 2025]; ``"2023,2024"`` -> [2023, 2024]; mixes allowed."""
    if isinstance(spec, int):
        return [spec]
    if not isinstance(spec, str):
        return sorted({int(y) for y in spec})
    out: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", part)
        if not m:
            raise ValueError(f"bad year spec {part!r} in {spec!r}; use e.g. 2023-2025 or 2023,2024")
        a = int(m.group(1))
        b = int(m.group(2) or a)
        if b < a:
            raise ValueError(f"descending year range {part!r}")
        out.update(range(a, b + 1))
    if not out:
        raise ValueError(f"no years in {spec!r}")
    return sorted(out)


def _r4_date(year: int) -> dt.date:
    """Publication date of the January preliminary release covering ``year``."""
    fixed = {2024: dt.date(2025, 1, 23), 2025: dt.date(2026, 1, 22)}
    if year in fixed:
        return fixed[year]
    d = dt.date(year + 1, 1, 19)
    return d + dt.timedelta(days=(3 - d.weekday()) % 7)  # Thursday in 19..25 January


def release_schedule(year: int) -> list[tuple[int, dt.date, str, int]]:
    """The six releases of ``year``: (kind 1..6, publication date, stage, months published)."""
    dates = {
        1: dt.date(year, 4, 17),
        2: dt.date(year, 7, 17),
        3: dt.date(year, 10, 16),
        4: _r4_date(year),
        5: dt.date(year + 1, 3, 10),
        6: dt.date(year + 1, 11, 28),
    }
    return [(k, dates[k], _KINDS[k][1], _KINDS[k][0]) for k in range(1, 7)]


def _release_dirname(d: dt.date, stage: str) -> str:
    return f"{d.isoformat()}_{stage}"


# ----------------------------------------------------------------------------------------------
# Apportioning
# ----------------------------------------------------------------------------------------------
def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split integer ``total`` over ``weights`` exactly (largest remainder)."""
    total = int(total)
    if total < 0:
        raise ValueError(f"cannot apportion a negative total {total}")
    s = float(sum(weights))
    if total == 0:
        return [0] * len(weights)
    if s <= 0:
        raise ValueError("cannot apportion over zero weights")
    raw = [total * float(w) / s for w in weights]
    base = [math.floor(x) for x in raw]
    rem = total - sum(base)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    if rem >= 0:
        for i in order[:rem]:
            base[i] += 1
    else:  # float noise only
        for i in reversed(order):
            if rem == 0:
                break
            if base[i] > 0:
                base[i] -= 1
                rem += 1
    assert sum(base) == total
    return base


# ----------------------------------------------------------------------------------------------
# Stage A: segment x month targets of every release (exact integers)
# ----------------------------------------------------------------------------------------------
def _split_q1(q1: int, annual: int, weights: Sequence[float]) -> list[int]:
    if not 0 < q1 < annual:
        raise RuntimeError(f"calibration infeasible: Q1 {q1} of annual {annual}")
    return _apportion(q1, weights[:3]) + _apportion(annual - q1, weights[3:])


@lru_cache(maxsize=1)
def revised_vintage_years() -> frozenset[int]:
    """The years whose totals in data/ref/official_totals.csv are the Ministry's revised vintage
    (its fixed one is not out yet): the sample's revised release of such a year holds its final
    figures, which follow those totals, so that a build whose newest release of the year is the
    revised one passes the blocking check totals_match_official (compared at the same stage)."""
    with (REF_DATA_DIR / "official_totals.csv").open(encoding="utf-8") as handle:
        return frozenset(int(row["year"]) for row in csv.DictReader(handle)
                         if row["vintage_stage"] == "revised")


def _plan(years: Sequence[int], seed: int) -> dict[tuple[int, int], list[list[list[int]]]]:
    """Targets ``T[(year, flow)][kind-1][segment][month]`` (thousand yen) for every release.

    Final (R6) figures follow ``trade_year.csv``; earlier releases deviate by small noise; then
    the blocks that the calibrated "as of" views read are overwritten so that the views hit the
    published figures exactly (see the package docstring).  The three calibration years are always
    planned so that the figures do not depend on which other years are written.
    """
    all_years = sorted(set(years) | set(_CAL_YEARS))
    A = {(y, f): _segment_annuals(y, f) for y in all_years for f in (1, 2)}
    P = {(y, f): _seasonality(y, f, seed) for y in all_years for f in (1, 2)}
    F = {k: [_apportion(A[k][s], P[k][s]) for s in range(5)] for k in A}

    # Precondition 2023 and 2025 so that the FY views force only small revisions on 2024.
    for f in (1, 2):
        f24 = F[(2024, f)]
        q1_24 = sum(sum(f24[s][:3]) for s in range(5))
        a23, p23 = A[(2023, f)], P[(2023, f)]
        q23 = sum(a23) - (FY2023[f] - q1_24)
        q23s = _apportion(q23, [a23[s] * sum(p23[s][:3]) / sum(p23[s]) for s in range(5)])
        F[(2023, f)] = [_split_q1(q23s[s], a23[s], p23[s]) for s in range(5)]
    aprdec = {f: [sum(F[(2024, f)][s][3:]) for s in range(5)] for f in (1, 2)}
    q25: dict[int, list[int]] = {}
    for f in (1, 2):
        a25, p25 = A[(2025, f)], P[(2025, f)]
        q = [round(a25[s] * sum(p25[s][:3]) / sum(p25[s])) for s in range(5)]
        q[US] = FY2024_US[f] - aprdec[f][US]
        q[CN] = FY2024_CN[f] - aprdec[f][CN]
        if f == 1:
            q[AO] = FY2024_ASIA_EXPORTS - FY2024_CN[1] - aprdec[1][AO]
        else:
            eu_exp_fy = aprdec[1][EU] + q25[1][EU]
            q[EU] = eu_exp_fy - FY2024_EU_BALANCE - aprdec[2][EU]
        q[ROW] = FY2024[f] - sum(aprdec[f]) - sum(q[s] for s in range(4))
        q25[f] = q
        F[(2025, f)] = [_split_q1(q[s], a25[s], p25[s]) for s in range(5)]

    T: dict[tuple[int, int], list[list[list[int]]]] = {}
    for (y, f), fin in F.items():
        versions = []
        for k in range(1, 6):
            cover, sig = _KINDS[k][0], _VERSION_SIGMA[k]
            versions.append(
                [
                    [
                        round(fin[s][m] * (1.0 + sig * _normal(seed, "ver", y, f, k, s, m)))
                        if m < cover
                        else 0
                        for m in range(12)
                    ]
                    for s in range(5)
                ]
            )
        versions.append([row[:] for row in fin])
        T[(y, f)] = versions

    def set_block(
        mat: list[list[int]], segs: Sequence[int], months: Sequence[int], target: int
    ) -> None:
        cells = [(s, m) for s in segs for m in months]
        new = _apportion(target, [max(mat[s][m], 1) for s, m in cells])
        for (s, m), v in zip(cells, new, strict=True):
            mat[s][m] = v

    q1m, rest = range(0, 3), range(3, 12)
    # FY2023 as of 2025-04-17: 2023 fixed (Apr-Dec) + 2024 revised (Jan-Mar)
    for f in (1, 2):
        r6_23, r5_24 = T[(2023, f)][5], T[(2024, f)][4]
        set_block(r5_24, range(5), q1m, FY2023[f] - sum(sum(r6_23[s][3:]) for s in range(5)))
    # FY2024 as of 2025-04-17: 2024 revised (Apr-Dec) + 2025 first preliminary (Jan-Mar)
    fy: dict[int, list[int]] = {}
    for f in (1, 2):
        r5, r1 = T[(2024, f)][4], T[(2025, f)][0]
        q1 = [sum(r1[s][:3]) for s in range(5)]
        set_block(r5, [US], rest, FY2024_US[f] - q1[US])
        set_block(r5, [CN], rest, FY2024_CN[f] - q1[CN])
        if f == 1:
            set_block(r5, [AO], rest, FY2024_ASIA_EXPORTS - FY2024_CN[1] - q1[AO])
        else:
            set_block(r5, [EU], rest, fy[1][EU] - FY2024_EU_BALANCE - q1[EU])
        others = sum(sum(r5[s][3:]) + q1[s] for s in range(4))
        set_block(r5, [ROW], rest, FY2024[f] - others - q1[ROW])
        fy[f] = [sum(r5[s][3:]) + q1[s] for s in range(5)]
    # CY2024 as of 2025-01-23: the January preliminary release
    for f in (1, 2):
        r4 = T[(2024, f)][3]
        set_block(r4, [US], range(12), CY2024_PRELIM_US[f])
        set_block(r4, [CN], range(12), CY2024_PRELIM_CN[f])
        set_block(r4, [ROW], range(12), CY2024_PRELIM[f] - sum(sum(r4[s]) for s in range(4)))
    # CY2025 as of 2026-01-22
    e4, i4 = T[(2025, 1)][3], T[(2025, 2)][3]
    set_block(e4, [ROW], range(12), CY2025_PRELIM[1] - sum(sum(e4[s]) for s in range(4)))
    set_block(i4, [US], range(12), sum(e4[US]) - CY2025_PRELIM_US_BALANCE)
    set_block(i4, [CN], range(12), sum(e4[CN]) - CY2025_PRELIM_CN_BALANCE)
    set_block(i4, [ROW], range(12), CY2025_PRELIM[2] - sum(sum(i4[s]) for s in range(4)))

    for key, versions in T.items():
        for k, mat in enumerate(versions, start=1):
            cover = _KINDS[k][0]
            for s in range(5):
                for m in range(cover):
                    if mat[s][m] <= 0:
                        raise RuntimeError(f"non-positive target {key} R{k} seg {s} month {m}")
                    ratio = mat[s][m] / F[key][s][m]
                    if not 0.9 < ratio < 1.1:
                        raise RuntimeError(f"implausible revision {key} R{k} seg {s} m{m}: {ratio}")
    return {k: v for k, v in T.items() if k[0] in set(years)}


# ----------------------------------------------------------------------------------------------
# Stage B: HS x country rows of one flow-year and their values in every release
# ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _flow_pool(flow: int) -> pl.DataFrame:
    """leaf, hs9, hsn, unit1, unit2, chapter, boost, price1, price2 of every usable code."""
    rows = []
    for node, codes in sorted(_profile().pools.items()):
        leaf = _flow_leaf(node, flow)
        for hs9, unit2 in codes:
            chapter = int(hs9[:2])
            boost = float(_prefix_lookup(_BOOST, hs9[:6]) or 1.0)
            u1 = _prefix_lookup(_UNIT1, hs9[:6])
            price2 = _prefix_lookup(_HS_PRICE, hs9[:6])
            if price2 is None:
                price2 = (
                    _KG_PRICE_BY_CHAPTER.get(chapter, 1_000.0)
                    if unit2 == "KG"
                    else _UNIT2_PRICE.get(unit2, 1_000.0)
                )
            rows.append(
                (
                    leaf,
                    hs9,
                    int(hs9),
                    u1[0] if u1 else None,
                    unit2,
                    chapter,
                    boost,
                    u1[1] if u1 else 1.0,
                    float(price2),
                )
            )
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "leaf": pl.String,
            "hs9": pl.String,
            "hsn": pl.UInt64,
            "unit1": pl.String,
            "unit2": pl.String,
            "chapter": pl.Int32,
            "boost": pl.Float64,
            "price1": pl.Float64,
            "price2": pl.Float64,
        },
    )


def _cells(year: int, flow: int, scale: float, seed: int) -> pl.DataFrame:
    """Partner x commodity-group cells with their annual value and number of HS rows."""
    prof = _profile()
    pool_size = _flow_pool(flow).group_by("leaf").len()
    cap_of = dict(zip(pool_size["leaf"], pool_size["len"], strict=True))
    cells = []
    for code, seg, ckey, value in _country_table(year, flow):
        for leaf, share in prof.comp[(flow, ckey)].items():
            v = value * share
            if v > 0 and cap_of.get(leaf, 0) > 0:
                cells.append([code, seg, leaf, v, cap_of[leaf]])
    n_target = max(1, round(_BASE_ROWS[flow] * scale))
    g = [c[3] ** 0.5 for c in cells]
    caps = [c[4] for c in cells]
    if sum(caps) <= n_target:
        m = [float(c) for c in caps]
    else:  # water-filling: m_i = min(cap_i, lam * g_i) with sum m = n_target
        lo, hi = 0.0, max(c / x for c, x in zip(caps, g, strict=True))
        for _ in range(100):
            lam = (lo + hi) / 2
            if sum(min(c, lam * x) for c, x in zip(caps, g, strict=True)) < n_target:
                lo = lam
            else:
                hi = lam
        m = [min(c, hi * x) for c, x in zip(caps, g, strict=True)]
    best: dict[int, int] = {}
    for i, c in enumerate(cells):
        fl = math.floor(m[i])
        c.append(fl + (1 if _unif(seed, "nrows", year, flow, c[0], c[2]) < m[i] - fl else 0))
        if c[1] not in best or c[3] > cells[best[c[1]]][3]:
            best[c[1]] = i
    named = {key for (f, key) in prof.totals if f == flow and key.isdigit()}
    best_c: dict[str, int] = {}
    for i, c in enumerate(cells):
        if c[0] in named and (c[0] not in best_c or c[3] > cells[best_c[c[0]]][3]):
            best_c[c[0]] = i
    for i in [*best.values(), *best_c.values()]:  # every segment and named partner keeps rows
        cells[i][5] = max(cells[i][5], 1)
    df = pl.DataFrame(
        cells,
        orient="row",
        schema={
            "code": pl.String,
            "seg": pl.Int32,
            "leaf": pl.String,
            "v": pl.Float64,
            "cap": pl.Int64,
            "n": pl.Int64,
        },
    )
    return df.filter(pl.col("n") > 0).with_row_index("cell")


def _lr(df: pl.DataFrame, total: str, weight: str, out: str, grp: str = "seg") -> pl.DataFrame:
    """Largest-remainder apportionment, per group ``grp``, of the integer column ``total``
    (constant within a group) over the non-negative integer weights ``weight`` into ``out``;
    group sums are exact.  Weights are integers, so their sums are exact and order-independent."""
    S = pl.col(weight).sum().over(grp)
    df = df.with_columns(
        _x=pl.when(S > 0)
        .then(pl.col(total).cast(pl.Float64) * pl.col(weight).cast(pl.Float64) / S.cast(pl.Float64))
        .otherwise(0.0)
    ).with_columns(_b=pl.col("_x").floor().cast(pl.Int64))
    rank = (pl.col("_x") - pl.col("_b")).rank("ordinal", descending=True).over(grp)
    rem = pl.col(total) - pl.col("_b").sum().over(grp)
    return df.with_columns(
        (pl.col("_b") + ((rank <= rem) & (pl.col(weight) > 0)).cast(pl.Int64)).alias(out)
    ).drop("_x", "_b")


def _seg_expr(values: Sequence[int]) -> pl.Expr:
    return pl.col("seg").replace_strict(dict(enumerate(values)), return_dtype=pl.Int64)


def _anchor_fix(df: pl.DataFrame, col: str, present: pl.Expr, grp: str = "seg") -> pl.DataFrame:
    """Give anchor rows at least 1 (taken from the group's largest row) so that every HS
    chapter stays reported in every published month."""
    need = (pl.col("anchor") & present & (pl.col(col) == 0)).cast(pl.Int64)
    donor = (pl.col(col).rank("ordinal", descending=True).over(grp) == 1).cast(pl.Int64)
    return df.with_columns((pl.col(col) + need - donor * need.sum().over(grp)).alias(col))


def _country_month_targets(
    year: int, flow: int, T6: list[list[int]], codes: Sequence[tuple[str, int]]
) -> pl.DataFrame:
    """Integer country x month targets of the fixed release: rows sum to the country's annual
    total (named partners: exactly trade_year.csv), columns to the segment-month targets."""
    prof = _profile()
    named = {key for (f, key) in prof.totals if f == flow and key.isdigit()}
    value = {c: v for c, _s, _k, v in _country_table(year, flow)}
    out = []
    for seg in range(5):
        cs = [c for c, s in codes if s == seg]
        if not cs:
            continue
        total = sum(T6[seg])
        fixed = {c: prof.total(flow, c, year) for c in cs if c in named}
        rest = [c for c in cs if c not in named]
        if rest and total - sum(fixed.values()) > 0:
            annual = dict(fixed)
            annual.update(
                zip(
                    rest,
                    _apportion(total - sum(fixed.values()), [value[c] for c in rest]),
                    strict=True,
                )
            )
        else:  # no unnamed country with rows: spread over all
            annual = dict(zip(cs, _apportion(total, [value[c] for c in cs]), strict=True))
        weights = [annual[c] for c in cs]
        # cumulative largest remainder: exact row and column sums
        prev = [0] * len(cs)
        cols: list[list[int]] = []
        cum = 0
        for m in range(12):
            cum += T6[seg][m]
            cur = _apportion(cum, weights)
            cols.append([a - b for a, b in zip(cur, prev, strict=True)])
            prev = cur
        if min(min(col) for col in cols) < 0:  # Alabama paradox on a tiny country: plain split
            cols = [_apportion(T6[seg][m], weights) for m in range(12)]
        for i, c in enumerate(cs):
            out.append([c] + [cols[m][i] for m in range(12)])
    return pl.DataFrame(
        out, orient="row", schema={"code": pl.String, **{f"_t{m}": pl.Int64 for m in range(12)}}
    )


class _FlowYear:
    """All rows of one flow-year; ``values(k)`` gives the rows of release kind ``k``."""

    def __init__(
        self, year: int, flow: int, targets: list[list[list[int]]], scale: float, seed: int
    ) -> None:
        self.year, self.flow, self.T, self.seed = year, flow, targets, seed

        def ks(*p: object) -> int:
            return _key(seed, year, flow, *p)

        cells = _cells(year, flow, scale, seed)
        pool = _flow_pool(flow)
        # pick n codes per cell without replacement, weighted by boost (Efraimidis-Spirakis)
        picked = (
            cells.select("cell", "leaf", "n")
            .join(pool.select("leaf", "hsn", "boost"), on="leaf", how="inner")
            .with_columns(_c=pl.col("cell").cast(pl.UInt64) * _u64(1 << 30) + pl.col("hsn"))
            .with_columns(_k=_unif_e(ks("pick"), "_c").clip(1e-300, 1.0).log() / pl.col("boost"))
            .filter(pl.col("_k").rank("ordinal", descending=True).over("cell") <= pl.col("n"))
            .select("cell", "leaf", "hsn")
        )
        rows = (
            picked.join(cells.drop("leaf", "cap", "n"), on="cell", how="left")
            .join(pool, on=["leaf", "hsn"], how="left")
            .sort(["cell", "hs9"])
            .drop("hsn")
            .with_row_index("rid")
        )
        del picked
        n = rows.height
        rows = rows.with_columns(
            w=pl.col("boost") * (1.0 * _normal_e(ks("w"))).exp(),
            price2=pl.col("price2") * (0.4 * _normal_e(ks("p2"))).exp(),
            price1=pl.col("price1") * (0.3 * _normal_e(ks("p1"))).exp(),
        ).with_columns(vrow=pl.col("v") * pl.col("w") / pl.col("w").sum().over("cell"))
        top = pl.col("vrow").rank("ordinal", descending=True)
        rows = rows.with_columns(
            p_act=(0.2 + 0.2 * (pl.col("vrow").clip(1.0, None) / 1e3).log10()).clip(0.15, 1.0),
            # anchors: largest row of each HS chapter, segment and country; never dropped,
            # active every month, so every chapter / country is reported in every month
            anchor=(top.over("chapter") == 1) | (top.over("seg") == 1) | (top.over("code") == 1),
        )
        # rows removed after R3 / R4 and rows added from R4 / R5 on
        nr = max(1, round(n * 0.0015))
        elig = ~pl.col("anchor") & (pl.col("vrow") >= 1e4)
        if rows.select(elig.sum()).item() < 4 * nr:
            elig = ~pl.col("anchor")
        r = pl.when(elig).then(_unif_e(ks("flag"))).otherwise(2.0).rank("ordinal")
        rows = (
            rows.with_columns(_r=r)
            .with_columns(
                last_v=pl.when(pl.col("_r") <= nr)
                .then(3)
                .when(pl.col("_r") <= 2 * nr)
                .then(4)
                .otherwise(6)
                .cast(pl.Int8),
                first_v=pl.when(pl.col("_r").is_between(2 * nr + 1, 3 * nr))
                .then(4)
                .when(pl.col("_r").is_between(3 * nr + 1, 4 * nr))
                .then(5)
                .otherwise(1)
                .cast(pl.Int8),
            )
            .drop("_r")
        )
        forced = pl.col("anchor") | (pl.col("last_v") < 6)
        fm = (_unif_e(ks("fm")) * 12).floor().cast(pl.Int64)
        T6 = targets[5]
        p6 = pl.col("last_v") == 6
        # R6 exact per country and month (named partners = trade_year.csv to the thousand yen)
        xt = _country_month_targets(
            year, flow, T6, rows.filter(p6).select("code", "seg").unique().sort("code").rows()
        )
        for m in range(12):
            # monthly weight of a row: activity x noise, spread within its partner x group cell
            act = forced | (_unif_e(ks("act", m)) < pl.col("p_act")) | (fm == m)
            W = pl.col("w") * (0.3 * _normal_e(ks("noise", m))).exp() * act.cast(pl.Float64)
            rows = rows.with_columns(_W=W).with_columns(
                _W=pl.when(pl.col("_W").sum().over("cell") > 0)
                .then(pl.col("v") / pl.col("_W").sum().over("cell") * pl.col("_W"))
                .otherwise(0.0)
            )
            # b{m}: expected value in yen (integer weights for every later apportionment)
            rows = rows.with_columns(
                (
                    _seg_expr([T6[s][m] for s in range(5)]).cast(pl.Float64)
                    * pl.col("_W")
                    / pl.col("_W").sum().over("seg")
                    * 1000.0
                )
                .round()
                .cast(pl.Int64)
                .alias(f"b{m}")
            ).drop("_W")
            part = rows.select(
                "code",
                "anchor",
                "last_v",
                pl.when(p6).then(pl.col(f"b{m}")).otherwise(0).alias("_w"),
            ).join(xt.select("code", pl.col(f"_t{m}").alias("_t")), on="code", how="left")
            part = _lr(part, "_t", "_w", "_v", grp="code")
            part = _anchor_fix(part, "_v", p6, grp="code")
            rows = rows.with_columns(part["_v"].alias(f"v6_{m}"))
        self.confidential = self._confidential_rows(rows, ks("confidential"))
        self.rows = rows.drop("v", "w", "vrow", "p_act", "boost", "cell")
        self._check(self.rows, {m: f"v6_{m}" for m in range(12)}, 6)

    def _confidential_rows(self, rows: pl.DataFrame, key: int) -> dict[tuple[str, str], str]:
        """(hs9, country) -> confidential code, for the rows whose figures Customs withholds
        from CONFIDENTIAL_FROM on: one row in each of the first chapters by a seeded draw."""
        if (self.year, 12) < CONFIDENTIAL_FROM:
            return {}
        picked = (
            rows.filter(~pl.col("anchor") & (pl.col("first_v") == 1) & (pl.col("last_v") == 6)
                        & pl.col("chapter").is_in(_CONFIDENTIAL_CHAPTERS)
                        & (pl.col("vrow") >= 1e4))
            .with_columns(_u=_unif_e(key))
            .sort("_u")
            .unique("chapter", keep="first", maintain_order=True)
            .head(len(_CONFIDENTIAL_KEPT))
        )
        return {
            (hs9, code): hs9[:kept] + "X" * (9 - kept)
            for (hs9, code), kept in zip(picked.select("hs9", "code").rows(), _CONFIDENTIAL_KEPT,
                                         strict=False)
        }

    def _withhold(self, out: pl.DataFrame) -> pl.DataFrame:
        """Move the confidential rows' figures from CONFIDENTIAL_FROM on to their confidential
        code (a row of its own, same partner and units): every total stays the same."""
        if not self.confidential:
            return out
        first = 0 if self.year > CONFIDENTIAL_FROM[0] else CONFIDENTIAL_FROM[1] - 1
        codes = {f"{hs9}|{code}": conf for (hs9, code), conf in self.confidential.items()}
        key = pl.concat_str("hs9", pl.lit("|"), "code")
        chosen = key.is_in(list(codes))
        month_of = {c: m for m in range(12) for c in (f"q1_{m}", f"q2_{m}", f"v{m}")}
        moved = out.filter(chosen).with_columns(
            key.replace_strict(codes, return_dtype=pl.String).alias("hs9"),
            *[pl.lit(0, pl.Int64).alias(c) for c, m in month_of.items() if m < first],
        )
        kept = out.with_columns(
            pl.when(chosen).then(0).otherwise(pl.col(c)).alias(c)
            for c, m in month_of.items() if m >= first
        )
        return pl.concat([kept, moved]).sort(["hs9", "code"])

    def _check(self, df: pl.DataFrame, cols: dict[int, str], k: int) -> None:
        if df.select(pl.min_horizontal(list(cols.values())).min()).item() < 0:
            raise AssertionError(f"{self.year}/{self.flow} R{k}: negative value")
        sums = df.group_by("seg").agg(pl.col(c).sum() for c in cols.values()).sort("seg")
        for row in sums.iter_rows(named=True):
            for m, c in cols.items():
                if row[c] != self.T[k - 1][row["seg"]][m]:
                    raise AssertionError(f"{self.year}/{self.flow} R{k} seg {row['seg']} m{m}")

    def values(self, k: int) -> pl.DataFrame:
        """Rows of release kind ``k`` with v{m} (value), q1_{m}, q2_{m}; zero rows dropped."""
        cover = _KINDS[k][0]
        rows = self.rows
        vals: dict[int, pl.Series] = {}
        # a year whose Ministry totals are the revised vintage: its revised release holds the
        # final figures, so the check totals_match_official passes on the revised release alone
        final = k == 6 or (k == 5 and self.year in revised_vintage_years())
        if final:
            vals = {m: rows[f"v6_{m}"] for m in range(12)}
        else:

            def ks(*p: object) -> int:
                return _key(self.seed, self.year, self.flow, "ver", k, *p)

            present = (pl.col("first_v") <= k) & (pl.col("last_v") >= k)
            p6 = pl.col("last_v") == 6
            flags = rows.select(
                "rid",
                "seg",
                "anchor",
                "first_v",
                "last_v",
                _fixed=present & p6 & (_unif_e(ks("rev")) >= _REVISE_RATE[k]),
                _delta=(1.0 + 0.004 * _normal_e(ks("delta"))).clip(0.985, 1.015),
            ).with_columns(_flex=present & ~pl.col("_fixed"))
            tk = self.T[k - 1]
            for m in range(cover):
                # fixed rows keep their R6 value; revised, removed and added rows absorb the
                # difference (or every present row does, if that difference is too large)
                df = flags.with_columns(
                    rows[f"v6_{m}"].alias("_v6"),
                    _T=_seg_expr([tk[s][m] for s in range(5)]),
                    _bw=(
                        pl.when(p6).then(rows[f"v6_{m}"] * 1000).otherwise(rows[f"b{m}"])
                        * pl.col("_delta")
                    )
                    .round()
                    .cast(pl.Int64),
                )
                df = df.with_columns(
                    _D=pl.col("_T") - (pl.col("_v6") * pl.col("_fixed")).sum().over("seg"),
                    _WF=(pl.col("_bw") * pl.col("_flex")).sum().over("seg"),
                ).with_columns(
                    _fb=(pl.col("_WF") == 0)
                    | ~(
                        pl.col("_D").cast(pl.Float64) * 1000.0 / pl.col("_WF").cast(pl.Float64)
                    ).is_between(0.8, 1.25)
                )
                df = df.with_columns(
                    _ef=pl.col("_flex") | (pl.col("_fb") & present),
                    _tt=pl.when(pl.col("_fb")).then(pl.col("_T")).otherwise(pl.col("_D")),
                ).with_columns(_w=pl.when(pl.col("_ef")).then(pl.col("_bw")).otherwise(0))
                df = _lr(df, "_tt", "_w", "_a")
                df = df.with_columns(
                    _v=pl.when(pl.col("_ef"))
                    .then(pl.col("_a"))
                    .when(pl.col("_fixed") & ~pl.col("_fb"))
                    .then(pl.col("_v6"))
                    .otherwise(0)
                )
                vals[m] = _anchor_fix(df, "_v", present)["_v"]
            zero = pl.Series([0] * rows.height, dtype=pl.Int64)
            vals.update({m: zero for m in range(cover, 12)})
        keep = ["hs9", "code", "seg", "unit1", "unit2", "chapter", "price1", "price2"]
        out = rows.select(keep).with_columns(vals[m].alias(f"v{m}") for m in range(12))
        if not final:
            self._check(out, {m: f"v{m}" for m in range(cover)}, k)
        out = out.with_columns(
            [
                (pl.col(f"v{m}").cast(pl.Float64) * 1000.0 / pl.col("price2"))
                .round()
                .cast(pl.Int64)
                .alias(f"q2_{m}")
                for m in range(12)
            ]
            + [
                pl.when(pl.col("unit1").is_not_null())
                .then((pl.col(f"v{m}").cast(pl.Float64) * 1000.0 / pl.col("price1")).round())
                .otherwise(0.0)
                .cast(pl.Int64)
                .alias(f"q1_{m}")
                for m in range(12)
            ]
        )
        cols = ["hs9", "code", "unit1", "unit2", "chapter"] + [
            f"{p}{m}" for m in range(12) for p in ("q1_", "q2_", "v")
        ]
        nonzero = pl.any_horizontal(
            [pl.col(f"{p}{m}") != 0 for m in range(cover) for p in ("q1_", "q2_", "v")]
        )
        out = self._withhold(out.select(cols))
        return self._old_codes(out.filter(nonzero)).sort(["hs9", "code"])

    def _old_codes(self, out: pl.DataFrame) -> pl.DataFrame:
        """Write the figures of CODE_CHANGES' new codes under the old code in the years before
        the change (one row per partner: the new codes' rows summed)."""
        renamed = {new: old for first, old, news in CODE_CHANGES if self.year < first
                   for new in news}
        if not renamed or not out["hs9"].is_in(list(renamed)).any():
            return out
        moved = out.filter(pl.col("hs9").is_in(list(renamed)))
        numbers = [c for c in out.columns if c.startswith(("q1_", "q2_", "v"))]
        merged = (
            moved.with_columns(pl.col("hs9").replace_strict(renamed, return_dtype=pl.String))
            .group_by("hs9", "code", "unit1", "unit2", "chapter", maintain_order=True)
            .agg(pl.col(c).sum() for c in numbers)
            .select(out.columns)
        )
        return pl.concat([out.filter(~pl.col("hs9").is_in(list(renamed))), merged])
