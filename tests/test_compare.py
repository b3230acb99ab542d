"""`spec.verdict.compare` on float arrays: its block-at-a-time worst entry and failure count are
those of the plain whole-array definition (`|a − e| ≤ scale · bound`; a NaN fails; 0/0 counts 0),
including errors exactly at the bound, zero bounds and NaNs, on sizes that cross the block size."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.numerics.blocks import BLOCK
from spec.numerics.bound import Bound
from spec.verdict import Quantity, compare, compare_exact


def _plain(a: np.ndarray, e: np.ndarray, b: np.ndarray, scale: float) -> tuple[int, float, int]:
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(a - e)
        sb = scale * b
        ratio = err / sb
    ratio = np.where(np.isnan(ratio), np.where(err == 0, 0.0, np.inf), ratio)
    failing = int(np.count_nonzero(~(err <= sb)))
    j = int(np.argmax(ratio))
    return j, float(ratio[j]), failing


@settings(max_examples=60, deadline=None)
@given(
    n=st.sampled_from([1, 5, BLOCK - 1, BLOCK + 7]),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["pass", "boundary", "fail", "nan", "zero-bound"]),
    scale=st.sampled_from([1.0, 2.0, 3.0]),
)
def test_block_worst_and_count_are_the_plain_ones(
    n: int, seed: int, kind: str, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    b = np.abs(rng.standard_normal(n)) * 2.0**-40
    a = e + scale * b * rng.uniform(-0.99, 0.99, n)
    i = int(rng.integers(n))
    if kind == "boundary":
        b[i] = 2.0**-40
        a[i] = e[i] + scale * b[i]  # error exactly at the bound (both exact): passes, ratio 1
        if abs(a[i] - e[i]) != scale * b[i]:
            return
    elif kind == "fail":
        a[i] = e[i] + 3 * scale * b[i] + 2.0**-30
    elif kind == "nan":
        a[i] = np.nan
    elif kind == "zero-bound":
        b[: max(1, n // 3)] = 0.0
        a[: max(1, n // 3)] = e[: max(1, n // 3)]  # met exactly: 0/0 counts 0
        a[-1] = e[-1] + (1e-300 if b[-1] == 0 else 0.0)
    got = compare(Quantity("q"), a, e, Bound(b, "d"), scale=scale)
    j, worst, failing = _plain(a, e, b, scale)
    assert got.failing == failing and got.ok == (failing == 0)
    assert got.index == (j,) and (
        got.worst_ratio == worst or (np.isinf(worst) and np.isinf(got.worst_ratio))
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.fractions(max_denominator=2**20), min_size=1, max_size=12),
    st.integers(min_value=-1, max_value=11),
    st.sampled_from(["fmpq", "Fraction"]),
)
def test_compare_exact_is_compare_with_a_zero_bound(
    values: list[Fraction], change: int, kind: str
) -> None:
    """`compare_exact` (which spares the error arrays when every entry is equal) returns what
    `compare` does with the zero bound, for equal arrays and for arrays differing in one entry."""
    from spec.numerics.bound import EXACTLY
    from spec.rational import exact_array, fraction_array, use_flint

    use_flint(kind == "fmpq")
    try:
        a = exact_array(np.array(values, dtype=object))
        if kind == "Fraction":
            a = fraction_array(a)
        e = a.copy()
        if 0 <= change < len(values):
            e[change] = e[change] + 1
        what = Quantity("left", "right")
        assert compare_exact(what, a, e) == compare(what, a, e, Bound.zero(EXACTLY))
    finally:
        use_flint(True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-4.0, 4.0, width=64),
            st.fractions(min_value=-4, max_value=4, max_denominator=2**8),
            st.sampled_from([0.0, 2.0**-60, 2.0**-52, 1e-3, 1.0, math.inf, math.nan]),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_exact_errors_are_the_same_in_fmpq_and_in_fractions(
    entries: list[tuple[float, Fraction, float]],
) -> None:
    """The certified comparison decides the entries close to their bound in rationals:
    python-flint's `fmpq` when in use, `Fraction` otherwise (and always where an engine returned
    `Fraction`s). Both give the same errors, verdicts and ratios: at the bound, near it (the
    spec's value a few units of 2^-52 off the engine's), past it, and for infinite and NaN
    bounds."""
    from spec.rational import exact_array, fraction_array, use_flint
    from spec.verdict import _exact_errors

    actual = np.array([a for a, _, _ in entries])
    offsets = np.array([o * Fraction(1, 2**52) for _, o, _ in entries], dtype=object)
    bound = np.array([b for _, _, b in entries])
    seen = []
    for flint in (True, False):
        use_flint(flint)
        try:
            expected = exact_array(offsets) + exact_array(actual)
            seen.append(_exact_errors(actual, expected, bound))
            # An exact engine's Fractions against the spec's values take the Fraction path.
            seen.append(_exact_errors(fraction_array(exact_array(actual)), expected, bound))
        finally:
            use_flint(True)
    for got in seen[1:]:
        for x, y in zip(seen[0], got, strict=True):
            assert np.array_equal(x, y), (seen[0], got)


_ENTRY = st.tuples(
    st.one_of(
        st.floats(-4.0, 4.0, width=64),
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 2.0**-1074]),
    ),
    st.fractions(min_value=-4, max_value=4, max_denominator=2**8),
    st.sampled_from([0.0, 2.0**-60, 2.0**-52, 1e-3, 1.0, math.inf, math.nan]),
    st.sampled_from(["float", "fmpq", "Fraction"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ENTRY, min_size=1, max_size=8))
def test_small_comparisons_entry_by_entry_equal_the_array_path(
    entries: list[tuple[float, Fraction, float, str]],
) -> None:
    """`_certified_errors` decides arrays of at most `SMALL` entries one entry at a time, in
    Python floats; the array path (`_certified_arrays`) gives the same errors, verdicts and
    ratios on them: floats, NaN and infinities on the engine's side, an exact engine's
    `Fraction`s or `fmpq`s, the spec's value near the engine's or far from it, and zero, tiny,
    infinite and NaN bounds."""
    from spec.rational import q
    from spec.verdict import SMALL, _certified_arrays, _certified_errors

    assert len(entries) <= SMALL
    actual = np.empty(len(entries), dtype=object)
    expected = np.empty(len(entries), dtype=object)
    for i, (a, offset, _, kind) in enumerate(entries):
        near = offset * Fraction(1, 2**52) + (Fraction(a) if math.isfinite(a) else 0)
        expected[i] = q(near)
        if kind == "float" or not math.isfinite(a):
            actual[i] = a
        else:
            actual[i] = Fraction(a) if kind == "Fraction" else q(a)
    if all(isinstance(v, float) for v in actual):
        actual = actual.astype(np.float64)
    bound = np.array([b for _, _, b, _ in entries])
    small = _certified_errors(actual, expected, bound)
    arrays = _certified_arrays(actual, expected, bound)
    for x, y in zip(small, arrays, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), (small, arrays)
