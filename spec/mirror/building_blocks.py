"""Building blocks that MlpMse's statements use, from other Lean files (Core, Vectorization, Params,
Notation, Spec tensors, Activation, Mathlib's `innerSL`), each mirrored under its Lean name.

Every name in `__all__` opens its docstring with the Lean name it mirrors; `spec.registry.bind`
registers them from there. `Differentiable` is the one helper type: a function paired with the
derivative a lemma states for it, which `jacobian` and `vjp` read.
"""

from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from ..rational import Q, is_rational
from ..rational import matvec as rational_matvec
from ..types import Arr, Mat, Matrix, Real, Tensor, Vec
from .linear_maps import CLM, Elem, FunCLM, Space, data_of

P = TypeVar("P", Vec, Mat)
"""The point a derivative is taken at: a `Vec` or a `Mat`."""

__all__ = [
    "get2",
    "toVecE",
    "ofVecE",
    "toMatrix",
    "tensorToMatrix",
    "matCLM",
    "affine",
    "reluSpec",
    "reluDerivSpec",
    "reluVec",
    "reluDerivCLM",
    "matApplyLin",
    "outer",
    "matVecMulSpec",
    "vecMatMulSpec",
    "linearInputDerivSpec",
    "innerSL",
    "jacobian",
    "vjp",
]


def _one(like: Arr | Real) -> Real:
    exact = is_rational(like) or (isinstance(like, np.ndarray) and like.dtype == object)
    return Q(1) if exact else 1.0


def _zero(like: Arr | Real) -> Real:
    exact = is_rational(like) or (isinstance(like, np.ndarray) and like.dtype == object)
    return Q(0) if exact else 0.0


# --- Spec tensors (NN/Spec/Core/Tensor) ------------------------------------------------------


def get2(W: Tensor, i: int, j: int) -> Real:
    """`Spec.get2` (def): Return entry `j` of row `i` of a matrix-shaped tensor."""
    if W.rank != 2:
        raise ValueError(f"get2: expected a matrix-shaped tensor, got shape {W.shape}")
    row = W.data[i]  # Lean's nested reading: the row first, then the column
    return row[j]


def matVecMulSpec(A: Tensor, v: Tensor) -> Tensor:
    """`Spec.matVecMulSpec` (def): Return `A v`, entry i a left fold from 0 of `A i k * v k`."""
    m, n = A.shape
    out = [_zero(A.data)] * m
    for i in range(m):
        acc = _zero(A.data)
        for k in range(n):
            acc = acc + get2(A, i, k) * v.data[k]
        out[i] = acc
    return Tensor(np.array(out, dtype=A.data.dtype).reshape(m))


def vecMatMulSpec(v: Tensor, A: Tensor) -> Tensor:
    """`Spec.vecMatMulSpec` (def): Return `v A`, entry j a left fold over i from 0 of `v i * A i j`.

    The fold is kept in Lean's order (i = 0, 1, …), so its rounding is that of one sequential sum.
    """
    m, n = A.shape
    if v.shape != (m,):
        raise ValueError(f"vecMatMulSpec: v has shape {v.shape}, A has {m} rows")
    acc = (
        np.zeros(n, dtype=A.data.dtype)
        if A.data.dtype != object
        else np.array([_zero(A.data)] * n, dtype=object)
    )
    for i in range(m):
        acc = acc + v.data[i] * A.data[i]
    return Tensor(acc)


def linearInputDerivSpec(W: Tensor, grad_output: Tensor) -> Tensor:
    """`Spec.linearInputDerivSpec` (def): Return the linear layer's input gradient,
    `vecMatMulSpec δ W`."""
    return vecMatMulSpec(grad_output, W)


# --- Vectorization (NN/Proofs/Autograd/Core/Vectorization.lean) -------------------------------


def toVecE(v: Tensor) -> Vec:
    """`Proofs.Autograd.toVecE` (def): Return a length-n spec tensor as a `Vec n`."""
    if v.rank != 1:
        raise ValueError(f"toVecE: expected a vector-shaped tensor, got shape {v.shape}")
    return Vec(v.data.copy())


def ofVecE(v: Vec) -> Tensor:
    """`Proofs.Autograd.ofVecE` (def): Return a `Vec n` as a length-n spec tensor."""
    return Tensor(v.data.copy())


# --- Params (NN/Proofs/Autograd/FDeriv/Params.lean) -------------------------------------------


def toMatrix(W: Mat) -> Matrix:
    """`Proofs.Autograd.toMatrix` (def): Return a `Mat m n` retyped as a Mathlib matrix."""
    return Matrix(W.data.copy())


def outer(delta: Vec, x: Vec) -> Mat:
    """`Proofs.Autograd.outer` (def): Return `δ xᵀ`, entry (i, j) = `δ i * x j` (rows from `δ`)."""
    return Mat(delta.data[:, None] * x.data[None, :])


def matApplyLin(x: Vec, m: int) -> CLM:
    """`Proofs.Autograd.matApplyLin` (def): Return the linear map `Mat m n → Vec m`, `W ↦ W x`.

    Its closed-form adjoint is `δ ↦ outer δ x` (`matApplyLin_adjoint_apply`, Params.lean).
    """
    n = x.n

    def apply(W: Elem) -> Elem:
        assert isinstance(W, Mat)
        return Vec(_matvec(W.data, x.data))

    def adjoint() -> CLM:
        def back(d: Elem) -> Elem:
            assert isinstance(d, Vec)
            return outer(d, x)

        return FunCLM("(matApplyLin x)†", Space((m,)), Space((m, n)), back, lambda: fwd)

    fwd = FunCLM("matApplyLin x", Space((m, n)), Space((m,)), apply, adjoint)
    return fwd


# --- Core (NN/Proofs/Autograd/FDeriv/Core.lean) ------------------------------------------------


def tensorToMatrix(W: Tensor) -> Matrix:
    """`Proofs.Autograd.tensorToMatrix` (def): Return a matrix-shaped tensor as a Mathlib matrix,
    entry (i, j) = `Spec.get2 W i j`."""
    m, n = W.shape if W.rank == 2 else (-1, -1)
    if m < 0:
        raise ValueError(f"tensorToMatrix: expected a matrix-shaped tensor, got shape {W.shape}")
    rows = [[get2(W, i, j) for j in range(n)] for i in range(m)]
    return Matrix(np.array(rows, dtype=W.data.dtype).reshape(m, n))


def matCLM(W: Matrix) -> CLM:
    """`Proofs.Autograd.matCLM` (def): Return the linear map `Vec n → Vec m`, `v ↦ W v`.

    The adjoint offered in closed form is `δ ↦ Wᵀ δ`; MlpMse never reduces the adjoint to a
    transpose itself, and `toVecE_linear_input_deriv_spec_eq_adjoint` is the lemma that licenses it.
    """
    m, n = W.m, W.n

    def apply(v: Elem) -> Elem:
        assert isinstance(v, Vec)
        return Vec(_matvec(W.data, v.data))

    def adjoint() -> CLM:
        def back(d: Elem) -> Elem:
            assert isinstance(d, Vec)
            return Vec(_matvec(W.data.T, d.data))

        return FunCLM("(matCLM W)†", Space((m,)), Space((n,)), back, lambda: fwd)

    fwd = FunCLM("matCLM W", Space((n,)), Space((m,)), apply, adjoint)
    return fwd


def affine(W: Matrix, b: Vec, x: Vec) -> Vec:
    """`Proofs.Autograd.affine` (def): Return `matCLM W x + b`."""
    out = matCLM(W).apply(x)
    assert isinstance(out, Vec)
    return out + b


def reluSpec(s: Real) -> Real:
    """`Activation.Math.reluSpec` (def): Return `max s 0`."""
    return s if s > 0 else s * 0  # `s * 0` keeps the scalar type (float or rational)


def reluDerivSpec(s: Real) -> Real:
    """`Activation.Math.reluDerivSpec` (def): Return `1` if `s > 0`, else `0`; so `relu'(0) = 0`."""
    return _one(s) if s > 0 else _zero(s)


def reluVec(x: Vec) -> Vec:
    """`Proofs.Autograd.reluVec` (def): Return `reluSpec` applied to every coordinate."""
    return Vec(np.where(x.data > 0, x.data, x.data * 0))


def _relu_mask(x: Vec) -> Arr:
    # The vector (reluDerivSpec (x i))_i, computed once for the whole vector.
    if x.data.dtype == object:
        return np.array([Q(1) if v > 0 else Q(0) for v in x.data], dtype=object)
    return (x.data > 0).astype(np.float64)


def reluDerivCLM(x: Vec) -> CLM:
    """`Proofs.Autograd.reluDerivCLM` (def): Return the diagonal map `dx ↦ (relu'(x i) * dx i)_i`.

    Its closed-form adjoint is itself (`reluDerivCLM_adjoint_apply`).
    """
    mask = _relu_mask(x)

    def apply(dx: Elem) -> Elem:
        assert isinstance(dx, Vec)
        return Vec(dx.data * mask)

    space = Space((x.n,))
    fwd: CLM = FunCLM("reluDerivCLM z", space, space, apply, lambda: fwd)
    return fwd


def innerSL(v: Elem) -> CLM:
    """`innerSL` (def): Return the functional `h ↦ ⟪v, h⟫` (Mathlib's `innerSL ℝ v`).

    Its closed-form adjoint is `c ↦ c • v` (Mathlib's `adjoint_innerSL_apply`).
    """
    from .linear_maps import inner, space_of

    sp = space_of(v)

    def apply(h: Elem) -> Elem:
        return inner(v, h)

    def adjoint() -> CLM:
        def back(c: Elem) -> Elem:
            assert not isinstance(c, (Vec, Mat))
            return sp.wrap(data_of(v) * c)

        return FunCLM("(innerSL v)†", Space(()), sp, back, lambda: fwd)

    fwd = FunCLM("innerSL v", sp, Space(()), apply, adjoint)
    return fwd


# --- Notation (NN/Proofs/Autograd/Notation.lean) -----------------------------------------------


class Differentiable(Generic[P]):
    """A function together with the derivative a `hasFDerivAt_*` lemma states for it at a point.

    Python cannot take `fderiv` of an arbitrary function; the mirror carries, beside the function,
    the derivative Lean proves it has. The `hasFDerivAt_*` predicates check that claim against the
    function's actual first-order remainder; `jacobian` and `vjp` then read it.
    """

    def __init__(self, name: str, fn: Callable[[P], Elem], fderiv: Callable[[P], CLM]) -> None:
        self.name = name
        self.fn: Callable[[P], Elem] = fn
        self.fderiv: Callable[[P], CLM] = fderiv

    def __call__(self, p: P) -> Elem:
        return self.fn(p)

    def __repr__(self) -> str:
        return self.name


def jacobian(f: Differentiable[P], x: P) -> CLM:
    """`Proofs.Autograd.jacobian` (abbrev): Return `fderiv ℝ f x` (notation `J[f, x]`)."""
    return f.fderiv(x)


def vjp(f: Differentiable[P], x: P) -> CLM:
    """`Proofs.Autograd.vjp` (abbrev): Return `(jacobian f x)†` (notation `VJP[f, x]`)."""
    return jacobian(f, x).adjoint()


def _matvec(W: Arr, v: Arr) -> Arr:
    # Exact products go through `spec.rational.matvec` (python-flint's matrices when installed;
    # it also builds the empty sum, the rational 0, which numpy's object `@` gets wrong).
    if W.dtype == object or v.dtype == object:
        return rational_matvec(W, v)
    if W.shape[1] == 0:
        return np.zeros(W.shape[0])
    out: Arr = W @ v
    return out
