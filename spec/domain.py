"""The parts of a statement's domain that the checks draw from and report on, one verdict each.

Lean states each lemma on a domain; bugs live at its edges, so the report gives a verdict per part:

- `interior`: every hidden unit well away from the ReLU kink (or, for the lemmas about single
  maps, a non-empty vector with no zero and no tiny coordinate);
- `near-kink`: some unit with `0 < |z1 i| ≤ NEAR_KINK · (1 + (|W1||x| + |b1|)_i)`, nearer to the
  kink than half the digits of the engine's format resolve (`NEAR_KINK` is `√u`, rounded to a
  power of two); for the ReLU lemmas a coordinate `0 < |x i| ≤ NEAR_KINK`;
- `kink`: some `z1 i = 0` exactly (for the ReLU lemmas, some `x i = 0`), where the lemmas with
  `hx` say nothing and the others still hold;
- `empty`: some dimension is 0 (Lean's `Fin 0`: `mse` is 0 there, and every gradient is empty or
  zero).

An example belongs to the first part of `empty, kink, near-kink, interior` that it meets.
"""

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

from numpy.typing import NDArray

__all__ = ["PARTS", "Part", "near_kink_threshold", "part_of_units", "part_of_vector"]

Part = Literal["interior", "near-kink", "kink", "empty"]

PARTS: tuple[Part, ...] = ("interior", "near-kink", "kink", "empty")
"""The parts, in the order reports list them."""


def near_kink_threshold(u: float) -> float:
    """Return the relative distance to the kink under which a unit counts as near it, for an
    engine of unit roundoff `u` (0 for an exact engine, which is classified as float64 is):
    `2^floor(log2(√u))`, i.e. 2^-27 in float64 and 2^-12 in float32."""
    u = u or 2.0**-53
    return 2.0 ** math.floor(math.log2(math.sqrt(u)))


def part_of_units(
    dims: tuple[int, int, int],
    z: Sequence[float | Fraction],
    scale: Sequence[float | Fraction],
    u: float,
) -> Part:
    """Return the part of an MLP point with sizes `dims`, whose units have the exact (or correctly
    rounded) pre-activations `z` and magnitudes `scale = (|W1||x| + |b1|)_i`."""
    if 0 in dims:
        return "empty"
    if any(v == 0 for v in z):
        return "kink"
    tau = near_kink_threshold(u)
    if any(abs(float(v)) <= tau * (1 + float(s)) for v, s in zip(z, scale, strict=True)):
        return "near-kink"
    return "interior"


def part_of_vector(x: NDArray[Any], *, empty: bool, u: float = 2.0**-53) -> Part:
    """Return the part of an example of the lemmas about single maps whose ReLU argument is `x`
    (an array of floats or exact rationals; None-like empty arrays allowed); `empty` says whether
    some dimension of the example is 0."""
    if empty:
        return "empty"
    values = [abs(float(v)) if isinstance(v, float) else abs(Fraction(v)) for v in x.flat]
    if any(v == 0 for v in values):
        return "kink"
    if any(v <= near_kink_threshold(u) for v in values):
        return "near-kink"
    return "interior"
