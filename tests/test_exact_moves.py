"""`spec.numerics.tolerance.exact_moves` and `scaled_moves`: an entry of the step is kept exactly
when `p + d` is exact in the format (and, for `scaled_moves`, the step `s·h` itself is), and the
moved array is then the exact sum (decided here with `Fraction`s, independently of TwoSum). Sizes
cross the block size of the test."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.numerics.tolerance import (
    _TEST_BLOCK,
    FLOAT32,
    FLOAT64,
    Precision,
    exact_moves,
    scaled_moves,
)


def _arrays(seed: int, n: int, dtype: type[np.floating]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scale = 60 if dtype is np.float64 else 20
    p = rng.standard_normal(n) * np.exp2(rng.integers(-scale, scale, n))
    d = rng.standard_normal(n) * np.exp2(rng.integers(-scale, scale, n))
    p[rng.random(n) < 0.1] = 0.0
    d[rng.random(n) < 0.1] = 0.0
    # Short mantissas too, so that a good share of the sums is exact.
    short = rng.random(n) < 0.5
    p[short] = np.round(p[short] * 2**10) / 2**10
    d[short] = np.round(d[short] * 2**10) / 2**10
    return p.astype(dtype).astype(np.float64), d.astype(dtype).astype(np.float64)


def _exact_in(value: Fraction, dtype: type[np.floating]) -> bool:
    f = float(dtype(float(value))) if math.isfinite(float(value)) else math.inf
    return math.isfinite(f) and Fraction(f) == value


@pytest.mark.parametrize("prec", [FLOAT64, FLOAT32], ids=lambda p: p.name)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([0, 1, 7, _TEST_BLOCK + 5]))
def test_kept_entries_are_exactly_those_with_exact_moves(
    prec: Precision, seed: int, n: int
) -> None:
    dtype = prec.dtype
    p, d = _arrays(seed, n, dtype)
    step, plus, zeroed = exact_moves(p, d, prec)
    assert step.shape == plus.shape == p.shape
    assert zeroed == int(np.count_nonzero((step == 0) & (d != 0)))
    for i in range(0, n, max(1, n // 300)):
        fp, fd = Fraction(float(p[i])), Fraction(float(d[i]))
        exact = _exact_in(fp + fd, dtype)
        if d[i] != 0:
            assert (step[i] != 0) == exact, (i, p[i], d[i])
        kept = Fraction(float(step[i]))
        assert Fraction(float(plus[i])) == fp + kept


def test_overflow_and_nan_are_never_kept() -> None:
    p = np.array([1e308, np.nan, 1.0])
    d = np.array([1e308, 1.0, np.inf])
    step, plus, zeroed = exact_moves(p, d)
    assert list(step) == [0.0, 0.0, 0.0] and zeroed == 3


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.sampled_from([1, 7, _TEST_BLOCK + 5]),
    k=st.sampled_from([1, 10, 1000, 1070]),
)
def test_scaled_moves_keep_exactly_the_entries_whose_scaled_step_and_moves_are_exact(
    seed: int, n: int, k: int
) -> None:
    p, h = _arrays(seed, n, np.float64)
    h[::5] *= 2.0**-1000  # tiny entries, whose step s·h may fall below the normal range
    s = 2.0**-k
    m = scaled_moves(p, h, s)
    step = m.step
    assert step.shape == m.plus.shape == p.shape
    if m.zeroed == 0:
        assert m.base is h and m.factor == s  # products along h serve the step
    else:
        assert m.factor == 1.0
    for i in range(0, n, max(1, n // 300)):
        fp, fd = Fraction(float(p[i])), Fraction(float(h[i])) * Fraction(s)
        exact = _exact_in(fd, np.float64) and _exact_in(fp + fd, np.float64)
        kept = Fraction(float(step[i]))
        assert kept == (fd if exact else 0), (i, p[i], h[i], s)
        assert Fraction(float(m.plus[i])) == fp + kept
    assert m.nonzero == bool(np.any(step != 0))


def test_scaled_moves_take_powers_of_two_only() -> None:
    with pytest.raises(ValueError, match="power of two"):
        scaled_moves(np.ones(3), np.ones(3), 0.3)


def test_moved_arrays_are_reused_only_once_nothing_refers_to_them() -> None:
    from spec.numerics.memo import ArrayPool

    pool = ArrayPool(4)
    a = pool.take(1 << 17)
    first = id(a)
    b = pool.take(1 << 17)
    assert b is not a  # a is held here
    view = a.reshape(2, -1)
    del a
    c = pool.take(1 << 17)
    assert id(c) != first  # a view of it is alive
    del view, b, c
    assert id(pool.take(1 << 17)) == first  # nothing refers to it: reused
    assert pool.held_bytes == 3 * 8 * (1 << 17)
    pool.clear()
    assert pool.held_bytes == 0
