"""`spec.numerics.blocks`: the block-at-a-time products equal the materialised ones, and a matrix
kept as its factors (`OuterSum`) holds, compares and contracts as the matrix it stands for.

Both sides sum the same non-negative terms in different groupings, so each is within `γ_k` of the
exact sum (k terms per entry) and they are within `2γ_k` (relative) of each other; the block
boundaries are crossed by drawing sizes on both sides of `spec.numerics.blocks.BLOCK`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.numerics.blocks import (
    BLOCK,
    OuterSum,
    Products,
    abs_dot,
    products,
    rproducts,
)
from spec.numerics.bound import Bound
from spec.numerics.tolerance import SLACK, gamma
from spec.verdict import Quantity, compare

SIZES = st.sampled_from([0, 1, 3, 17, BLOCK // 64, BLOCK // 64 + 1])


def _within(got: np.ndarray, want: np.ndarray, terms: int) -> bool:
    bound = SLACK * 2 * gamma(max(terms, 1)) * np.abs(want)
    return bool(np.all(np.abs(got - want) <= bound))


@settings(max_examples=40, deadline=None)
@given(SIZES, SIZES, st.integers(0, 2**32 - 1))
def test_block_products_equal_the_materialised_ones(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n * 8))  # rows of up to BLOCK // 8 entries: several per block
    v, w = np.abs(rng.standard_normal(n * 8)), np.abs(rng.standard_normal(m))
    got = products(W, np.empty((n * 8, 0)), v[:, None])[1][:, 0]
    want = np.abs(W) @ v if W.size else np.zeros(m)
    assert got.shape == (m,) and _within(got, want, n * 8)
    got_t = rproducts(W, np.empty((m, 0)), w[:, None])[1][:, 0]
    want_t = np.abs(W).T @ w if W.size else np.zeros(n * 8)
    assert got_t.shape == (n * 8,) and _within(got_t, want_t, m)
    X = rng.standard_normal(W.shape)
    total = float(np.sum(np.abs(W * X)))
    assert _within(np.array(abs_dot(W, X)), np.array(total), W.size)


# --- products, rproducts: several vectors in one pass ----------------------------------------


def _signed_within(got: np.ndarray, want: np.ndarray, mag: np.ndarray, terms: int) -> bool:
    # Both are sums of the same terms in other groupings: within 2γ_k Σ|terms| of each other.
    return bool(np.all(np.abs(got - want) <= SLACK * 2 * gamma(max(terms, 1)) * mag))


@settings(max_examples=40, deadline=None)
@given(SIZES, SIZES, st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_fused_products_equal_the_separate_ones(
    m: int, n: int, kv: int, ka: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n * 8))
    V, A = rng.standard_normal((n * 8, kv)), np.abs(rng.standard_normal((n * 8, ka)))
    Wv, aWa = products(W, V, A)
    assert Wv.shape == (m, kv) and aWa.shape == (m, ka)
    assert _signed_within(Wv, W @ V, np.abs(W) @ np.abs(V), n * 8)
    assert _within(aWa, np.abs(W) @ A, n * 8)
    Vt, At = rng.standard_normal((m, kv)), np.abs(rng.standard_normal((m, ka)))
    tv, ta = rproducts(W, Vt, At)
    assert tv.shape == (n * 8, kv) and ta.shape == (n * 8, ka)
    assert _signed_within(tv, W.T @ Vt, np.abs(W).T @ np.abs(Vt), m)
    assert _within(ta, np.abs(W).T @ At, m)


def test_products_share_one_pass_and_match_by_value() -> None:
    rng = np.random.default_rng(3)
    B = rng.standard_normal((40, BLOCK // 16))
    v = rng.standard_normal((B.shape[1],))
    w = np.abs(rng.standard_normal((B.shape[1],)))
    P = Products(B)
    P.want(signed=[v], absolute=[w])
    first = P.signed(v)
    assert P.absolute(w.copy()) is P.absolute(w)  # found by value, computed in the same pass
    assert _signed_within(first, B @ v, np.abs(B) @ np.abs(v), B.shape[1])
    late = rng.standard_normal((B.shape[1],))  # never wanted: a pass of its own, still right
    assert _signed_within(P.signed(late), B @ late, np.abs(B) @ np.abs(late), B.shape[1])


# --- OuterSum: a matrix kept as its factors ----------------------------------------------------


def _outer_sum(rng: np.random.Generator, m: int, n: int, terms: int, const: float) -> OuterSum:
    return OuterSum(
        tuple((rng.standard_normal(m), rng.standard_normal(n)) for _ in range(terms)), const
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 40),
    st.sampled_from([0, 1, 5, BLOCK // 8 + 3]),
    st.integers(1, 2),
    st.sampled_from([0.0, 2.0**-1074, 0.25]),
    st.integers(0, 2**32 - 1),
)
def test_outer_sum_entries_are_the_in_place_sums(
    m: int, n: int, terms: int, const: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    M = _outer_sum(rng, m, n, terms, const)
    # The floats of `np.outer` then in-place sums, in the order of the terms.
    want = np.multiply.outer(*M.terms[0])
    for a, b in M.terms[1:]:
        want += np.multiply.outer(a, b)
    want += const
    full = np.asarray(M)
    assert full.shape == (m, n) == M.shape and np.array_equal(full, want)
    if m and n:
        i, j = int(rng.integers(m)), int(rng.integers(n))
        assert M[i, j] == want[i, j] and M[-1, -1] == want[-1, -1]
        assert np.array_equal(M.rows(i, m, np.empty((m - i, n)), np.empty((m - i, n))), want[i:])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.sampled_from([1, 5, BLOCK // 8 + 3]), st.integers(0, 2**32 - 1))
def test_comparing_against_factors_is_comparing_against_the_matrix(
    m: int, n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    expected = _outer_sum(rng, m, n, 1, 0.0)
    bound = OuterSum(
        (
            (np.abs(rng.standard_normal(m)), np.abs(rng.standard_normal(n))),
            (np.abs(rng.standard_normal(m)), np.abs(rng.standard_normal(n))),
        ),
        2.0**-1074,
    )
    E, D = np.asarray(expected), np.asarray(bound)
    # Most entries within the bound, a few beyond it (some by far), one exactly at it.
    actual = E + D * rng.uniform(-1.5, 1.5, (m, n))
    actual[-1, -1] = E[-1, -1] + D[-1, -1]
    for scale in (1.0, 2.0):
        got = compare(Quantity("q"), actual, expected, Bound(bound, "d"), scale=scale)
        want = compare(Quantity("q"), actual, E, Bound(D, "d"), scale=scale)
        assert (
            got.ok,
            got.index,
            got.worst_ratio,
            got.error,
            got.bound,
            got.failing,
            got.expected,
        ) == (
            want.ok,
            want.index,
            want.worst_ratio,
            want.error,
            want.bound,
            want.failing,
            want.expected,
        )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_contract_is_the_inner_product_with_the_matrix(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    M = _outer_sum(rng, m, n, 2, 0.5)
    D = rng.standard_normal((m, n))
    got = M.contract([D @ b for b in M.right_factors()], float(D.sum()))
    pairs = zip(np.asarray(M).flat, D.flat, strict=True)
    want = sum((Fraction(float(u)) * Fraction(float(v)) for u, v in pairs), Fraction(0))
    # Another grouping of n·m + m products: within γ_{n+m+2} of the sum of magnitudes, plus the
    # rounding of the materialised entries (three roundings each).
    mag = float(np.abs(np.asarray(M)).ravel() @ np.abs(D).ravel())
    assert abs(Fraction(got) - want) <= SLACK * (gamma(n + m + 2) + gamma(3)) * mag * 2
    absolute = M.terms[0:1]
    single = OuterSum(absolute).absolute()
    assert np.array_equal(np.asarray(single), np.abs(np.asarray(OuterSum(absolute))))
