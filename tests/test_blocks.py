"""`spec.blocks`: the block-at-a-time products with absolute values equal the materialised ones.

Both sides sum the same non-negative terms in different groupings, so each is within `γ_k` of the
exact sum (k terms per entry) and they are within `2γ_k` (relative) of each other; the block
boundaries are crossed by drawing sizes on both sides of `spec.blocks.BLOCK`.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.blocks import BLOCK, abs_dot, abs_matvec, abs_rmatvec
from spec.tolerance import SLACK, gamma

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
    got, want = abs_matvec(W, v), np.abs(W) @ v if W.size else np.zeros(m)
    assert got.shape == (m,) and _within(got, want, n * 8)
    got_t, want_t = abs_rmatvec(W, w), np.abs(W).T @ w if W.size else np.zeros(n * 8)
    assert got_t.shape == (n * 8,) and _within(got_t, want_t, m)
    X = rng.standard_normal(W.shape)
    total = float(np.sum(np.abs(W * X)))
    assert _within(np.array(abs_dot(W, X)), np.array(total), W.size)
