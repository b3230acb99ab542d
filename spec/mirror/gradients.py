"""MlpMse.lean, banner "Scalar-loss gradient theorems (inputs + parameters)".

Lean's section variables are `W1 b1 W2 b2 x t`; each declaration takes those it mentions, in that
order. The lemmas about `b1`, `x` and `W1` also take `hx : ∀ i, z1 W1 b1 x i ≠ 0`, which a caller
establishes; a `hasFDerivAt_mlp_wrt_*` mirror returns the derivative its lemma states, and a
`grad_*_mse` mirror the right side of its equation, whose left side is the gradient
`(fderiv ℝ (fun p ↦ mse t (…)) p)† 1` an engine computes by reverse mode.
"""

from ..types import Mat, Vec
from .building_blocks import matApplyLin, matCLM, outer, reluDerivCLM, reluVec, toMatrix
from .linear_maps import CLM
from .mlp import affineMat, mlpVecMat, mseGrad

__all__ = [
    "z1",
    "a1",
    "y",
    "hasFDerivAt_mlp_wrt_W2",
    "grad_W2_mse",
    "grad_b2_mse",
    "hasFDerivAt_mlp_wrt_b1",
    "grad_b1_mse",
    "hasFDerivAt_mlp_wrt_x",
    "grad_x_mse",
    "hasFDerivAt_mlp_wrt_W1",
    "grad_W1_mse",
]


def z1(W1: Mat, b1: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.z1` (def): the pre-activation `affineMat W1 b1 x = W1 x + b1`."""
    return affineMat(W1, b1, x)


def a1(W1: Mat, b1: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.a1` (def): the hidden activation `reluVec (z1 W1 b1 x)`."""
    return reluVec(z1(W1, b1, x))


def y(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.y` (def): the network output `mlpVecMat W1 b1 W2 b2 x`."""
    return mlpVecMat(W1, b1, W2, b2, x)


def hasFDerivAt_mlp_wrt_W2(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> CLM:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_W2` (lemma): `W2 ↦ mlpVecMat W1 b1 W2 b2 x` has
    derivative `matApplyLin (a1 W1 b1 x)` at `W2`, i.e. `dW2 ↦ dW2 a1`."""
    return matApplyLin(a1(W1, b1, x), W2.m)


def grad_W2_mse(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Mat:
    """`Proofs.Autograd.grad_W2_mse` (lemma): the gradient in `W2` of the loss is
    `outer (mseGrad (y W1 b1 W2 b2 x) t) (a1 W1 b1 x)`."""
    return outer(mseGrad(y(W1, b1, W2, b2, x), t), a1(W1, b1, x))


def grad_b2_mse(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Vec:
    """`Proofs.Autograd.grad_b2_mse` (lemma): the gradient in `b2` of the loss is
    `mseGrad (mlpVecMat W1 b1 W2 b2 x) t`."""
    return mseGrad(mlpVecMat(W1, b1, W2, b2, x), t)


def hasFDerivAt_mlp_wrt_b1(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> CLM:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_b1` (lemma): under `hx`, `b1 ↦ mlpVecMat W1 b1 W2 b2 x`
    has derivative `(matCLM W2).comp (reluDerivCLM (z1 W1 b1 x))` at `b1`."""
    return matCLM(toMatrix(W2)).comp(reluDerivCLM(z1(W1, b1, x)))


def grad_b1_mse(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Vec:
    """`Proofs.Autograd.grad_b1_mse` (lemma): under `hx`, the gradient in `b1` of the loss is
    `reluDerivCLM (z1 W1 b1 x) ((matCLM W2)† (mseGrad (y W1 b1 W2 b2 x) t))`."""
    g = mseGrad(y(W1, b1, W2, b2, x), t)
    out = reluDerivCLM(z1(W1, b1, x)).apply(matCLM(toMatrix(W2)).adjoint().apply(g))
    assert isinstance(out, Vec)
    return out


def hasFDerivAt_mlp_wrt_x(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> CLM:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_x` (lemma): under `hx`, `mlpVecMat W1 b1 W2 b2` has
    derivative `(matCLM W2).comp ((reluDerivCLM (z1 W1 b1 x)).comp (matCLM W1))` at `x`."""
    return matCLM(toMatrix(W2)).comp(reluDerivCLM(z1(W1, b1, x)).comp(matCLM(toMatrix(W1))))


def grad_x_mse(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Vec:
    """`Proofs.Autograd.grad_x_mse` (lemma): under `hx`, the gradient in `x` of the loss is
    `(matCLM W1)† (reluDerivCLM (z1 W1 b1 x) ((matCLM W2)† (mseGrad (y W1 b1 W2 b2 x) t)))`."""
    g = mseGrad(y(W1, b1, W2, b2, x), t)
    back = reluDerivCLM(z1(W1, b1, x)).apply(matCLM(toMatrix(W2)).adjoint().apply(g))
    out = matCLM(toMatrix(W1)).adjoint().apply(back)
    assert isinstance(out, Vec)
    return out


def hasFDerivAt_mlp_wrt_W1(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec) -> CLM:
    """`Proofs.Autograd.hasFDerivAt_mlp_wrt_W1` (lemma): under `hx`, `W1 ↦ mlpVecMat W1 b1 W2 b2 x`
    has derivative `(matCLM W2).comp ((reluDerivCLM (z1 W1 b1 x)).comp (matApplyLin x))` at
    `W1`."""
    return matCLM(toMatrix(W2)).comp(reluDerivCLM(z1(W1, b1, x)).comp(matApplyLin(x, W1.m)))


def grad_W1_mse(W1: Mat, b1: Vec, W2: Mat, b2: Vec, x: Vec, t: Vec) -> Mat:
    """`Proofs.Autograd.grad_W1_mse` (lemma): under `hx`, the gradient in `W1` of the loss is
    `outer (reluDerivCLM (z1 W1 b1 x) ((matCLM W2)† (mseGrad (y W1 b1 W2 b2 x) t))) x`."""
    g = mseGrad(y(W1, b1, W2, b2, x), t)
    back = reluDerivCLM(z1(W1, b1, x)).apply(matCLM(toMatrix(W2)).adjoint().apply(g))
    assert isinstance(back, Vec)
    return outer(back, x)
