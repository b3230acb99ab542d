"""Lean banner "Linear layer: `vec_mat_mul_spec` corresponds to the adjoint on Euclidean vectors":
`toVecE_linear_input_deriv_spec_eq_adjoint`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import Subject
from .checks import Config, exact, lemma
from .core import linearInputDerivSpec, matCLM, tensorToMatrix, toVecE
from .examples import LinearExample
from .linear_maps import hilbert_adjoint
from .tolerance import SLACK
from .types import Tensor, Vec
from .verdict import Comparison, Verdict, combine, compare, compare_exact

__all__ = ["toVecE_linear_input_deriv_spec_eq_adjoint"]


def _linear(cfg: Config) -> Any:
    from .strategies import linear_examples

    return linear_examples(min_dim=cfg.min_dim, max_dim=cfg.max_dim)


@lemma(
    "Proofs.Autograd.toVecE_linear_input_deriv_spec_eq_adjoint",
    _linear,
    "spec, exactly, against the Hilbert adjoint; engine linear_input_vjp where it has it, float64",
)
def toVecE_linear_input_deriv_spec_eq_adjoint(ex: LinearExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.toVecE_linear_input_deriv_spec_eq_adjoint` (lemma): Check
    `toVecE (linearInputDerivSpec W δ) = (matCLM (tensorToMatrix W))† (toVecE δ)`.

    The left side is the spec tensor fold `∑ i, δ i * W i j`; the right side is the Hilbert adjoint
    of `x ↦ W x`, computed from `⟪A u, v⟫ = ⟪u, A† v⟫` on a basis. Both exact. On the engine, its
    linear layer's input gradient must equal `Wᵀ δ` and satisfy `⟪W u, δ⟫ = ⟪u, Wᵀ δ⟫`.
    """
    name = "Proofs.Autograd.toVecE_linear_input_deriv_spec_eq_adjoint"
    W, d = Tensor(exact(ex.W)), Tensor(exact(ex.delta))
    A = matCLM(tensorToMatrix(W))
    lhs = toVecE(linearInputDerivSpec(W, d)).data
    rhs = hilbert_adjoint(A).apply(toVecE(d))
    closed = A.adjoint().apply(toVecE(d))
    assert isinstance(rhs, Vec) and isinstance(closed, Vec)
    comps: list[Comparison] = [
        compare_exact("toVecE (linearInputDerivSpec W δ) vs (matCLM W)† δ (Hilbert adjoint)", lhs,
                      rhs.data),
        compare_exact("(matCLM W)† δ: closed form Wᵀδ vs Hilbert adjoint", closed.data, rhs.data),
    ]
    subj = "spec"
    if subject.has("linear_input_vjp"):
        m, n = ex.W.shape
        got = subject.array("linear_input_vjp", (n,), ex.W, ex.delta)
        # Two correct computations of Σ_i δ_i W_ij (any order) are each within γ_m Σ_i|δ_i W_ij|.
        bound = SLACK * 2 * subject.prec.gamma(m) * (np.abs(ex.W).T @ np.abs(ex.delta))
        comps.append(compare("engine linear_input_vjp(W, δ) vs Wᵀδ", got, rhs.data.astype(np.float64),
                             bound, f"2·γ_{m}·|W|ᵀ|δ|"))
        Wu = ex.W @ ex.u if n else np.zeros(m)
        # ⟪W u, δ⟫: W u within γ_n|W||u|, then a dot of m terms; ⟪u, V δ⟫ likewise: each side is a
        # sum of m·n products in some grouping, so within γ_{m+n} Σ|δ_i W_ij u_j|.
        triple = float(np.abs(ex.delta) @ np.abs(ex.W) @ np.abs(ex.u)) if m * n else 0.0
        comps.append(compare("engine ⟪W u, δ⟫ vs ⟪u, linear_input_vjp(W, δ)⟫", float(Wu @ ex.delta),
                             float(ex.u @ got), SLACK * 2 * subject.prec.gamma(m + n) * triple,
                             f"2·γ_{m + n}·Σ|δ_i W_ij u_j|"))
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, W=ex.W, delta=ex.delta, u=ex.u)
