"""MlpMse.lean, banner "ReLU derivative map is self-adjoint". No hypothesis: these hold at every
`x`, zero coordinates included (`relu'(0) = 0`)."""

from ..types import Equation, Real, Vec
from .building_blocks import reluDerivCLM, reluDerivSpec
from .linear_maps import hilbert_adjoint

__all__ = ["reluDerivCLM_apply", "reluDerivCLM_inner", "reluDerivCLM_adjoint_apply"]


def reluDerivCLM_apply(x: Vec, dx: Vec, i: int) -> Equation[Real]:
    """`Proofs.Autograd.reluDerivCLM_apply` (lemma):
    `(reluDerivCLM x dx) i = dx i * Activation.Math.reluDerivSpec (x i)`."""
    lhs = reluDerivCLM(x).apply(dx)
    assert isinstance(lhs, Vec)
    return Equation(lhs[i], dx[i] * reluDerivSpec(x[i]))


def reluDerivCLM_inner(x: Vec, dx: Vec, delta: Vec) -> Equation[Real]:
    """`Proofs.Autograd.reluDerivCLM_inner` (lemma):
    `⟪reluDerivCLM x dx, δ⟫ = ⟪dx, reluDerivCLM x δ⟫`."""
    R = reluDerivCLM(x)
    R_dx, R_delta = R.apply(dx), R.apply(delta)
    assert isinstance(R_dx, Vec) and isinstance(R_delta, Vec)
    return Equation(R_dx.inner(delta), dx.inner(R_delta))


def reluDerivCLM_adjoint_apply(x: Vec, delta: Vec) -> Equation[Vec]:
    """`Proofs.Autograd.reluDerivCLM_adjoint_apply` (lemma):
    `(reluDerivCLM x)† δ = reluDerivCLM x δ`, the adjoint taken from its definition."""
    R = reluDerivCLM(x)
    lhs, rhs = hilbert_adjoint(R).apply(delta), R.apply(delta)
    assert isinstance(lhs, Vec) and isinstance(rhs, Vec)
    return Equation(lhs, rhs)
