"""A worked example: wrapping your own backprop engine for `python -m spec check`.

`MyEngine` is a small hand-written engine in numpy: a forward pass that keeps its intermediate
values, and a backward pass that applies each layer's backward rule in reverse order. It imports
nothing from this project: the backend protocol is structural (see `spec/engine.py`).

It implements the three required methods, `forward`, `loss` and `grads`, and five of the seven
optional ones (`z1`, `a1`, `mse`, `mse_grad`, `relu_vjp`); it leaves out `linear_input_vjp` and
`jvp`, so the report shows which lemmas then run on the spec alone (see docs/engines.md).

Run it from the repository root (where `docs/` is importable as a namespace package):

    python -m spec check --backend docs.examples.my_engine:MyEngine

or from anywhere, with the folder on the path:

    PYTHONPATH=/path/to/repo/docs/examples python -m spec check --backend my_engine:MyEngine

Arrays arrive as float64 numpy arrays: `W1 (hidDim, inDim)`, `b1 (hidDim,)`, `W2 (outDim, hidDim)`,
`b2 (outDim,)`, `x (inDim,)`, `t (outDim,)` (the layout of `torch.nn.Linear.weight`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

__all__ = ["MyEngine"]


@dataclass(frozen=True)
class Forward:
    """The values of one forward pass, kept for the backward pass."""

    x: F64
    z1: F64
    a1: F64
    y: F64


class MyEngine:
    """A two-layer MLP with MSE loss and a hand-written backward pass.

    `y = W2 relu(W1 x + b1) + b2`, `loss = (1/n) Σ (y − t)²` (0 when n = 0, as in Lean, where
    division by zero is 0), and the gradient of the loss in `W1 b1 W2 b2 x` by reverse mode.
    """

    name = "my-engine"

    # Each layer's forward rule and backward rule (VJP), side by side.

    @staticmethod
    def _affine(W: F64, x: F64, b: F64) -> F64:
        out: F64 = W @ x + b
        return out

    @staticmethod
    def _affine_backward(W: F64, x: F64, g: F64) -> tuple[F64, F64, F64]:
        """Return `(dW, dx, db) = (g xᵀ, Wᵀ g, g)` for the upstream gradient `g`."""
        dW: F64 = np.outer(g, x)
        dx: F64 = W.T @ g
        return dW, dx, g

    @staticmethod
    def _relu(z: F64) -> F64:
        out: F64 = np.maximum(z, 0.0)
        return out

    @staticmethod
    def _relu_backward(z: F64, g: F64) -> F64:
        """Return `relu'(z) ⊙ g`, with relu'(0) = 0 (Lean's `reluDerivSpec`)."""
        out: F64 = np.where(z > 0, g, 0.0)
        return out

    @staticmethod
    def _mse(y: F64, t: F64) -> float:
        n = y.shape[0]
        return float(np.sum((y - t) ** 2) / n) if n else 0.0

    @staticmethod
    def _mse_backward(y: F64, t: F64) -> F64:
        n = y.shape[0]
        out: F64 = 2.0 * (y - t) / n if n else np.zeros(0)
        return out

    def _forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> Forward:
        z1 = self._affine(W1, x, b1)
        a1 = self._relu(z1)
        return Forward(x, z1, a1, self._affine(W2, a1, b2))

    # The protocol: the three required methods.

    def forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> F64:
        """Return the network's output `y`."""
        return self._forward(W1, b1, W2, b2, x).y

    def loss(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> float:
        """Return the MSE of the output against `t`."""
        return self._mse(self.forward(W1, b1, W2, b2, x), t)

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> dict[str, F64]:
        """Return the gradient of the loss in each of `W1 b1 W2 b2 x`, by one backward pass."""
        f = self._forward(W1, b1, W2, b2, x)
        g = self._mse_backward(f.y, t)
        dW2, da1, db2 = self._affine_backward(W2, f.a1, g)
        dz1 = self._relu_backward(f.z1, da1)
        dW1, dx, db1 = self._affine_backward(W1, f.x, dz1)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "x": dx}

    # Optional methods: each one lets a lemma run on this engine's own rule.

    def z1(self, W1: F64, b1: F64, x: F64) -> F64:
        """Return the hidden pre-activation `W1 x + b1`."""
        return self._affine(W1, x, b1)

    def a1(self, W1: F64, b1: F64, x: F64) -> F64:
        """Return the hidden activation `relu(W1 x + b1)`."""
        return self._relu(self._affine(W1, x, b1))

    def mse(self, y: F64, t: F64) -> float:
        """Return the loss as a function of the output alone."""
        return self._mse(y, t)

    def mse_grad(self, y: F64, t: F64) -> F64:
        """Return the loss's backward rule at seed 1: `(2/n)(y − t)`."""
        return self._mse_backward(y, t)

    def relu_vjp(self, z: F64, delta: F64) -> F64:
        """Return the ReLU backward rule applied to `delta` at `z`."""
        return self._relu_backward(z, delta)

    # Not implemented, so the lemmas that would use them run on the spec only:
    # linear_input_vjp(W, delta) -> Wᵀ delta, and jvp(W1, b1, W2, b2, x, tangents) -> dy.


if __name__ == "__main__":  # a quick self-check: python docs/examples/my_engine.py
    rng = np.random.default_rng(0)
    W1, b1, W2, b2, x, t = (
        rng.standard_normal(s) for s in ((4, 3), (4,), (2, 4), (2,), (3,), (2,))
    )
    e = MyEngine()
    print(e.name, "loss", e.loss(W1, b1, W2, b2, x, t))
    for k, v in e.grads(W1, b1, W2, b2, x, t).items():
        print(k, v.shape)
