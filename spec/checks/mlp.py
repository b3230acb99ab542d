"""Checks of the banner "2-layer MLP in Mat/Vec form": `affineMat`, `mlpVecMat`, `mse`, `mseGrad`,
`hasFDerivAt_mse`, `mseGrad_eq_adjoint_fderiv`, `adjoint_fderiv_comp_apply_one`."""

import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..examples import PARAMS, MlpExample, MlpPoint, MseExample, rational_point
from ..mirror.linear_maps import Elem, hilbert_adjoint, inner
from ..mirror.mlp import (
    adjoint_fderiv_comp_apply_one,
    affineMat,
    hasFDerivAt_mse,
    mlpVecMat,
    mse,
    mseGrad,
    mseGrad_eq_adjoint_fderiv,
)
from ..numerics.single_maps import mse_remainder_bound
from ..numerics.tolerance import EXACT, exact_step, forward_bounds, grad_bounds
from ..rational import Q, fraction_array, q
from ..subject import Subject
from ..types import Mat, Vec, real_inv
from ..verdict import Comparison, Quantity, Verdict, combine, compare, compare_exact, unmet
from .base import against, check, exact
from .domains import mlp_points, mse_points
from .network import (
    exact_args,
    exact_output,
    hx_holds_exactly,
    stated_derivative,
    why_no_float_check,
)

__all__ = [
    "check_affineMat",
    "check_mlpVecMat",
    "check_mse",
    "check_mseGrad",
    "check_hasFDerivAt_mse",
    "check_mseGrad_eq_adjoint_fderiv",
    "check_adjoint_fderiv_comp_apply_one",
    "mse_point",
]


def mse_point(y: NDArray[Any], t: NDArray[Any]) -> MlpPoint:
    """Return a point of the MLP whose output is exactly `y`, so that the engine's loss as a
    function of `b2` *is* `mse t`: one hidden unit with `z1 = 0·0 − 1 < 0`, `W2 = 0`, `b2 = y`.

    Every product with the zero `W2` or `a1` is exactly 0, so a correct engine computes `y = b2`
    with no rounding, and its `b2` gradient is its VJP of `mse t` at `y`.
    """
    n = y.shape[0]
    if y.dtype == object or t.dtype == object:  # exact values: a rational point
        return rational_point(
            {
                "W1": np.zeros((1, 1)),
                "b1": np.array([-1.0]),
                "W2": np.zeros((n, 1)),
                "b2": y,
                "x": np.zeros(1),
                "t": t,
            }
        )
    return MlpPoint(
        W1=np.zeros((1, 1)),
        b1=np.array([-1.0]),
        W2=np.zeros((n, 1)),
        b2=y.astype(np.float64),
        x=np.zeros(1),
        t=t.astype(np.float64),
    )


@check(
    "Proofs.Autograd.affineMat",
    mlp_points,
    "engine z1 (its first affine layer) where it has it, else the spec in float64 vs exact",
)
def check_affineMat(ex: MlpExample, subject: Subject) -> Verdict:
    """Check the engine's first affine layer (`z1 = affineMat W1 b1 x`) against the spec's."""
    p = ex.point

    def truth() -> Any:
        W1, b1, _, _, x = exact_args(p)
        return affineMat(W1, b1, x).data

    comps: list[Comparison] = []
    subj = "spec (float64 vs exact)"
    if subject.exact_reference and p.rational is None:
        f64 = forward_bounds(p)
        comps.append(
            compare(
                Quantity("spec affineMat W1 b1 x, float64", "exact"),
                f64.z1,
                truth(),
                f64.bound("z1"),
            )
        )
    if subject.has("z1"):
        fb = forward_bounds(p, subject.prec)
        got = subject.hidden("z1", p)
        comps.append(
            against(
                subject,
                Quantity("engine z1", "affineMat W1 b1 x", engine=True),
                got,
                truth,
                fb.z1,
                fb.bound("z1"),
            )
        )
        subj = f"engine {subject.name} z1"
    if not comps:
        return unmet(
            "Proofs.Autograd.affineMat",
            f"engine {subject.name}",
            f"the engine has no z1() and {why_no_float_check(p)}: nothing to check",
            **p.witness(),
        )
    return combine("Proofs.Autograd.affineMat", subj, comps, **p.witness())


@check(
    "Proofs.Autograd.mlpVecMat",
    mlp_points,
    "engine forward vs the spec's network, float64",
)
def check_mlpVecMat(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that the engine's forward pass computes `mlpVecMat W1 b1 W2 b2 x`, within rounding."""
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    got = subject.forward(p)

    def truth() -> Any:
        return mlpVecMat(*exact_args(p)).data

    return combine(
        "Proofs.Autograd.mlpVecMat",
        f"engine {subject.name} forward",
        [
            against(
                subject,
                Quantity("engine forward", "mlpVecMat W1 b1 W2 b2 x", engine=True),
                got,
                truth,
                fb.y,
                fb.bound("y"),
            )
        ],
        **p.witness(),
    )


@check(
    "Proofs.Autograd.mse",
    mlp_points,
    "engine loss vs mse t (mlpVecMat …); engine mse(y, t) where it has it; float64",
)
def check_mse(ex: MlpExample, subject: Subject) -> Verdict:
    """Check that the engine's loss is `mse t (mlpVecMat W1 b1 W2 b2 x)`, the per-sample mean."""
    p = ex.point
    fb = forward_bounds(p, subject.prec)
    t = Vec(exact(p.value("t")))

    def truth() -> Any:
        return np.array(mse(t, exact_output(p)), dtype=object)

    comps = [
        against(
            subject,
            Quantity("engine loss", "mse t (mlpVecMat W1 b1 W2 b2 x)", engine=True),
            subject.loss(p),
            truth,
            fb.loss,
            fb.bound("loss"),
        )
    ]
    if subject.has("mse"):
        if subject.prec is EXACT:  # the exact output and target, rational or not
            q = mse_point(fraction_array(exact_output(p).data), fraction_array(p.value("t")))
        else:
            q = mse_point(subject.prec.round(fb.y), p.t)  # inputs the engine's format holds exactly
        fq = forward_bounds(q, subject.prec)
        y_q, t_q = q.value("b2"), q.value("t")
        comps.append(
            against(
                subject,
                Quantity("engine mse(y, t)", "mse t y", engine=True),
                subject.scalar("mse", y_q, t_q),
                lambda: np.array(mse(Vec(exact(t_q)), Vec(exact(y_q))), dtype=object),
                fq.loss,
                fq.bound("loss"),
            )
        )
    return combine("Proofs.Autograd.mse", f"engine {subject.name} loss", comps, **p.witness())


@check(
    "Proofs.Autograd.mseGrad",
    mse_points,
    "engine mse_grad(y, t) where it has it, else the spec in float64 vs exact",
)
def check_mseGrad(ex: MseExample, subject: Subject) -> Verdict:
    """Check `mseGrad y t = (2/n)(y − t)`, including n = 0 where it is the empty vector."""
    q = mse_point(ex.value("y"), ex.value("t"))
    truth = mseGrad(Vec(exact(ex.value("y"))), Vec(exact(ex.value("t")))).data
    comps: list[Comparison] = []
    subj = "spec (float64 vs exact)"
    if ex.rational is None:  # a rational example has no float64 value to certify
        f64 = forward_bounds(q)
        comps.append(
            compare(
                Quantity("spec mseGrad y t, float64", "exact"),
                mseGrad(Vec(ex.y), Vec(ex.t)).data,
                truth,
                f64.bound("g"),
            )
        )
    if subject.has("mse_grad"):
        fq = forward_bounds(q, subject.prec)
        got = subject.array("mse_grad", ex.y.shape, ex.value("y"), ex.value("t"))
        comps.append(
            against(
                subject,
                Quantity("engine mse_grad(y, t)", "mseGrad y t", engine=True),
                got,
                lambda: truth,
                fq.g,
                fq.bound("g"),
            )
        )
        subj = f"engine {subject.name} mse_grad" + ("; spec" if ex.rational is None else "")
    if not comps:
        return unmet(
            "Proofs.Autograd.mseGrad",
            f"engine {subject.name}",
            "the engine has no "
            "mse_grad() and a rational example has no float64 value: nothing to check",
            y=ex.value("y"),
            t=ex.value("t"),
        )
    return combine("Proofs.Autograd.mseGrad", subj, comps, y=ex.value("y"), t=ex.value("t"))


# --- Lemmas ----------------------------------------------------------------------------------


@check(
    "Proofs.Autograd.hasFDerivAt_mse",
    mse_points,
    "spec, exactly; engine loss as a function of b2 (which is mse t), float64",
)
def check_hasFDerivAt_mse(ex: MseExample, subject: Subject) -> Verdict:
    """Check
    `HasFDerivAt (mse t) ((2/n) • innerSL ℝ (y − t)) y`.

    The first-order remainder `mse t (y + h) − mse t y − (2/n)⟪y − t, h⟫` must be exactly
    `(1/n)‖h‖²`, which is `o(‖h‖)`: checked exactly on the spec at two step sizes, and on the
    engine's loss (through `mse_point`, where the loss as a function of `b2` is `mse t`) within
    its float64 rounding bound.
    """
    name = "Proofs.Autograd.hasFDerivAt_mse"
    n = ex.t.shape[0]
    t, y, h = Vec(exact(ex.value("t"))), Vec(exact(ex.value("y"))), Vec(exact(ex.value("h")))
    D = hasFDerivAt_mse(t, y)
    comps: list[Comparison] = []
    for k in (0, 10):
        hk = h.smul(Q(1, 2**k))
        rem = mse(t, y + hk) - mse(t, y) - D.apply(hk)  # type: ignore[operator]
        quad = real_inv(Q(n)) * hk.norm_sq()
        comps.append(
            compare_exact(
                Quantity(f"spec remainder at step h/2^{k}", "(1/n)‖h‖²"),
                np.array(rem, dtype=object),
                np.array(quad, dtype=object),
            )
        )
    # On the engine: y + d must be exact in its format for the remainder to be the remainder at d
    # (an exact engine steps by h itself).
    if subject.prec is EXACT:
        d: Any = fraction_array(ex.value("h"))
        y_x, t_x = fraction_array(ex.value("y")), fraction_array(ex.value("t"))
        q0, q1 = mse_point(y_x, t_x), mse_point(y_x + d, t_x)
    else:
        d, _ = exact_step(ex.y, ex.h, subject.prec)
        q0, q1 = mse_point(ex.y, ex.t), mse_point(ex.y + d, ex.t)
    f0, f1 = forward_bounds(q0, subject.prec), forward_bounds(q1, subject.prec)
    L0x, L1x = subject.loss(q0), subject.loss(q1)
    L0, L1 = float(L0x), float(L1x)
    if subject.exact_reference:
        # Measured exactly: the true remainder is (1/n)‖d‖², and the engine's only error is in its
        # two losses.
        dx = Vec(exact(d))
        lin_x = hasFDerivAt_mse(t, y).apply(dx)
        rem_x = q(L1x) - q(L0x) - lin_x
        quad_x = real_inv(Q(n)) * dx.norm_sq()
        comps.append(
            compare(
                Quantity("engine loss remainder at step h", "(1/n)‖h‖²", engine=True),
                np.array(rem_x, dtype=object),
                np.array(quad_x, dtype=object),
                mse_remainder_bound(f0, f1, None, subject.prec),
            )
        )
        return combine(name, f"spec; engine {subject.name} loss", comps, **ex.witness())
    r = ex.y - ex.t
    c = 2.0 / n if n else 0.0
    inv = 1.0 / n if n else 0.0
    lin = c * float(r @ d) if n else 0.0
    quad_f = inv * float(d @ d) if n else 0.0
    rem_f = (L1 - L0) - lin
    comps.append(
        compare(
            Quantity("engine loss remainder at step h", "(1/n)‖h‖²", engine=True),
            rem_f,
            quad_f,
            mse_remainder_bound(f0, f1, (r, d, L0, L1, lin), subject.prec),
        )
    )
    return combine(name, f"spec; engine {subject.name} loss", comps, **ex.witness())


@check(
    "Proofs.Autograd.mseGrad_eq_adjoint_fderiv",
    mse_points,
    "spec, exactly, against the Hilbert adjoint; engine b2 gradient at mse_point "
    "(its VJP of mse t)",
)
def check_mseGrad_eq_adjoint_fderiv(ex: MseExample, subject: Subject) -> Verdict:
    """Check `VJP[mse t, y] 1 = mseGrad y t`.

    On the spec, `VJP[mse t, y]` is the closed-form adjoint of the stated derivative and,
    separately, its Hilbert adjoint from `⟪D h, s⟫ = ⟪h, D† s⟫`; both applied to 1 must be
    `mseGrad y t` exactly. On the engine, the `b2` gradient at `mse_point y t` is its VJP of
    `mse t` at `y`.
    """
    name = "Proofs.Autograd.mseGrad_eq_adjoint_fderiv"
    t, y = Vec(exact(ex.value("t"))), Vec(exact(ex.value("y")))
    eq = mseGrad_eq_adjoint_fderiv(t, y)
    assert isinstance(eq.rhs, Vec)
    want = eq.rhs.data
    closed = eq.lhs
    # The VJP again, with the adjoint taken from its definition instead of the closed form.
    from_def = hilbert_adjoint(hasFDerivAt_mse(t, y)).apply(Q(1))
    assert isinstance(closed, Vec) and isinstance(from_def, Vec)
    comps: list[Comparison] = [
        compare_exact(Quantity("VJP[mse t, y] 1 (closed form)", "mseGrad y t"), closed.data, want),
        compare_exact(
            Quantity("VJP[mse t, y] 1 (Hilbert adjoint)", "mseGrad y t"), from_def.data, want
        ),
    ]
    q = mse_point(ex.value("y"), ex.value("t"))
    fq = forward_bounds(q, subject.prec)
    got = subject.grads(q)["b2"]
    comps.append(
        against(
            subject,
            Quantity("engine VJP of mse t at y (b2 gradient)", "mseGrad y t", engine=True),
            got,
            lambda: want,
            fq.g,
            fq.bound("g"),
        )
    )
    return combine(
        name, f"spec; engine {subject.name} grads", comps, t=ex.value("t"), y=ex.value("y")
    )


@check(
    "Proofs.Autograd.adjoint_fderiv_comp_apply_one",
    mlp_points,
    "spec, exactly, for f = each argument's slice of the network and g = mse t; engine grads",
)
def check_adjoint_fderiv_comp_apply_one(ex: MlpExample, subject: Subject) -> Verdict:
    """Check
    `(fderiv (g ∘ f) x)† 1 = f'† (g'† 1)`.

    Instance: `f` = the network as a function of one argument (W2, b2 everywhere; W1, b1, x under
    `hx`), `g = mse t`, with `f'`, `g'` the derivatives the `hasFDerivAt_*` lemmas state. On the
    spec, exactly: `f'† (g'† 1)` (closed-form adjoints composed) must satisfy the defining property
    of the adjoint of `g' ∘ f'` at 1 along every probe direction `h`:
    `(g' ∘ f') h = ⟪h, f'† (g'† 1)⟫`. On the engine: its reverse-mode gradient (the left side) must
    equal `f'† (g'† 1)`.
    """
    name = "Proofs.Autograd.adjoint_fderiv_comp_apply_one"
    p = ex.point
    hx = hx_holds_exactly(p)
    wrt = [k for k in PARAMS if hx or k in ("W2", "b2")]
    comps: list[Comparison] = []
    rhs: dict[str, Any] = {}
    if subject.exact_reference:
        args = exact_args(p)
        t = Vec(exact(p.value("t")))
        gprime = hasFDerivAt_mse(t, exact_output(p))
        for k in wrt:
            fprime = stated_derivative(k, *args)
            r = adjoint_fderiv_comp_apply_one(fprime, gprime)
            assert isinstance(r, (Vec, Mat))
            rhs[k] = r.data
            for j, dirs in enumerate(ex.directions):
                h = _wrap(p.value(k), exact(dirs[k]))
                lhs = gprime.apply(fprime.apply(h))
                comps.append(
                    compare_exact(
                        Quantity(
                            "spec (g' ∘ f') h", f"⟪h, f'† (g'† 1)⟫, f = slice in {k}, probe {j}"
                        ),
                        np.array(lhs, dtype=object),
                        np.array(inner(h, r), dtype=object),
                    )
                )
    fb = forward_bounds(p, subject.prec)
    grads = subject.grads(p)
    gb = grad_bounds(p, fb, subject.prec)
    # Where rounding leaves the sign of some z1 i in doubt, a correct engine may pick either mask,
    # so only the W2 and b2 gradients (which need no hypothesis) are compared on the engine.
    doubt = subject.prec is not EXACT and bool(fb.kink_doubt.any())
    for k in wrt if not doubt else ["W2", "b2"]:
        comps.append(
            against(
                subject,
                Quantity(f"engine gradient in {k}", "f'† (g'† 1)", argument=k, engine=True),
                grads[k],
                functools.partial(rhs.__getitem__, k),
                gb.value[k],
                gb.of(k),
            )
        )
    return combine(name, f"spec; engine {subject.name} grads", comps, **p.witness())


def _wrap(like: Any, data: Any) -> Elem:
    return Mat(data) if like.ndim == 2 else Vec(data)
