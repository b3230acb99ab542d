"""The linear layer's bounds are tight to within a factor of 2: an engine whose input gradient is
off by twice the bound `spec.numerics.single_maps.linear_input_vjp_bound` derives is caught, one off
by half of it is not.

Other bounds have tests of this kind (`tests/test_moved_bounds.py`,
`tests/test_loss_difference.py`, the MaskEpsilon engines of `tests/test_edges.py`); without this
one, a bound a million times too wide here went unnoticed by the suite (tried on purpose).
"""

from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from spec.checks.linear import check_toVecE_linear_input_deriv_spec_eq_adjoint
from spec.examples import LinearExample
from spec.numerics.single_maps import linear_input_vjp_bound
from spec.numerics.tolerance import FLOAT64
from spec.subject import Subject
from spec.verdict import Status
from tests.backends import F64, NumpyMlp

M, N = 6, 5
"""`W` is M × N. With M ≥ 4 the final rounding of the engine's result, at most `u|Wᵀδ|`, is at
most a quarter of the bound `γ_M Σ|δ_i W_ij|`, so an error of half the bound plus that rounding
stays under it."""


U = 2.0**-53


def bound(W: F64, delta: F64) -> F64:
    """The bound the docs derive for `Wᵀδ`, written out here, apart from the code under test:
    `γ_m Σ_i |δ_i W_ij|`, `γ_m = m u / (1 − m u)`."""
    m = W.shape[0]
    out: F64 = m * U / (1 - m * U) * (np.abs(W).T @ np.abs(delta))
    return out


class OffByBound(NumpyMlp):
    """A linear layer whose input gradient is `Wᵀδ` (exactly, then rounded) plus `k` times the
    bound."""

    def __init__(self, k: float) -> None:
        self.k = k
        self.name = f"off-by-{k}-bounds"

    def linear_input_vjp(self, W: F64, delta: F64) -> Any:
        exact = [
            sum((Fraction(d) * Fraction(w) for d, w in zip(delta, col, strict=True)), Fraction(0))
            for col in W.T
        ]
        return np.array(
            [
                float(e + Fraction(self.k) * Fraction(b))
                for e, b in zip(exact, bound(W, delta), strict=True)
            ]
        )


def _example(seed: int) -> LinearExample:
    rng = np.random.default_rng(seed)
    return LinearExample(
        W=rng.standard_normal((M, N)), delta=rng.standard_normal(M), u=rng.standard_normal(N)
    )


def _status(k: float, seed: int) -> Status:
    subject = Subject(OffByBound(k), FLOAT64, exact_reference=True)
    return check_toVecE_linear_input_deriv_spec_eq_adjoint(_example(seed), subject).status


def test_the_code_derives_the_documented_bound() -> None:
    """`linear_input_vjp_bound` is the bound written out above, up to `SLACK` (2^-20 relative)."""
    W, delta = _example(0).W, _example(0).delta
    got = linear_input_vjp_bound(W, delta, FLOAT64).value
    assert np.all(got >= bound(W, delta)) and np.all(got <= bound(W, delta) * (1 + 2.0**-19))


@pytest.mark.parametrize("seed", range(5))
def test_an_error_of_twice_the_bound_is_caught(seed: int) -> None:
    assert _status(2.0, seed) is Status.FAILS


@pytest.mark.parametrize("seed", range(5))
def test_an_error_of_half_the_bound_is_not(seed: int) -> None:
    assert _status(0.5, seed) is Status.HOLDS
