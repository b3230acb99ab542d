"""MlpMse.lean, banner "2-layer MLP in Mat/Vec form"."""

from ..rational import Q
from ..types import Equation, Mat, Real, Vec, nat_cast, real_inv
from .building_blocks import Differentiable, affine, innerSL, reluVec, toMatrix, vjp
from .linear_maps import CLM, Elem

__all__ = [
    "affineMat",
    "mlpVecMat",
    "mse",
    "mseGrad",
    "hasFDerivAt_mse",
    "mseGrad_eq_adjoint_fderiv",
    "adjoint_fderiv_comp_apply_one",
]


def affineMat(W: Mat, b: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.affineMat` (def): `W x + b`, as `affine (toMatrix W) b x`."""
    return affine(toMatrix(W), b, x)


def mlpVecMat(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.mlpVecMat` (def): `W2 · relu(W1 x + b1) + b2`."""
    return affineMat(W2, b2, reluVec(affineMat(W1, b1, x)))


def mse(t: Vec, y: Vec) -> Real:
    """`Proofs.Autograd.mse` (def): `(1/n) · ‖y − t‖²`; for n = 0 it is 0, as `(0 : ℝ)⁻¹ = 0`."""
    return real_inv(nat_cast(t.n, t)) * (y - t).norm_sq()


def mseGrad(y: Vec, t: Vec) -> Vec:
    """`Proofs.Autograd.mseGrad` (def): `(2/n) • (y − t)`; for n = 0, `2/0 = 0` in Lean. The
    arguments come `y` then `t`, the reverse of `mse t y`."""
    return (y - t).smul(2 * real_inv(nat_cast(t.n, t)))


def hasFDerivAt_mse(t: Vec, y: Vec) -> CLM:
    """`Proofs.Autograd.hasFDerivAt_mse` (lemma): `HasFDerivAt (mse t) ((2/n) • innerSL ℝ (y − t))
    y`; returns the derivative it states, `(2/n) • innerSL ℝ (y − t)`."""
    return innerSL(y - t).smul(2 * real_inv(nat_cast(t.n, t)))


def mseGrad_eq_adjoint_fderiv(t: Vec, y: Vec) -> Equation[Elem]:
    """`Proofs.Autograd.mseGrad_eq_adjoint_fderiv` (lemma): `VJP[mse t, y] 1 = mseGrad y t`, the
    VJP read from the derivative `hasFDerivAt_mse` states."""
    f = Differentiable("mse t", lambda v: mse(t, v), lambda v: hasFDerivAt_mse(t, v))
    return Equation(vjp(f, y).apply(Q(1)), mseGrad(y, t))


def adjoint_fderiv_comp_apply_one(f_prime: CLM, g_prime: CLM) -> Elem:
    """`Proofs.Autograd.adjoint_fderiv_comp_apply_one` (lemma): given `hf : HasFDerivAt f f' x` and
    `hg : HasFDerivAt g g' (f x)`, `(fderiv ℝ (g ∘ f) x)† 1 = f'† (g'† 1)`; returns the right
    side. The left side is what reverse mode computes; a check takes it from an engine."""
    return f_prime.adjoint().apply(g_prime.adjoint().apply(Q(1)))
