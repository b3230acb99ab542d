"""Checks of the banner "Scalar-loss gradient theorems (inputs + parameters)": `z1`, `a1`, `y`, the
four `hasFDerivAt_mlp_wrt_*` lemmas and the five `grad_*mse_points` lemmas.

Lean's section variables are `W1 b1 W2 b2 x t`; each declaration takes the ones it mentions, in that
order, and the lemmas about `W1`, `b1` and `x` also take `hx : ∀ i, z1 W1 b1 x i ≠ 0`.
"""

import math
from typing import Any

import numpy as np

from ..examples import PARAMS, MlpExample, MlpPoint
from ..mirror.gradients import a1, y, z1
from ..mirror.linear_maps import CLM, inner
from ..mirror.mlp import hasFDerivAt_mse, mlpVecMat
from ..numerics.bound import Bound
from ..numerics.steps import (
    JVP_DERIVATION,
    exact_loss_difference,
    exact_loss_difference_bound,
    exact_radius,
    exact_step_size,
    gradient_along_step,
    jvp,
    loss_difference,
    remainder_bound,
    shared_step,
    step_inside,
    take_step,
    want_all_second_layer,
    wrap_like,
    zdot_exact,
)
from ..numerics.tolerance import (
    EXACT,
    ForwardBounds,
    Precision,
    forward_bounds,
    grad_bounds,
)
from ..rational import Q, q
from ..subject import Subject
from ..types import F64, Mat, Vec
from ..verdict import Comparison, Quantity, Verdict, combine, compare, compare_exact, noted, unmet
from .base import against, check, exact
from .domains import mlp_points
from .network import (
    NEEDS_HX,
    exact_args,
    exact_output,
    first_kink,
    right_side,
    stated_derivative,
    why_no_float_check,
)

__all__ = [
    "check_z1",
    "check_a1",
    "check_y",
    "check_hasFDerivAt_mlp_wrt_W2",
    "check_grad_W2_mse",
    "check_grad_b2_mse",
    "check_hasFDerivAt_mlp_wrt_b1",
    "check_grad_b1_mse",
    "check_hasFDerivAt_mlp_wrt_x",
    "check_grad_x_mse",
    "check_hasFDerivAt_mlp_wrt_W1",
    "check_grad_W1_mse",
    "survival",
]


def _hidden_check(name: str, method: str, ex: MlpExample, subject: Subject) -> Verdict:
    p = ex.point
    fn = z1 if method == "z1" else a1

    def value(fb: ForwardBounds) -> F64:
        return fb.z1 if method == "z1" else fb.a1

    def truth() -> Any:
        W1, b1, _, _, x = exact_args(p)
        return fn(W1, b1, x).data

    comps: list[Comparison] = []
    subj = "spec (float64 vs exact)"
    if subject.exact_reference and p.rational is None:
        f64 = forward_bounds(p)
        comps.append(
            compare(
                Quantity(f"spec {method} W1 b1 x, float64", "exact"),
                value(f64),
                truth(),
                f64.bound(method),
            )
        )
    if subject.has(method):
        fb = forward_bounds(p, subject.prec)
        got = subject.hidden(method, p)
        comps.append(
            against(
                subject,
                Quantity(f"engine {method}", f"spec {method} W1 b1 x", engine=True),
                got,
                truth,
                value(fb),
                fb.bound(method),
            )
        )
        subj = f"engine {subject.name} {method}" + ("; spec" if subject.exact_reference else "")
    if not comps:
        return unmet(
            name,
            f"engine {subject.name}",
            f"the engine has no {method}() and {why_no_float_check(p)}: nothing to check",
            **p.witness(),
        )
    return combine(name, subj, comps, **p.witness())


@check(
    "Proofs.Autograd.z1", mlp_points, "engine z1 where it has it, else the spec float64 vs exact"
)
def check_z1(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's pre-activation against `z1 W1 b1 x`."""
    return _hidden_check("Proofs.Autograd.z1", "z1", ex, subject)


@check(
    "Proofs.Autograd.a1", mlp_points, "engine a1 where it has it, else the spec float64 vs exact"
)
def check_a1(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's hidden activation against `a1 W1 b1 x`."""
    return _hidden_check("Proofs.Autograd.a1", "a1", ex, subject)


@check("Proofs.Autograd.y", mlp_points, "engine forward vs y W1 b1 W2 b2 x, float64 and exact")
def check_y(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's output against `y W1 b1 W2 b2 x`, and the spec's float64 value against
    its exact value (so the float reference is itself checked)."""
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    got = subject.forward(p)

    def truth() -> Any:
        return y(*exact_args(p)).data

    comps = [
        against(
            subject,
            Quantity("engine forward", "y W1 b1 W2 b2 x", engine=True),
            got,
            truth,
            fb.y,
            fb.bound("y"),
        )
    ]
    if subject.exact_reference and p.rational is None:
        f64 = forward_bounds(p)
        comps.append(compare(Quantity("spec y, float64", "exact"), f64.y, truth(), f64.bound("y")))
    return combine("Proofs.Autograd.y", f"engine {subject.name} forward", comps, **p.witness())


def _precondition(
    name: str, k: str, p: MlpPoint, fb: ForwardBounds, subject: str, prec: Precision
) -> Verdict | None:
    if k not in NEEDS_HX:
        return None
    kink = first_kink(p)
    if kink is not None:
        return unmet(
            name,
            subject,
            f"hx fails: z1 W1 b1 x {kink} = 0 exactly (a ReLU kink); the lemma says nothing here",
            **p.witness(),
        )
    if prec is not EXACT and fb.kink_doubt.any():
        i = int(np.flatnonzero(fb.kink_doubt)[0])
        return unmet(
            name,
            subject,
            f"z1 {i} = {fb.z1[i]:.3g} is within twice its float64 rounding "
            f"bound {fb.d_z1[i]:.3g} of the kink, so correct engines may disagree on its "
            "ReLU mask",
            **p.witness(),
        )
    return None


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
    want_all_second_layer(subject, ex, fb)
    along: dict[int, tuple[Any, Any]] = {}

    def stated_along(B: Any) -> Any:
        # f'(B) exactly, once per direction: f' is linear, so a step c·B (c exact) is c·f'(B);
        # the steps along a probe at every scale share it.
        hit = along.get(id(B))
        if hit is None or hit[0] is not B:
            out = fprime.apply(wrap_like(args[idx], exact(B)))
            assert isinstance(out, Vec)
            hit = along[id(B)] = (B, out.data)
        return hit[1]

    if exact_ref:
        # Spec, exactly: inside the exact no-kink radius the network is affine in k, so the
        # remainder f(p + s h) − f(p) − f'(s h) is exactly 0.
        args = exact_args(p)
        fprime = stated_derivative(k, *args)
        f0 = exact_output(p)
        zz = z1(args[0], args[1], args[4]).data
        for j, dirs in enumerate(ex.directions):
            h = exact(dirs[k])
            zd = zdot_exact(k, args, h)
            radius = exact_radius(zz, zd)
            for scale in (2, 2**11):
                s = radius / scale
                moved: list[Any] = list(args)
                moved[idx] = wrap_like(args[idx], args[idx].data + s * h)
                step = Vec(s * stated_along(dirs[k]))
                rem = (mlpVecMat(*moved) - f0) - step
                comps.append(
                    compare_exact(
                        Quantity(f"spec remainder at step radius/{scale}, probe {j}"),
                        rem.data,
                        exact(np.zeros(rem.n)),
                    )
                )
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
        s0 = exact_step_size(k, args, exact(h)) if exactly else shared_step(subject, k, p, fb, h)
        for scale in subject.step_scales or STEP_SCALES:
            if exactly:
                mv = take_step(subject, k, p, h, s0 / 2**scale)
                step_txt = f"s/2^{scale}"
            else:
                inside = step_inside(subject, k, p, fb, h, s0 * 2.0**-scale)
                if inside is None:
                    continue  # no nonzero exact step inside the region: nothing to compare
                mv, f1, s1 = inside
                step_txt = f"s/2^{scale}" if s1 == s0 * 2.0**-scale else f"2^{round(math.log2(s1))}"
            p1 = mv.plus
            y1 = subject.forward(p1)
            where = f"engine remainder f(p + d) − f(p) − f'(d), step {step_txt}, probe {j}"
            remainder = Quantity(where, engine=True)
            if exact_ref:
                # The step is factor·base exactly (`spec.numerics.steps.Step`).
                lin = stated_along(mv.base)
                if mv.factor != 1.0:
                    lin = q(mv.factor) * lin
                rem_x = exact(y1) - exact(y0) - lin
                if exactly:
                    comps.append(
                        compare_exact(
                            Quantity(where + ", exact engine", engine=True),
                            rem_x,
                            exact(np.zeros(rem_x.shape)),
                        )
                    )
                    continue
                comps.append(
                    compare(remainder, rem_x, exact(np.zeros(rem_x.shape)), remainder_bound(fb, f1))
                )
            else:
                jv, djv = jvp(subject, k, p, fb, mv.base, mv.factor)
                rem_f = (y1 - y0) - jv
                comps.append(
                    compare(
                        remainder,
                        rem_f,
                        np.zeros_like(rem_f),
                        remainder_bound(fb, f1, (y0, y1, jv, djv), subject.prec),
                    )
                )
        if len(comps) == compared:
            skipped.append(j)
        if subject.has("jvp"):
            got = subject.array("jvp", p.b2.shape, *subject.inputs(p, *PARAMS), {k: h})
            jv, djv = jvp(subject, k, p, fb, h, 1.0)

            def stated(h: F64 = h) -> Any:
                return stated_along(h)

            comps.append(
                against(
                    subject,
                    Quantity(f"engine jvp along probe {j}", "the stated derivative", engine=True),
                    got,
                    stated,
                    jv,
                    Bound(djv, JVP_DERIVATION),
                )
            )
    return noted(
        combine(name, subj, comps, **p.witness()),
        _not_compared("the engine's forward remainder", skipped),
    )


def _not_compared(what: str, probes: list[int]) -> str:
    """Say which probes had no exact nonzero step inside the no-kink region (none left after the
    inexact entries were dropped, or one that underflowed): `what` was not compared along them."""
    if not probes:
        return ""
    which = ", ".join(str(j) for j in probes)
    return (
        f"{what} was not compared along probe {which}: no exact nonzero step there stays "
        "inside the no-kink region (the point is within a few rounding bounds of a kink, or "
        "the step underflows)"
    )


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
    moved[idx] = wrap_like(args[idx], args[idx].data + sigma * s * h)
    step = fprime.apply(wrap_like(args[idx], sigma * s * h))
    assert isinstance(step, Vec)
    rem = (mlpVecMat(*moved) - f0) - step
    column_nonzero = any(w != 0 for w in args[2].data[:, i])
    return compare_exact(
        Quantity(
            f"spec remainder just past the first kink (unit {i}) is nonzero iff W2[:, {i}] ≠ 0"
        ),
        np.array(any(v != 0 for v in rem.data)),
        np.array(column_nonzero),
    )


def _check_grad(name: str, k: str, ex: MlpExample, subject: Subject) -> Verdict:
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    subj = f"spec, exactly; engine {subject.name} grads and loss"
    pre = _precondition(name, k, p, fb, subj, subject.prec)
    if pre is not None:
        return pre
    gb = grad_bounds(p, fb, subject.prec)
    exact_ref = subject.exact_reference
    comps: list[Comparison] = []
    rhs_data: Any = None
    if exact_ref:
        # Spec, exactly: the statement's right-hand side, built from its own maps, is the adjoint
        # of the derivative of the loss at 1: (g' ∘ f') h = ⟪h, rhs⟫ along every probe; and the
        # float64 closed form is that right-hand side within its bound.
        args = exact_args(p)
        t = Vec(exact(p.value("t")))
        rhs = right_side(k, *args, t)
        gprime = hasFDerivAt_mse(t, exact_output(p))
        fprime = stated_derivative(k, *args)
        assert isinstance(rhs, (Vec, Mat))
        rhs_data = rhs.data
        if p.rational is None:  # a rational point has no float64 closed form to certify
            g64 = grad_bounds(p, forward_bounds(p))
            comps.append(
                compare(
                    Quantity("float64 closed form", "the statement's right side (exact)"),
                    g64.value[k],
                    rhs_data,
                    g64.of(k),
                )
            )
        for j, dirs in enumerate(ex.directions):
            h = wrap_like(args[PARAMS.index(k)], exact(dirs[k]))
            lhs = gprime.apply(fprime.apply(h))
            comps.append(
                compare_exact(
                    Quantity("spec D(loss) h", f"⟪h, right side⟫, probe {j}"),
                    np.array(lhs, dtype=object),
                    np.array(inner(h, rhs), dtype=object),
                )
            )
    # Engine: its reverse-mode gradient equals the closed form ...
    grads = subject.grads(p)
    comps.append(
        against(
            subject,
            Quantity(f"engine grads[{k!r}]", "the statement's right side", argument=k, engine=True),
            grads[k],
            lambda: rhs_data,
            gb.value[k],
            gb.of(k),
        )
    )
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
        inside = step_inside(subject, k, p, fb, dirs[k], shared_step(subject, k, p, fb, dirs[k]))
        if inside is None:
            skipped.append(j)  # no nonzero exact step inside the region: nothing to compare
            continue
        mv, fp, s = inside
        # The direction actually taken is h_eff = d / s (exact: s is a power of two); the sums
        # below are taken over d = factor · base and divided by s once.
        Lp = subject.loss(mv.plus)
        where = Quantity(
            "engine (L(p + s h) − L(p) − (1/n)‖f'(s h)‖²) / s",
            f"⟪right side, h⟫, probe {j}",
            engine=True,
        )
        if exact_ref:
            # Both sides exactly: the only error left is the engine's in its two losses.
            step_x = wrap_like(args[PARAMS.index(k)], exact(mv.d))
            cd_x = exact_loss_difference(fprime, step_x, Lp, L0, n_o) / q(s)
            products = zip(rhs_data.flat, step_x.data.flat, strict=True)
            lin_x = sum((a * b for a, b in products), Q(0)) / q(s)
            comps.append(
                compare(
                    where,
                    np.array(cd_x, dtype=object),
                    np.array(lin_x, dtype=object),
                    exact_loss_difference_bound(fp, fb, s),
                )
            )
            continue
        cd, loss_err = loss_difference(subject, k, p, fb, mv, float(Lp), float(L0), fp)
        cd, loss_err = cd / s, loss_err / s  # s ≤ 1 is a power of two: exact
        lin, bound = gradient_along_step(subject, k, p, fb, mv, s, loss_err)
        comps.append(compare(where, cd, lin, bound))
    return noted(
        combine(name, subj, comps, **p.witness()),
        _not_compared("the difference of the engine's loss", skipped),
    )


def survival(probe_bits: int | None, probes: int = 1) -> str:
    """Return what exact probes of `probe_bits`-bit uniform integers guarantee, in words."""
    if probe_bits is None:
        return "the directions were not drawn uniformly, so no probability is claimed"
    total = probe_bits * probes
    return (
        f"h uniform among N = 2^{probe_bits} integers per entry: a gradient G ≠ ∇L passes "
        f"{'this probe' if probes == 1 else f'{probes} independent probes'} with probability "
        f"≤ 2^-{total}, since ⟪∇L − G, h⟫ is a nonzero linear form in h (Schwartz–Zippel)"
    )


def _exact_probes(
    k: str,
    ex: MlpExample,
    subject: Subject,
    args: tuple[Mat, Vec, Mat, Vec, Vec],
    rhs: Any,
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
    fprime = stated_derivative(k, *args)
    L0 = subject.loss(p)
    for j, dirs in enumerate(ex.directions):
        h = exact(dirs[k])
        s = exact_step_size(k, args, h)
        mv = take_step(subject, k, p, dirs[k], s)
        diff = exact_loss_difference(
            fprime,
            wrap_like(args[PARAMS.index(k)], exact(mv.d)),
            subject.loss(mv.plus),
            L0,
            p.dims[2],
        )
        cd = np.array(diff / s, dtype=object)
        why = f"exact, s = {s}; {survival(ex.probe_bits)}"
        lin = sum((a * b for a, b in zip(rhs.flat, h.flat, strict=True)), Q(0))
        comps.append(
            compare_exact(
                Quantity(
                    "engine (L(p + s h) − L(p)) / s − s(1/n)‖f'(h)‖²",
                    f"⟪right side, h⟫, probe {j} ({why})",
                    engine=True,
                ),
                cd,
                np.array(lin, dtype=object),
            )
        )
        own = sum((a * b for a, b in zip(exact(grad).flat, h.flat, strict=True)), Q(0))
        comps.append(
            compare_exact(
                Quantity(
                    f"engine ⟪grads[{k!r}], h⟫",
                    f"its own (L(p + s h) − L(p)) / s − s(1/n)‖f'(h)‖², probe {j}",
                    engine=True,
                ),
                np.array(own, dtype=object),
                cd,
            )
        )
    return comps


# --- The lemmas, in the Lean file's order ----------------------------------------------------

_FD = "spec remainder, exactly; engine forward remainder at exact steps inside the no-kink radius"
_GR = "engine grads vs the closed form; engine loss along probes; spec adjoint property, exactly"


@check("Proofs.Autograd.hasFDerivAt_mlp_wrt_W2", mlp_points, _FD)
def check_hasFDerivAt_mlp_wrt_W2(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that `W2 ↦ mlpVecMat W1 b1 W2 b2 x`
    has derivative `matApplyLin (a1 W1 b1 x)`, i.e. `dW2 ↦ dW2 a1`, at `W2` (no hypothesis)."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_W2", "W2", ex, subject)


@check("Proofs.Autograd.grad_W2_mse", mlp_points, _GR)
def check_grad_W2_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that the gradient in `W2` of the loss is
    `outer (mseGrad (y W1 b1 W2 b2 x) t) (a1 W1 b1 x)` (no hypothesis)."""
    return _check_grad("Proofs.Autograd.grad_W2_mse", "W2", ex, subject)


@check("Proofs.Autograd.grad_b2_mse", mlp_points, _GR)
def check_grad_b2_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that the gradient in `b2` of the loss is
    `mseGrad (mlpVecMat W1 b1 W2 b2 x) t` (no hypothesis)."""
    return _check_grad("Proofs.Autograd.grad_b2_mse", "b2", ex, subject)


@check("Proofs.Autograd.hasFDerivAt_mlp_wrt_b1", mlp_points, _FD)
def check_hasFDerivAt_mlp_wrt_b1(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that, under `hx`, `b1 ↦ mlpVecMat
    W1 b1 W2 b2 x` has derivative `(matCLM W2).comp (reluDerivCLM (z1 W1 b1 x))` at `b1`."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_b1", "b1", ex, subject)


@check("Proofs.Autograd.grad_b1_mse", mlp_points, _GR)
def check_grad_b1_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that, under `hx`, the gradient in `b1` of the
    loss is `reluDerivCLM z1 ((matCLM W2)† (mseGrad y t))`, i.e. `relu'(z1) ⊙ W2ᵀ g`."""
    return _check_grad("Proofs.Autograd.grad_b1_mse", "b1", ex, subject)


@check("Proofs.Autograd.hasFDerivAt_mlp_wrt_x", mlp_points, _FD)
def check_hasFDerivAt_mlp_wrt_x(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that, under `hx`, `mlpVecMat W1 b1
    W2 b2` has derivative `matCLM W2 ∘ reluDerivCLM z1 ∘ matCLM W1` at `x`."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_x", "x", ex, subject)


@check("Proofs.Autograd.grad_x_mse", mlp_points, _GR)
def check_grad_x_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that, under `hx`, the gradient in `x` of the
    loss is `(matCLM W1)† (reluDerivCLM z1 ((matCLM W2)† (mseGrad y t)))`."""
    return _check_grad("Proofs.Autograd.grad_x_mse", "x", ex, subject)


@check("Proofs.Autograd.hasFDerivAt_mlp_wrt_W1", mlp_points, _FD)
def check_hasFDerivAt_mlp_wrt_W1(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that, under `hx`, `W1 ↦ mlpVecMat
    W1 b1 W2 b2 x` has derivative `matCLM W2 ∘ reluDerivCLM z1 ∘ matApplyLin x` at `W1`."""
    return _check_hasFDerivAt("Proofs.Autograd.hasFDerivAt_mlp_wrt_W1", "W1", ex, subject)


@check("Proofs.Autograd.grad_W1_mse", mlp_points, _GR)
def check_grad_W1_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that, under `hx`, the gradient in `W1` of the
    loss is `outer (reluDerivCLM z1 ((matCLM W2)† (mseGrad y t))) x`."""
    return _check_grad("Proofs.Autograd.grad_W1_mse", "W1", ex, subject)
