"""The single maps' bounds are tight to within a factor of 2: an engine whose linear-layer input
gradient is off by twice the bound `spec.numerics.single_maps.linear_input_vjp_bound` derives is
caught, one off by half of it is not; the same for an engine whose loss remainder is off by twice
or half `mse_remainder_bound` (the float reference path of `hasFDerivAt_mse`).

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


# --- The MSE remainder's bound, on the float reference path -------------------------------------
#
# `hasFDerivAt_mse` compares the engine's loss remainder L(y + d) − L(y) − (2/n)⟪y − t, d⟫ with
# (1/n)‖d‖². Above `EXACT_REFERENCE_LIMIT` parameters (or with `--reference float`) it is measured
# in float64 against `mse_remainder_bound`; before these tests, that bound made a million times
# looser passed the whole suite (tried on purpose).

MSE_N = 5


def mse_documented_bound(
    f0: Any, f1: Any, r: F64, d: F64, L0: float, L1: float, lin: float
) -> float:
    """The bound docs/tolerances.md derives, written out here apart from the code under test:
    `Δloss(y + d) + Δloss(y) + (2/n)(γ_{n+3}Σ|r||d| + (n+3)η) + (1/n)γ_{n+2}‖d‖²
    + γ_3(|L1| + |L0| + |lin| + |quad|)`, with `r = y − t` and `quad = (1/n)‖d‖²`."""
    n = r.shape[0]

    def gamma(k: int) -> float:
        return k * U / (1 - k * U)

    eta = 2.0**-1074
    quad = float(d @ d) / n
    return float(
        f0.d_loss
        + f1.d_loss
        + (2.0 / n) * (gamma(n + 3) * float(np.abs(r) @ np.abs(d)) + (n + 3) * eta)
        + gamma(n + 2) * float(d @ d) / n
        + gamma(3) * (abs(L1) + abs(L0) + abs(lin) + abs(quad))
    )


class LossOffAtTheStep(NumpyMlp):
    """An engine whose loss is right at `y` and off by `error` at `y + d` (the checker asks at `y`
    first): an engine remainder off by exactly `error`, up to the rounding of the true losses."""

    def __init__(self, L0: float, L1: float, error: float) -> None:
        self.values = [L0, L1 + error]
        self.name = "loss-off-at-the-step"

    def loss(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> float:
        return self.values.pop(0)


def _mse_case(seed: int) -> tuple[Any, Any, Any, tuple[F64, F64, float, float, float]]:
    """An example of `hasFDerivAt_mse`, the bounds at `y` and `y + d`, and what the check computes
    from a correct engine's losses: `(r, d, L0, L1, lin)`."""
    from spec.checks.mlp import mse_point
    from spec.examples import MseExample
    from spec.numerics.tolerance import exact_step, forward_bounds

    rng = np.random.default_rng(seed)
    ex = MseExample(
        t=rng.standard_normal(MSE_N),
        y=rng.standard_normal(MSE_N),
        h=rng.standard_normal(MSE_N) * 2.0**-4,
    )
    d, _ = exact_step(ex.y, ex.h, FLOAT64)
    f0 = forward_bounds(mse_point(ex.y, ex.t), FLOAT64)
    f1 = forward_bounds(mse_point(ex.y + d, ex.t), FLOAT64)

    def loss(y: F64) -> float:  # correctly rounded
        return float(sum((Fraction(v) - Fraction(w)) ** 2 for v, w in zip(y, ex.t, strict=True)))

    L0, L1 = loss(ex.y) / MSE_N, loss(ex.y + d) / MSE_N
    r = ex.y - ex.t
    lin = 2.0 / MSE_N * float(r @ d)
    return ex, f0, f1, (r, d, L0, L1, lin)


def _mse_status(k: float, seed: int) -> Status:
    from spec.checks.mlp import check_hasFDerivAt_mse

    ex, f0, f1, (r, d, L0, L1, lin) = _mse_case(seed)
    error = k * mse_documented_bound(f0, f1, r, d, L0, L1, lin)
    subject = Subject(LossOffAtTheStep(L0, L1, error), FLOAT64, exact_reference=False)
    return check_hasFDerivAt_mse(ex, subject).status


@pytest.mark.parametrize("seed", range(5))
def test_the_code_derives_the_documented_mse_remainder_bound(seed: int) -> None:
    """`mse_remainder_bound` (float path) is the bound written out above, up to `SLACK`."""
    from spec.numerics.single_maps import mse_remainder_bound

    _ex, f0, f1, computed = _mse_case(seed)
    want = mse_documented_bound(f0, f1, *computed)
    got = mse_remainder_bound(f0, f1, computed, FLOAT64).value
    assert want <= got <= want * (1 + 2.0**-19)


@pytest.mark.parametrize("seed", range(5))
def test_a_loss_off_by_twice_the_mse_remainder_bound_is_caught(seed: int) -> None:
    assert _mse_status(2.0, seed) is Status.FAILS


@pytest.mark.parametrize("seed", range(5))
def test_a_loss_off_by_half_the_mse_remainder_bound_is_not(seed: int) -> None:
    assert _mse_status(0.5, seed) is Status.HOLDS
