"""Hypothesis strategies for the inputs of the MlpMse predicates: MLP points, probes, small vectors.

Design
------
Hypothesis draws the *structure* of an example and numpy fills in the *bulk*:

- Hypothesis draws the dims `(inDim, hidDim, outDim)`, a boolean `rich`, the hidden-unit pattern
  ("all-on", "all-off", "mixed") and an integer `seed`: four to six choices in all, whatever the
  dims, through `st.tuples(...).map(build)`;
- everything else (per-array scale exponents, entries, signs, zeros, the `|z1|` targets, the
  probe directions) comes from `numpy.random.default_rng(seed)`, a few vectorised calls per
  example (one 62-bit draw per entry, cut into bit fields); the part of the domain an MLP point
  is built in (`spec.domain`: interior, near-kink, kink, empty) is picked from all four drawn
  choices together (`_part_and_sizes`).

Drawing each entry through a Hypothesis element strategy costs tens of microseconds per entry, and
even each structural choice costs Hypothesis some tens of microseconds, which is why the per-array
scale exponents come from the generator too. Building an `MlpExample` with three probes takes about
0.1 ms at `max_dim=8`. Shrinking stays meaningful because every drawn choice shrinks towards a
simpler example: dims towards `min_dim`, the seed towards 0, the pattern towards "mixed" (the case
that exercises the ReLU mask), and `rich` towards False, where the entries are small integers
`-2..2` instead of multi-magnitude dyadic values. A failure found with rich values thus usually
shrinks to a small integer example of the smallest dims that still fails. What does not shrink is
one entry at a time: entries change together when the seed does.

Entries
-------
Every drawn entry is a *dyadic rational with at most 24 significant bits*: `m * 2**e` with an
integer `|m| < 2**24` (but for `b1` at the near-kink units of float64 points, which needs 53 bits
to place them, `_near_kink_bias`). Such values are exact in float32 and float64, their pairwise
products are exact in float64 (48 bits), and `p + s*h` with `s` a power of two is usually exact
in float64, which a checker perturbing points along probe directions relies on. With
`rich=True` an array has a scale exponent `k` (uniform in `[-4, 4]`) and each entry has magnitude in
`[2**(k+j), 2**(k+j+1))` with `j` uniform in `[-4, 4]`, so magnitudes range over about `2**-8` to
`2**9`; signs are random, about one entry in eight is an exact zero, and half the mantissas are
full 24-bit while the others have 1 to 24 bits.

No kink
-------
Lean's gradient lemmas for `W1`, `b1`, `x` assume `hx : ∀ i, z1 i ≠ 0`. `mlp_points` produces it
by construction, never by filtering: it chooses the sign and a magnitude of each `z1_i`, then sets
`b1` (the derivations of the rounding bounds are at `_no_kink_bias` and, for units a few rounding
errors from the kink, `_near_kink_bias`). The "kink" part (and `kinked_mlp_examples`) puts exact
zeros into `z1` on purpose: the lemmas without `hx` must hold there, the others answer unmet.
"""

import functools
import math
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy
from jaxtyping import Bool, Float

from .domain import PARTS, Part, near_kink_threshold, part_of_units
from .examples import (
    PARAMS,
    LinearExample,
    MlpExample,
    MlpPoint,
    MseExample,
    VecExample,
    rational_example,
    rational_point,
)
from .types import F64, Arr

__all__ = [
    "PATTERNS",
    "DEFAULT_MARGIN",
    "MAX_DIM_LIMIT",
    "check_margin",
    "dims",
    "dyadic_floats",
    "dyadic_arrays",
    "mlp_points",
    "mlp_examples",
    "rational_mlp_examples",
    "mlp_examples_for",
    "either_kind",
    "PROBE_BITS",
    "kinked_mlp_examples",
    "build_mlp_example",
    "vec_examples",
    "linear_examples",
    "mse_examples",
]

PATTERNS: tuple[str, ...] = ("all-on", "all-off", "mixed")
"""The hidden-unit patterns `mlp_points(pattern=...)` accepts; `None` draws one of them."""

MAX_DIM_LIMIT: int = 2**16
"""The largest dimension accepted: the no-kink rounding bound assumes `γ_inDim <= 2**-36`."""

_MANTISSA_BITS = 24
_MAX_SCALE = 4  # per-array scale exponent in [-_MAX_SCALE, _MAX_SCALE]
_SPREAD = 4  # per-entry exponent offset in [-_SPREAD, _SPREAD]
_ZERO_FRACTION = 0.125
_MARGIN_RANGE = (2.0**-60, 2.0**60)
DEFAULT_MARGIN = 2.0**-60
"""The default least `|z1 i|`: the smallest margin accepted, so that near-kink units reach every
absolute size down to it (a mask `z1 > 1e-12` is caught only by a unit in `(0, 1e-12]`). Rounding
is kept from flipping a ReLU by each unit's distance relative to `(|W1||x| + |b1|)_i`, not by the
margin; a margin of 2**-6 would hide every mask `z1 > eps` with eps below it."""
# Weights 1 : 1 : 3 for all-on : all-off : mixed; "mixed" comes first so that it is what shrinks.
_PATTERN_CHOICES = ("mixed", "all-on", "mixed", "all-off", "mixed")

_seeds: SearchStrategy[int] = st.integers(0, 2**32 - 1)
_richness: SearchStrategy[bool] = st.booleans()
_pattern_choice: SearchStrategy[str] = st.sampled_from(_PATTERN_CHOICES)


# --- argument validation ------------------------------------------------------------------------


def _check_int(name: str, value: object, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer; {fix}")
    return value


def _check_dims(min_dim: int, max_dim: int, *, at_least: int = 0) -> None:
    _check_int("min_dim", min_dim, "pass e.g. min_dim=1")
    _check_int("max_dim", max_dim, "pass e.g. max_dim=8")
    if min_dim < 0:
        raise InvalidArgument(
            f"min_dim={min_dim!r} must be non-negative; pass min_dim=0 or more "
            "(0 is a legal dimension, Lean's Fin 0)"
        )
    if max_dim < min_dim:
        raise InvalidArgument(
            f"max_dim={max_dim!r} must be at least min_dim={min_dim!r}; pass max_dim >= {min_dim}"
        )
    if max_dim > MAX_DIM_LIMIT:
        raise InvalidArgument(
            f"max_dim={max_dim!r} is above {MAX_DIM_LIMIT} (2**16), which the no-kink rounding "
            f"bound assumes; pass max_dim <= {MAX_DIM_LIMIT}"
        )
    if max_dim < at_least:
        raise InvalidArgument(
            f"max_dim={max_dim!r} leaves no hidden unit to kink; pass max_dim={at_least} or more"
        )


def check_margin(margin: float | int | Fraction) -> float:
    """Return the margin as a float at least the given one (a `Fraction` is rounded up)."""
    lo, hi = _MARGIN_RANGE
    if isinstance(margin, bool) or not isinstance(margin, int | float | Fraction):
        raise InvalidArgument(
            f"margin={margin!r} must be a float or a Fraction; pass e.g. margin=2**-6"
        )
    value = float(margin)
    if isinstance(margin, Fraction) and Fraction(value) < margin:
        value = math.nextafter(value, math.inf)
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgument(
            f"margin={margin!r} must be a positive finite float; pass e.g. margin=2**-6"
        )
    if not lo <= value <= hi:
        raise InvalidArgument(
            f"margin={margin!r} must lie in [2**-60, 2**60] so that b1 stays exact in float32; "
            "pass e.g. margin=2**-6"
        )
    return value


def _check_pattern(pattern: str | None) -> None:
    if pattern is not None and pattern not in PATTERNS:
        raise InvalidArgument(
            f"pattern={pattern!r} must be one of None, 'all-on', 'all-off', 'mixed'; "
            "pass pattern=None to draw all three"
        )


def _check_probes(probes: int) -> None:
    _check_int("probes", probes, "pass e.g. probes=3")
    if probes < 1:
        raise InvalidArgument(f"probes={probes!r} must be at least 1; pass probes=1 or more")


_D = TypeVar("_D")
_R = TypeVar("_R")


def _keeping_random_state(build: Callable[[_D], _R]) -> Callable[[_D], _R]:
    """Return `build` made to leave the global `random` state as it found it.

    Under pytest every function and dataclass of `spec` is type-checked by beartype, whose O(1)
    check of a container (`list[F64]`, `tuple[dict[str, F64], ...]`) looks at one item picked with
    `random.getrandbits`. Hypothesis reports any change of the global random state made while
    drawing an example ("Do not use the `random` module inside strategies"); restoring the state
    keeps the runtime checks without that report. It costs a few microseconds per example.
    """

    @functools.wraps(build)
    def run(drawn: _D) -> _R:
        state = random.getstate()
        try:
            return build(drawn)
        finally:
            random.setstate(state)

    return run


# --- the bulk entries ---------------------------------------------------------------------------


def _bulk(
    rng: np.random.Generator,
    shapes: Sequence[tuple[int, ...]],
    rich: bool,
    *,
    max_scale: int = _MAX_SCALE,
    spread: int = _SPREAD,
    bits: int = _MANTISSA_BITS,
    zero_fraction: float = _ZERO_FRACTION,
    nonzero: bool = False,
) -> list[F64]:
    """Return one array per shape, of dyadic entries `m * 2**e` with `|m| < 2**bits`.

    With `rich=False` the entries are the integers -2..2. With `rich=True` each array gets a scale
    `k` in `[-max_scale, max_scale]`, each entry an offset `j` in `[-spread, spread]`, a mantissa
    length `b` (`bits` half the time, else uniform in `1..bits`), a mantissa `2**(b-1) <= m < 2**b`,
    a sign, and is zero with probability `zero_fraction`; its magnitude `m * 2**(k + j - b + 1)`
    lies in `[2**(k+j), 2**(k+j+1))`. All arrays of a call come from one 62-bit draw per entry,
    cut into bit fields (a handful of numpy operations for a whole example).
    """
    if not shapes:
        return []
    sizes = [math.prod(shape) for shape in shapes]
    if not rich:
        flat: F64 = rng.integers(-2, 3, size=sum(sizes)).astype(np.float64)
    else:
        scale = rng.integers(-max_scale, max_scale + 1, size=len(shapes)).astype(np.int32)
        raw = rng.integers(0, 1 << 62, size=sum(sizes), dtype=np.int64)
        # The bit fields in 32-bit halves (half the memory traffic of int64 at millions of
        # entries): `lo` holds bits 0..31 of each draw, `hi` bits 32..61.
        lo, hi = raw.astype(np.uint32), (raw >> 32).astype(np.uint32)
        b = np.where(lo & (1 << 24), np.uint32(bits), ((lo >> 25) & 31) % bits + 1)  # 24..29
        m = ((lo & 0x7FFFFF) | 0x800000) >> (24 - b)  # bits 0..22: 2**(b-1) <= m < 2**b
        j = (((lo >> 30) | (hi << 2)) & 255) % (2 * spread + 1)  # bits 30..37, then minus spread
        e = np.repeat(scale, sizes) + j.astype(np.int32) - b.astype(np.int32) + (1 - spread)
        flat = np.ldexp(m.astype(np.float64), e)
        np.negative(flat, out=flat, where=(hi & (1 << 6)) != 0)  # bit 38: the sign (m > 0)
        flat[((hi >> 7) & 0xFFFF) < int(zero_fraction * 0x10000)] = 0.0  # bits 39..54
    if nonzero:
        # Per-array counts of nonzero entries from one cumulative sum; fix the all-zero arrays.
        ends = np.cumsum(sizes)
        seen = np.concatenate(([0], np.cumsum(flat != 0)))[ends]
        count = np.diff(seen, prepend=0)
        for k in np.flatnonzero(count == 0).tolist():
            if sizes[k]:
                flat[int(ends[k]) - sizes[k] + int(rng.integers(sizes[k]))] = 1.0
    return _split(flat, shapes, sizes)


def _split(flat: Arr, shapes: Sequence[tuple[int, ...]], sizes: list[int]) -> list[Arr]:
    """Return `flat` (float64 or object) cut into consecutive arrays of the given shapes."""
    out: list[Arr] = []
    start = 0
    for shape, size in zip(shapes, sizes, strict=True):
        out.append(flat[start : start + size].reshape(shape))
        start += size
    return out


def _short(
    rng: np.random.Generator, shapes: Sequence[tuple[int, ...]], rich: bool, span: int
) -> list[F64]:
    """Return arrays of entries `m * 2**e`, `|m| <= 7`, `e` in `[k, k + span]` (or -2..2)."""
    sizes = [math.prod(shape) for shape in shapes]
    if not rich:
        flat: F64 = rng.integers(-2, 3, size=sum(sizes)).astype(np.float64)
    else:
        scale = np.repeat(rng.integers(-_MAX_SCALE, _MAX_SCALE + 1, size=len(shapes)), sizes)
        e = scale + rng.integers(0, span + 1, size=sum(sizes))
        m = rng.integers(-7, 8, size=sum(sizes))
        flat = np.ldexp(m.astype(np.float64), e.astype(np.int32))
    return _split(flat, shapes, sizes)


# --- the no-kink construction -------------------------------------------------------------------

_MARGIN_FACTOR = 1.0625  # 1 + 2**-4
_T_SHIFT = -16  # r_i >= 2**-16 * T_i


def _no_kink_bias(
    W1: Float[F64, "hidDim inDim"],
    x: Float[F64, " inDim"],
    on: Bool[np.ndarray, " hidDim"],
    rho: Float[F64, " hidDim"],
    margin: float,
) -> Float[F64, " hidDim"]:
    """Return `b1` such that the exact `z1 = W1 x + b1` has sign `on` and clears both margins.

    Notation for one row i, with n = inDim, u = 2**-53, γ = n·u/(1 − n·u); n <= 2**16 gives
    γ <= 2**-36. S = (|W1| |x|)_i exactly, c = fl(W1 x)_i, T = fl(|W1| |x|)_i, both as numpy
    computes them (any summation order, FMA or not).

    1. |c − (W1 x)_i| <= γ S (Higham, Accuracy and Stability, (3.5); any order of summation),
       and |c| <= (1 + γ) S. Likewise T >= (1 − γ) S, i.e. S <= T / (1 − γ).
    2. Pick r = max(ρ_i, fl(margin · (1 + 2**-4)), 2**-16 · T) (the last product is exact) and the
       target d = ±r with the sign of unit i. Set b1 = fl32(fl64(d − c)): the subtraction errs by
       at most u |d − c| and the rounding to float32 (so that b1 has a 24-bit mantissa like every
       other entry) by at most 2**-24 (1 + u) |d − c|; together |b1 − (d − c)| <= η |d − c|,
       η = 2**-23. (d − c is 0 or at least 2**-112 and at most 2**62 in magnitude, so float32 is
       in its normal range there: the entries of W1 and x are multiples of 2**-31, so c is
       one of 2**-62, and d one of 2**-112 as r >= 2**-60.)
    3. The exact z1_i = d + ((W1 x)_i − c) + (b1 − (d − c)), so
       |z1_i − d| <= γ S + η (r + (1 + γ) S) <= 2**-22 S + η r, since γ + η (1 + γ) <= 2**-22.
    4. r >= 2**-16 T >= 2**-16 (1 − γ) S gives S <= 2**16 (1 + 2**-35) r, hence
       |z1_i − d| <= (2**-6 (1 + 2**-35) + 2**-23) r < 2**-5 r: z1_i has the sign of d and
       |z1_i| >= (1 − 2**-5) r.
    5. Margin: (1 − 2**-5) r >= (1 − 2**-5)(1 + 2**-4)(1 − u) margin > 1.029 margin >= margin.
    6. Relative margin: |b1| <= (1 + η)(r + (1 + γ) S), so
       S + |b1| <= (1 + η) r + (2 + 2**-22) S <= (2**17 + 2) r, and
       2**-20 (S + |b1|) <= 0.126 r < (1 − 2**-5) r <= |z1_i|. Any float64 evaluation of
       W1 x + b1 errs by at most γ_{n+1} (S + |b1|) < 2**-20 (S + |b1|), so cannot flip the sign.
    """
    c: F64 = W1 @ x
    T: F64 = np.abs(W1) @ np.abs(x)
    r = np.maximum(np.maximum(rho, margin * _MARGIN_FACTOR), np.ldexp(T, _T_SHIFT))
    d = np.where(on, r, -r)
    b1: F64 = (d - c).astype(np.float32).astype(np.float64)
    return b1


def _exact_z1(
    W1: Float[F64, "hidDim inDim"], b1: Float[F64, " hidDim"], x: Float[F64, " inDim"]
) -> list[float]:
    """Return `z1 = W1 x + b1` correctly rounded, so with the sign of the exact value.

    Each product of two 24-bit mantissas is exact in float64, and `math.fsum` rounds the exact sum
    of its inputs once; rounding is monotone and maps 0 to 0, so each result has the exact sign.
    """
    products = (W1 * x).tolist()
    return [math.fsum([*row, b]) for row, b in zip(products, b1.tolist(), strict=True)]


def _pattern_of(z: list[float]) -> str:
    if not z:
        return "none"
    if any(v == 0.0 for v in z):
        return "kinked"
    if all(v > 0.0 for v in z):
        return "all-on"
    if all(v < 0.0 for v in z):
        return "all-off"
    return "mixed"


def _signs(rng: np.random.Generator, hid: int, pattern: str) -> Bool[np.ndarray, " hid"]:
    if pattern == "all-on":
        return np.ones(hid, dtype=bool)
    if pattern == "all-off":
        return np.zeros(hid, dtype=bool)
    on = rng.random(hid) < 0.5
    if hid >= 2:
        i, j = rng.choice(hid, size=2, replace=False).tolist()
        on[i], on[j] = True, False
    return on


def _directions(
    rng: np.random.Generator,
    point: MlpPoint,
    rich: bool,
    probes: int,
    probe_bits: int | None = None,
) -> tuple[dict[str, F64], ...]:
    """Return `probes` probe directions: for each, one nonzero dyadic array per name in `PARAMS`;
    with `probe_bits = b`, arrays of integers drawn independently and uniformly from the N = 2**b
    values `-2**(b-1) .. 2**(b-1) - 1` (exact in float64 for b <= 53)."""
    shapes = [point.get(name).shape for name in PARAMS]
    if probe_bits is not None:
        half = 1 << (probe_bits - 1)
        arrays = [
            rng.integers(-half, half, size=shape, dtype=np.int64).astype(np.float64)
            for shape in shapes * probes
        ]
    else:
        arrays = _bulk(rng, shapes * probes, rich, nonzero=True)
    n = len(PARAMS)
    return tuple(dict(zip(PARAMS, arrays[p * n : (p + 1) * n], strict=True)) for p in range(probes))


# --- public strategies --------------------------------------------------------------------------


def dims(*, min_dim: int = 1, max_dim: int = 8) -> SearchStrategy[tuple[int, int, int]]:
    """Return a strategy for the dimensions `(inDim, hidDim, outDim)` of the MLP.

    - `min_dim` (default 1): the least value of each dimension; 0 is allowed (Lean's `Fin 0`).
    - `max_dim` (default 8): the greatest value of each dimension, at least `min_dim`.

    Each dimension shrinks towards `min_dim`.

    .. code-block:: pycon

        >>> dims(min_dim=0, max_dim=3).example()
        (1, 0, 2)
    """
    _check_dims(min_dim, max_dim)
    one = st.integers(min_dim, max_dim)
    return st.tuples(one, one, one)


def dyadic_floats(
    *,
    min_exponent: int = -8,
    max_exponent: int = 8,
    mantissa_bits: int = 24,
    allow_zero: bool = True,
) -> SearchStrategy[float]:
    """Return a strategy for dyadic floats `m * 2**e` with an integer `|m| < 2**mantissa_bits`.

    Nonzero values have magnitude in `[2**min_exponent, 2**(max_exponent + 1))` and either sign;
    they are exact in float32 and float64. Values shrink towards 0.0, or without zero towards
    `2**e` with `e` the exponent in range nearest 0.

    - `min_exponent` (default -8) and `max_exponent` (default 8): the binade range, with
      `-100 <= min_exponent <= max_exponent <= 100`.
    - `mantissa_bits` (default 24): the significant bits, in `1..24`.
    - `allow_zero` (default True): whether 0.0 may be drawn.

    .. code-block:: pycon

        >>> dyadic_floats(min_exponent=-2, max_exponent=2, mantissa_bits=3).example()
        -2.5
    """
    _check_int("min_exponent", min_exponent, "pass e.g. min_exponent=-8")
    _check_int("max_exponent", max_exponent, "pass e.g. max_exponent=8")
    _check_int("mantissa_bits", mantissa_bits, "pass e.g. mantissa_bits=24")
    if not -100 <= min_exponent <= max_exponent <= 100:
        raise InvalidArgument(
            f"min_exponent={min_exponent!r}, max_exponent={max_exponent!r} must satisfy "
            "-100 <= min_exponent <= max_exponent <= 100; pass e.g. min_exponent=-8, max_exponent=8"
        )
    if not 1 <= mantissa_bits <= _MANTISSA_BITS:
        raise InvalidArgument(
            f"mantissa_bits={mantissa_bits!r} must be in 1..24 (float32 holds 24 bits); "
            "pass e.g. mantissa_bits=24"
        )
    top = 2 ** (mantissa_bits - 1)

    def value(frac: int, e: int, negative: bool) -> float:
        # m = top + frac has exactly `mantissa_bits` bits; |value| = m * 2**(e - bits + 1).
        m = top + frac
        return math.ldexp(-m if negative else m, e - mantissa_bits + 1)

    nonzero = st.builds(
        value,
        st.integers(0, top - 1),
        st.integers(min_exponent, max_exponent),
        st.booleans(),
    )
    return st.just(0.0) | nonzero if allow_zero else nonzero


def dyadic_arrays(
    shape: int | tuple[int, ...] | SearchStrategy[tuple[int, ...]],
    *,
    max_scale: int = 4,
    spread: int = 4,
    mantissa_bits: int = 24,
    nonzero: bool = False,
) -> SearchStrategy[F64]:
    """Return a strategy for float64 arrays of dyadic entries with `mantissa_bits` significant bits.

    Hypothesis draws the shape, a flag `rich` and a seed; the entries come from a numpy generator
    with that seed. With `rich=False` (what shrinking leads to) entries are the integers `-2..2`;
    with `rich=True` the array has a scale exponent `k` uniform in `[-max_scale, max_scale]` and
    each entry is 0 (about one in eight) or `±m * 2**(e - b + 1)` with `2**(b-1) <= m < 2**b`,
    `b <= mantissa_bits` (`b = mantissa_bits` half the time), and `e = k + j`, `j` uniform in
    `[-spread, spread]`, so magnitudes range from `2**-(max_scale + spread)` to
    `2**(max_scale + spread + 1)`. Entries are exact in float32 and their products in float64.

    - `shape`: an int, a tuple of ints, or a strategy for tuples of ints (e.g. `array_shapes()`).
    - `max_scale` (default 4): the scale exponent `k` is drawn in `[-max_scale, max_scale]`.
    - `spread` (default 4): the per-entry exponent offset range; `max_scale + spread <= 60`.
    - `mantissa_bits` (default 24): at most this many significant bits, in `1..24`.
    - `nonzero` (default False): if True, a non-empty array is never all zeros.

    .. code-block:: pycon

        >>> dyadic_arrays((2, 3)).example()
        array([[-22.80737305, -89.7386322 ,   0.        ],
               [  0.        ,  -9.0017271 , -23.42797852]])
    """
    _check_int("max_scale", max_scale, "pass e.g. max_scale=4")
    _check_int("spread", spread, "pass e.g. spread=4")
    _check_int("mantissa_bits", mantissa_bits, "pass e.g. mantissa_bits=24")
    if max_scale < 0 or spread < 0 or max_scale + spread > 60:
        raise InvalidArgument(
            f"max_scale={max_scale!r}, spread={spread!r} must be non-negative with "
            "max_scale + spread <= 60 (products must stay normal floats); pass e.g. max_scale=4, "
            "spread=4"
        )
    if not 1 <= mantissa_bits <= _MANTISSA_BITS:
        raise InvalidArgument(
            f"mantissa_bits={mantissa_bits!r} must be in 1..24 (float32 holds 24 bits); "
            "pass e.g. mantissa_bits=24"
        )
    shapes: SearchStrategy[tuple[int, ...]]
    if isinstance(shape, SearchStrategy):
        shapes = shape
    else:
        fixed = (shape,) if isinstance(shape, int) else tuple(shape)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in fixed):
            raise InvalidArgument(
                f"shape={shape!r} must be a non-negative int or a tuple of them; pass e.g. (3, 2)"
            )
        shapes = st.just(fixed)

    def build(args: tuple[tuple[int, ...], bool, int]) -> F64:
        shp, rich, seed = args
        rng = np.random.default_rng(seed)
        (out,) = _bulk(
            rng,
            [shp],
            rich,
            max_scale=max_scale,
            spread=spread,
            bits=mantissa_bits,
            nonzero=nonzero,
        )
        return out

    return st.tuples(shapes, _richness, _seeds).map(_keeping_random_state(build))


def _kink_span(n_in: int) -> int:
    """Return the exponent span of the short entries that keeps every partial sum of W1 x exact.

    Short entries are `m * 2**e`, `|m| <= 7`, `e` in `[k, k + span]`; a product of two is an integer
    multiple of `2**(k_W + k_x)` below `2**(6 + 2 span)` in units of it, and a sum of `n` of them,
    in any order, stays below `2**(6 + 2 span + ceil(log2(n + 1)))` units: at most 24 bits when
    `2 span <= 18 - ceil(log2(n + 1))`, exact in float64 and in float32 alike.
    """
    return min(_SPREAD, max(0, (18 - math.ceil(math.log2(n_in + 1))) // 2))


_NEAR_MARGIN_FACTOR = 1.25
"""Near-kink targets stay at least this many margins from the kink (the placement errs by at most
r/8, so the exact |z1 i| is still at least the margin)."""
_NEAR_FLOOR = 8
"""Near-kink targets are at least this many times `γ_{n+1}(|W1||x|)_i` from the kink."""
_LEAST_ABSOLUTE = -60  # log2 of the least near-kink target (the least margin accepted)


def _unit_gamma(n_in: int, u: float) -> float:
    """Return `γ_{n+1}` for the unit roundoff `u` (the rounding of `W1 x + b1`)."""
    k = (n_in + 1) * u
    return k / (1 - k)


def _near_kink_bias(
    W1: Float[F64, "hidDim inDim"],
    x: Float[F64, " inDim"],
    b1: Float[F64, " hidDim"],
    on: Bool[np.ndarray, " hidDim"],
    targets: list[tuple[int, bool, float, float]],
    margin: float,
    u: float,
) -> list[int]:
    """Set `b1 i` for each `(i, absolute, hi, f)` of `targets` so that the exact `z1 i` lies near
    the kink, just outside the band where an engine of unit roundoff `u` (2**-53 or 2**-24) could
    round it across; return the units whose construction check failed (none, by the derivation).

    The target is `r = 2**(e_lo + f (e_hi − e_lo))`, log-uniform for `f` uniform in [0, 1], where
    `e_lo = log2 max(8γS, 2**-60)` is the floor and `e_hi = max(e_lo, log2(hi · S) or log2 hi)`:
    with `absolute` False the top is relative to S (`hi · S`), else absolute (`hi`).

    Notation for one unit: n = inDim, S = (|W1||x|)_i and s = (W1 x)_i exactly (each product of
    two 24-bit entries is exact in float64, so `math.fsum` gives S and s correctly rounded:
    Ŝ, ŝ within u64 = 2**-53 of them), γ = γ_{n+1}(u).

    1. Target: r >= max(1.25 margin, 8γŜ(1 + 2**-10)), d = ±r with the unit's sign, and
       b1 = fl_u(d − ŝ) (float64 arithmetic, then rounded to the engine's format, so the engine is
       handed b1 exactly): b1 errs from d − ŝ by at most (u + 2 u64)|d − ŝ|, and
       |d − ŝ| <= r + (1 + u64) S.
    2. Hence |z1 − d| = |(s − ŝ) + (b1 − (d − ŝ))| <= (u + 3.01 u64) S + (u + 2 u64) r
       <= r/8 once r >= 8γS >= 16 u S (n >= 1; for n = 0, S = 0): z1 has the sign of d and
       |z1| >= 0.874 r >= 1.09 margin.
    3. Out of the doubt band: S + |b1| <= 2.0001 S + 1.0001 r, and any float evaluation of
       W1 x + b1, the checker's or the engine's, is within γ(S + |b1|) of z1; the checker flags
       |ẑ1| <= 2Δz1 with Δz1 <= SLACK γ(1 + 2γ)(S + |b1|). With r >= 8γS,
       0.874 r − γ(S + |b1|) > 2Δz1 holds as soon as r >= 6.9γS: no correct engine can round the
       unit across the kink, and the checker does not call it in doubt.
    """
    g = _unit_gamma(W1.shape[1], u)
    wrong = []
    for i, absolute, hi, f in targets:
        products = W1[i] * x  # exact
        S = math.fsum(np.abs(products).tolist())
        s_hat = math.fsum(products.tolist())
        e_lo = math.log2(max(_NEAR_FLOOR * g * S * (1 + 2.0**-10), 2.0**_LEAST_ABSOLUTE))
        top = hi if absolute or S == 0 else hi * S
        e_hi = max(e_lo, math.log2(top))
        r = max(2.0 ** (e_lo + f * (e_hi - e_lo)), _NEAR_MARGIN_FACTOR * margin)
        d = r if on[i] else -r
        value = float(np.float32(d - s_hat)) if u > 2.0**-53 else d - s_hat
        b1[i] = value
        z = math.fsum([*products.tolist(), value])
        if (z > 0) != bool(on[i]) or abs(z) < margin or abs(z) <= 3.0002 * g * (S + abs(value)):
            wrong.append(i)
    return wrong


_PART_CHOICES: tuple[Part, ...] = (
    "interior",
    "near-kink",
    "interior",
    "near-kink",
    "interior",
    "near-kink",
    "kink",
    "empty",
)
"""Weights 3 : 3 : 1 : 1 for interior : near-kink : kink : empty (of the parts a size range
allows), picked by each example's seed."""


def _build_mlp(
    drawn: tuple[tuple[int, int, int], bool, str, int],
    *,
    parts: tuple[Part, ...],
    margin: float,
    probes: int,
    probe_bits: int | None = None,
    u: float = 2.0**-53,
) -> MlpExample:
    """Return the example for the drawn `(dims, rich, pattern, seed)`, for an engine of unit
    roundoff `u`. The seed's generator first picks a part from `parts` (uniformly: repeat a part
    to weight it), which says how the point is built (its `part` is then read from the point
    itself, see `spec.domain`). The part is not a Hypothesis choice, so that every part gets its
    share of each run however Hypothesis spreads its draws; shrinking keeps the part by keeping
    to seeds that give it (`spec.runner` shrinks a failure within its part).

    - "interior": every unit as `_no_kink_bias` places it;
    - "near-kink": as interior, then one unit (and each other with probability 1/2) placed near
      the kink by `_near_kink_bias`, the first nearer than `spec.domain.near_kink_threshold`;
    - "kink": some units exactly on the kink (short entries, `_kink_span`), the others interior;
    - "empty": the drawn sizes with a random non-empty subset of them set to 0.
    """
    sizes, rich, pattern, seed = drawn
    rng = np.random.default_rng(seed)
    part, sizes = _part_and_sizes(rng, drawn, parts)
    n_in, hid, n_out = sizes
    kinked = part == "kink" and hid > 0
    # rho: the drawn |z1| targets; where it is small or 0 the margin decides (tight units).
    W1, W2, b2, t, rho = _bulk(rng, [(hid, n_in), (n_out, hid), (n_out,), (n_out,), (hid,)], rich)
    kink = np.zeros(hid, dtype=bool)
    if kinked:
        kink = rng.random(hid) < 0.5
        kink[int(rng.integers(hid))] = True
        x, W1_kinked = _short(rng, [(n_in,), (int(kink.sum()), n_in)], rich, _kink_span(n_in))
        W1[kink] = W1_kinked
    else:
        (x,) = _bulk(rng, [(n_in,)], rich)
    on = _signs(rng, hid, pattern)
    # A drawn target of 0 would leave the unit at the margin: units near the kink are the
    # near-kink part's, so interior units take 1 there.
    b1 = _no_kink_bias(
        W1, x, on, np.where(rho == 0, 1.0, np.abs(rho)) if rich else np.ones(hid), margin
    )
    wrong: list[int] = []
    if part == "near-kink" and hid > 0:
        # Two units at least: one nearer than the near-kink threshold relative to its scale, one
        # below 2**-20 in absolute terms (masks `z1 > eps`); each other unit with probability 1/2
        # anywhere from the floor up to its scale.
        near = rng.random(hid) < 0.5
        first, second = rng.integers(hid, size=2).tolist()
        f = rng.random(hid).tolist()
        tau = near_kink_threshold(u)
        targets = [
            (i, False, 1.0, f[i]) for i in np.flatnonzero(near).tolist() if i not in (first, second)
        ]
        targets.append((first, False, tau / 2, f[first]))
        if second != first:
            targets.append((second, True, 2.0**-20, f[second]))
        wrong = _near_kink_bias(W1, x, b1, on, targets, margin, u)
    if kinked:
        # Every product and partial sum of a kinked row is exact (`_kink_span`), so this is the
        # exact -(W1 x)_i, with at most 24 bits; `0.0 - s` avoids a negative zero.
        b1[kink] = 0.0 - W1[kink] @ x
    point = MlpPoint(W1=W1, b1=b1, W2=W2, b2=b2, x=x, t=t)

    # A cheap check of the construction: `_exact_z1` has the signs of the exact z1, and a
    # correctly rounded |z1_i| below `margin` means an exact one below it too.
    z = _exact_z1(W1, b1, x)
    wrong += [
        i
        for i, v in enumerate(z)
        if (v != 0.0 if kink[i] else (abs(v) < margin or (v > 0.0) != on[i]))
    ]
    scale = (np.abs(W1) @ np.abs(x) + np.abs(b1)).tolist()
    return _finish(
        rng, point, z, wrong, rich, probes, probe_bits, part_of_units(sizes, z, scale, u)
    )


def _finish(
    rng: np.random.Generator,
    point: MlpPoint,
    z: Sequence[float | Fraction],
    wrong: list[int],
    rich: bool,
    probes: int,
    probe_bits: int | None,
    part: Part,
) -> MlpExample:
    """Return the example at `point` (whose exact `z1` is `z`) with its probe directions, once the
    construction's own check found no unit off its target (`wrong` lists those that are)."""
    if wrong:  # pragma: no cover - an error in this module, not in the caller's use
        raise RuntimeError(f"internal error: z1 misses its target at units {wrong}: {z}")
    return MlpExample(
        point=point,
        directions=_directions(rng, point, rich, probes, probe_bits),
        probe_bits=probe_bits,
        active_pattern=_pattern_of([float(v) for v in z]),
        part=part,
    )


def _point_of(example: MlpExample) -> MlpPoint:
    return example.point


_NO_KINK: tuple[Part, ...] = ("interior", "near-kink", "empty")
"""The parts where `hx` holds: what `mlp_examples` and `mlp_points` draw by default (empty points
only when `min_dim` is 0)."""

_UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}


def _unit_roundoff(dtype: str) -> float:
    if dtype not in _UNIT_ROUNDOFF:
        raise InvalidArgument(
            f"dtype={dtype!r} must be 'float64' or 'float32'; pass the format "
            "the engine computes in"
        )
    return _UNIT_ROUNDOFF[dtype]


def _check_parts(parts: Sequence[str]) -> tuple[Part, ...]:
    chosen = tuple(p for p in PARTS if p in parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not chosen:
        raise InvalidArgument(
            f"parts={tuple(parts)!r} must be a non-empty subset of {PARTS}; "
            "pass e.g. parts=('interior', 'near-kink')"
        )
    return chosen


def _parts_and_sizes(
    min_dim: int, max_dim: int, fixed_dims: tuple[int, int, int] | None, parts: tuple[Part, ...]
) -> tuple[tuple[Part, ...], SearchStrategy[tuple[int, int, int]]]:
    """Return the parts to pick from and the strategy for the sizes: non-empty parts draw every size
    in `[max(min_dim, 1), max_dim]`, and "empty" zeroes some of them (`_build_mlp`); it is drawn
    only when `min_dim` is 0 (or every point is empty, with `fixed_dims` holding a 0)."""
    if fixed_dims is not None:
        for name, d in zip(("inDim", "hidDim", "outDim"), fixed_dims, strict=True):
            _check_dims(d, d)
            if d > MAX_DIM_LIMIT:
                raise InvalidArgument(
                    f"fixed_dims: {name}={d} exceeds {MAX_DIM_LIMIT}; pass smaller sizes"
                )
        allowed: list[Part] = ["empty"] if 0 in fixed_dims else [p for p in parts if p != "empty"]
        sizes: SearchStrategy[tuple[int, int, int]] = st.just(fixed_dims)
    else:
        _check_dims(min_dim, max_dim)
        if max_dim == 0:
            allowed = [p for p in parts if p == "empty"]
        else:
            allowed = [p for p in parts if p != "empty" or min_dim == 0]
        sizes = (
            st.just((0, 0, 0)) if max_dim == 0 else dims(min_dim=max(min_dim, 1), max_dim=max_dim)
        )
    choices = tuple(p for p in _PART_CHOICES if p in allowed)
    if not choices:
        raise InvalidArgument(
            f"parts={parts!r}: none of them can be drawn with min_dim={min_dim}, "
            f"max_dim={max_dim}, fixed_dims={fixed_dims}; pass min_dim=0 for "
            "'empty', or sizes of at least 1 for the other parts"
        )
    return choices, sizes


def _part_and_sizes(
    rng: np.random.Generator,
    drawn: tuple[tuple[int, int, int], bool, str, int],
    parts: tuple[Part, ...],
) -> tuple[Part, tuple[int, int, int]]:
    """Return the part picked from `parts` (uniformly) and the sizes for it: "empty" sets a
    random non-empty subset of the drawn sizes to 0.

    The pick mixes every drawn choice, not the seed alone: Hypothesis draws small seeds (0, 1,
    2, ...) over and over, which alone would give a run few parts. Seed 0, where shrinking goes,
    gives the first part (interior, where it is drawn): the simplest example is an interior one.
    """
    sizes, rich, pattern, seed = drawn
    mix = np.random.default_rng([seed, *sizes, int(rich), _PATTERN_CHOICES.index(pattern)])
    part = parts[0] if seed == 0 else parts[int(mix.integers(len(parts)))]
    if part == "empty" and 0 not in sizes:
        zero = rng.random(3) < 0.5
        zero[int(rng.integers(3))] = True
        sizes = (0 if zero[0] else sizes[0], 0 if zero[1] else sizes[1], 0 if zero[2] else sizes[2])
    return part, sizes


def _mlp_strategy(
    parts: tuple[Part, ...],
    sizes: SearchStrategy[tuple[int, int, int]],
    pattern: str | None,
    *,
    margin: float,
    probes: int,
    probe_bits: int | None = None,
    u: float = 2.0**-53,
) -> SearchStrategy[MlpExample]:
    patterns = _pattern_choice if pattern is None else st.just(pattern)
    build = _keeping_random_state(
        functools.partial(
            _build_mlp, parts=parts, margin=margin, probes=probes, probe_bits=probe_bits, u=u
        )
    )
    return st.tuples(sizes, _richness, patterns, _seeds).map(build)


def mlp_examples(
    *,
    min_dim: int = 1,
    max_dim: int = 8,
    margin: float | int | Fraction = DEFAULT_MARGIN,
    probes: int = 3,
    pattern: str | None = None,
    fixed_dims: tuple[int, int, int] | None = None,
    probe_bits: int | None = None,
    parts: Sequence[str] = _NO_KINK,
    dtype: str = "float64",
) -> SearchStrategy[MlpExample]:
    """Return a strategy for MLP points with probe directions, from the parts of the domain asked
    for (by default those where the no-kink hypothesis holds).

    The point is what `mlp_points` draws. Each of the `probes` directions is a dict with the keys
    of `PARAMS` (`W1 b1 W2 b2 x`), holding arrays of the shapes of the point's arrays, with signed
    dyadic entries of at most 24 significant bits and varied magnitudes, never all zero when the
    array is not empty. `active_pattern` is the pattern the point has, read from the exact signs of
    `z1`: "all-on", "all-off", "mixed", "kinked", or "none" when `hidDim = 0`; `part` is the part
    of the domain it lies in (`spec.domain`).

    - `min_dim` (default 1), `max_dim` (default 8): the range of each dimension, as in `dims`.
    - `margin` (default 2**-60): every exact `|z1_i| >= margin` off the kinks, as in `mlp_points`.
    - `probes` (default 3): the number of probe directions, at least 1.
    - `pattern` (default None): the hidden-unit pattern, as in `mlp_points`.
    - `fixed_dims` (default None): `(inDim, hidDim, outDim)` to draw every point at, e.g. the layer
      sizes of a real model; `min_dim` and `max_dim` are then not used.
    - `probe_bits` (default None): draw the directions' entries as integers uniform among
      `N = 2**probe_bits` values instead (1 to 53 bits; exact mode uses `PROBE_BITS`).
    - `parts` (default `("interior", "near-kink", "empty")`, where `hx` holds): the parts of
      `spec.domain.PARTS` to draw, weighted 3 : 3 : 1 : 1 (interior : near-kink : kink : empty);
      "empty" is drawn only with `min_dim=0`.
      Near-kink points have units whose exact `|z1 i|` is spread, in log scale, from just outside
      the band where an engine's rounding could put `z1 i` across the kink up to
      `(|W1||x|)_i`, absolute values down to the margin.
    - `dtype` (default "float64"): the format of the engine the points are for, "float64" or
      "float32": it sets that band, and float32 points have 24-bit `b1` entries.

    .. code-block:: pycon

        >>> ex = mlp_examples(max_dim=3, probes=2).example()
        >>> ex.point.dims, ex.active_pattern, sorted(ex.directions[0])
        ((2, 2, 1), 'all-on', ['W1', 'W2', 'b1', 'b2', 'x'])
    """
    value = check_margin(margin)
    _check_probes(probes)
    _check_pattern(pattern)
    _check_probe_bits(probe_bits)
    u = _unit_roundoff(dtype)
    part_choice, sizes = _parts_and_sizes(min_dim, max_dim, fixed_dims, _check_parts(parts))
    return _mlp_strategy(
        part_choice, sizes, pattern, margin=value, probes=probes, probe_bits=probe_bits, u=u
    )


def _check_probe_bits(probe_bits: int | None) -> None:
    if probe_bits is not None:
        _check_int("probe_bits", probe_bits, "pass e.g. probe_bits=32")
        if not 1 <= probe_bits <= 53:
            raise InvalidArgument(
                f"probe_bits={probe_bits!r} must be in 1..53 (integers exact in "
                "float64); pass e.g. probe_bits=32"
            )


PROBE_BITS = 32
"""Bits of the integer probe directions drawn for exact engines: each entry is uniform among
N = 2**32 integers, so a gradient other than the true one passes one probe with probability at
most 1/N (`spec.checks.gradients`, the grad_* checks)."""

MAX_DENOMINATOR = 12
"""The default largest denominator drawn by `rational_mlp_examples` (before the scale factor)."""

_RATIONAL_SCALE = (-2, 4)  # per-array magnitude exponent range of rational entries


def _rationals(
    rng: np.random.Generator, shapes: Sequence[tuple[int, ...]], rich: bool, max_den: int
) -> list[Arr]:
    """Return one object array of `Fraction`s per shape: `n / (d·2**max(0, -k))` with `d` uniform
    in `1..max_den`, `|n| <= d·2**max(0, k)`, `k` a per-array scale in `[-2, 4]`, about one entry
    in eight zero; with `rich=False` the integers -2..2."""
    sizes = [math.prod(shape) for shape in shapes]
    total = sum(sizes)
    if not rich:
        nums = rng.integers(-2, 3, size=total)
        dens = np.ones(total, dtype=np.int64)
    else:
        k = np.repeat(
            rng.integers(_RATIONAL_SCALE[0], _RATIONAL_SCALE[1] + 1, size=len(shapes)), sizes
        )
        dens = rng.integers(1, max_den + 1, size=total)
        top = dens << np.maximum(k, 0)
        nums = rng.integers(-top, top + 1)
        nums[rng.random(total) < _ZERO_FRACTION] = 0
        dens = dens << np.maximum(-k, 0)
    flat = np.empty(total, dtype=object)
    flat[:] = [Fraction(int(n), int(d)) for n, d in zip(nums.tolist(), dens.tolist(), strict=True)]
    return _split(flat, shapes, sizes)


def _row_sums(W: Arr, x: Arr) -> list[Fraction]:
    """Return `W x` exactly, an empty sum being `Fraction(0)`."""
    return [sum((w * v for w, v in zip(row, x, strict=True)), Fraction(0)) for row in W.tolist()]


def _build_rational_mlp(
    drawn: tuple[tuple[int, int, int], bool, str, int],
    *,
    parts: tuple[Part, ...],
    margin: Fraction,
    max_den: int,
    probes: int,
    probe_bits: int | None,
) -> MlpExample:
    """Return the rational example for the drawn `(dims, rich, pattern, seed)` and a part picked
    from `parts` as `_build_mlp` picks it: "empty" and
    "kink" as in `_build_mlp` (a kinked unit gets `b1 i = −(W1 x) i` exactly), "near-kink" with
    one unit (and each other with probability 1/2) at `|z1 i| = max(margin, 2**-e)`, `e` uniform
    in 28..60, exactly."""
    sizes, rich, pattern, seed = drawn
    rng = np.random.default_rng(seed)
    part, sizes = _part_and_sizes(rng, drawn, parts)
    n_in, hid, n_out = sizes
    W1, W2, b2, t, x, rho = _rationals(
        rng, [(hid, n_in), (n_out, hid), (n_out,), (n_out,), (n_in,), (hid,)], rich, max_den
    )
    on = _signs(rng, hid, pattern)
    c = _row_sums(W1, x)
    tight = rng.random(hid) < 0.5
    dens = rng.integers(1, max_den + 1, size=hid).tolist()
    special = np.zeros(hid, dtype=bool)
    if part in ("kink", "near-kink") and hid > 0:
        special = rng.random(hid) < 0.5
        special[int(rng.integers(hid))] = True
    depth = rng.integers(28, 61, size=hid).tolist()
    b1 = np.empty(hid, dtype=object)
    for i in range(hid):
        r = max(abs(rho[i]) if rich else Fraction(1), margin)
        if special[i]:
            r = Fraction(0) if part == "kink" else max(Fraction(1, 2 ** depth[i]), margin)
        target = (r if on[i] else -r) - c[i]
        if tight[i] or special[i]:
            b1[i] = target  # |z1 i| = r exactly: units at the margin catch `z1 > eps` masks
        else:
            # Rounded away from the kink to a small denominator: z1 i keeps its sign and
            # |z1 i| >= r.
            scaled = target * dens[i]
            b1[i] = Fraction(math.ceil(scaled) if on[i] else math.floor(scaled), dens[i])
    point = rational_point({"W1": W1, "b1": b1, "W2": W2, "b2": b2, "x": x, "t": t})
    z = [ci + bi for ci, bi in zip(c, b1.tolist(), strict=True)]
    kink = special if part == "kink" else np.zeros(hid, dtype=bool)
    wrong = [
        i for i, v in enumerate(z) if (v != 0 if kink[i] else (abs(v) < margin or (v > 0) != on[i]))
    ]
    scale = [
        sum((abs(w * v) for w, v in zip(row, x, strict=True)), abs(b))
        for row, b in zip(W1.tolist(), b1.tolist(), strict=True)
    ]
    return _finish(
        rng, point, z, wrong, rich, probes, probe_bits, part_of_units(sizes, z, scale, 0.0)
    )


def rational_mlp_examples(
    *,
    min_dim: int = 1,
    max_dim: int = 8,
    margin: Fraction | float | int = Fraction(DEFAULT_MARGIN),
    probes: int = 3,
    pattern: str | None = None,
    fixed_dims: tuple[int, int, int] | None = None,
    max_denominator: int = MAX_DENOMINATOR,
    probe_bits: int | None = PROBE_BITS,
    parts: Sequence[str] = _NO_KINK,
) -> SearchStrategy[MlpExample]:
    """Return a strategy for MLP points with small-denominator rational entries, for exact engines.

    Entries of `W1 x W2 b2 t` are `n / (d·2**max(0, -k))` with `d` uniform in `1..max_denominator`
    (so thirds, fifths, sevenths: values no float holds), a per-array scale `k` in `[-2, 4]`, and
    `|n / d| <= 2**max(0, k)`; about one in eight is 0. The no-kink hypothesis holds by
    construction and exactly: each unit gets a sign and a target `r >= margin` (`margin` an exact
    rational), and `b1 i` is `±r − (W1 x) i` exactly (half the units, which sit exactly at `r`),
    or that value rounded away from the kink to a denominator in `1..max_denominator`. The point
    is `MlpPoint.rational`; its float64 arrays are the entries rounded to nearest.

    - `min_dim`, `max_dim`, `pattern`, `fixed_dims`, `probes`: as in `mlp_examples`.
    - `margin` (default 2**-40): the least `|z1 i|`, a positive `Fraction` (or float, taken
      exactly).
    - `max_denominator` (default 12): the largest `d`, at least 1.
    - `probe_bits` (default `PROBE_BITS` = 32): directions of integers uniform among `2**probe_bits`
      values; None draws dyadic directions as `mlp_examples` does.
    - `parts` (default `("interior", "near-kink", "empty")`): the parts, as in `mlp_examples`
      (`_build_rational_mlp` says how each is built).

    .. code-block:: pycon

        >>> ex = rational_mlp_examples(max_dim=2, probes=1).example()
        >>> ex.point.rational["W1"].dtype, type(ex.point.rational["W1"].flat[0]), ex.probe_bits
        (dtype('O'), <class 'fractions.Fraction'>, 32)
    """
    if isinstance(margin, bool) or not isinstance(margin, int | float | Fraction):
        raise InvalidArgument(
            f"margin={margin!r} must be a Fraction; pass e.g. margin=Fraction(1, 1000)"
        )
    exact_margin = Fraction(margin)
    if exact_margin <= 0:
        raise InvalidArgument(
            f"margin={margin!r} must be positive; pass e.g. margin=Fraction(1, 1000)"
        )
    _check_int("max_denominator", max_denominator, "pass e.g. max_denominator=12")
    if max_denominator < 1:
        raise InvalidArgument(
            f"max_denominator={max_denominator!r} must be at least 1; pass e.g. 12"
        )
    _check_probes(probes)
    _check_pattern(pattern)
    _check_probe_bits(probe_bits)
    part_choice, sizes = _parts_and_sizes(min_dim, max_dim, fixed_dims, _check_parts(parts))
    patterns = _pattern_choice if pattern is None else st.just(pattern)
    build = _keeping_random_state(
        functools.partial(
            _build_rational_mlp,
            parts=part_choice,
            margin=exact_margin,
            max_den=max_denominator,
            probes=probes,
            probe_bits=probe_bits,
        )
    )
    return st.tuples(sizes, _richness, patterns, _seeds).map(build)


def mlp_examples_for(
    *,
    exact: bool,
    min_dim: int = 1,
    max_dim: int = 8,
    margin: Fraction | float = DEFAULT_MARGIN,
    probes: int = 3,
    fixed_dims: tuple[int, int, int] | None = None,
    parts: Sequence[str] = PARTS,
    dtype: str = "float64",
) -> SearchStrategy[MlpExample]:
    """Return the strategy a check draws MLP examples from, over the whole domain by default
    (`spec.domain.PARTS`: interior, near-kink, kink, and empty when `min_dim` is 0):
    `mlp_examples` for a float engine of format `dtype`; for an exact engine, rational points
    (`rational_mlp_examples`) and float points converted exactly, both with integer probes of
    `PROBE_BITS` bits (shrinking goes towards the rational ones)."""
    floats = mlp_examples(
        min_dim=min_dim,
        max_dim=max_dim,
        margin=margin,
        probes=probes,
        fixed_dims=fixed_dims,
        probe_bits=PROBE_BITS if exact else None,
        parts=parts,
        dtype="float64" if exact else dtype,
    )
    if not exact:
        return floats
    rationals = rational_mlp_examples(
        min_dim=min_dim,
        max_dim=max_dim,
        margin=Fraction(margin),
        probes=probes,
        fixed_dims=fixed_dims,
        parts=parts,
    )
    return st.one_of(rationals, floats)


def mlp_points(
    *,
    min_dim: int = 1,
    max_dim: int = 8,
    margin: float | int = DEFAULT_MARGIN,
    pattern: str | None = None,
    dtype: str = "float64",
) -> SearchStrategy[MlpPoint]:
    """Return a strategy for points `W1 b1 W2 b2 x t` of the MLP at which no hidden unit has a kink.

    The no-kink hypothesis `hx : ∀ i, z1 i ≠ 0` of the `W1`, `b1`, `x` gradient lemmas holds by
    construction: `W1 x W2 b2 t` are drawn, then a sign and a magnitude for each `z1_i`, and `b1`
    is set so that every exact `z1_i = (W1 x + b1)_i` (real arithmetic on the float64 entries) has
    that sign and `|z1_i| >= margin`, and lies outside the band where a correct engine of format
    `dtype` could round it across the kink (`_no_kink_bias`, `_near_kink_bias`). Half the points
    are near the kink (`spec.domain`): some units sit a few rounding errors outside that band.
    All entries are dyadic with at most 24 significant bits, but for the `b1` of near-kink units
    in float64 (53 bits: 24 would not place them).

    - `min_dim` (default 1), `max_dim` (default 8): the range of each dimension, as in `dims`.
    - `margin` (default 2**-60): a positive float in `[2**-60, 2**60]`, the least `|z1_i|`.
    - `pattern` (default None): "all-on" (every `z1_i > 0`), "all-off" (every `z1_i < 0`),
      "mixed" (at least one of each when `hidDim >= 2`, random signs when `hidDim = 1`), or None
      to draw one of them with probabilities 1/5, 1/5, 3/5; shrinks towards "mixed".
    - `dtype` (default "float64"): the engine's format, as in `mlp_examples`.

    .. code-block:: pycon

        >>> mlp_points(max_dim=2, pattern="all-on").example().b1
        array([16.22203445,  0.01660156])
    """
    value = check_margin(margin)
    _check_pattern(pattern)
    part_choice, sizes = _parts_and_sizes(min_dim, max_dim, None, _NO_KINK)
    examples = _mlp_strategy(
        part_choice, sizes, pattern, margin=value, probes=0, u=_unit_roundoff(dtype)
    )
    return examples.map(_point_of)


def kinked_mlp_examples(
    *, min_dim: int = 1, max_dim: int = 8, probes: int = 3
) -> SearchStrategy[MlpExample]:
    """Return a strategy for MLP examples where some hidden unit sits exactly on the ReLU kink.

    At least one exact `z1_i = (W1 x + b1)_i` is 0 (so `hidDim >= 1`): for the kinked rows, `x` and
    `W1_i` have short entries (`m * 2**e`, `|m| <= 7`, few exponents), so `W1_i x` is exact in
    float64 in any summation order, and `b1_i = -(W1 x)_i`. The other units are as in
    `mlp_points` with margin 2**-6 and random signs. `active_pattern` is "kinked"; `part` is
    "kink" (or "empty" when `inDim` or `outDim` is 0). For checking that a predicate reports its
    precondition `∀ i, z1 i ≠ 0` as unmet; `mlp_examples_for` draws such points as its "kink" part.

    - `min_dim` (default 1), `max_dim` (default 8): the range of each dimension, as in `dims`,
      except that `hidDim >= max(min_dim, 1)`; so `max_dim >= 1`.
    - `probes` (default 3): the number of probe directions, as in `mlp_examples`.

    .. code-block:: pycon

        >>> ex = kinked_mlp_examples(max_dim=2).example()
        >>> ex.active_pattern, ex.point.W1 @ ex.point.x + ex.point.b1
        ('kinked', array([0.]))
    """
    _check_dims(min_dim, max_dim, at_least=1)
    _check_probes(probes)
    one = st.integers(min_dim, max_dim)
    sizes = st.tuples(one, st.integers(max(min_dim, 1), max_dim), one)
    return _mlp_strategy(("kink",), sizes, "mixed", margin=2.0**-6, probes=probes)


def build_mlp_example(
    sizes: tuple[int, int, int],
    seed: int,
    *,
    margin: float | int | Fraction = DEFAULT_MARGIN,
    probes: int = 1,
    part: str = "interior",
    dtype: str = "float64",
) -> MlpExample:
    """Return the one example `mlp_examples` builds for these choices (rich entries, a mixed
    pattern): a fixed point for plots and scripts, reproducible from `(sizes, seed)`."""
    (chosen,) = _check_parts([part])
    _check_probes(probes)
    return _build_mlp(
        (sizes, True, "mixed", seed % 2**32),
        parts=(chosen,),
        margin=check_margin(margin),
        probes=probes,
        u=_unit_roundoff(dtype),
    )


def _arrays(
    rng: np.random.Generator,
    shapes: Sequence[tuple[int, ...]],
    rich: bool,
    rational: bool,
    nonzero: bool = False,
) -> list[Arr]:
    """Return dyadic float arrays (`_bulk`) or small-denominator rational ones (`_rationals`)."""
    if not rational:
        return list(_bulk(rng, shapes, rich, nonzero=nonzero))
    out = _rationals(rng, shapes, rich, MAX_DENOMINATOR)
    for a in out if nonzero else []:
        if a.size and not any(v != 0 for v in a.flat):
            a.flat[int(rng.integers(a.size))] = Fraction(1)
    return out


def _build_vec(drawn: tuple[int, bool, int], rational: bool = False) -> VecExample:
    """Return the example for the drawn `(n, rich, seed)`."""
    n, rich, seed = drawn
    rng = np.random.default_rng(seed)
    x, dx, delta = _arrays(rng, [(n,)] * 3, rich, rational)
    zero, one = (Fraction(0), Fraction(1)) if rational else (0.0, 1.0)
    if rich:
        x[rng.random(n) < 0.25] = zero
        # Coordinates near the kink, 2**-21 .. 2**-60 (`spec.domain`'s near-kink part): where a
        # mask `x > eps` differs from relu'.
        tiny = rng.random(n) < 0.125
        e = rng.integers(21, 61, size=n)
        for i in np.flatnonzero(tiny).tolist():
            mag = Fraction(1, 2 ** int(e[i])) if rational else 2.0 ** -int(e[i])
            x[i] = -mag if rng.random() < 0.5 else mag
    if n >= 3:
        # relu'(0) = 0 must be exercised, and both other branches: one zero, one of each sign.
        i, j, k = rng.choice(n, size=3, replace=False).tolist()
        x[i] = zero
        x[j] = abs(x[j]) or one
        x[k] = -abs(x[k]) or -one
    if rational:
        return rational_example(VecExample, {"x": x, "dx": dx, "delta": delta})
    return VecExample(x=x, dx=dx, delta=delta)


def vec_examples(
    *, min_dim: int = 1, max_dim: int = 8, rational: bool = False
) -> SearchStrategy[VecExample]:
    """Return a strategy for vectors `x dx δ : Vec n` for the `reluDerivCLM_*` lemmas.

    The lemmas hold at every `x`, kinks included, so `x` has exact zero coordinates (about one in
    four, and when `n >= 3` always at least one zero, one positive and one negative coordinate),
    exercising `relu'(0) = 0`. `dx` and `δ` are dyadic arrays as in `dyadic_arrays`.

    - `min_dim` (default 1), `max_dim` (default 8): the range of `n`, as in `dims`.
    - `rational` (default False): small-denominator rational entries instead (`.rational`, as
      `rational_mlp_examples` draws them), for exact engines.

    .. code-block:: pycon

        >>> vec_examples(min_dim=3, max_dim=3).example().x
        array([ 0.,  1., -1.])
    """
    _check_dims(min_dim, max_dim)
    drawn = st.tuples(st.integers(min_dim, max_dim), _richness, _seeds)
    return drawn.map(_keeping_random_state(functools.partial(_build_vec, rational=rational)))


def _build_linear(
    drawn: tuple[tuple[int, int], bool, int], rational: bool = False
) -> LinearExample:
    """Return the example for the drawn `((inDim, outDim), rich, seed)`."""
    (n_in, n_out), rich, seed = drawn
    rng = np.random.default_rng(seed)
    W, delta, u = _arrays(rng, [(n_out, n_in), (n_out,), (n_in,)], rich, rational)
    if rational:
        return rational_example(LinearExample, {"W": W, "delta": delta, "u": u})
    return LinearExample(W=W, delta=delta, u=u)


def linear_examples(
    *, min_dim: int = 1, max_dim: int = 8, rational: bool = False
) -> SearchStrategy[LinearExample]:
    """Return a strategy for `W : (outDim, inDim)`, `δ : (outDim,)`, `u : (inDim,)`, dyadic.

    For `toVecE_linear_input_deriv_spec_eq_adjoint`: the linear layer's input gradient `Wᵀ δ`
    against the adjoint, probed along `u`.

    - `min_dim` (default 1), `max_dim` (default 8): the range of `inDim` and `outDim`.
    - `rational` (default False): small-denominator rational entries instead, for exact engines.

    .. code-block:: pycon

        >>> linear_examples(max_dim=2).example().W.shape
        (2, 2)
    """
    _check_dims(min_dim, max_dim)
    one = st.integers(min_dim, max_dim)
    drawn = st.tuples(st.tuples(one, one), _richness, _seeds)
    return drawn.map(_keeping_random_state(functools.partial(_build_linear, rational=rational)))


def _build_mse(drawn: tuple[int, bool, int], rational: bool = False) -> MseExample:
    """Return the example for the drawn `(n, rich, seed)`."""
    n, rich, seed = drawn
    rng = np.random.default_rng(seed)
    t, y = _arrays(rng, [(n,), (n,)], rich, rational)
    (h,) = _arrays(rng, [(n,)], rich, rational, nonzero=True)
    if rational:
        return rational_example(MseExample, {"t": t, "y": y, "h": h})
    return MseExample(t=t, y=y, h=h)


def mse_examples(
    *, min_dim: int = 1, max_dim: int = 8, rational: bool = False
) -> SearchStrategy[MseExample]:
    """Return a strategy for a target `t`, a point `y` and a step `h : Vec n` for the `mse` lemmas.

    Entries are dyadic as in `dyadic_arrays`; `h` is never all zeros when `n >= 1`.

    - `min_dim` (default 1), `max_dim` (default 8): the range of `n`, as in `dims`.
    - `rational` (default False): small-denominator rational entries instead, for exact engines.

    .. code-block:: pycon

        >>> mse_examples(max_dim=3).example().h
        array([-1.52424526])
    """
    _check_dims(min_dim, max_dim)
    drawn = st.tuples(st.integers(min_dim, max_dim), _richness, _seeds)
    return drawn.map(_keeping_random_state(functools.partial(_build_mse, rational=rational)))


T_ = TypeVar("T_")


def either_kind(make: Callable[[bool], SearchStrategy[T_]], exact: bool) -> SearchStrategy[T_]:
    """Return `make(False)` (float examples) for a float engine; for an exact engine, rational
    examples `make(True)` and float ones alike (shrinking goes towards the rational ones)."""
    return st.one_of(make(True), make(False)) if exact else make(False)
