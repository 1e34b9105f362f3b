"""Counter-based pseudo-random numbers of the synthetic sample (splitmix64).

Every draw is a pure function of its key parts (``seed`` first), so identical arguments give
identical files.  ``_mix`` / ``_key`` / ``_unif`` / ``_normal`` work on Python ints; the ``_e``
twins build the same numbers as polars expressions over a counter column (``rid`` by default).
"""

from __future__ import annotations

import math
import zlib

import polars as pl

# ----------------------------------------------------------------------------------------------
# Counter-based pseudo-random numbers (splitmix64), identical in Python and in polars
# ----------------------------------------------------------------------------------------------
_M64 = (1 << 64) - 1
_G0, _G1, _G2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(z: int) -> int:
    z = (z + _G0) & _M64
    z = ((z ^ (z >> 30)) * _G1) & _M64
    z = ((z ^ (z >> 27)) * _G2) & _M64
    return z ^ (z >> 31)


def _key(*parts: object) -> int:
    h = 0x5EED
    for p in parts:
        if isinstance(p, str):
            p = zlib.crc32(p.encode())
        h = _mix(h ^ (int(p) & _M64))
    return h


def _unif(*parts: object) -> float:
    return (_key(*parts) >> 11) * 2.0**-53


def _normal(*parts: object) -> float:
    u1, u2 = _unif(*parts, "n1"), _unif(*parts, "n2")
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def _u64(v: int) -> pl.Expr:
    return pl.lit(v & _M64, dtype=pl.UInt64)


def _mix_e(z: pl.Expr) -> pl.Expr:
    z = z + _u64(_G0)
    z = (z ^ (z // _u64(1 << 30))) * _u64(_G1)
    z = (z ^ (z // _u64(1 << 27))) * _u64(_G2)
    return z ^ (z // _u64(1 << 31))


def _unif_e(key: int, col: str = "rid") -> pl.Expr:
    z = _mix_e(pl.col(col).cast(pl.UInt64) + _u64(key))
    return (z // _u64(2048)).cast(pl.Float64) * 2.0**-53


def _normal_e(key: int, col: str = "rid") -> pl.Expr:
    u1 = _unif_e(_key(key, "n1"), col)
    u2 = _unif_e(_key(key, "n2"), col)
    return (-2.0 * (1.0 - u1).log()).sqrt() * (2.0 * math.pi * u2).cos()
