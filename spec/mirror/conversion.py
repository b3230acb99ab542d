"""MlpMse.lean, banner "Tensor ↔ Mat conversion (only for matrix-shaped tensors)"."""

import numpy as np

from ..types import Equation, Mat, Matrix, Tensor
from .building_blocks import get2, tensorToMatrix, toMatrix

__all__ = ["toMatE", "toMatrix_toMatE"]


def toMatE(W: Tensor) -> Mat:
    """`Proofs.Autograd.toMatE` (def): the matrix-shaped tensor `W` as a `Mat m n`, entry (i, j)
    read with `Spec.get2 W i j`."""
    m, n = W.shape
    rows = [[get2(W, i, j) for j in range(n)] for i in range(m)]
    return Mat(np.array(rows, dtype=W.data.dtype).reshape(m, n))


def toMatrix_toMatE(W: Tensor) -> Equation[Matrix]:
    """`Proofs.Autograd.toMatrix_toMatE` (lemma): `toMatrix (toMatE W) = tensorToMatrix W`."""
    return Equation(toMatrix(toMatE(W)), tensorToMatrix(W))
