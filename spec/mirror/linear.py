"""MlpMse.lean, banner "Linear layer: `vec_mat_mul_spec` corresponds to the adjoint on Euclidean
vectors"."""

from ..types import Equation, Tensor, Vec
from .building_blocks import linearInputDerivSpec, matCLM, tensorToMatrix, toVecE
from .linear_maps import hilbert_adjoint

__all__ = ["toVecE_linear_input_deriv_spec_eq_adjoint"]


def toVecE_linear_input_deriv_spec_eq_adjoint(W: Tensor, delta: Tensor) -> Equation[Vec]:
    """`Proofs.Autograd.toVecE_linear_input_deriv_spec_eq_adjoint` (lemma):
    `toVecE (linearInputDerivSpec W δ) = (matCLM (tensorToMatrix W))† (toVecE δ)`, the adjoint
    taken from its definition."""
    rhs = hilbert_adjoint(matCLM(tensorToMatrix(W))).apply(toVecE(delta))
    assert isinstance(rhs, Vec)
    return Equation(toVecE(linearInputDerivSpec(W, delta)), rhs)
