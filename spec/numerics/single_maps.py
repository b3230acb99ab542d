"""Bounds of the checks of single maps: the linear layer's input gradient and the MSE's first-order
remainder. Each returns a `Bound` whose derivation is written from the same sizes as its value."""

import numpy as np

from ..types import F64
from .bound import Bound
from .tolerance import SLACK, ForwardBounds, Precision

__all__ = [
    "linear_input_vjp_bound",
    "adjoint_pairing_bound",
    "mse_remainder_bound",
]


def linear_input_vjp_bound(W: F64, delta: F64, prec: Precision) -> Bound:
    """Return the bound on a correct computation of `Wᵀδ`, entry j `Σ_i δ_i W_ij` in any order:
    `γ_m Σ_i |δ_i W_ij|` for `W` with `m` rows."""
    m = W.shape[0]
    return Bound(SLACK * prec.gamma(m) * (np.abs(W).T @ np.abs(delta)), f"γ_{m}·|W|ᵀ|δ|")


def adjoint_pairing_bound(W: F64, delta: F64, u: F64, prec: Precision, exactly: bool) -> Bound:
    """Return the bound on `⟪W u, δ⟫ − ⟪u, V δ⟫` for an engine's `V δ` within
    `linear_input_vjp_bound` of `Wᵀδ`.

    Summed exactly (`exactly`), the difference is `⟪u, Wᵀδ − V δ⟫`, within
    `Σ_j |u_j| γ_m (|W|ᵀ|δ|)_j = γ_m Σ|δ_i W_ij u_j|`. In float64 each side is a sum of `m·n`
    products in some grouping, so within `γ_{m+n} Σ|δ_i W_ij u_j|`, twice for the two sides.
    """
    m, n = W.shape
    triple = float(np.abs(delta) @ np.abs(W) @ np.abs(u)) if m * n else 0.0
    if exactly:
        return Bound(SLACK * prec.gamma(m) * triple, f"γ_{m}·Σ|δ_i W_ij u_j|")
    return Bound(SLACK * 2 * prec.gamma(m + n) * triple, f"2·γ_{m + n}·Σ|δ_i W_ij u_j|")


def mse_remainder_bound(
    f0: ForwardBounds,
    f1: ForwardBounds,
    computed: tuple[F64, F64, float, float, float] | None,
    prec: Precision,
) -> Bound:
    """Return the bound on the engine's remainder `L(y + d) − L(y) − (2/n)⟪y − t, d⟫` of the loss
    as a function of `y` against its true value `(1/n)‖d‖²`.

    Measured exactly (`computed` None), only the engine's two losses err: `Δloss(y + d) +
    Δloss(y)`. In float64, with `computed = (r, d, L0, L1, lin)` (`r = y − t`, the step, the two
    losses and the linear term `c⟪r, d⟫`), the remainder is a difference of four computed terms:
    the two losses (within `Δloss` each), the linear term (`r̂` rounds once, the dot `γ_n`, `c·`:
    two more) and the quadratic term `(1/n)‖d‖²` (`γ_{n+2}`); three subtractions add `γ_3` of
    the magnitudes.
    """
    if computed is None:
        return Bound(
            SLACK * (f0.d_loss + f1.d_loss),
            "Δloss(y + h) + Δloss(y); the remainder measured exactly",
        )
    r, d, L0, L1, lin = computed
    n = r.shape[0]
    c = 2.0 / n if n else 0.0
    inv = 1.0 / n if n else 0.0
    quad = inv * float(d @ d) if n else 0.0
    d_lin = (
        SLACK * c * (prec.gamma(n + 3) * float(np.abs(r) @ np.abs(d)) + (n + 3) * prec.eta)
        if n
        else 0.0
    )
    d_quad = SLACK * inv * prec.gamma(n + 2) * float(d @ d) if n else 0.0
    mag = abs(L1) + abs(L0) + abs(lin) + abs(quad)
    bound = SLACK * (f0.d_loss + f1.d_loss + d_lin + d_quad + prec.gamma(3) * mag)
    return Bound(
        bound, f"Δloss(y+h) + Δloss(y) + c·γ_{n + 3}Σ|y−t||h| + (1/n)γ_{n + 2}‖h‖² + γ_3·|terms|"
    )
