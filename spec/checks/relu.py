"""Checks of the banner "ReLU derivative map is self-adjoint": `reluDerivCLM_apply`,
`reluDerivCLM_inner`, `reluDerivCLM_adjoint_apply`, at every `x`, zero coordinates included."""

from typing import Any

import numpy as np

from ..examples import VecExample
from ..mirror.building_blocks import reluDerivCLM
from ..mirror.relu import reluDerivCLM_adjoint_apply, reluDerivCLM_apply, reluDerivCLM_inner
from ..numerics.bound import Bound
from ..rational import Q
from ..subject import Subject
from ..types import Vec
from ..verdict import Comparison, Quantity, Verdict, combine, compare, compare_exact
from .base import check, exact
from .domains import vectors

__all__ = [
    "check_reluDerivCLM_apply",
    "check_reluDerivCLM_inner",
    "check_reluDerivCLM_adjoint_apply",
]


def _data(v: object) -> Any:
    assert isinstance(v, Vec)
    return v.data


ENGINE_VJP = "engine relu_vjp (its ReLU backward rule)"


@check(
    "Proofs.Autograd.reluDerivCLM_apply",
    vectors,
    f"spec, exactly; {ENGINE_VJP} where the engine has it, exactly",
)
def check_reluDerivCLM_apply(ex: VecExample, subject: Subject) -> Verdict:
    """Check
    `(reluDerivCLM x dx) i = dx i * relu'(x i)`.

    The left side is the map applied to the whole vector; the right side is the coordinate formula
    with `Activation.Math.reluDerivSpec` per coordinate. On the engine, its ReLU backward rule must
    give the same numbers: multiplying by 0 or 1 is exact in floating point, so the bound is 0, and
    an engine with another convention at `x i = 0` (0.5, or 1) is reported there.
    """
    name = "Proofs.Autograd.reluDerivCLM_apply"
    x, dx = Vec(exact(ex.value("x"))), Vec(exact(ex.value("dx")))
    sides = [reluDerivCLM_apply(x, dx, i) for i in range(x.n)]
    lhs = np.array([s.lhs for s in sides], dtype=object)
    rhs = np.array([s.rhs for s in sides], dtype=object)
    comps: list[Comparison] = [
        compare_exact(Quantity("(reluDerivCLM x dx) i", "dx i * relu'(x i)"), lhs, rhs)
    ]
    subj = _engine_relu_vjp(
        ex,
        subject,
        "dx",
        Quantity("engine relu_vjp(x, dx)", "dx i * relu'(x i)", engine=True),
        rhs,
        comps,
    )
    return combine(name, subj, comps, x=ex.value("x"), dx=ex.value("dx"))


@check(
    "Proofs.Autograd.reluDerivCLM_inner",
    vectors,
    f"spec, exactly; {ENGINE_VJP} where the engine has it, float64",
)
def check_reluDerivCLM_inner(ex: VecExample, subject: Subject) -> Verdict:
    """Check `⟪R_x dx, δ⟫ = ⟪dx, R_x δ⟫`."""
    name = "Proofs.Autograd.reluDerivCLM_inner"
    x, dx, d = Vec(exact(ex.value("x"))), Vec(exact(ex.value("dx"))), Vec(exact(ex.value("delta")))
    eq = reluDerivCLM_inner(x, dx, d)
    comps = [
        compare_exact(
            Quantity("⟪R_x dx, δ⟫", "⟪dx, R_x δ⟫"),
            np.array(eq.lhs, dtype=object),
            np.array(eq.rhs, dtype=object),
        )
    ]
    subj = "spec"
    if subject.has("relu_vjp"):
        n = ex.x.shape
        a = subject.array("relu_vjp", n, ex.value("x"), ex.value("dx"))
        b = subject.array("relu_vjp", n, ex.value("x"), ex.value("delta"))
        # Summed exactly, both sides add the same products dx_i·relu'(x_i)·δ_i when the engine's
        # backward multiplies by 0 or 1 (exact in floating point): the bound is 0.
        lhs_e = np.array(
            sum((u * v for u, v in zip(exact(a), d.data, strict=True)), Q(0)), dtype=object
        )
        rhs_e = np.array(
            sum((u * v for u, v in zip(dx.data, exact(b), strict=True)), Q(0)), dtype=object
        )
        comps.append(
            compare(
                Quantity(
                    "engine ⟪V dx, δ⟫", "⟪dx, V δ⟫, V = relu_vjp x, summed exactly", engine=True
                ),
                lhs_e,
                rhs_e,
                Bound.zero("exact: the same exact products on both sides"),
            )
        )
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, **ex.witness())


@check(
    "Proofs.Autograd.reluDerivCLM_adjoint_apply",
    vectors,
    f"spec, exactly, against the Hilbert adjoint from ⟪A u, v⟫ = ⟪u, A† v⟫; {ENGINE_VJP}, exactly",
)
def check_reluDerivCLM_adjoint_apply(ex: VecExample, subject: Subject) -> Verdict:
    """Check `(R_x)† δ = R_x δ`.

    The adjoint is computed from its defining property on a basis (`hilbert_adjoint`), not
    assumed; the engine's ReLU backward rule is its VJP, i.e. `(R_x)† δ`, so it must equal `R_x δ`.
    """
    name = "Proofs.Autograd.reluDerivCLM_adjoint_apply"
    x, d = Vec(exact(ex.value("x"))), Vec(exact(ex.value("delta")))
    eq = reluDerivCLM_adjoint_apply(x, d)
    forward = eq.rhs.data
    comps = [
        compare_exact(Quantity("(R_x)† δ (Hilbert adjoint)", "R_x δ"), eq.lhs.data, forward),
        # The closed form the building block offers, which the gradient mirrors use, too.
        compare_exact(
            Quantity("(R_x)† δ (closed form)", "R_x δ"),
            _data(reluDerivCLM(x).adjoint().apply(d)),
            forward,
        ),
    ]
    subj = _engine_relu_vjp(
        ex,
        subject,
        "delta",
        Quantity("engine relu_vjp(x, δ)", "R_x δ", engine=True),
        forward,
        comps,
    )
    return combine(name, subj, comps, x=ex.value("x"), delta=ex.value("delta"))


def _engine_relu_vjp(
    ex: VecExample, subject: Subject, v: str, what: Quantity, want: Any, comps: list[Comparison]
) -> str:
    """Where the engine has `relu_vjp`, compare its `relu_vjp(x, v)` with `want` exactly (a product
    by 0 or 1 rounds nothing) and append the comparison; return what was checked."""
    if not subject.has("relu_vjp"):
        return "spec"
    got = subject.array("relu_vjp", ex.x.shape, ex.value("x"), ex.value(v))
    comps.append(compare(what, got, want, Bound.zero("exact: a product by 0 or 1")))
    return f"spec; engine {subject.name}"
