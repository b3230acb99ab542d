"""Checks of the banner "Linear layer: `vec_mat_mul_spec` corresponds to the adjoint on Euclidean
vectors": `toVecE_linear_input_deriv_spec_eq_adjoint`."""

import numpy as np

from ..examples import LinearExample
from ..mirror.building_blocks import matCLM, tensorToMatrix, toVecE
from ..mirror.linear import toVecE_linear_input_deriv_spec_eq_adjoint
from ..numerics.single_maps import adjoint_pairing_bound, linear_input_vjp_bound
from ..rational import Q
from ..subject import Subject
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
        compare_exact(
            Quantity("toVecE (linearInputDerivSpec W δ)", "(matCLM W)† δ (Hilbert adjoint)"),
            lhs,
            rhs.data,
        ),
        compare_exact(
            Quantity("(matCLM W)† δ: closed form Wᵀδ", "Hilbert adjoint"), closed.data, rhs.data
        ),
    ]
    subj = "spec"
    if subject.has("linear_input_vjp"):
        m, n = ex.W.shape
        got = subject.array("linear_input_vjp", (n,), ex.value("W"), ex.value("delta"))
        comps.append(
            against(
                subject,
                Quantity("engine linear_input_vjp(W, δ)", "Wᵀδ", engine=True),
                got,
                lambda: rhs.data,
                ex.W.T @ ex.delta if m else np.zeros(n),
                linear_input_vjp_bound(ex.W, ex.delta, subject.prec),
            )
        )
        pairing = adjoint_pairing_bound(
            ex.W, ex.delta, ex.u, subject.prec, exactly=subject.exact_reference
        )
        if subject.exact_reference:
            u_x = exact(ex.value("u"))
            Wu_x = tensorToMatrix(W).data @ u_x if n else exact(np.zeros(m))
            lhs_x = sum((a * b for a, b in zip(Wu_x, d.data, strict=True)), Q(0))
            rhs_x = sum((a * b for a, b in zip(u_x, exact(got), strict=True)), Q(0))
            comps.append(
                compare(
                    Quantity(
                        "engine ⟪W u, δ⟫",
                        "⟪u, linear_input_vjp(W, δ)⟫, summed exactly",
                        engine=True,
                    ),
                    np.array(lhs_x, dtype=object),
                    np.array(rhs_x, dtype=object),
                    pairing,
                )
            )
            return combine(name, f"spec; engine {subject.name}", comps, **ex.witness())
        Wu = ex.W @ ex.u if n else np.zeros(m)
        comps.append(
            compare(
                Quantity("engine ⟪W u, δ⟫", "⟪u, linear_input_vjp(W, δ)⟫", engine=True),
                float(Wu @ ex.delta),
                float(ex.u @ got),
                pairing,
            )
        )
        subj = f"spec; engine {subject.name}"
    return combine(name, subj, comps, **ex.witness())
