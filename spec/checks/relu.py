"""Lean banner "ReLU derivative map is self-adjoint": `reluDerivCLM_apply`, `reluDerivCLM_inner`,
`reluDerivCLM_adjoint_apply`. These hold for every `x`, zero coordinates included (relu'(0) = 0)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Subject
from ..examples import VecExample
from ..mirror.core import reluDerivCLM, reluDerivSpec
from ..mirror.linear_maps import hilbert_adjoint
from ..rational import Q
from ..types import Vec
from ..verdict import Comparison, Verdict, combine, compare, compare_exact
from .base import Config, exact, lemma

__all__ = ["reluDerivCLM_apply", "reluDerivCLM_inner", "reluDerivCLM_adjoint_apply"]


def _vecs(cfg: Config) -> Any:
    from ..strategies import either_kind, vec_examples

    return either_kind(lambda rational: vec_examples(min_dim=cfg.min_dim, max_dim=cfg.max_dim,
                                                     rational=rational), cfg.dtype == "exact")


def _data(v: object) -> Any:
    assert isinstance(v, Vec)
    return v.data


ENGINE_VJP = "engine relu_vjp (its ReLU backward rule)"


@lemma(
    "Proofs.Autograd.reluDerivCLM_apply",
    _vecs,
    f"spec, exactly; {ENGINE_VJP} where the engine has it, exactly",
)
def reluDerivCLM_apply(ex: VecExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.reluDerivCLM_apply` (lemma): Check
    `(reluDerivCLM x dx) i = dx i * relu'(x i)`.

    The left side is the map applied to the whole vector; the right side is the coordinate formula
    with `Activation.Math.reluDerivSpec` per coordinate. On the engine, its ReLU backward rule must
    give the same numbers: multiplying by 0 or 1 is exact in floating point, so the bound is 0, and
    an engine with another convention at `x i = 0` (0.5, or 1) is reported there.
    """
    name = "Proofs.Autograd.reluDerivCLM_apply"
    x, dx = exact(ex.value("x")), exact(ex.value("dx"))
    lhs = _data(reluDerivCLM(Vec(x)).apply(Vec(dx)))
    rhs = np.array([dx[i] * reluDerivSpec(x[i]) for i in range(x.shape[0])], dtype=object)
    comps: list[Comparison] = [
        compare_exact("(reluDerivCLM x dx) i vs dx i * relu'(x i)", lhs, rhs)
    ]
    subj = "spec"
    if subject.has("relu_vjp"):
        got = subject.array("relu_vjp", ex.x.shape, ex.value("x"), ex.value("dx"))
        comps.append(compare("engine relu_vjp(x, dx) vs dx i * relu'(x i)", got, rhs, 0.0,
                             "exact: a product by 0 or 1"))
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, x=ex.value("x"), dx=ex.value("dx"))


@lemma(
    "Proofs.Autograd.reluDerivCLM_inner",
    _vecs,
    f"spec, exactly; {ENGINE_VJP} where the engine has it, float64",
)
def reluDerivCLM_inner(ex: VecExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.reluDerivCLM_inner` (lemma): Check `⟪R_x dx, δ⟫ = ⟪dx, R_x δ⟫`."""
    name = "Proofs.Autograd.reluDerivCLM_inner"
    x, dx, d = Vec(exact(ex.value("x"))), Vec(exact(ex.value("dx"))), Vec(exact(ex.value("delta")))
    R = reluDerivCLM(x)
    lhs = R.apply(dx)
    rhs = R.apply(d)
    assert isinstance(lhs, Vec) and isinstance(rhs, Vec)
    comps = [compare_exact("⟪R_x dx, δ⟫ vs ⟪dx, R_x δ⟫", np.array(lhs.inner(d), dtype=object),
                           np.array(dx.inner(rhs), dtype=object))]
    subj = "spec"
    if subject.has("relu_vjp"):
        n = ex.x.shape
        a = subject.array("relu_vjp", n, ex.value("x"), ex.value("dx"))
        b = subject.array("relu_vjp", n, ex.value("x"), ex.value("delta"))
        # Summed exactly, both sides add the same products dx_i·relu'(x_i)·δ_i when the engine's
        # backward multiplies by 0 or 1 (exact in floating point): the bound is 0.
        lhs_e = np.array(sum((u * v for u, v in zip(exact(a), d.data, strict=True)), Q(0)),
                         dtype=object)
        rhs_e = np.array(sum((u * v for u, v in zip(dx.data, exact(b), strict=True)), Q(0)),
                         dtype=object)
        comps.append(compare("engine ⟪V dx, δ⟫ vs ⟪dx, V δ⟫, V = relu_vjp x, summed exactly", lhs_e,
                             rhs_e, 0.0, "exact: the same exact products on both sides"))
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, **ex.witness())


@lemma(
    "Proofs.Autograd.reluDerivCLM_adjoint_apply",
    _vecs,
    f"spec, exactly, against the Hilbert adjoint from ⟪A u, v⟫ = ⟪u, A† v⟫; {ENGINE_VJP}, exactly",
)
def reluDerivCLM_adjoint_apply(ex: VecExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.reluDerivCLM_adjoint_apply` (lemma): Check `(R_x)† δ = R_x δ`.

    The adjoint is computed from its defining property on a basis (`hilbert_adjoint`), not
    assumed; the engine's ReLU backward rule is its VJP, i.e. `(R_x)† δ`, so it must equal `R_x δ`.
    """
    name = "Proofs.Autograd.reluDerivCLM_adjoint_apply"
    x, d = Vec(exact(ex.value("x"))), Vec(exact(ex.value("delta")))
    R = reluDerivCLM(x)
    forward = _data(R.apply(d))
    comps = [
        compare_exact("(R_x)† δ (Hilbert adjoint) vs R_x δ", _data(hilbert_adjoint(R).apply(d)),
                      forward),
        compare_exact("(R_x)† δ (closed form) vs R_x δ", _data(R.adjoint().apply(d)), forward),
    ]
    subj = "spec"
    if subject.has("relu_vjp"):
        got = subject.array("relu_vjp", ex.x.shape, ex.value("x"), ex.value("delta"))
        comps.append(compare("engine relu_vjp(x, δ) vs R_x δ", got, forward, 0.0,
                             "exact: a product by 0 or 1"))
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, x=ex.value("x"), delta=ex.value("delta"))
