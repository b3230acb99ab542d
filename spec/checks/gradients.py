"""Lean banner "Scalar-loss gradient theorems (inputs + parameters)": `z1`, `a1`, `y`, the four
`hasFDerivAt_mlp_wrt_*` lemmas and the five `grad_*_mse` lemmas.

Lean's section variables are `W1 b1 W2 b2 x t`; each declaration takes the ones it mentions, in that
order, and the lemmas about `W1`, `b1` and `x` also take `hx : ∀ i, z1 W1 b1 x i ≠ 0`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ..backend import Subject
from ..examples import PARAMS, MlpExample, MlpPoint
from ..mirror.core import matApplyLin, matCLM, outer, reluDerivCLM, reluVec, toMatrix
from ..mirror.linear_maps import CLM, Elem, FunCLM, Space, inner
from ..numerics.blocks import OuterSum, Products, abs_dot
from ..numerics.tolerance import (
    EXACT,
    SLACK,
    ForwardBounds,
    Moves,
    Precision,
    Shift,
    first_layer_growth,
    forward_bounds,
    gamma,
    grad_bounds,
    moved_bounds,
    output_weights,
    propagated_weights,
    scaled_moves,
)
from ..rational import Q, Rational, fraction_array, q, to_fraction
from ..registry import mirrors
from ..types import F64, Mat, Vec, real_inv
from ..verdict import Comparison, Verdict, combine, compare, compare_exact, noted, unmet
from .base import Config, against, definition_check, exact, lemma
from .mlp import affineMat, exact_args, mlpVecMat, mse_fderiv, mseGrad, why_no_float_check

__all__ = [
    "z1",
    "a1",
    "y",
    "hasFDerivAt_mlp_wrt_W2",
    "grad_W2_mse",
    "grad_b2_mse",
    "hasFDerivAt_mlp_wrt_b1",
    "grad_b1_mse",
    "hasFDerivAt_mlp_wrt_x",
    "grad_x_mse",
    "hasFDerivAt_mlp_wrt_W1",
    "grad_W1_mse",
    "fderiv_mlp_wrt",
    "lemma_rhs",
    "hx_holds_exactly",
    "remainder_bound",
    "survival",
]

NEEDS_HX = ("W1", "b1", "x")


def _mlp(cfg: Config) -> Any:
    from ..strategies import mlp_examples_for

    return mlp_examples_for(exact=cfg.dtype == "exact", min_dim=cfg.min_dim, max_dim=cfg.max_dim,
                            margin=cfg.margin, probes=cfg.probes, fixed_dims=cfg.dims,
                            dtype="float64" if cfg.dtype == "exact" else cfg.dtype)


# --- Definitions -----------------------------------------------------------------------------


@mirrors("Proofs.Autograd.z1", "def")
def z1(W1: Mat, b1: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.z1` (def): Return the pre-activation `affineMat W1 b1 x = W1 x + b1`."""
    return affineMat(W1, b1, x)


@mirrors("Proofs.Autograd.a1", "def")
def a1(W1: Mat, b1: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.a1` (def): Return the hidden activation `reluVec (z1 W1 b1 x)`."""
    return reluVec(z1(W1, b1, x))


@mirrors("Proofs.Autograd.y", "def")
def y(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.y` (def): Return the network output `mlpVecMat W1 b1 W2 b2 x`."""
    return mlpVecMat(W1, b1, W2, b2, x)


def _hidden_check(name: str, method: str, ex: MlpExample, subject: Subject) -> Verdict:
    p = ex.point
    fn = z1 if method == "z1" else a1
    deriv = f"γ_{p.dims[0] + 1}(|W1||x| + |b1|)" + ("" if method == "z1" else ", ReLU 1-Lipschitz")

    def pick(fb: ForwardBounds) -> tuple[F64, F64]:
        return (fb.z1, fb.d_z1) if method == "z1" else (fb.a1, fb.d_a1)

    def truth() -> Any:
        W1, b1, _, _, x = exact_args(p)
        return fn(W1, b1, x).data

    comps: list[Comparison] = []
    subj = "spec (float64 vs exact)"
    if subject.exact_reference and p.rational is None:
        value, bound = pick(forward_bounds(p))
        comps.append(compare(f"spec {method} W1 b1 x, float64 vs exact", value, truth(), bound,
                             deriv))
    if subject.has(method):
        value, bound = pick(forward_bounds(p, subject.prec))
        got = subject.hidden(method, p)
        comps.append(against(subject, f"engine {method} vs spec {method} W1 b1 x", got, truth,
                             value, bound, deriv))
        subj = f"engine {subject.name} {method}" + ("; spec" if subject.exact_reference else "")
    if not comps:
        return unmet(name, f"engine {subject.name}", f"the engine has no {method}() and "
                     f"{why_no_float_check(p)}: nothing to check", **p.witness())
    return combine(name, subj, comps, **p.witness())


@definition_check("Proofs.Autograd.z1", _mlp,
                  "engine z1 where it has it, else the spec float64 vs exact")
def check_z1(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's pre-activation against `z1 W1 b1 x`."""
    return _hidden_check("Proofs.Autograd.z1", "z1", ex, subject)


@definition_check("Proofs.Autograd.a1", _mlp,
                  "engine a1 where it has it, else the spec float64 vs exact")
def check_a1(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's hidden activation against `a1 W1 b1 x`."""
    return _hidden_check("Proofs.Autograd.a1", "a1", ex, subject)


@definition_check("Proofs.Autograd.y", _mlp, "engine forward vs y W1 b1 W2 b2 x, float64 and exact")
def check_y(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's output against `y W1 b1 W2 b2 x`, and the spec's float64 value against
    its exact value (so the float reference is itself checked)."""
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    deriv = f"γ_{p.dims[1] + 1}(|W2||a1| + |b2|) + |W2|Δa1"
    got = subject.forward(p)

    def truth() -> Any:
        return y(*exact_args(p)).data

    comps = [against(subject, "engine forward vs y W1 b1 W2 b2 x", got, truth, fb.y, fb.d_y, deriv)]
    if subject.exact_reference and p.rational is None:
        f64 = forward_bounds(p)
        comps.append(compare("spec y, float64 vs exact", f64.y, truth(), f64.d_y, deriv))
    return combine("Proofs.Autograd.y", f"engine {subject.name} forward", comps, **p.witness())


# --- The derivatives and gradients the lemmas state ------------------------------------------


def fderiv_mlp_wrt(k: str, W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> CLM:
    """Return the derivative that `hasFDerivAt_mlp_wrt_k` states for the network in argument `k`
    (for `b2`, where MlpMse states none, the identity: the network is `… + b2`)."""
    z = z1(W1, b1, x)
    MW2 = matCLM(toMatrix(W2))
    if k == "W2":
        return matApplyLin(a1(W1, b1, x), W2.m)
    if k == "b2":
        sp = Space((b2.n,))
        ident: CLM = FunCLM("id", sp, sp, lambda v: v, lambda: ident)
        return ident
    if k == "b1":
        return MW2.comp(reluDerivCLM(z))
    if k == "x":
        return MW2.comp(reluDerivCLM(z).comp(matCLM(toMatrix(W1))))
    if k == "W1":
        return MW2.comp(reluDerivCLM(z).comp(matApplyLin(x, W1.m)))
    raise ValueError(f"fderiv_mlp_wrt: unknown argument {k!r}; expected one of W1 b1 W2 b2 x")


def lemma_rhs(k: str, W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Elem:
    """Return the right-hand side of `grad_k_mse`, built literally from the statement's maps."""
    g = mseGrad(y(W1, b1, W2, b2, x), t)
    if k == "W2":
        return outer(g, a1(W1, b1, x))
    if k == "b2":
        return mseGrad(mlpVecMat(W1, b1, W2, b2, x), t)
    back = reluDerivCLM(z1(W1, b1, x)).apply(matCLM(toMatrix(W2)).adjoint().apply(g))
    assert isinstance(back, Vec)
    if k == "b1":
        return back
    if k == "x":
        return matCLM(toMatrix(W1)).adjoint().apply(back)
    if k == "W1":
        return outer(back, x)
    raise ValueError(f"lemma_rhs: unknown argument {k!r}; expected one of W1 b1 W2 b2 x")


def hx_holds_exactly(p: MlpPoint) -> bool:
    """Return whether `hx : ∀ i, z1 W1 b1 x i ≠ 0` holds, deciding each sign exactly."""
    return _first_kink(p) is None


def _first_kink(p: MlpPoint) -> int | None:
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


def _precondition(
    name: str, k: str, p: MlpPoint, fb: ForwardBounds, subject: str, prec: Precision
) -> Verdict | None:
    if k not in NEEDS_HX:
        return None
    kink = _first_kink(p)
    if kink is not None:
        return unmet(name, subject, f"hx fails: z1 W1 b1 x {kink} = 0 exactly (a ReLU kink); the "
                     "lemma says nothing here", **p.witness())
    if prec is not EXACT and fb.kink_doubt.any():
        i = int(np.flatnonzero(fb.kink_doubt)[0])
        return unmet(name, subject, f"z1 {i} = {fb.z1[i]:.3g} is within twice its float64 rounding "
                     f"bound {fb.d_z1[i]:.3g} of the kink, so correct engines may disagree on its "
                     "ReLU mask",
                     **p.witness())
    return None


def _zdot(subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, B: F64) -> tuple[F64, F64]:
    """Return the change `ż` of `z1 = W1 x + b1` per unit step along `B` in argument `k` (affine in
    each argument), computed in float64, and the magnitudes `A` whose products bound its rounding:
    `|ż_computed − ż| ≤ γ_n A + n·η` (`A = |B| |x|` for `W1`, `|W1| |B|` for `x`; `ż = B`, exact,
    for `b1`; 0 for `W2`, `b2`)."""
    n_h = p.dims[1]
    if k == "b1":
        return B, np.abs(B)
    if k in ("W1", "x"):
        P = _probe_products(subject, k, p, fb, B)
        v, w = (p.x, np.abs(p.x)) if k == "W1" else (B, np.abs(B))
        return P.signed(v), P.absolute(w)
    zero = np.zeros(n_h)
    return zero, zero


def _step(zd: F64, fb: ForwardBounds) -> float:
    """Return a power-of-two step s with p + s·h inside the no-kink region around p, for `zd` the
    change of z1 per unit step along h (`_zdot`).

    The exact radius is min_i |z1_i| / |ż_i|; with computed values it is at least
    (|ẑ1_i| − Δz1_i) / |ż_i| up to the relative error γ_n of ż, which the factor 1/2 absorbs. The
    room taken is |ẑ1_i| − 2Δz1_i, so that the moved point stays out of the band where the mask is
    in doubt (`spec.numerics.tolerance` flags |ẑ1_i| ≤ 2Δz1_i); `_inside` halves the step where it does not.
    Steps are capped at 1 (the directions are drawn at the scale of the point).
    """
    zd = np.abs(zd)
    room = np.abs(fb.z1) - 2 * fb.d_z1  # out of the doubt band of the moved point too
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(zd > 0, room / zd, np.inf)
    radius = float(np.min(ratios)) if ratios.size else math.inf
    if radius <= 0 or not math.isfinite(radius):
        return 1.0 if radius > 0 or not ratios.size else 0.0
    return min(1.0, 2.0 ** math.floor(math.log2(radius / 2)))


class _Moved:
    """The step `d` in argument `k` and the point `plus = p + d`: for a float engine, the step is
    `factor · base` exactly (`spec.numerics.tolerance.scaled_moves`: the direction `h` itself and the scale
    `s` when every entry of `s·h` moves exactly, else the step with its inexact entries zeroed,
    and 1), so products with `h` serve every scale; for an exact engine, `s·h` exactly as
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


def _shared_step(subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, h: F64) -> float:
    """Return `_step`, computed once per point and probe while the subject memoizes one point's
    calls (the remainder and the gradient checks along the same probe share it)."""
    out: float = subject.reuse((p, fb, h), f"step {k}",
                               lambda: _step(_zdot(subject, k, p, fb, h)[0], fb))
    return out


_HALVINGS = 30
"""How many times `_inside` halves a step whose moved point could leave the region."""


def _inside(
    subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, h: F64, s: float
) -> tuple[_Moved, ForwardBounds, float] | None:
    """Return the move by `s·h` (`_moved`), the bounds at `p + d`, and the step taken; the step
    is halved while the moved point could lie across a kink or in its doubt band (a dropped
    inexact entry can move the step, and the moved bounds are a little wider than those at `p`).
    None when no nonzero step is left (every entry inexact, or the step underflowed to 0): then
    there is nothing to compare."""
    for _ in range(_HALVINGS):
        if not s > 0:
            return None
        mv = _moved(subject, k, p, h, s)
        if not mv.nonzero:
            return None
        bounds = _bounds_at(subject, k, p, fb, mv)
        if not _crosses(fb, bounds):
            return mv, bounds, s
        s /= 2
    return None


def _moved(subject: Subject, k: str, p: MlpPoint, h: F64, s: Any) -> _Moved:
    """Return the step `s·h` in argument `k` at `p`, with the moved point.

    For a float engine the step is made exactly representable (`scaled_moves`), so the engine is
    handed points the direction reaches exactly; for an exact engine it is `s·h` exactly.
    While the subject memoizes one point's calls (`spec.runner.check_point`), the remainder check
    at step `s` and the loss difference of the gradient check at the same `s` move to the same
    point: sharing the objects shares their bounds (cached per point) and the engine's memoized
    values, and the exactness test runs once per parameter-sized array.
    """
    out: _Moved = subject.reuse((p, h), f"moved {k} {s}", lambda: _Moved(k, p, s, h, subject.prec))
    return out


def _exact_step_size(k: str, args: tuple[Mat, Vec, Mat, Vec, Vec], h: Any) -> Rational:
    """Return the largest power of two at most half the exact no-kink radius along `h` in
    argument `k` (the radius is `min_i |z1 i| / |ż1 i|` over the units `h` moves; 1 when it moves
    none): for an exact engine, whose remainders and loss differences are compared exactly."""
    zd = _zdot_exact(k, args, h)
    if not any(v != 0 for v in zd):
        return Q(1)
    half = to_fraction(_exact_radius(z1(args[0], args[1], args[4]).data, zd)) / 2
    e = half.numerator.bit_length() - half.denominator.bit_length()
    if Fraction(2) ** e > half:
        e -= 1
    return Q(2**e) if e >= 0 else Q(1, 2**-e)


def _exact_radius(zz: Any, zd: Any) -> Rational:
    # min_i |z1 i| / |ż1 i| over the units the direction moves (exact rationals); 1 when it
    # moves none.
    ratios = [abs(zz[i]) / abs(zd[i]) for i in range(len(zd)) if zd[i] != 0]
    out: Rational = min(ratios) if ratios else Q(1)
    return out


def _crosses(at: ForwardBounds, moved: ForwardBounds) -> bool:
    # z1 is affine along the step, so if no sign changed at the end point (and none is in doubt
    # there), the segment stays inside one piece of the network.
    return bool(moved.kink_doubt.any() or (moved.mask != at.mask).any())


def remainder_bound(
    fb: ForwardBounds,
    f1: ForwardBounds,
    computed: tuple[Any, Any, F64, F64] | None = None,
    prec: Precision | None = None,
) -> F64:
    """Return the bound on the engine's first-order remainder `f(p + d) − f(p) − f'(d)`, whose
    true value is 0 inside the no-kink radius: `Δy(p + d) + Δy(p)` when it is measured exactly;
    with `computed = (y0, y1, f'(d), Δf'(d))` in floating point, plus the stated derivative's own
    error and γ_2 of the magnitudes for the two subtractions."""
    if computed is None:
        out: F64 = SLACK * (f1.d_y + fb.d_y)
        return out
    assert prec is not None
    y0, y1, jv, djv = (np.asarray(v, dtype=np.float64) for v in computed)
    mag = np.abs(y1) + np.abs(y0) + np.abs(jv)
    out = SLACK * (f1.d_y + fb.d_y + djv + prec.gamma(2) * mag)
    return out


def _jvp(
    subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, B: F64, factor: float
) -> tuple[F64, F64]:
    """Return the stated derivative applied to the step `factor · B` in float64 (`factor` a power
    of two) and a bound on any correct computation's error. The derivative is linear: it is taken
    along `B` once (shared by every step along the same direction, and by the engine's jvp
    along it) and scaled, exactly but for underflow, which `η` covers."""
    v, dv = subject.reuse((p, fb, B), f"jvp {k}", lambda: _jvp_along(subject, k, p, fb, B))
    if factor == 1.0:
        return v, dv
    return v * factor, dv * factor + subject.prec.eta


def _jvp_along(subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, B: F64) -> tuple[F64, F64]:
    # The stated derivative along B: γ of each product sum, plus propagated input errors.
    prec = subject.prec
    n_h = p.dims[1]
    if k == "W2":
        # γ|B|(|â1| + 2Δa1) + |B|Δa1 as one product with |B|.
        P = _probe_products(subject, k, p, fb, B)
        return P.signed(fb.a1), SLACK * (P.absolute(_w2_jvp_weights(fb, n_h, prec))
                                         + n_h * prec.eta)
    if k == "b2":
        return B.copy(), np.zeros_like(B)
    m, weights = _want_second_layer(subject, k, p, fb, B)
    P2 = _products(subject, p.W2)
    return P2.signed(m), SLACK * (P2.absolute(weights) + n_h * prec.eta)


def _want_second_layer(
    subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, B: F64
) -> tuple[F64, F64]:
    """Register with the products of `W2` what a step along `B` in `W1`, `b1` or `x` needs from
    them: `W2 (R ż)` for the stated derivative, `|W2|` times its bound's weights, and `|W2|` times
    the growth of Δy (`first_layer_growth`); return the first two vectors."""
    w, _, dw, growth = _first_layer_step(subject, k, p, fb, B)
    m, dm = fb.mask * w, fb.mask * dw
    weights = propagated_weights(m, dm, subject.prec.gamma(p.dims[1]))
    _products(subject, p.W2).want(signed=[m], absolute=[weights, growth])
    return m, weights


def _want_all_second_layer(subject: Subject, ex: MlpExample, fb: ForwardBounds) -> None:
    # While the subject memoizes one point's calls, register every probe's needs at once: one
    # pass over W2 then serves the steps in W1, b1 and x, instead of one pass each.
    if subject.memo is None or subject.prec is EXACT:
        return
    for dirs in ex.directions:
        for k in ("W1", "b1", "x"):
            _want_second_layer(subject, k, ex.point, fb, dirs[k])


def _first_layer_step(
    subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, B: F64
) -> tuple[F64, F64, F64, F64]:
    """Return, along `B` in `W1`, `b1` or `x`: the change `ż` of z1 (computed), the magnitudes
    `A` bounding its products, the bound `γ_{n_i} A + n_i η` on its rounding (0 for `b1`), and
    the weights of what Δy grows by along it (`spec.numerics.tolerance.first_layer_growth`)."""

    def compute() -> tuple[F64, F64, F64, F64]:
        n_i, n_h, _ = p.dims
        prec = subject.prec
        w, A = _zdot(subject, k, p, fb, B)
        err = np.zeros_like(w) if k == "b1" else SLACK * (prec.gamma(n_i) * A + n_i * prec.eta)
        return w, A, err, first_layer_growth(fb, w, A, err, n_i, n_h, prec)

    out: tuple[F64, F64, F64, F64] = subject.reuse((p, fb, B), f"first layer {k}", compute)
    return out


def _w2_jvp_weights(fb: ForwardBounds, n_h: int, prec: Precision) -> F64:
    # The bound of `d a1` for a step d in W2: n_h products, from â1 known within Δa1.
    return propagated_weights(fb.a1, fb.d_a1, prec.gamma(n_h))


def _bounds_at(
    subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, mv: _Moved
) -> ForwardBounds:
    """Return the bounds at `p + d` (`spec.numerics.tolerance.moved_bounds`), from the bounds at `p` and the
    products along the step that the checks take anyway."""
    prec = subject.prec
    B, f = mv.base, mv.factor
    jv, djv = _jvp(subject, k, p, fb, B, f)
    n_h = p.dims[1]
    if k == "b2":
        d = mv.d
        shift = Shift(None, None, None, d, np.zeros_like(d),
                      gamma(n_h + 1, prec.u) * np.abs(d))
    elif k == "W2":
        P = _probe_products(subject, k, p, fb, B)
        grow = f * P.absolute(output_weights(fb.a1, fb.d_a1, n_h, prec))
        shift = Shift(None, None, None, jv, djv, grow)
    else:
        zc, A, err, growth = _first_layer_step(subject, k, p, fb, B)
        P2 = _products(subject, p.W2)
        # The rounding of ż along B, times f, and η more for the scaling's underflow.
        shift = Shift(f * zc, f * err + prec.eta, f * A, jv, djv,
                      f * P2.absolute(growth) + fb.grow0)
    return moved_bounds(mv.plus, fb, shift, prec)


def _probe_products(subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, B: F64) -> Products:
    """Return the products along `B` (a probe direction or a step in argument `k`), with every
    vector the checks along it use registered, so that one pass over the parameter-sized array
    serves them all: for `W1` and `W2`, products of `B` with the factors of the closed-form
    gradient and its bound, with the weights of the stated derivative's bound, and with ones (for
    `Σ|B|`); for `x`, products of `W1` with `B` and `|B|`."""
    if k == "x":
        P = _products(subject, p.W1)
        P.want(signed=[B], absolute=[np.abs(B)])
        return P
    P = _products(subject, B)
    if k not in ("W1", "W2"):
        return P
    gb = grad_bounds(p, fb, subject.prec)
    G, dG = gb.value[k], gb.bound[k]
    ones = np.ones(B.shape[1])
    signed = [p.x] if k == "W1" else [fb.a1]
    absolute = [np.abs(signed[0]), ones, *dG.right_factors(), *G.absolute().right_factors()]
    if k == "W2":
        absolute.append(_w2_jvp_weights(fb, p.dims[1], subject.prec))
        absolute.append(output_weights(fb.a1, fb.d_a1, p.dims[1], subject.prec))
    P.want(signed=signed, absolute=absolute)
    return P


STEP_SCALES = (0, 10, 20)
"""The remainder is checked at s, s/2^10 and s/2^20 (`Subject.step_scales`): it is 0 at all of
them inside the region."""


def _check_hasFDerivAt(name: str, k: str, ex: MlpExample, subject: Subject) -> Verdict:
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    subj = f"spec, exactly; engine {subject.name} forward" + (", jvp" if subject.has("jvp") else "")
    pre = _precondition(name, k, p, fb, subj, subject.prec)
    if pre is not None:
        return pre
    comps: list[Comparison] = []
    idx = PARAMS.index(k)
    exact_ref = subject.exact_reference
    _want_all_second_layer(subject, ex, fb)
    if exact_ref:
        # Spec, exactly: inside the exact no-kink radius the network is affine in k, so the
        # remainder f(p + s h) − f(p) − f'(s h) is exactly 0.
        args = exact_args(p)
        fprime = fderiv_mlp_wrt(k, *args)
        f0 = mlpVecMat(*args)
        zz = z1(args[0], args[1], args[4]).data
        for j, dirs in enumerate(ex.directions):
            h = exact(dirs[k])
            zd = _zdot_exact(k, args, h)
            radius = _exact_radius(zz, zd)
            for scale in (2, 2**11):
                s = radius / scale
                moved: list[Any] = list(args)
                moved[idx] = _wrap(args[idx], args[idx].data + s * h)
                step = fprime.apply(_wrap(args[idx], s * h))
                assert isinstance(step, Vec)
                rem = (mlpVecMat(*moved) - f0) - step
                comps.append(compare_exact(f"spec remainder at step radius/{scale}, probe {j}",
                                           rem.data, exact(np.zeros(rem.n))))
            beyond = _past_first_kink(k, args, fprime, f0, zz, zd, h)
            if beyond is not None:
                comps.append(beyond)
    # Engine: the same remainder of its forward pass, at exactly representable steps inside the
    # radius; measured exactly against 0 within Δy(p + d) + Δy(p), or in float64 with the rounding
    # of the stated derivative and of the two subtractions added.
    y0 = subject.forward(p)
    exactly = subject.prec is EXACT
    skipped: list[int] = []
    for j, dirs in enumerate(ex.directions):
        h = dirs[k]
        compared = len(comps)
        # An exact engine steps by exactly s·h, s inside the exact radius; a float engine by an
        # exactly representable step inside the radius its rounding bounds guarantee.
        s0 = _exact_step_size(k, args, exact(h)) if exactly else _shared_step(subject, k, p, fb, h)
        for scale in subject.step_scales or STEP_SCALES:
            if exactly:
                mv = _moved(subject, k, p, h, s0 / 2**scale)
                step_txt = f"s/2^{scale}"
            else:
                inside = _inside(subject, k, p, fb, h, s0 * 2.0**-scale)
                if inside is None:
                    continue  # no nonzero exact step inside the region: nothing to compare
                mv, f1, s1 = inside
                step_txt = f"s/2^{scale}" if s1 == s0 * 2.0**-scale else f"2^{round(math.log2(s1))}"
            p1 = mv.plus
            y1 = subject.forward(p1)
            where = f"engine remainder f(p + d) − f(p) − f'(d), step {step_txt}, probe {j}"
            if exact_ref:
                lin = fprime.apply(_wrap(args[idx], exact(mv.d)))
                assert isinstance(lin, Vec)
                rem_x = exact(y1) - exact(y0) - lin.data
                if exactly:
                    comps.append(compare_exact(where + ", exact engine", rem_x,
                                               exact(np.zeros(rem_x.shape))))
                    continue
                comps.append(compare(where, rem_x, exact(np.zeros(rem_x.shape)),
                                     remainder_bound(fb, f1),
                                     "Δy(p + d) + Δy(p); the remainder measured exactly"))
            else:
                jv, djv = _jvp(subject, k, p, fb, mv.base, mv.factor)
                rem_f = (y1 - y0) - jv
                comps.append(compare(where, rem_f, np.zeros_like(rem_f),
                                     remainder_bound(fb, f1, (y0, y1, jv, djv), subject.prec),
                                     "Δy(p + d) + Δy(p) + Δ(f'(d)) "
                                     "+ γ_2(|f(p + d)| + |f(p)| + |f'(d)|)"))
        if len(comps) == compared:
            skipped.append(j)
        if subject.has("jvp"):
            got = subject.array("jvp", p.b2.shape, *subject.inputs(p, *PARAMS), {k: h})
            jv, djv = _jvp(subject, k, p, fb, h, 1.0)

            def stated(h: F64 = h) -> Any:
                out = fprime.apply(_wrap(args[idx], exact(h)))
                assert isinstance(out, Vec)
                return out.data

            comps.append(against(subject, f"engine jvp along probe {j} vs the stated derivative",
                                 got, stated, jv, djv, "γ of each product sum + propagated |W|Δ"))
    return noted(combine(name, subj, comps, **p.witness()),
                 _not_compared("the engine's forward remainder", skipped))


def _not_compared(what: str, probes: list[int]) -> str:
    """Say which probes had no exact nonzero step inside the no-kink region (none left after the
    inexact entries were dropped, or one that underflowed): `what` was not compared along them."""
    if not probes:
        return ""
    which = ", ".join(str(j) for j in probes)
    return (f"{what} was not compared along probe {which}: no exact nonzero step there stays "
            "inside the no-kink region (the point is within a few rounding bounds of a kink, or "
            "the step underflows)")


def _past_first_kink(
    k: str, args: tuple[Mat, Vec, Mat, Vec, Vec], fprime: CLM, f0: Vec, zz: Any, zd: Any, h: Any
) -> Comparison | None:
    """Show the radius is tight: a step just past the first kink breaks the affine identity.

    Unit `i` of the smallest `|z1 i| / |ż1 i|` crosses 0 at that distance along `σ h`, with
    `σ = −sign(z1 i · ż1 i)`; a step between it and the next unit's distance crosses that unit
    alone, so the remainder is exactly `W2[:, i] · c` with `c ≠ 0` (the ReLU's output left or joined
    its linear prediction): nonzero exactly when the column `W2[:, i]` is. Ties are not isolated.
    """
    ratios = sorted((abs(zz[i]) / abs(zd[i]), i) for i in range(len(zd)) if zd[i] != 0)
    if not ratios or (len(ratios) > 1 and ratios[1][0] == ratios[0][0]):
        return None
    r1, i = ratios[0]
    r2 = ratios[1][0] if len(ratios) > 1 else 2 * r1
    s = (r1 + min(r2, 2 * r1)) / 2
    sigma = -1 if (zz[i] > 0) == (zd[i] > 0) else 1
    idx = PARAMS.index(k)
    moved: list[Any] = list(args)
    moved[idx] = _wrap(args[idx], args[idx].data + sigma * s * h)
    step = fprime.apply(_wrap(args[idx], sigma * s * h))
    assert isinstance(step, Vec)
    rem = (mlpVecMat(*moved) - f0) - step
    column_nonzero = any(w != 0 for w in args[2].data[:, i])
    return compare_exact(
        f"spec remainder just past the first kink (unit {i}) is nonzero iff W2[:, {i}] ≠ 0",
        np.array(any(v != 0 for v in rem.data)), np.array(column_nonzero))


def _zdot_exact(k: str, args: tuple[Mat, Vec, Mat, Vec, Vec], h: Any) -> Any:
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


def _wrap(like: Mat | Vec, data: Any) -> Any:
    return Mat(data) if isinstance(like, Mat) else Vec(data)


def _check_grad(name: str, k: str, ex: MlpExample, subject: Subject) -> Verdict:
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    subj = f"spec, exactly; engine {subject.name} grads and loss"
    pre = _precondition(name, k, p, fb, subj, subject.prec)
    if pre is not None:
        return pre
    gb = grad_bounds(p, fb, subject.prec)
    G, dG = gb.value[k], gb.bound[k]
    exact_ref = subject.exact_reference
    comps: list[Comparison] = []
    rhs_data: Any = None
    if exact_ref:
        # Spec, exactly: the statement's right-hand side, built from its own maps, is the adjoint
        # of the derivative of the loss at 1: (g' ∘ f') h = ⟪h, rhs⟫ along every probe; and the
        # float64 closed form is that right-hand side within its bound.
        args = exact_args(p)
        t = Vec(exact(p.value("t")))
        rhs = lemma_rhs(k, *args, t)
        gprime = mse_fderiv(t, mlpVecMat(*args))
        fprime = fderiv_mlp_wrt(k, *args)
        assert isinstance(rhs, (Vec, Mat))
        rhs_data = rhs.data
        if p.rational is None:  # a rational point has no float64 closed form to certify
            g64 = grad_bounds(p, forward_bounds(p))
            comps.append(compare("float64 closed form vs the statement's right side (exact)",
                                 g64.value[k], rhs_data, g64.bound[k], g64.derivation[k]))
        for j, dirs in enumerate(ex.directions):
            h = _wrap(args[PARAMS.index(k)], exact(dirs[k]))
            lhs = gprime.apply(fprime.apply(h))
            comps.append(compare_exact(f"spec D(loss) h vs ⟪h, right side⟫, probe {j}",
                                       np.array(lhs, dtype=object),
                                       np.array(inner(h, rhs), dtype=object)))
    # Engine: its reverse-mode gradient equals the closed form ...
    grads = subject.grads(p)
    comps.append(against(subject, f"engine grads[{k!r}] vs the statement's right side", grads[k],
                         lambda: rhs_data, G, dG, gb.derivation[k]))
    # ... and the closed form's inner product with each probe is the directional derivative of the
    # engine's own loss. Along a step d inside the no-kink region the network is affine,
    # f(p + d) = f(p) + f'(d), so the loss is exactly quadratic:
    #     L(p + d) − L(p) = ⟪∇L, d⟫ + (1/n)‖f'(d)‖²,
    # and (L(p + d) − L(p) − (1/n)‖f'(d)‖²) / s is exactly ⟪∇L, d/s⟫ in real arithmetic. One moved
    # point per probe, shared with the remainder check of `hasFDerivAt_mlp_wrt_*` along it.
    if subject.prec is EXACT:
        comps += _exact_probes(k, ex, subject, exact_args(p), rhs_data, grads[k])
        return combine(name, subj, comps, **p.witness())
    skipped: list[int] = []
    n_o = p.dims[2]
    L0 = subject.loss(p)
    for j, dirs in enumerate(ex.directions):
        inside = _inside(subject, k, p, fb, dirs[k], _shared_step(subject, k, p, fb, dirs[k]))
        if inside is None:
            skipped.append(j)  # no nonzero exact step inside the region: nothing to compare
            continue
        mv, fp, s = inside
        # The direction actually taken is h_eff = d / s (exact: s is a power of two); the sums
        # below are taken over d = factor · base and divided by s once.
        Lp = subject.loss(mv.plus)
        where = f"engine (L(p + s h) − L(p) − (1/n)‖f'(s h)‖²) / s vs ⟪right side, h⟫, probe {j}"
        s_txt = f"s = 2^{round(math.log2(s))}"
        if exact_ref:
            # Both sides exactly: the only error left is the engine's in its two losses.
            step_x = _wrap(args[PARAMS.index(k)], exact(mv.d))
            cd_x = _exact_loss_difference(fprime, step_x, Lp, L0, n_o) / q(s)
            products = zip(rhs_data.flat, step_x.data.flat, strict=True)
            lin_x = sum((a * b for a, b in products), Q(0)) / q(s)
            comps.append(compare(where, np.array(cd_x, dtype=object), np.array(lin_x, dtype=object),
                                 SLACK * (fp.d_loss + fb.d_loss) / s,
                                 f"(Δloss(p + sh) + Δloss(p)) / s, measured exactly, {s_txt}"))
            continue
        cd, loss_err = _loss_difference(subject, k, p, fb, mv, float(Lp), float(L0), fp)
        cd, loss_err = cd / s, loss_err / s  # s ≤ 1 is a power of two: exact
        if isinstance(G, OuterSum):
            # Over the base of the step (the direction itself when the step is s·h exactly),
            # then times factor / s, a power of two.
            P = _probe_products(subject, k, p, fb, mv.base)
            lin, lin_bound, terms = _outer_inner(G, dG, P, subject.prec)
            ratio = mv.factor / s
            lin, bound = lin * ratio, SLACK * (lin_bound * ratio + loss_err)
            how = f"ΣΔG|h| + γ_{terms}Σ|a||h||b| for G = a ⊗ b"
        else:
            d = mv.d
            lin = float(np.dot(G.ravel(), d.ravel())) / s  # the division by a power of two is exact
            n = G.size
            # ⟪G, d⟫ in any order is within γ_n Σ|G d| + n·η (underflow of the products), all / s.
            bound = SLACK * (
                abs_dot(dG, d) / s
                + subject.prec.gamma(n) * abs_dot(G, d) / s
                + loss_err
                + n * subject.prec.eta / s
            )
            how = f"ΣΔG|h| + γ_{n}Σ|G h|"
        comps.append(compare(where, cd, lin, bound,
                             f"{how} + (Δloss(p + sh) + Δloss(p) + Δq + γ_2|L₊ − L| + u·q) / s, "
                             f"q = (1/n)‖f'(sh)‖², {s_txt}"))
    return noted(combine(name, subj, comps, **p.witness()),
                 _not_compared("the difference of the engine's loss", skipped))


def _loss_difference(
    subject: Subject, k: str, p: MlpPoint, fb: ForwardBounds, mv: _Moved, Lp: float, L0: float,
    fp: ForwardBounds,
) -> tuple[float, float]:
    """Return `(L(p + d) − L(p)) − (1/n)‖f'(d)‖²` from the engine's two losses and the stated
    derivative along the step (`_jvp`), which is `⟪∇L, d⟫` in real arithmetic inside the no-kink
    region, and a bound on its error.

    The losses are within `Δloss` each. The quadratic term is `q̂ = (1/n) Σ ĵ²` for `ĵ` the
    computed `f'(d)`, within `δ` of it entrywise: `|Σ ĵ² − Σ f'(d)²| ≤ Σ (2|ĵ| + δ) δ`, and its
    evaluation (`n` products and sums, the rounding of `1/n` and the product with it) adds
    `γ_{n+2} Σ ĵ² + n·η`. The subtraction `L₊ − L` rounds once, within `u|L₊ − L|` of its exact
    value, which the computed `|L₊ − L|` bounds within `γ_1`; subtracting `q̂` rounds once more,
    within `u(|L₊ − L| + q̂)`: `γ_2 |L₊ − L| + u q̂` in all.
    """
    prec = subject.prec
    n_o = p.dims[2]
    jv, djv = _jvp(subject, k, p, fb, mv.base, mv.factor)
    inv = 1.0 / n_o if n_o else 0.0  # 1/0 = 0, as in Lean
    sq = float(jv @ jv)
    quad = inv * sq
    d_quad = inv * (float(np.sum((2 * np.abs(jv) + djv) * djv)) + prec.gamma(n_o + 2) * sq
                    + n_o * prec.eta)
    diff = Lp - L0
    value = diff - quad
    err = fp.d_loss + fb.d_loss + d_quad + prec.gamma(2) * abs(diff) + prec.u * quad
    return value, SLACK * err


def _exact_loss_difference(fprime: CLM, step: Elem, Lp: Any, L0: Any, n: int) -> Rational:
    """Return `L(p + d) − L(p) − (1/n)‖f'(d)‖²` exactly, for the step `d` (an element of the
    argument's space) and the losses `Lp`, `L0` at `p + d` and `p`: `⟪∇L, d⟫` up to the losses'
    errors, inside the no-kink region (`_loss_difference` is the float64 one)."""
    lin = fprime.apply(step)
    assert isinstance(lin, Vec)
    out: Rational = q(Lp) - q(L0) - real_inv(Q(n)) * lin.norm_sq()
    return out


def _products(subject: Subject, B: F64) -> Products:
    """Return the products with `B` (a step or a direction), shared while the subject memoizes one
    point's calls: every consumer `want`s its vectors first, and one pass over `B` serves all."""
    out: Products = subject.reuse((B,), "products", lambda: Products(B))
    return out


def _outer_inner(
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
    ones, abs_b = np.ones(b.shape[0]), np.abs(b)  # registered by `_probe_products`, as `P` comes
    total = float(np.sum(P.absolute(ones)))
    value = G.contract([P.signed(b)], 0.0)
    n_a, n_b = G.shape
    rounding = prec.gamma(n_a + n_b) * float(np.abs(a) @ P.absolute(abs_b))
    underflow = (n_b * float(np.sum(np.abs(a))) + n_a) * prec.eta
    error = dG.contract([P.absolute(v) for v in dG.right_factors()], total)
    return value, error + rounding + underflow, n_a + n_b


def survival(probe_bits: int | None, probes: int = 1) -> str:
    """Return what exact probes of `probe_bits`-bit uniform integers guarantee, in words."""
    if probe_bits is None:
        return "the directions were not drawn uniformly, so no probability is claimed"
    total = probe_bits * probes
    return (f"h uniform among N = 2^{probe_bits} integers per entry: a gradient G ≠ ∇L passes "
            f"{'this probe' if probes == 1 else f'{probes} independent probes'} with probability "
            f"≤ 2^-{total}, since ⟪∇L − G, h⟫ is a nonzero linear form in h (Schwartz–Zippel)")


def _exact_probes(
    k: str, ex: MlpExample, subject: Subject, args: tuple[Mat, Vec, Mat, Vec, Vec], rhs: Any,
    grad: Any,
) -> list[Comparison]:
    """For an exact engine: along each probe, the difference of its loss less the quadratic term,
    `(L(p + s h) − L(p)) / s − s (1/n)‖f'(h)‖²` (exactly `⟪∇L, h⟫`: inside the no-kink radius the
    network is affine along the line, so the loss is exactly quadratic), must equal both the
    statement's right side and the engine's own gradient applied to `h`, with no tolerance. A
    wrong gradient then survives a uniformly drawn integer probe only with the probability
    `survival` states."""
    p = ex.point
    comps: list[Comparison] = []
    fprime = fderiv_mlp_wrt(k, *args)
    L0 = subject.loss(p)
    for j, dirs in enumerate(ex.directions):
        h = exact(dirs[k])
        s = _exact_step_size(k, args, h)
        mv = _moved(subject, k, p, dirs[k], s)
        diff = _exact_loss_difference(fprime, _wrap(args[PARAMS.index(k)], exact(mv.d)),
                                      subject.loss(mv.plus), L0, p.dims[2])
        cd = np.array(diff / s, dtype=object)
        why = f"exact, s = {s}; {survival(ex.probe_bits)}"
        lin = sum((a * b for a, b in zip(rhs.flat, h.flat, strict=True)), Q(0))
        comps.append(compare_exact(
            f"engine (L(p + s h) − L(p)) / s − s(1/n)‖f'(h)‖² vs ⟪right side, h⟫, "
            f"probe {j} ({why})",
            cd, np.array(lin, dtype=object)))
        own = sum((a * b for a, b in zip(exact(grad).flat, h.flat, strict=True)), Q(0))
        comps.append(compare_exact(
            f"engine ⟪grads[{k!r}], h⟫ vs its own (L(p + s h) − L(p)) / s − s(1/n)‖f'(h)‖², "
            f"probe {j}",
            np.array(own, dtype=object), cd))
    return comps


# --- The lemmas, in the Lean file's order ----------------------------------------------------

_FD = "spec remainder, exactly; engine forward remainder at exact steps inside the no-kink radius"
_GR = "engine grads vs the closed form; engine loss along probes; spec adjoint property, exactly"


@lemma("Proofs.Autograd.hasFDerivAt_mlp_wrt_W2", _mlp, _FD)
def hasFDerivAt_mlp_wrt_W2(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_W2` (lemma): Check that `W2 ↦ mlpVecMat W1 b1 W2 b2 x`
    has derivative `matApplyLin (a1 W1 b1 x)`, i.e. `dW2 ↦ dW2 a1`, at `W2` (no hypothesis)."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_W2", "W2", ex, subject)


@lemma("Proofs.Autograd.grad_W2_mse", _mlp, _GR)
def grad_W2_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.grad_W2_mse` (lemma): Check that the gradient in `W2` of the loss is
    `outer (mseGrad (y W1 b1 W2 b2 x) t) (a1 W1 b1 x)` (no hypothesis)."""
    return _check_grad("Proofs.Autograd.grad_W2_mse", "W2", ex, subject)


@lemma("Proofs.Autograd.grad_b2_mse", _mlp, _GR)
def grad_b2_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.grad_b2_mse` (lemma): Check that the gradient in `b2` of the loss is
    `mseGrad (mlpVecMat W1 b1 W2 b2 x) t` (no hypothesis)."""
    return _check_grad("Proofs.Autograd.grad_b2_mse", "b2", ex, subject)


@lemma("Proofs.Autograd.hasFDerivAt_mlp_wrt_b1", _mlp, _FD)
def hasFDerivAt_mlp_wrt_b1(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_b1` (lemma): Check that, under `hx`, `b1 ↦ mlpVecMat
    W1 b1 W2 b2 x` has derivative `(matCLM W2).comp (reluDerivCLM (z1 W1 b1 x))` at `b1`."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_b1", "b1", ex, subject)


@lemma("Proofs.Autograd.grad_b1_mse", _mlp, _GR)
def grad_b1_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.grad_b1_mse` (lemma): Check that, under `hx`, the gradient in `b1` of the
    loss is `reluDerivCLM z1 ((matCLM W2)† (mseGrad y t))`, i.e. `relu'(z1) ⊙ W2ᵀ g`."""
    return _check_grad("Proofs.Autograd.grad_b1_mse", "b1", ex, subject)


@lemma("Proofs.Autograd.hasFDerivAt_mlp_wrt_x", _mlp, _FD)
def hasFDerivAt_mlp_wrt_x(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_x` (lemma): Check that, under `hx`, `mlpVecMat W1 b1
    W2 b2` has derivative `matCLM W2 ∘ reluDerivCLM z1 ∘ matCLM W1` at `x`."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_x", "x", ex, subject)


@lemma("Proofs.Autograd.grad_x_mse", _mlp, _GR)
def grad_x_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.grad_x_mse` (lemma): Check that, under `hx`, the gradient in `x` of the
    loss is `(matCLM W1)† (reluDerivCLM z1 ((matCLM W2)† (mseGrad y t)))`."""
    return _check_grad("Proofs.Autograd.grad_x_mse", "x", ex, subject)


@lemma("Proofs.Autograd.hasFDerivAt_mlp_wrt_W1", _mlp, _FD)
def hasFDerivAt_mlp_wrt_W1(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_W1` (lemma): Check that, under `hx`, `W1 ↦ mlpVecMat
    W1 b1 W2 b2 x` has derivative `matCLM W2 ∘ reluDerivCLM z1 ∘ matApplyLin x` at `W1`."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_W1", "W1", ex, subject)


@lemma("Proofs.Autograd.grad_W1_mse", _mlp, _GR)
def grad_W1_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.grad_W1_mse` (lemma): Check that, under `hx`, the gradient in `W1` of the
    loss is `outer (reluDerivCLM z1 ((matCLM W2)† (mseGrad y t))) x`."""
    return _check_grad("Proofs.Autograd.grad_W1_mse", "W1", ex, subject)
