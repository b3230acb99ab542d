"""Floating-point error bounds, derived from the sizes and the unit roundoff. No free tolerances.

The model (Higham, *Accuracy and Stability of Numerical Algorithms*, §2-3): each floating-point
operation returns the exact result times `(1 + e)`, `|e| ≤ u`, plus an absolute underflow error of
at most `ETA`. A sum of `k` products computed in **any order**, with or without fused multiply-add,
is then within `γ_k · Σ|terms| + k·ETA` of the exact sum, where `γ_k = k·u / (1 − k·u)`.

Every bound below bounds the distance of a *correct* engine's computed value from the exact real
value at the same float inputs, whatever its summation order or its precision (≥ the one of `u`).
Two correct computations (the engine's and the spec's) are then within twice that of each other.
Magnitudes of computed inputs are bounded by `|x̂| + 2Δx`, which covers both computations.

Where a quantity feeds the next (`z1 → a1 → y → y − t → g → W2ᵀg → …`), the input error is carried
through the operation's Lipschitz constant: ReLU is 1-Lipschitz, and `W v` moves by `|W| Δv`.
The derivation of each bound is written next to it; docs/tolerances.md collects them.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..examples import MlpPoint
from ..types import F64
from .blocks import OuterSum, products, rproducts
from .bound import Bound
from .memo import ArrayPool, IdentityMemo

__all__ = [
    "Precision",
    "FLOAT64",
    "FLOAT32",
    "EXACT",
    "PRECISIONS",
    "U64",
    "U32",
    "ETA64",
    "SLACK",
    "gamma",
    "ForwardBounds",
    "forward_bounds",
    "Shift",
    "moved_bounds",
    "output_weights",
    "propagated_weights",
    "first_layer_growth",
    "GradBounds",
    "grad_bounds",
    "exact_step",
    "exact_moves",
    "Moves",
    "scaled_moves",
]

U64 = 2.0**-53
"""Unit roundoff of IEEE binary64 with round-to-nearest."""
U32 = 2.0**-24
"""Unit roundoff of IEEE binary32 with round-to-nearest."""
ETA64 = 2.0**-1074
"""Largest absolute error of one binary64 operation in the subnormal range (half the smallest
subnormal for a product; sums there are exact). Counted once per operation."""

SLACK = 1.0 + 2.0**-20
"""Factor applied to every bound: the bounds are themselves computed in floating point, with
relative error at most γ_k for k < 2^20 terms (below 2^-30), and the second-order terms dropped
from the derivations (products of two errors, each below γ_k ≪ 2^-20) are below 2^-30 relative.
2^-20 covers both with a wide margin while leaving the bound tight to a millionth."""


def gamma(k: int, u: float = U64) -> float:
    """Return `γ_k = k·u / (1 − k·u)`, the relative error bound of k roundings; inf if k·u ≥ 1."""
    ku = k * u
    return math.inf if ku >= 1 else ku / (1 - ku)


@dataclass(frozen=True)
class Precision:
    """An IEEE binary format an engine computes in: its unit roundoff and underflow error."""

    name: str
    u: float
    eta: float
    dtype: type[np.floating[Any]]

    def gamma(self, k: int) -> float:
        """Return `γ_k` for this format's unit roundoff."""
        return gamma(k, self.u)

    def round(self, a: F64) -> F64:
        """Return `a` rounded to this format (and held in float64, where it is exact)."""
        out: F64 = np.asarray(a, dtype=self.dtype).astype(np.float64)
        return out


FLOAT64 = Precision("float64", U64, ETA64, np.float64)
FLOAT32 = Precision("float32", U32, 2.0**-149, np.float32)
EXACT = Precision("exact", 0.0, 0.0, np.float64)
"""An engine computing in exact rationals: no rounding, so every bound is 0. Its inputs are the
float64 examples converted exactly; `dtype` only describes how the examples are held."""
PRECISIONS = {p.name: p for p in (FLOAT64, FLOAT32, EXACT)}


@dataclass(frozen=True)
class ForwardBounds:
    """The spec's float64 forward values at a point, and bounds `Δ` on any correct engine's error.

    `z1, a1, y, r = y − t, g = mseGrad y t, loss` are computed here by the spec in float64; each
    `d_*` bounds `|computed − exact|` entrywise for a correct computation in any order.
    """

    z1: F64
    d_z1: F64
    a1: F64
    d_a1: F64
    y: F64
    d_y: F64
    r: F64
    d_r: F64
    g: F64
    d_g: F64
    loss: float
    d_loss: float
    mask: F64
    kink_doubt: NDArray[np.bool_]
    """Entries where `|ẑ1_i| ≤ 2Δz1_i`: rounding could put the exact `z1_i` or an engine's on
    either side of the kink."""
    grow0: F64
    """`|W2| E0`, the part of what `Δy` grows by when the first layer moves that depends on the
    point alone (`first_layer_growth` has the part along the step): with it the bounds at such a
    moved point cost no pass over `W2` (`moved_bounds`)."""
    dims: tuple[int, int, int] = (0, 0, 0)
    """`(inDim, hidDim, outDim)` of the point, which the derivations name."""
    derived: bool = False
    """Whether these bounds were derived from another point's (`moved_bounds`): they are sound at
    this point, but `grow0` is the other point's, so they are no base to move from."""

    def bound(self, quantity: str) -> Bound:
        """Return the bound on `quantity` (`z1`, `a1`, `y`, `loss` or `g`) with its derivation,
        written from the same sizes as the arithmetic in `_forward_bounds` and `_output`."""
        n_i, n_h, n_o = self.dims
        z1 = f"γ_{n_i + 1}(|W1||x| + |b1|)"
        if quantity == "z1":
            return Bound(self.d_z1, z1)
        if quantity == "a1":
            return Bound(self.d_a1, f"{z1}, ReLU 1-Lipschitz")
        if quantity == "y":
            return Bound(self.d_y, f"γ_{n_h + 1}(|W2||a1| + |b2|) + |W2|Δa1, Δa1 = {z1}")
        if quantity == "loss":
            return Bound(self.d_loss, f"(1/n)(γ_{n_o + 4}Σ(y−t)² + Σ Δr(2|y−t| + Δr)), n = {n_o}")
        if quantity == "g":
            return Bound(self.d_g, "(2/n)(γ_3|y − t| + u|y − t|)")
        raise ValueError(
            f"ForwardBounds.bound: no bound on {quantity!r}; expected z1, a1, y, loss or g"
        )


def _mag(v: F64, d: F64) -> F64:
    # An upper bound on |v| for any correct computation of v: |v̂_spec| + 2Δv (see module doc).
    out: F64 = np.abs(v) + 2 * d
    return out


_FORWARD: IdentityMemo[Any] = IdentityMemo(32)
"""Every predicate at a point asks for the same bounds: the last few points' (vectors only), by
point identity; a check visits its point and up to 14 perturbed ones."""

_GRAD: IdentityMemo[Any] = IdentityMemo(2)
"""The closed-form gradients and their bounds are parameter-sized: only the last two points'."""

_LAYER: IdentityMemo[tuple[F64, F64]] = IdentityMemo(8)


def _first_layer(W1: F64, x: F64) -> tuple[F64, F64]:
    """Return `W1 x` and `|W1| |x|`, reused while `W1` and `x` are the same objects: the perturbed
    points of `b1`, `W2` and `b2` share them with the point itself."""

    def compute() -> tuple[F64, F64]:
        if not x.shape[0]:
            zero = np.zeros(W1.shape[0])
            return zero, zero
        Wx, aWx = products(W1, x[:, None], np.abs(x)[:, None])  # one pass over W1
        return Wx[:, 0], aWx[:, 0]

    return _LAYER.get((W1, x), None, compute)


def forward_bounds(p: MlpPoint, prec: Precision = FLOAT64) -> ForwardBounds:
    """Return the forward values at `p` and their error bounds for an engine computing in `prec`."""
    out: ForwardBounds = _FORWARD.get((p,), prec.name, lambda: _forward_bounds(p, prec))
    return out


def _forward_bounds(p: MlpPoint, prec: Precision) -> ForwardBounds:
    u, eta = prec.u, prec.eta
    n_i, n_h, n_o = p.dims
    W1, b1, W2, b2, x = p.W1, p.b1, p.W2, p.b2, p.x
    # z1 = W1 x + b1: a sum of n_i products and one addend, any order.
    Wx, aWx = _first_layer(W1, x)
    z1 = Wx + b1
    d_z1 = SLACK * (gamma(n_i + 1, u) * (aWx + np.abs(b1)) + (n_i + 1) * eta)
    mask, kink_doubt = _signs(z1, d_z1)
    # a1 = relu(z1): ReLU is exact and 1-Lipschitz, so the error of z1 carries over unchanged.
    a1 = z1 * mask
    d_a1 = np.where((mask > 0) | kink_doubt, d_z1, 0.0)  # exactly 0 where z1 < 0 for certain
    # y = W2 a1 + b2: n_h products and one addend; plus the propagated |W2| Δa1.
    # γ|W2|(|â1| + 2Δa1) + |W2|Δa1 = |W2|(γ|â1| + (2γ + 1)Δa1): one product with |W2|, taken in
    # the same pass as W2 a1 and |W2| E0 (for the bounds at points moved in the first layer).
    g_h = gamma(n_h + 1, u)
    Wa, aW = products(
        W2,
        a1[:, None],
        np.stack([output_weights(a1, d_a1, n_h, prec), _growth0(z1, mask, n_h, prec)], axis=1),
    )
    y = Wa[:, 0] + b2 if n_h else b2.copy()
    d_y = SLACK * (aW[:, 0] + g_h * np.abs(b2) + (n_h + 1) * eta)
    return _output(p, prec, z1, d_z1, a1, d_a1, y, d_y, mask, kink_doubt, aW[:, 1])


def _signs(z1: F64, d_z1: F64) -> tuple[F64, NDArray[np.bool_]]:
    # The ReLU mask, and where it is in doubt: the exact z1 is within Δz1 of ẑ1, and an engine's
    # value within Δz1 of the exact one, so only |ẑ1| > 2Δz1 puts both on ẑ1's side of the kink.
    mask: F64 = (z1 > 0).astype(np.float64)
    return mask, np.abs(z1) <= 2 * d_z1


def propagated_weights(v: F64, d_v: F64, g: float) -> F64:
    """Return `g|v̂| + (2g + 1)Δv`: a sum of products `W v` computed with relative error `g`, from
    an input known within `Δv`, is within `|W|` times this of the exact `W v`
    (`g|W|(|v̂| + 2Δv) + |W|Δv`, one product with `|W|`)."""
    out: F64 = g * np.abs(v) + (2 * g + 1) * d_v
    return out


def output_weights(a1: F64, d_a1: F64, n_h: int, prec: Precision) -> F64:
    """Return the weights of `Δy` (`propagated_weights` with `γ_{n_h + 1}`: `n_h` products and
    `b2`): `Δy` is `|W2|` times this, plus the `b2` terms."""
    return propagated_weights(a1, d_a1, gamma(n_h + 1, prec.u))


def _output(
    p: MlpPoint,
    prec: Precision,
    z1: F64,
    d_z1: F64,
    a1: F64,
    d_a1: F64,
    y: F64,
    d_y: F64,
    mask: F64,
    kink_doubt: NDArray[np.bool_],
    grow0: F64,
    derived: bool = False,
) -> ForwardBounds:
    """Return the bounds from `y` on: the residual, `mseGrad` and the loss (vectors of `outDim`)."""
    u, eta = prec.u, prec.eta
    n_o = p.dims[2]
    # r = y − t: one rounding of a value of magnitude ≤ |ŷ − t| + 2Δy.
    r = y - p.t
    d_r = SLACK * (d_y + u * _mag(r, d_y) + eta)
    # g = (2/n)(y − t): the factor 2/n and the product, at most three roundings in any grouping
    # (2·r/n, r·(2/n), 2·(r·(1/n))); 2/0 = 0 as in Lean.
    c = 2.0 / n_o if n_o else 0.0
    g = c * r
    d_g = SLACK * c * (gamma(3, u) * _mag(r, d_r) + d_r) + eta
    # loss = (1/n) Σ r_k²: n products and n − 1 additions, the factor 1/n (two roundings), and up
    # to two more for an engine that squares a square-rooted norm: γ_{n+4} on Σ r̂², plus the
    # propagated |r̂² − r²| ≤ Δr (2|r̂| + Δr).
    inv = 1.0 / n_o if n_o else 0.0
    loss = inv * float(r @ r) if n_o else 0.0
    mr = _mag(r, d_r)
    d_loss = (
        SLACK
        * inv
        * (
            gamma(n_o + 4, u) * float(mr @ mr)
            + float(np.sum(d_r * (2 * mr + d_r)))
            + (n_o + 4) * eta
        )
    )
    return ForwardBounds(
        z1,
        d_z1,
        a1,
        d_a1,
        y,
        d_y,
        r,
        d_r,
        g,
        d_g,
        loss,
        d_loss,
        mask,
        kink_doubt,
        grow0,
        p.dims,
        derived,
    )


def _growth_constants(n_h: int, prec: Precision) -> tuple[float, float, float]:
    g = gamma(n_h + 1, prec.u)
    u = prec.u
    c1 = g + g * u + (2 * g + 1) * u * (1 + u)
    c0 = g * u + (2 * g + 1) * u * (1 + u)
    return g, c1, c0


def _growth0(z1: F64, mask: F64, n_h: int, prec: Precision) -> F64:
    # E0 of `first_layer_growth`: the part that depends on the point alone.
    g, _, c0 = _growth_constants(n_h, prec)
    out: F64 = mask * (c0 * np.abs(z1) + (2 * g + 1) * 2 * prec.eta)
    return out


def first_layer_growth(
    fb: ForwardBounds, dz: F64, mag: F64, err: F64, n_i: int, n_h: int, prec: Precision
) -> F64:
    """Return `E1`, the weights of what `Δy` grows by per unit step `f` along a direction in the
    first layer (`W1`, `b1` or `x`), given the change `dz` of `z1` along it, computed, the
    magnitudes `mag` that bound `|W1'||x'| + |b1'|` − `|W1||x| − |b1|` per unit step, and the
    bound `err` on the rounding of `dz`: `Δy` at `p ± f·dz` exceeds `Δy` at `p` by at most
    `|W2| (f E1 + E0)` (`E0`: `grow0` of the forward bounds), as long as the ReLU mask is the
    one at `p` and in doubt nowhere.

    Derivation, per active unit (inactive ones do not change: `a1 = 0`, `Δa1 = 0` at both
    points): `Δy`'s weights are `γ|â1| + (2γ + 1)Δa1`, `γ = γ_{n_h + 1}`. The moved value
    `ẑ1' = fl(ẑ1 + f·dz)` has `|ẑ1'| − |ẑ1| ≤ f|dz| + u(|ẑ1| + f|dz|)`, and `Δz1' − Δz1 =
    γ_{n_i + 1} f mag + (f err + η) + u|ẑ1'| + η` with `|ẑ1'| ≤ (1 + u)(|ẑ1| + f|dz|)`. Collected:
    `f (c1 |dz| + (2γ + 1)(γ_{n_i + 1} mag + err)) + (c0 |ẑ1| + 2(2γ + 1)η)`, with
    `c1 = γ + γu + (2γ + 1)u(1 + u)` and `c0 = γu + (2γ + 1)u(1 + u)`; `SLACK` covers the
    rounding of the bounds' own arithmetic.
    """
    g, c1, _ = _growth_constants(n_h, prec)
    out: F64 = (
        fb.mask * SLACK * (c1 * np.abs(dz) + (2 * g + 1) * (gamma(n_i + 1, prec.u) * mag + err))
    )
    return out


@dataclass(frozen=True)
class Shift:
    """How an exact step `d` in one argument moves the forward pass, from products with the step
    (`spec.checks.gradients` takes them along the probe and scales them).

    - `dz, dz_err, dz_mag` (for `W1 b1 x`; None for `W2 b2`): the change of `z1`, computed, a bound
      on its error, and the magnitudes `|d| |x|`, `|W1| |d|` or `|d|` by which `|W1||x| + |b1|`
      grows at most.
    - `dy, dy_err`: the change of `y`, computed (the stated derivative `f'(d)` for `W2`, and for
      `W1 b1 x` when the ReLU mask does not change; `d` for `b2`), and a bound on its error.
    - `dy_mag`: what `|W2|(γ|â1| + (2γ + 1)Δa1) + γ|b2|` grows by at most: `|d|(γ|â1| + (2γ +
      1)Δa1)` for `W2`, `γ|d|` for `b2`, `|W2| (f E1 + E0)` for `W1 b1 x` (`first_layer_growth`).
    """

    dz: F64 | None
    dz_err: F64 | None
    dz_mag: F64 | None
    dy: F64
    dy_err: F64
    dy_mag: F64


def moved_bounds(p1: MlpPoint, fb: ForwardBounds, shift: Shift, prec: Precision) -> ForwardBounds:
    """Return bounds at `p1 = p + d` from the bounds `fb` at `p` and the `shift` of the step: no
    pass over the parameters, where `forward_bounds(p1)` takes four at a million entries.

    Each `Δ` here bounds both the spec's value's error and any correct engine's, as `Δ` does at
    `p`. The engine's bound at `p1` is the one at `p` with `|W|` and `|v|` replaced by upper bounds
    (`|W + d| ≤ |W| + |d|`); the spec's value is the value at `p` plus the computed change, whose
    error is the one at `p`, the change's, and one rounding. Where the ReLU mask at `p1` could
    differ from the one at `p` (or is in doubt), `y` does not move by `f'(d)`: the bounds are then
    computed at `p1` itself. Kept with the other bounds, by the identity of `p1`.
    """
    if fb.derived:
        raise ValueError(
            "moved_bounds: the bounds to move from were themselves derived from "
            "another point's; move from forward_bounds computed at the point"
        )
    out: ForwardBounds = _FORWARD.get((p1,), prec.name, lambda: _moved_bounds(p1, fb, shift, prec))
    return out


def _moved_bounds(p1: MlpPoint, fb: ForwardBounds, shift: Shift, prec: Precision) -> ForwardBounds:
    u, eta = prec.u, prec.eta
    n_i, n_h, _ = p1.dims
    z1, d_z1, a1, d_a1, mask, doubt = fb.z1, fb.d_z1, fb.a1, fb.d_a1, fb.mask, fb.kink_doubt
    if shift.dz is not None:
        assert shift.dz_err is not None and shift.dz_mag is not None
        z1 = fb.z1 + shift.dz
        d_z1 = (
            fb.d_z1 + SLACK * gamma(n_i + 1, u) * shift.dz_mag + shift.dz_err + u * np.abs(z1) + eta
        )
        mask, doubt = _signs(z1, d_z1)
        if doubt.any() or fb.kink_doubt.any() or (mask != fb.mask).any():
            return _forward_bounds(p1, prec)
        a1 = z1 * mask
        d_a1 = mask * d_z1
    y = fb.y + shift.dy
    grow = SLACK * shift.dy_mag
    d_y = fb.d_y + grow + shift.dy_err + u * np.abs(y) + eta
    return _output(p1, prec, z1, d_z1, a1, d_a1, y, d_y, mask, doubt, fb.grow0, derived=True)


@dataclass(frozen=True)
class GradBounds:
    """The spec's closed-form gradients (the right-hand sides of the `grad_*_mse` lemmas) in
    float64, and bounds on any correct engine's error for each."""

    value: dict[str, Any]
    bound: dict[str, Any]
    derivation: dict[str, str]
    """`value` and `bound` hold float64 arrays for `b1 b2 x` and `OuterSum`s (a matrix kept as
    its factors; `np.asarray` forms it) for `W1 W2`."""

    def of(self, k: str) -> Bound:
        """Return the bound on the gradient in argument `k`, with its derivation."""
        return Bound(self.bound[k], self.derivation[k])


def grad_bounds(p: MlpPoint, fb: ForwardBounds, prec: Precision = FLOAT64) -> GradBounds:
    """Return the closed forms `outer g a1`, `g`, `R(W2ᵀg)`, `W1ᵀR(W2ᵀg)`, `outer (R(W2ᵀg)) x` and
    their error bounds; `fb` must be `forward_bounds(p, prec)`."""
    out: GradBounds = _GRAD.get((p,), prec.name, lambda: _grad_bounds(p, fb, prec))
    return out


def _grad_bounds(p: MlpPoint, fb: ForwardBounds, prec: Precision) -> GradBounds:
    u, eta = prec.u, prec.eta
    n_i, n_h, n_o = p.dims
    W1, W2, x = p.W1, p.W2, p.x
    g, d_g, a1, d_a1 = fb.g, fb.d_g, fb.a1, fb.d_a1
    mg, ma = _mag(g, d_g), _mag(a1, d_a1)
    # The two outer products (a million entries each at d = 1024) are kept as their factors
    # (`OuterSum`): compared a block at a time and contracted through products, never formed.
    # grad W2 = outer g a1: one rounding per entry, plus the propagated errors of g and a1:
    # u|g||a1| + |g|Δa1 + Δg|a1| = |g| ⊗ (u|a1| + Δa1) + Δg ⊗ |a1|, plus η for the product's
    # underflow.
    gW2 = OuterSum(((g, a1),))
    dW2 = OuterSum(((SLACK * mg, u * ma + d_a1), (SLACK * d_g, ma)), SLACK * eta)
    # v = W2ᵀ g: n_o products per entry, any order, plus |W2|ᵀ Δg; one pass over W2 for both.
    v2, av2 = rproducts(W2, g[:, None], (gamma(n_o, u) * mg + d_g)[:, None])
    v = v2[:, 0] if n_o else np.zeros(n_h)
    d_v = SLACK * (av2[:, 0] + n_o * eta)
    # grad b1 = R_z1 v: the mask is exact (0 or 1) where the sign of z1 is certain.
    gb1 = fb.mask * v
    d_b1 = fb.mask * d_v
    # grad x = W1ᵀ (R_z1 v): n_h products per entry, plus |W1|ᵀ Δ(grad b1); one pass over W1.
    x2, ax2 = rproducts(W1, gb1[:, None], (gamma(n_h, u) * _mag(gb1, d_b1) + d_b1)[:, None])
    gx = x2[:, 0] if n_h else np.zeros(n_i)
    d_x = SLACK * (ax2[:, 0] + n_h * eta)
    # grad W1 = outer (R_z1 v) x: one rounding per entry, plus the propagated error of grad b1.
    gW1 = OuterSum(((gb1, x),))
    dW1 = OuterSum(((SLACK * (u * _mag(gb1, d_b1) + d_b1), np.abs(x)),), SLACK * eta)
    value = {"W1": gW1, "b1": gb1, "W2": gW2, "b2": g, "x": gx}
    bound = {"W1": dW1, "b1": d_b1, "W2": dW2, "b2": d_g, "x": d_x}
    derivation = {
        "W2": f"u·|g||a1| + |g|Δa1 + Δg|a1|, Δa1 = Δz1 = γ_{n_i + 1}(|W1||x|+|b1|), "
        f"Δg from Δy = γ_{n_h + 1}(|W2||a1|+|b2|) + |W2|Δa1, {_u_text(prec)}",
        "b2": f"Δg = (2/n)(γ_3|y−t| + Δy + u|y−t|), Δy = γ_{n_h + 1}(|W2||a1|+|b2|) + |W2|Δa1",
        "b1": f"mask ⊙ (γ_{n_o}|W2|ᵀ|g| + |W2|ᵀΔg)",
        "x": f"γ_{n_h}|W1|ᵀ|grad b1| + |W1|ᵀΔ(grad b1), "
        f"Δ(grad b1) = mask ⊙ (γ_{n_o}|W2|ᵀ|g| + |W2|ᵀΔg)",
        "W1": "u·|grad b1||x| + Δ(grad b1)|x|",
    }
    return GradBounds(value, bound, derivation)


def _u_text(prec: Precision) -> str:
    return "u = 0 (exact)" if prec.u == 0 else f"u = 2^{round(math.log2(prec.u))} ({prec.name})"


def exact_step(p: F64, d: F64, prec: Precision = FLOAT64) -> tuple[F64, int]:
    """Return `d` with the entries zeroed where `p + d` is not exact in `prec` (or `d` itself is
    not representable there), and how many were zeroed (see `exact_moves`)."""
    step, _, zeroed = exact_moves(p, d, prec)
    return step, zeroed


def exact_moves(p: F64, d: F64, prec: Precision = FLOAT64) -> tuple[F64, F64, int]:
    """Return `(d', p + d', zeroed)`: `d` with the entries zeroed where `p + d` is not exact in
    `prec` (or `d` itself is not representable there), the moved array, computed exactly, and how
    many entries were zeroed. `d'` is `d` itself when none was.

    Exactness is decided with Knuth's TwoSum, whose error term is 0 exactly when the rounded sum
    is the real sum; the rounded sums are the moved array itself. At an exact moved point,
    `L(p + d) − L(p)` is a difference of losses at a point the direction reaches *exactly*, so no
    rounding of the step enters the comparison.
    """
    m = scaled_moves(p, d, 1.0, prec)
    return m.step, m.plus, m.zeroed


@dataclass(frozen=True, eq=False)
class Moves:
    """An exact step and the point it reaches: the step is `factor · base` exactly, and
    `plus = p + step` exactly (`scaled_moves`)."""

    plus: F64
    zeroed: int
    """Entries of the requested step that were zeroed (their moves were not exact)."""
    base: F64
    factor: float
    """A power of two: the requested scale when no entry was zeroed (`base` is then the direction
    itself, whose products serve every scale), else 1 (`base` is the step with its zeros)."""
    nonzero: bool
    """Whether the step has a nonzero entry, or no entry at all: a step whose every entry was
    zeroed checks nothing, while an empty argument is still checked (the engine's values there)."""

    @property
    def step(self) -> F64:
        """The step itself, formed (exact: `factor` is a power of two)."""
        if self.factor == 1.0:
            return self.base
        out: F64 = self.base * self.factor
        return out


def scaled_moves(p: F64, h: F64, scale: float, prec: Precision = FLOAT64) -> Moves:
    """Return the move of `p` by the step `scale · h`, `scale` a power of two, with the entries
    zeroed where `scale · h` or `p + scale · h` is not exact in `prec`.

    For float64 the step is formed a block at a time in cache (where `scale · h` is exact, which
    is checked: `(scale · h) / scale = h`), so no step-sized array is written unless an entry is
    zeroed: the step is then `scale · h` exactly, and products with `h` serve it.
    """
    if not (scale > 0 and math.frexp(scale)[0] == 0.5):
        raise ValueError(f"scaled_moves: scale={scale!r} must be a positive power of two")
    t = prec.dtype
    if t is not np.float64:
        return _narrow_moves(p, h if scale == 1.0 else h * scale, prec)
    return _moves64(p, h, scale)


def _moves64(p: F64, h: F64, scale: float) -> Moves:
    fp, fh = p.reshape(-1), h.reshape(-1)
    n = fp.size
    plus = _MOVED.take(n)
    bad = np.empty(n, dtype=bool)
    # A block at a time: the scratch of the test stays in cache, and the only passes over memory
    # are reading p and h and writing the moved array.
    k0 = min(n, _TEST_BLOCK)
    step, bb, tmp = np.empty(k0), np.empty(k0), np.empty(k0)
    also = np.empty(k0, dtype=bool)
    # (scale · h) · 2^k = h exactly when scale · h was exact; a scale below the normal range
    # has no float inverse, so it is undone in two exact steps.
    undo = [1.0 / scale] if scale >= 2.0**-1022 else [2.0**1022, 1.0 / (scale * 2.0**1022)]
    nonzero = 0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(0, n, _TEST_BLOCK):
            k = min(_TEST_BLOCK, n - i)
            a, out = fp[i : i + k], bad[i : i + k]
            if scale == 1.0:
                b = fh[i : i + k]
                out[:] = False
            else:
                b = np.multiply(fh[i : i + k], scale, out=step[:k])
                np.multiply(b, undo[0], out=tmp[:k])
                for factor in undo[1:]:
                    np.multiply(tmp[:k], factor, out=tmp[:k])
                np.not_equal(tmp[:k], fh[i : i + k], out=out)  # scale · h underflowed
            nonzero += int(np.count_nonzero(b))
            np.add(a, b, out=plus[i : i + k])
            _inexact(a, b, plus[i : i + k], bb[:k], tmp[:k], also[:k])
            np.logical_or(out, also[:k], out=out)
    zeroed = int(np.count_nonzero(bad))
    shape = p.shape
    if not zeroed:
        return Moves(plus.reshape(shape), 0, h, scale, nonzero > 0 or n == 0)
    d = np.where(bad.reshape(shape), 0.0, h * scale if scale != 1.0 else h)
    np.copyto(plus, fp, where=bad)
    return Moves(plus.reshape(shape), zeroed, d, 1.0, bool(d.any()) or n == 0)


def _narrow_moves(p: F64, d: F64, prec: Precision) -> Moves:
    # A narrower format: the entries must also be representable there, and the moves are exact
    # in it (whole-array passes; the checks at a million parameters run in float64).
    t = prec.dtype
    p_, d_ = p.astype(t), d.astype(t)
    with np.errstate(over="ignore", invalid="ignore"):
        plus = p_ + d_
        bad = _inexact_whole(p_, d_, plus)
        bad |= (d_.astype(np.float64) != d) | (p_.astype(np.float64) != p)
    zeroed = int(np.count_nonzero(bad))
    if zeroed:
        d = np.where(bad, 0.0, d)
        plus = np.where(bad, p_, plus)
    return Moves(plus.astype(np.float64), zeroed, d, 1.0, bool(d.any()) or d.size == 0)


def _inexact_whole(a: NDArray[Any], b: NDArray[Any], s: NDArray[Any]) -> NDArray[np.bool_]:
    out = np.empty(a.shape, dtype=bool)
    _inexact(a, b, s, np.empty_like(a), np.empty_like(a), out)
    return out


_MOVED = ArrayPool(4)
"""The moved copies of the parameters: a check's (`W1 + d`, `W2 + d`, one per probe) are reused
by the next check once nothing refers to them (`spec.numerics.memo.ArrayPool`)."""

_TEST_BLOCK = 1 << 14
"""Entries tested at a time (128 KiB of float64 per scratch buffer)."""


def _inexact(
    a: NDArray[Any],
    b: NDArray[Any],
    s: NDArray[Any],
    bb: NDArray[Any],
    tmp: NDArray[Any],
    out: NDArray[np.bool_],
) -> None:
    """Set `out` where `s = fl(a + b)` differs from the real sum, by Knuth's TwoSum.

    TwoSum's error term, with `bb = s − a`, is `(a − (s − bb)) + (b − bb)`: 0 exactly when `s`
    is exact. It is compared as `a − (s − bb) ≠ bb − b` (a sum of two floats rounds to 0 only
    when it is 0), which saves a pass; an overflow makes `s` infinite and the comparison NaN,
    i.e. inexact. `bb` and `tmp` are scratch buffers, updated in place.
    """
    np.subtract(s, a, out=bb)
    np.subtract(s, bb, out=tmp)
    np.subtract(a, tmp, out=tmp)  # tmp := a − (s − bb)
    np.subtract(bb, b, out=bb)  # bb := bb − b
    np.not_equal(tmp, bb, out=out)
