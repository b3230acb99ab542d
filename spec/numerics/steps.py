"""Steps and moved points for the derivative checks, and the bounds along them.

A `hasFDerivAt_*` or `grad_*_mse` check moves the point along a probe direction `h` in one argument
and compares the engine there. This module chooses the step (`step_size`: a power of two inside the
no-kink radius, away from the band where rounding could flip a ReLU), makes it exactly
representable (`take_step`, `Step`), halves it while the moved point could cross a kink
(`step_inside`), and bounds what a correct engine may differ by along it: the stated derivative
applied to the step (`jvp`), the first-order remainder (`remainder_bound`), the loss difference
(`loss_difference`), and the inner product of a gradient kept as an outer product with a step
(`outer_inner`). Every bound is derived from the sizes and the unit roundoff; the derivations are in
the docstrings and in docs/tolerances.md.

While a point's checks run together (`spec.checks.point.check_point`), the context memoizes what
they share (`PointMemo.reuse`): the step along a probe, the moved point, the products with a
parameter-sized array.
"""

import math
from collections.abc import Callable, Hashable
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..examples import MlpExample, MlpPoint
from ..mirror.gradients import z1
from ..mirror.linear_maps import CLM, Elem
from ..rational import Q, Rational, fraction_array, q, to_fraction
from ..types import F64, Mat, Vec, real_inv
from .blocks import OuterSum, Products, abs_dot
from .bound import Bound
from .tolerance import (
    EXACT,
    SLACK,
    ForwardBounds,
    Moves,
    Precision,
    Shift,
    first_layer_growth,
    gamma,
    grad_bounds,
    moved_bounds,
    output_weights,
    propagated_weights,
    scaled_moves,
)

__all__ = [
    "PointMemo",
    "Step",
    "HALVINGS",
    "zdot",
    "zdot_exact",
    "step_size",
    "shared_step",
    "step_inside",
    "take_step",
    "exact_step_size",
    "exact_radius",
    "crosses",
    "remainder_bound",
    "JVP_DERIVATION",
    "exact_loss_difference_bound",
    "gradient_along_step",
    "jvp",
    "jvp_along",
    "want_second_layer",
    "want_all_second_layer",
    "first_layer_step",
    "w2_jvp_weights",
    "bounds_at",
    "probe_products",
    "shared_products",
    "loss_difference",
    "exact_loss_difference",
    "outer_inner",
    "wrap_like",
]


@runtime_checkable
class PointMemo(Protocol):
    """What the step machinery needs of a check's context (`spec.subject.Subject` is one): the
    engine's format, and a memo of values shared by the checks of one point."""

    prec: Precision
    memo: dict[tuple[Any, ...], tuple[tuple[object, ...], Any]] | None

    def reuse(
        self, objects: tuple[object, ...], what: tuple[Hashable, ...], compute: Callable[[], Any]
    ) -> Any:
        """Return `compute()`, once per `what` and identity of `objects` while `memo` is a dict."""
        ...


def zdot(ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, B: F64) -> tuple[F64, F64]:
    """Return the change `ż` of `z1 = W1 x + b1` per unit step along `B` in argument `k` (affine in
    each argument), computed in float64, and the magnitudes `A` whose products bound its rounding:
    `|ż_computed − ż| ≤ γ_n A + n·η` (`A = |B| |x|` for `W1`, `|W1| |B|` for `x`; `ż = B`, exact,
    for `b1`; 0 for `W2`, `b2`)."""
    n_h = p.dims[1]
    if k == "b1":
        return B, np.abs(B)
    if k in ("W1", "x"):
        P = probe_products(ctx, k, p, fb, B)
        v, w = (p.x, np.abs(p.x)) if k == "W1" else (B, np.abs(B))
        return P.signed(v), P.absolute(w)
    zero = np.zeros(n_h)
    return zero, zero


def step_size(zd: F64, fb: ForwardBounds) -> float:
    """Return a power-of-two step s with p + s·h inside the no-kink region around p, for `zd` the
    change of z1 per unit step along h (`zdot`).

    The exact radius is min_i |z1_i| / |ż_i|; with computed values it is at least (|ẑ1_i| − Δz1_i) /
    |ż_i| up to the relative error γ_n of ż, which the factor 1/2 absorbs. The room taken is |ẑ1_i|
    − 2Δz1_i, so that the moved point stays out of the band where the mask is in doubt
    (`spec.numerics.tolerance` flags |ẑ1_i| ≤ 2Δz1_i); `step_inside` halves the step where it does
    not. Steps are capped at 1 (the directions are drawn at the scale of the point).
    """
    zd = np.abs(zd)
    room = np.abs(fb.z1) - 2 * fb.d_z1  # out of the doubt band of the moved point too
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(zd > 0, room / zd, np.inf)
    radius = float(np.min(ratios)) if ratios.size else math.inf
    if radius <= 0 or not math.isfinite(radius):
        return 1.0 if radius > 0 or not ratios.size else 0.0
    return min(1.0, 2.0 ** math.floor(math.log2(radius / 2)))


class Step:
    """The step `d` in argument `k` and the point `plus = p + d`: for a float engine, the step is
    `factor · base` exactly (`spec.numerics.tolerance.scaled_moves`: the direction `h` itself and
    the scale `s` when every entry of `s·h` moves exactly, else the step with its inexact entries
    zeroed, and 1), so products with `h` serve every scale; for an exact engine, `s·h` exactly as
    `Fraction`s."""

    def __init__(self, k: str, p: MlpPoint, s: Any, h: F64, prec: Precision) -> None:
        self._moves: Moves | None = None
        if prec is EXACT:
            self._d: Any = fraction_array(h) * to_fraction(s)
            self.plus = p.moved_exactly(k, self._d)
            self.base: Any = self._d
            self.factor, self.nonzero = 1.0, True
        else:
            # The exactness test's rounded sums are the moved array itself.
            self._moves = m = scaled_moves(p.get(k), h, float(s), prec)
            self._d = None
            self.base, self.factor, self.nonzero = m.base, m.factor, m.nonzero
            self.plus = p.with_(k, m.plus)

    @property
    def d(self) -> Any:
        """The step, formed (parameter-sized: the float checks use `base` and `factor`)."""
        if self._d is None:
            assert self._moves is not None
            self._d = self._moves.step
        return self._d


def shared_step(ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, h: F64) -> float:
    """Return `step_size`, computed once per point and probe while the context memoizes one point's
    calls (the remainder and the gradient checks along the same probe share it)."""
    out: float = ctx.reuse(
        (p, fb, h), ("step", k), lambda: step_size(zdot(ctx, k, p, fb, h)[0], fb)
    )
    return out


OUTPUT_LAYER = ("W2", "b2")
"""The arguments whose steps leave the first layer, and so every sign of z1, as they are."""

HALVINGS = 30
"""How many times `step_inside` halves a step whose moved point could leave the region."""


def step_inside(
    ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, h: F64, s: float
) -> tuple[Step, ForwardBounds, float] | None:
    """Return the move by `s·h` (`take_step`), the bounds at `p + d`, and the step taken; a step in
    `W1`, `b1` or `x` is halved while the moved point could lie across a kink or in its doubt
    band (a dropped inexact entry can move the step, and the moved bounds are a little wider than
    those at `p`). None when no nonzero step is left (every entry inexact, or the step
    underflowed to 0): then there is nothing to compare. Computed once per point, probe and step
    while the context memoizes one point's calls (the remainder and the gradient check take the
    same first step)."""
    out: tuple[Step, ForwardBounds, float] | None = ctx.reuse(
        (p, fb, h), ("inside", k, s), lambda: _step_inside(ctx, k, p, fb, h, s)
    )
    return out


def _step_inside(
    ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, h: F64, s: float
) -> tuple[Step, ForwardBounds, float] | None:
    for _ in range(HALVINGS):
        if not s > 0:
            return None
        mv = take_step(ctx, k, p, h, s)
        if not mv.nonzero:
            return None
        bounds = bounds_at(ctx, k, p, fb, mv)
        # A step in W2 or b2 leaves z1 as it is: the segment lies in one piece of the network
        # whatever the signs at p, a unit in doubt or at a kink included (the engine computes
        # the same z1 at both ends), so no step is too long; halving could never help there.
        if k in OUTPUT_LAYER or not crosses(fb, bounds):
            return mv, bounds, s
        s /= 2
    return None


def take_step(ctx: PointMemo, k: str, p: MlpPoint, h: F64, s: Any) -> Step:
    """Return the step `s·h` in argument `k` at `p`, with the moved point.

    For a float engine the step is made exactly representable (`scaled_moves`), so the engine is
    handed points the direction reaches exactly; for an exact engine it is `s·h` exactly. While the
    context memoizes one point's calls (`spec.checks.point.check_point`), the remainder check at
    step `s` and the loss difference of the gradient check at the same `s` move to the same point:
    sharing the objects shares their bounds (cached per point) and the engine's memoized values, and
    the exactness test runs once per parameter-sized array.
    """
    out: Step = ctx.reuse((p, h), ("moved", k, s), lambda: Step(k, p, s, h, ctx.prec))
    return out


def exact_step_size(k: str, args: tuple[Mat, Vec, Mat, Vec, Vec], h: Any) -> Rational:
    """Return the largest power of two at most half the exact no-kink radius along `h` in
    argument `k` (the radius is `min_i |z1 i| / |ż1 i|` over the units `h` moves; 1 when it moves
    none): for an exact engine, whose remainders and loss differences are compared exactly."""
    zd = zdot_exact(k, args, h)
    if not any(v != 0 for v in zd):
        return Q(1)
    half = to_fraction(exact_radius(z1(args[0], args[1], args[4]).data, zd)) / 2
    e = half.numerator.bit_length() - half.denominator.bit_length()
    if Fraction(2) ** e > half:
        e -= 1
    return Q(2**e) if e >= 0 else Q(1, 2**-e)


def exact_radius(zz: Any, zd: Any) -> Rational:
    # min_i |z1 i| / |ż1 i| over the units the direction moves (exact rationals); 1 when it
    # moves none.
    ratios = [abs(zz[i]) / abs(zd[i]) for i in range(len(zd)) if zd[i] != 0]
    out: Rational = min(ratios) if ratios else Q(1)
    return out


def crosses(at: ForwardBounds, moved: ForwardBounds) -> bool:
    # z1 is affine along the step, so if no sign changed at the end point (and none is in doubt
    # there), the segment stays inside one piece of the network.
    return bool(moved.kink_doubt.any() or (moved.mask != at.mask).any())


def remainder_bound(
    fb: ForwardBounds,
    f1: ForwardBounds,
    computed: tuple[Any, Any, F64, F64] | None = None,
    prec: Precision | None = None,
) -> Bound:
    """Return the bound on the engine's first-order remainder `f(p + d) − f(p) − f'(d)`, whose
    true value is 0 inside the no-kink radius: `Δy(p + d) + Δy(p)` when it is measured exactly;
    with `computed = (y0, y1, f'(d), Δf'(d))` in floating point, plus the stated derivative's own
    error and γ_2 of the magnitudes for the two subtractions."""
    if computed is None:
        out: F64 = SLACK * (f1.d_y + fb.d_y)
        return Bound(out, "Δy(p + d) + Δy(p); the remainder measured exactly")
    assert prec is not None
    y0, y1, jv, djv = (np.asarray(v, dtype=np.float64) for v in computed)
    mag = np.abs(y1) + np.abs(y0) + np.abs(jv)
    out = SLACK * (f1.d_y + fb.d_y + djv + prec.gamma(2) * mag)
    return Bound(out, "Δy(p + d) + Δy(p) + Δ(f'(d)) + γ_2(|f(p + d)| + |f(p)| + |f'(d)|)")


JVP_DERIVATION = "γ of each product sum + propagated |W|Δ"
"""How `jvp`'s bound is derived (`jvp_along`): each product sum within its γ, and the errors of
its inputs carried through `|W|`."""


def exact_loss_difference_bound(fp: ForwardBounds, fb: ForwardBounds, s: float) -> Bound:
    """Return the bound on `(L(p + s h) − L(p) − (1/n)‖f'(s h)‖²) / s − ⟪∇L, h⟫` measured exactly:
    the engine's errors in its two losses, over `s`."""
    return Bound(
        SLACK * (fp.d_loss + fb.d_loss) / s,
        f"(Δloss(p + sh) + Δloss(p)) / s, measured exactly, {_s_text(s)}",
    )


def gradient_along_step(
    ctx: PointMemo,
    k: str,
    p: MlpPoint,
    fb: ForwardBounds,
    mv: "Step",
    s: float,
    loss_err: float,
) -> tuple[float, Bound]:
    """Return `⟪G, d⟫ / s` for the closed-form gradient `G` in argument `k` and the step `d = s·h`
    taken (`mv`), and the bound on its distance from the loss difference over `s` (`loss_err`, from
    `loss_difference`, already over `s`): `Σ ΔG |h|` for the closed form's own error, the
    rounding of the inner product, and `loss_err`.

    For `G = a ⊗ b` (`OuterSum`), the product is taken over the base of the step (the direction
    itself when the step is s·h exactly), then times `factor / s`, a power of two (`outer_inner`);
    otherwise `⟪G, d⟫` in any order is within `γ_n Σ|G d| + n·η`, all over `s`.
    """
    prec = ctx.prec
    gb = grad_bounds(p, fb, prec)
    G, dG = gb.value[k], gb.bound[k]
    if isinstance(G, OuterSum):
        P = probe_products(ctx, k, p, fb, mv.base)
        lin, lin_bound, terms = outer_inner(G, dG, P, prec)
        ratio = mv.factor / s
        lin, bound = lin * ratio, SLACK * (lin_bound * ratio + loss_err)
        how = f"ΣΔG|h| + γ_{terms}Σ|a||h||b| for G = a ⊗ b"
    else:
        d = mv.d
        lin = float(np.dot(G.ravel(), d.ravel())) / s  # the division by a power of two is exact
        n = G.size
        bound = SLACK * (
            abs_dot(dG, d) / s + prec.gamma(n) * abs_dot(G, d) / s + loss_err + n * prec.eta / s
        )
        how = f"ΣΔG|h| + γ_{n}Σ|G h|"
    return lin, Bound(
        bound,
        f"{how} + (Δloss(p + sh) + Δloss(p) + Δq + γ_2|L₊ − L| + u·q) / s, "
        f"q = (1/n)‖f'(sh)‖², {_s_text(s)}",
    )


def _s_text(s: float) -> str:
    return f"s = 2^{round(math.log2(s))}"


def jvp(
    ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, B: F64, factor: float
) -> tuple[F64, F64]:
    """Return the stated derivative applied to the step `factor · B` in float64 (`factor` a power
    of two) and a bound on any correct computation's error. The derivative is linear: it is taken
    along `B` once (shared by every step along the same direction, and by the engine's jvp
    along it) and scaled, exactly but for underflow, which `η` covers."""
    v, dv = ctx.reuse((p, fb, B), ("jvp", k), lambda: jvp_along(ctx, k, p, fb, B))
    if factor == 1.0:
        return v, dv
    return v * factor, dv * factor + ctx.prec.eta


def jvp_along(ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, B: F64) -> tuple[F64, F64]:
    # The stated derivative along B: γ of each product sum, plus propagated input errors.
    prec = ctx.prec
    n_h = p.dims[1]
    if k == "W2":
        # γ|B|(|â1| + 2Δa1) + |B|Δa1 as one product with |B|.
        P = probe_products(ctx, k, p, fb, B)
        return P.signed(fb.a1), SLACK * (P.absolute(w2_jvp_weights(fb, n_h, prec)) + n_h * prec.eta)
    if k == "b2":
        return B.copy(), np.zeros_like(B)
    m, weights = want_second_layer(ctx, k, p, fb, B)
    P2 = shared_products(ctx, p.W2)
    return P2.signed(m), SLACK * (P2.absolute(weights) + n_h * prec.eta)


def want_second_layer(
    ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, B: F64
) -> tuple[F64, F64]:
    """Register with the products of `W2` what a step along `B` in `W1`, `b1` or `x` needs from
    them: `W2 (R ż)` for the stated derivative, `|W2|` times its bound's weights, and `|W2|` times
    the growth of Δy (`first_layer_growth`); return the first two vectors."""
    w, _, dw, growth = first_layer_step(ctx, k, p, fb, B)
    m, dm = fb.mask * w, fb.mask * dw
    weights = propagated_weights(m, dm, ctx.prec.gamma(p.dims[1]))
    shared_products(ctx, p.W2).want(signed=[m], absolute=[weights, growth])
    return m, weights


def want_all_second_layer(ctx: PointMemo, ex: MlpExample, fb: ForwardBounds) -> None:
    # While the context memoizes one point's calls, register every probe's needs at once: one
    # pass over W2 then serves the steps in W1, b1 and x, instead of one pass each.
    if ctx.memo is None or ctx.prec is EXACT:
        return
    for dirs in ex.directions:
        for k in ("W1", "b1", "x"):
            want_second_layer(ctx, k, ex.point, fb, dirs[k])


def first_layer_step(
    ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, B: F64
) -> tuple[F64, F64, F64, F64]:
    """Return, along `B` in `W1`, `b1` or `x`: the change `ż` of z1 (computed), the magnitudes
    `A` bounding its products, the bound `γ_{n_i} A + n_i η` on its rounding (0 for `b1`), and
    the weights of what Δy grows by along it (`spec.numerics.tolerance.first_layer_growth`)."""

    def compute() -> tuple[F64, F64, F64, F64]:
        n_i, n_h, _ = p.dims
        prec = ctx.prec
        w, A = zdot(ctx, k, p, fb, B)
        err = np.zeros_like(w) if k == "b1" else SLACK * (prec.gamma(n_i) * A + n_i * prec.eta)
        return w, A, err, first_layer_growth(fb, w, A, err, n_i, n_h, prec)

    out: tuple[F64, F64, F64, F64] = ctx.reuse((p, fb, B), ("first layer", k), compute)
    return out


def w2_jvp_weights(fb: ForwardBounds, n_h: int, prec: Precision) -> F64:
    # The bound of `d a1` for a step d in W2: n_h products, from â1 known within Δa1.
    return propagated_weights(fb.a1, fb.d_a1, prec.gamma(n_h))


def bounds_at(ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, mv: Step) -> ForwardBounds:
    """Return the bounds at `p + d` (`spec.numerics.tolerance.moved_bounds`), from the bounds at `p`
    and the products along the step that the checks take anyway."""
    prec = ctx.prec
    B, f = mv.base, mv.factor
    jv, djv = jvp(ctx, k, p, fb, B, f)
    n_h = p.dims[1]
    if k == "b2":
        d = mv.d
        shift = Shift(None, None, None, d, np.zeros_like(d), gamma(n_h + 1, prec.u) * np.abs(d))
    elif k == "W2":
        P = probe_products(ctx, k, p, fb, B)
        grow = f * P.absolute(output_weights(fb.a1, fb.d_a1, n_h, prec))
        shift = Shift(None, None, None, jv, djv, grow)
    else:
        zc, A, err, growth = first_layer_step(ctx, k, p, fb, B)
        P2 = shared_products(ctx, p.W2)
        # The rounding of ż along B, times f, and η more for the scaling's underflow.
        shift = Shift(
            f * zc, f * err + prec.eta, f * A, jv, djv, f * P2.absolute(growth) + fb.grow0
        )
    return moved_bounds(mv.plus, fb, shift, prec)


def probe_products(ctx: PointMemo, k: str, p: MlpPoint, fb: ForwardBounds, B: F64) -> Products:
    """Return the products along `B` (a probe direction or a step in argument `k`), with every
    vector the checks along it use registered, so that one pass over the parameter-sized array
    serves them all: for `W1` and `W2`, products of `B` with the factors of the closed-form
    gradient and its bound, with the weights of the stated derivative's bound, and with ones (for
    `Σ|B|`); for `x`, products of `W1` with `B` and `|B|`."""
    if k == "x":
        P = shared_products(ctx, p.W1)
        P.want(signed=[B], absolute=[np.abs(B)])
        return P
    P = shared_products(ctx, B)
    if k not in ("W1", "W2"):
        return P
    gb = grad_bounds(p, fb, ctx.prec)
    G, dG = gb.value[k], gb.bound[k]
    ones = np.ones(B.shape[1])
    signed = [p.x] if k == "W1" else [fb.a1]
    absolute = [np.abs(signed[0]), ones, *dG.right_factors(), *G.absolute().right_factors()]
    if k == "W2":
        absolute.append(w2_jvp_weights(fb, p.dims[1], ctx.prec))
        absolute.append(output_weights(fb.a1, fb.d_a1, p.dims[1], ctx.prec))
    P.want(signed=signed, absolute=absolute)
    return P


def zdot_exact(k: str, args: tuple[Mat, Vec, Mat, Vec, Vec], h: Any) -> Any:
    W1, _, _, _, x = args
    n_h = W1.m
    zero = np.array([Q(0)] * n_h, dtype=object)
    if k == "b1":
        return h
    if k == "x":
        return W1.data @ h if h.size else zero
    if k == "W1":
        return h @ x.data if x.n else zero
    return zero


def wrap_like(like: Mat | Vec, data: Any) -> Any:
    return Mat(data) if isinstance(like, Mat) else Vec(data)


def loss_difference(
    ctx: PointMemo,
    k: str,
    p: MlpPoint,
    fb: ForwardBounds,
    mv: Step,
    Lp: float,
    L0: float,
    fp: ForwardBounds,
) -> tuple[float, float]:
    """Return `(L(p + d) − L(p)) − (1/n)‖f'(d)‖²` from the engine's two losses and the stated
    derivative along the step (`jvp`), which is `⟪∇L, d⟫` in real arithmetic inside the no-kink
    region, and a bound on its error.

    The losses are within `Δloss` each. The quadratic term is `q̂ = (1/n) Σ ĵ²` for `ĵ` the
    computed `f'(d)`, within `δ` of it entrywise: `|Σ ĵ² − Σ f'(d)²| ≤ Σ (2|ĵ| + δ) δ`, and its
    evaluation (`n` products and sums, the rounding of `1/n` and the product with it) adds
    `γ_{n+2} Σ ĵ² + n·η`. The subtraction `L₊ − L` rounds once, within `u|L₊ − L|` of its exact
    value, which the computed `|L₊ − L|` bounds within `γ_1`; subtracting `q̂` rounds once more,
    within `u(|L₊ − L| + q̂)`: `γ_2 |L₊ − L| + u q̂` in all.
    """
    prec = ctx.prec
    n_o = p.dims[2]
    jv, djv = jvp(ctx, k, p, fb, mv.base, mv.factor)
    inv = 1.0 / n_o if n_o else 0.0  # 1/0 = 0, as in Lean
    sq = float(jv @ jv)
    quad = inv * sq
    d_quad = inv * (
        float(np.sum((2 * np.abs(jv) + djv) * djv)) + prec.gamma(n_o + 2) * sq + n_o * prec.eta
    )
    diff = Lp - L0
    value = diff - quad
    err = fp.d_loss + fb.d_loss + d_quad + prec.gamma(2) * abs(diff) + prec.u * quad
    return value, SLACK * err


def exact_loss_difference(fprime: CLM, step: Elem, Lp: Any, L0: Any, n: int) -> Rational:
    """Return `L(p + d) − L(p) − (1/n)‖f'(d)‖²` exactly, for the step `d` (an element of the
    argument's space) and the losses `Lp`, `L0` at `p + d` and `p`: `⟪∇L, d⟫` up to the losses'
    errors, inside the no-kink region (`loss_difference` is the float64 one)."""
    lin = fprime.apply(step)
    assert isinstance(lin, Vec)
    out: Rational = q(Lp) - q(L0) - real_inv(Q(n)) * lin.norm_sq()
    return out


def shared_products(ctx: PointMemo, B: F64) -> Products:
    """Return the products with `B` (a step or a direction), shared while the context memoizes one
    point's calls: every consumer `want`s its vectors first, and one pass over `B` serves all."""
    out: Products = ctx.reuse((B,), ("products",), lambda: Products(B))
    return out


def outer_inner(
    G: OuterSum, dG: OuterSum, P: Products, prec: Precision
) -> tuple[float, float, int]:
    """Return `⟪G, B⟫` for the closed form `G = a ⊗ b` (taken as `a · (B b)`, the exact outer
    product of the float factors: no rounding of `G`'s entries enters), a bound on its distance
    from `⟪∇L, B⟫`, and the rounding count of that formula.

    `dG` bounds `|a ⊗ b − ∇L|` entrywise too (it bounds the rounded products, whose rounding it
    adds), so `Σ ΔG |B|` covers the gradient's error; the evaluation `a · (B b)` is a sum of
    `n_b` products inside a sum of `n_a`: within `γ_{n_a + n_b} Σ |a| |B| |b|` of the exact sum,
    plus `(n_b Σ|a| + n_a) η` for underflow.
    """
    ((a, b),) = G.terms
    ones, abs_b = np.ones(b.shape[0]), np.abs(b)  # registered by `probe_products`, as `P` comes
    total = float(np.sum(P.absolute(ones)))
    value = G.contract([P.signed(b)], 0.0)
    n_a, n_b = G.shape
    rounding = prec.gamma(n_a + n_b) * float(np.abs(a) @ P.absolute(abs_b))
    underflow = (n_b * float(np.sum(np.abs(a))) + n_a) * prec.eta
    error = dG.contract([P.absolute(v) for v in dG.right_factors()], total)
    return value, error + rounding + underflow, n_a + n_b
