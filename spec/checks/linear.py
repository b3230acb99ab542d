"""Checks of the banner "Linear layer: `vec_mat_mul_spec` corresponds to the adjoint on Euclidean
vectors": `toVecE_linear_input_deriv_spec_eq_adjoint`."""


import numpy as np

from ..backend import Subject
from ..examples import LinearExample
from ..mirror.building_blocks import matCLM, tensorToMatrix, toVecE
from ..mirror.linear import toVecE_linear_input_deriv_spec_eq_adjoint
from ..numerics.tolerance import SLACK
from ..rational import Q
from ..types import Tensor, Vec
from ..verdict import Comparison, Quantity, Verdict, combine, compare, compare_exact
from .base import against, check, exact
from .domains import linear_layers

__all__ = ["check_toVecE_linear_input_deriv_spec_eq_adjoint"]


@check(
    "Proofs.Autograd.toVecE_linear_input_deriv_spec_eq_adjoint",
    linear_layers,
    "spec, exactly, against the Hilbert adjoint; engine linear_input_vjp where it has it, float64",
)
def check_toVecE_linear_input_deriv_spec_eq_adjoint(ex: LinearExample, subject: Subject) -> Verdict:
    """Check
    `toVecE (linearInputDerivSpec W δ) = (matCLM (tensorToMatrix W))† (toVecE δ)`.

    The left side is the spec tensor fold `∑ i, δ i * W i j`; the right side is the Hilbert adjoint
    of `x ↦ W x`, computed from `⟪A u, v⟫ = ⟪u, A† v⟫` on a basis. Both exact. On the engine, its
    linear layer's input gradient must equal `Wᵀ δ` and satisfy `⟪W u, δ⟫ = ⟪u, Wᵀ δ⟫`.
    """
    name = "Proofs.Autograd.toVecE_linear_input_deriv_spec_eq_adjoint"
    W, d = Tensor(exact(ex.value("W"))), Tensor(exact(ex.value("delta")))
    eq = toVecE_linear_input_deriv_spec_eq_adjoint(W, d)
    lhs, rhs = eq.lhs.data, eq.rhs
    # The closed form the building block offers (Wᵀδ), which the gradient mirrors use, too.
    closed = matCLM(tensorToMatrix(W)).adjoint().apply(toVecE(d))
    assert isinstance(closed, Vec)
    comps: list[Comparison] = [
        compare_exact(Quantity("toVecE (linearInputDerivSpec W δ)", "(matCLM W)† δ (Hilbert adjoint)"), lhs,
                      rhs.data),
        compare_exact(Quantity("(matCLM W)† δ: closed form Wᵀδ", "Hilbert adjoint"), closed.data, rhs.data),
    ]
    subj = "spec"
    if subject.has("linear_input_vjp"):
        m, n = ex.W.shape
        got = subject.array("linear_input_vjp", (n,), ex.value("W"), ex.value("delta"))
        # A correct computation of Σ_i δ_i W_ij (any order) is within γ_m Σ_i|δ_i W_ij|.
        g_m = subject.prec.gamma(m)
        bound = SLACK * g_m * (np.abs(ex.W).T @ np.abs(ex.delta))
        comps.append(against(subject, Quantity("engine linear_input_vjp(W, δ)", "Wᵀδ", engine=True), got, lambda: rhs.data,
                             ex.W.T @ ex.delta if m else np.zeros(n), bound, f"γ_{m}·|W|ᵀ|δ|"))
        triple = float(np.abs(ex.delta) @ np.abs(ex.W) @ np.abs(ex.u)) if m * n else 0.0
        if subject.exact_reference:
            # Exactly: ⟪W u, δ⟫ − ⟪u, V δ⟫ = ⟪u, Wᵀδ − V δ⟫, within Σ_j |u_j| γ_m (|W|ᵀ|δ|)_j.
            u_x = exact(ex.value("u"))
            Wu_x = tensorToMatrix(W).data @ u_x if n else exact(np.zeros(m))
            lhs_x = sum((a * b for a, b in zip(Wu_x, d.data, strict=True)), Q(0))
            rhs_x = sum((a * b for a, b in zip(u_x, exact(got), strict=True)), Q(0))
            comps.append(compare(Quantity("engine ⟪W u, δ⟫", "⟪u, linear_input_vjp(W, δ)⟫, summed exactly", engine=True),
                                 np.array(lhs_x, dtype=object), np.array(rhs_x, dtype=object),
                                 SLACK * g_m * triple, f"γ_{m}·Σ|δ_i W_ij u_j|"))
            return combine(name, f"spec; engine {subject.name}", comps, **ex.witness())
        Wu = ex.W @ ex.u if n else np.zeros(m)
        # ⟪W u, δ⟫: W u within γ_n|W||u|, then a dot of m terms; ⟪u, V δ⟫ likewise: each side is a
        # sum of m·n products in some grouping, so within γ_{m+n} Σ|δ_i W_ij u_j|.
        comps.append(compare(Quantity("engine ⟪W u, δ⟫", "⟪u, linear_input_vjp(W, δ)⟫", engine=True), float(Wu @ ex.delta),
                             float(ex.u @ got), SLACK * 2 * subject.prec.gamma(m + n) * triple,
                             f"2·γ_{m + n}·Σ|δ_i W_ij u_j|"))
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, **ex.witness())
