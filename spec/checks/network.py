"""The network's statements by argument, shared by the checks of the last two banners: the
derivative each `hasFDerivAt_mlp_wrt_*` states and the right side of each `grad_*_mse`, keyed by
the argument (`W1 b1 W2 b2 x`), and the hypothesis `hx` decided exactly."""

from collections.abc import Callable
from typing import Any

import numpy as np

from ..examples import MlpPoint
from ..mirror import gradients as G
from ..mirror.linear_maps import CLM, Elem, FunCLM, Space
from ..mirror.mlp import mlpVecMat
from ..numerics.memo import IdentityMemo
from ..numerics.tolerance import forward_bounds, grad_bounds
from ..rational import Q, flint_in_use, q
from ..types import Mat, Vec
from .base import exact

__all__ = [
    "NEEDS_HX",
    "STATED_DERIVATIVE",
    "RIGHT_SIDE",
    "stated_derivative",
    "right_side",
    "exact_args",
    "exact_output",
    "hx_holds_exactly",
    "first_kink",
    "why_no_float_check",
    "point_values",
]

NEEDS_HX = ("W1", "b1", "x")
"""The arguments whose lemmas take `hx : ∀ i, z1 W1 b1 x i ≠ 0`."""

STATED_DERIVATIVE: dict[str, Callable[[Mat, Vec, Mat, Vec, Vec], CLM]] = {
    "W2": G.hasFDerivAt_mlp_wrt_W2,
    "b1": G.hasFDerivAt_mlp_wrt_b1,
    "x": G.hasFDerivAt_mlp_wrt_x,
    "W1": G.hasFDerivAt_mlp_wrt_W1,
}
"""The `hasFDerivAt_mlp_wrt_*` lemma of each argument (MlpMse states none for `b2`)."""

RIGHT_SIDE: dict[str, Callable[[Mat, Vec, Mat, Vec, Vec, Vec], Elem]] = {
    "W2": G.grad_W2_mse,
    "b2": G.grad_b2_mse,
    "b1": G.grad_b1_mse,
    "x": G.grad_x_mse,
    "W1": G.grad_W1_mse,
}
"""The `grad_*_mse` lemma of each argument."""


def stated_derivative(k: str, W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> CLM:
    """Return the derivative `hasFDerivAt_mlp_wrt_k` states for the network in argument `k`; for
    `b2`, where MlpMse states none, the identity (the network is `… + b2`)."""
    if k == "b2":
        sp = Space((b2.n,))
        ident: CLM = FunCLM("id", sp, sp, lambda v: v, lambda: ident)
        return ident
    if k not in STATED_DERIVATIVE:
        raise ValueError(f"stated_derivative: unknown argument {k!r}; expected W1 b1 W2 b2 x")
    return STATED_DERIVATIVE[k](W1, b1, W2, b2, x)


def right_side(k: str, W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Elem:
    """Return the right side of `grad_k_mse`."""
    if k not in RIGHT_SIDE:
        raise ValueError(f"right_side: unknown argument {k!r}; expected W1 b1 W2 b2 x")
    return RIGHT_SIDE[k](W1, b1, W2, b2, x, t)


def exact_args(p: MlpPoint) -> tuple[Mat, Vec, Mat, Vec, Vec]:
    """Return the point's `(W1, b1, W2, b2, x)` as `Mat`s and `Vec`s of exact rationals, converted
    once per point (every statement at a point reads them; nothing writes into them)."""

    def convert() -> tuple[Mat, Vec, Mat, Vec, Vec]:
        W1, b1, W2, b2, x = (exact(v) for v in p.values())
        return Mat(W1), Vec(b1), Mat(W2), Vec(b2), Vec(x)

    return _EXACT_ARGS.get((p,), flint_in_use(), convert)


def exact_output(p: MlpPoint) -> Vec:
    """Return `mlpVecMat` at the point, exactly, computed once per point."""
    out: Vec = _EXACT_OUTPUT.get((p,), flint_in_use(), lambda: mlpVecMat(*exact_args(p)))
    return out


_EXACT_ARGS: IdentityMemo[tuple[Mat, Vec, Mat, Vec, Vec]] = IdentityMemo(4)
_EXACT_OUTPUT: IdentityMemo[Vec] = IdentityMemo(4)


def why_no_float_check(p: MlpPoint) -> str:
    # Why the spec's own float64 values are not checked either, in an `unmet` message.
    if p.rational is not None:
        return "the point is rational, so there are no float64 values to certify"
    return "the exact reference is off at this size"


def hx_holds_exactly(p: MlpPoint) -> bool:
    """Return whether `hx : ∀ i, z1 W1 b1 x i ≠ 0` holds, deciding each sign exactly."""
    return first_kink(p) is None


def first_kink(p: MlpPoint) -> int | None:
    """Return the first unit `i` with `z1 W1 b1 x i = 0` exactly, or None where `hx` holds."""
    if p.rational is None:
        # Float64 values shortlist the rows decided exactly below: only coordinates within their
        # rounding bound of 0 need exact arithmetic.
        rows = np.flatnonzero(forward_bounds(p).kink_doubt).tolist()
    else:
        rows = list(range(p.dims[1]))  # rounded entries bound nothing: decide every row exactly
    W1, b1, x = p.value("W1"), p.value("b1"), p.value("x")
    for i in rows:
        row = sum((q(w) * q(v) for w, v in zip(W1[i], x, strict=True)), Q(0))
        if row + q(b1[i]) == 0:
            return int(i)
    return None


def point_values(p: MlpPoint) -> dict[str, Any]:
    """Return the spec's float64 values at an MLP point, for a counterexample: `z1`, the mask
    `relu'(z1)`, `a1`, `y`, `g = mseGrad y t`, `v = W2ᵀ g`, `delta = relu'(z1) ⊙ v`, the loss, and
    the right side of each `grad_*_mse` (`rhs`, keyed by argument)."""
    fb = forward_bounds(p)
    gb = grad_bounds(p, fb)
    v = p.W2.T @ fb.g if p.dims[2] else np.zeros(p.dims[1])
    return {
        "z1": fb.z1,
        "mask": fb.mask,
        "a1": fb.a1,
        "y": fb.y,
        "g": fb.g,
        "v": v,
        "delta": gb.value["b1"],
        "loss": fb.loss,
        "rhs": {k: np.asarray(val, dtype=np.float64) for k, val in gb.value.items()},
    }
