"""Lean banner "Tensor ↔ Mat conversion (only for matrix-shaped tensors)": `toMatE`,
`toMatrix_toMatE`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Subject
from ..examples import LinearExample
from ..mirror.core import get2, tensorToMatrix, toMatrix
from ..registry import mirrors
from ..types import Mat, Tensor
from ..verdict import Verdict, combine, compare_exact
from .base import Config, definition_check, lemma

__all__ = ["toMatE", "toMatrix_toMatE"]


def _linear(cfg: Config) -> Any:
    from ..strategies import either_kind, linear_examples

    return either_kind(lambda rational: linear_examples(min_dim=cfg.min_dim, max_dim=cfg.max_dim,
                                                        rational=rational), cfg.dtype == "exact")


@mirrors("Proofs.Autograd.toMatE", "def")
def toMatE(W: Tensor) -> Mat:
    """`Proofs.Autograd.toMatE` (def): Return the matrix-shaped tensor as a `Mat m n`, entry (i, j)
    read with `Spec.get2 W i j`."""
    m, n = W.shape
    rows = [[get2(W, i, j) for j in range(n)] for i in range(m)]
    return Mat(np.array(rows, dtype=W.data.dtype).reshape(m, n))


@definition_check("Proofs.Autograd.toMatE", _linear, "spec: entries of toMatE W vs Spec.get2 W i j")
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
        [compare_exact("toMatE W i j vs Spec.get2 W i j", M.data.astype(object), entries)],
        W=ex.value("W"),
    )


@lemma("Proofs.Autograd.toMatrix_toMatE", _linear,
       "spec: toMatrix (toMatE W) vs tensorToMatrix W, exactly")
def toMatrix_toMatE(ex: LinearExample, subject: Subject) -> Verdict:
    """`Proofs.Autograd.toMatrix_toMatE` (lemma): Check `toMatrix (toMatE W) = tensorToMatrix W`.

    Both sides read the tensor through `Spec.get2` into different Lean types (`Mat` then
    `Matrix`, and `Matrix` directly); the comparison is exact, entry by entry.
    """
    name = "Proofs.Autograd.toMatrix_toMatE"
    W = Tensor(ex.value("W"))
    lhs = toMatrix(toMatE(W))
    rhs = tensorToMatrix(W)
    return combine(
        name,
        "spec",
        [compare_exact("toMatrix (toMatE W) vs tensorToMatrix W", lhs.data.astype(object),
                       rhs.data.astype(object))],
        W=ex.value("W"),
    )
