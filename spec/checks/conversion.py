"""Checks of the banner "Tensor ↔ Mat conversion": `toMatE`, `toMatrix_toMatE`."""

import numpy as np

from ..examples import LinearExample
from ..mirror.building_blocks import get2
from ..mirror.conversion import toMatE, toMatrix_toMatE
from ..subject import Subject
from ..types import Tensor
from ..verdict import Quantity, Verdict, combine, compare_exact
from .base import check
from .domains import linear_layers

__all__ = ["check_toMatE", "check_toMatrix_toMatE"]


@check("Proofs.Autograd.toMatE", linear_layers, "spec: entries of toMatE W vs Spec.get2 W i j")
def check_toMatE(ex: LinearExample, subject: Subject) -> Verdict:
    """Check that `toMatE W` is an m×n `Mat` whose entry (i, j) is `Spec.get2 W i j`, exactly."""
    W = Tensor(ex.value("W"))
    m, n = W.shape
    M = toMatE(W)
    entries = np.empty((m, n), dtype=object)
    for i in range(m):
        for j in range(n):
            entries[i, j] = get2(W, i, j)
    return combine(
        "Proofs.Autograd.toMatE",
        "spec",
        [
            compare_exact(
                Quantity("toMatE W i j", "Spec.get2 W i j"), M.data.astype(object), entries
            )
        ],
        W=ex.value("W"),
    )


@check(
    "Proofs.Autograd.toMatrix_toMatE",
    linear_layers,
    "spec: toMatrix (toMatE W) vs tensorToMatrix W, exactly",
)
def check_toMatrix_toMatE(ex: LinearExample, subject: Subject) -> Verdict:
    """Check `toMatrix (toMatE W) = tensorToMatrix W`, exactly, entry by entry.

    Both sides read the tensor through `Spec.get2` into different Lean types (`Mat` then
    `Matrix`, and `Matrix` directly).
    """
    eq = toMatrix_toMatE(Tensor(ex.value("W")))
    return combine(
        "Proofs.Autograd.toMatrix_toMatE",
        "spec",
        [
            compare_exact(
                Quantity("toMatrix (toMatE W)", "tensorToMatrix W"),
                eq.lhs.data.astype(object),
                eq.rhs.data.astype(object),
            )
        ],
        W=ex.value("W"),
    )
