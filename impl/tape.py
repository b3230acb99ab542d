"""A tape (Wengert list) for reverse mode: the MLP's three ops, each forward rule beside its VJP.

The ops are the ones `MlpMse.lean` builds its network from: `affine` (`affineMat W b x = W x + b`),
`relu` (`reluVec`) and `mse`. Each has a forward rule, a reverse rule (VJP: output adjoint ↦ input
adjoints) and, for the two layer ops, a forward-mode rule (JVP), written next to each other, so
each derivative is read off its forward rule in one place. `Tape` records the values of one
evaluation in order and `Tape.backward` walks that list in reverse, accumulating the adjoint of
every node.

The code is generic in the scalar type: the same lines run on float64, float32 and numpy object
arrays of `fractions.Fraction` (exact rationals). So it uses only `+ - * @`, comparisons and
`np.where`, builds every constant in the operands' dtype (`Fraction(2, n)`, never `2.0 / n`, on
object arrays), and handles the empty sums numpy gets wrong on object arrays by hand.

This package shares no code with `spec/`: it is an engine the spec is checked against, so it must
not borrow the formulas it is checked for.
"""

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

import numpy as np
from jaxtyping import Shaped
from numpy.typing import NDArray

Arr: TypeAlias = NDArray[Any]
"""An array of reals: float64 or float32, or object dtype holding `Fraction`s."""

__all__ = [
    "Arr",
    "is_exact",
    "zeros",
    "full",
    "scalar",
    "ratio",
    "matvec",
    "outer",
    "total",
    "affine",
    "affine_vjp",
    "affine_jvp",
    "linear_input_vjp",
    "linear_weight_vjp",
    "relu",
    "relu_vjp",
    "relu_jvp",
    "mse",
    "mse_vjp",
    "Node",
    "Tape",
]


# Constants and the two products, in the operands' scalar type.


def is_exact(dtype: np.dtype[Any]) -> bool:
    """Return whether `dtype` is the object dtype, which the engine reads as exact `Fraction`s."""
    return dtype.kind == "O"


def zeros(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Arr:
    """Return an array of zeros of `dtype`; on object dtype each entry is `Fraction(0)`."""
    return full(shape, 0, dtype)


def full(shape: tuple[int, ...], value: int, dtype: np.dtype[Any]) -> Arr:
    """Return an array filled with the integer `value` in `dtype` (a `Fraction` on object dtype)."""
    out: Arr = np.empty(shape, dtype=dtype)
    out.fill(Fraction(value) if is_exact(dtype) else value)
    return out


def scalar(value: Any, dtype: np.dtype[Any]) -> Shaped[Arr, ""]:
    """Return `value` as a 0-d array of `dtype`.

    numpy turns the result of arithmetic on 0-d arrays into a bare scalar (`np.float32`,
    `Fraction`); the tape keeps every value an array, so the loss is wrapped back here.
    """
    out: Arr = np.empty((), dtype=dtype)
    out[()] = value
    return out


def ratio(p: int, n: int, dtype: np.dtype[Any]) -> Any:
    """Return `p * (n : ℝ)⁻¹` as a scalar of `dtype`, with Lean's `(0 : ℝ)⁻¹ = 0`."""
    if is_exact(dtype):
        return Fraction(p, n) if n else Fraction(0)
    if n == 0:
        return dtype.type(0)
    return dtype.type(p) / dtype.type(n)


def matvec(W: Shaped[Arr, "m n"], v: Shaped[Arr, " n"]) -> Shaped[Arr, " m"]:
    """Return `W v`, whose entry `i` is `∑ j, W i j * v j`."""
    if W.shape[1] == 0:
        # An empty sum is 0 (`∑ j : Fin 0, _ = 0`). numpy's matmul on empty object arrays fills
        # the result with the int 0, which would leak a non-Fraction into exact arithmetic.
        return zeros((W.shape[0],), W.dtype)
    out: Arr = W @ v
    return out


def outer(u: Shaped[Arr, " m"], v: Shaped[Arr, " n"]) -> Shaped[Arr, "m n"]:
    """`Proofs.Autograd.outer` (def): Return `u vᵀ`, entry `(i, j)` = `u i * v j` (row from `u`)."""
    # Broadcasting rather than `np.outer`: it keeps the dtype on object arrays and empty axes.
    out: Arr = u[:, None] * v[None, :]
    return out


def total(v: Shaped[Arr, " n"]) -> Shaped[Arr, ""]:
    """Return `∑ i, v i` as a 0-d array; the empty sum is the zero of `v`'s dtype."""
    if v.shape[0] == 0:
        return zeros((), v.dtype)  # numpy's empty object sum is the int 0
    return scalar(np.sum(v), v.dtype)


# affine: z = W x + b (`Proofs.Autograd.affineMat W b x`), used for both layers.


def affine(W: Shaped[Arr, "m n"], x: Shaped[Arr, " n"], b: Shaped[Arr, " m"]) -> Shaped[Arr, " m"]:
    """`Proofs.Autograd.affineMat` (def): Return `W x + b`."""
    return matvec(W, x) + b


def linear_weight_vjp(delta: Shaped[Arr, " m"], x: Shaped[Arr, " n"]) -> Shaped[Arr, "m n"]:
    """Return the weight adjoint of `W ↦ W x` at upstream `δ`: `δ xᵀ` (`outer δ x`)."""
    return outer(delta, x)


def linear_input_vjp(W: Shaped[Arr, "m n"], delta: Shaped[Arr, " m"]) -> Shaped[Arr, " n"]:
    """`Spec.linearInputDerivSpec` (def): Return the input adjoint of `x ↦ W x` at `δ`: `Wᵀ δ`."""
    return matvec(W.T, delta)


def affine_vjp(
    W: Shaped[Arr, "m n"], x: Shaped[Arr, " n"], delta: Shaped[Arr, " m"]
) -> tuple[Shaped[Arr, "m n"], Shaped[Arr, " n"], Shaped[Arr, " m"]]:
    """Return the adjoints `(dW, dx, db) = (δ xᵀ, Wᵀ δ, δ)` of `affine(W, x, b)` at upstream `δ`."""
    # `b` does not appear: the map is affine, so its derivative does not depend on `b`.
    return linear_weight_vjp(delta, x), linear_input_vjp(W, delta), delta


def affine_jvp(
    W: Shaped[Arr, "m n"],
    x: Shaped[Arr, " n"],
    dW: Shaped[Arr, "m n"] | None,
    dx: Shaped[Arr, " n"] | None,
    db: Shaped[Arr, " m"] | None,
) -> Shaped[Arr, " m"]:
    """Return the tangent `dW x + W dx + db` of `affine(W, x, b)` along `(dW, dx, db)`; a `None`
    tangent is zero, and its term is skipped rather than computed from a zero array."""
    # The product rule for the bilinear `W x`; the term `dW dx` is second order and drops out.
    out = zeros((W.shape[0],), W.dtype)
    if dW is not None:
        out = out + matvec(dW, x)
    if dx is not None:
        out = out + matvec(W, dx)
    if db is not None:
        out = out + db
    return out


# relu: a = relu(z), entrywise (`Proofs.Autograd.reluVec`, `Activation.Math.reluSpec`).
#
# The derivative used is Lean's `Activation.Math.reluDerivSpec`: `relu'(s) = 1 if s > 0 else 0`,
# strict, so `relu'(0) = 0`. At `s = 0` relu has no derivative, and the gradient theorems carry the
# no-kink hypothesis `∀ i, z1 i ≠ 0`, so the value chosen there never enters a theorem; the engine
# still returns Lean's 0 there so that `reluDerivCLM_*` can be checked at kinks as well.


def relu(z: Shaped[Arr, " n"]) -> Shaped[Arr, " n"]:
    """`Activation.Math.reluSpec` (def), entrywise: Return `z i` where `z i > 0`, else 0."""
    return np.where(z > 0, z, zeros(z.shape, z.dtype))


def relu_vjp(z: Shaped[Arr, " n"], delta: Shaped[Arr, " n"]) -> Shaped[Arr, " n"]:
    """`Proofs.Autograd.reluDerivCLM` (def): Return `relu'(z) ⊙ δ`, with `relu'(0) = 0`."""
    # `where`, not `delta * mask`: a 0/1 factor is the same on reals, and `where` also keeps the
    # dtype and never makes a `-0.0`.
    return np.where(z > 0, delta, zeros(z.shape, z.dtype))


def relu_jvp(z: Shaped[Arr, " n"], dz: Shaped[Arr, " n"]) -> Shaped[Arr, " n"]:
    """Return the tangent `relu'(z) ⊙ dz` of `relu` at `z` along `dz`."""
    # The derivative is diagonal, hence self-adjoint (`reluDerivCLM_adjoint_apply`): forward and
    # reverse mode apply the same map, so one rule serves both.
    return relu_vjp(z, dz)


# mse: L = mse t y = (1/n) ‖y − t‖², n = the length of y (`Proofs.Autograd.mse`).


def mse(y: Shaped[Arr, " n"], t: Shaped[Arr, " n"]) -> Shaped[Arr, ""]:
    """`Proofs.Autograd.mse` (def): Return `(1/n) · ‖y − t‖²` as a 0-d array; 0 when `n = 0`."""
    d = y - t
    return scalar(ratio(1, y.shape[0], y.dtype) * total(d * d)[()], y.dtype)


def mse_vjp(y: Shaped[Arr, " n"], t: Shaped[Arr, " n"], seed: Shaped[Arr, ""]) -> Shaped[Arr, " n"]:
    """Return the adjoint of `y` in `mse t y` at upstream `seed`: `seed · mseGrad y t`.

    `Proofs.Autograd.mseGrad y t = (2/n) · (y − t)` is the case `seed = 1`
    (`mseGrad_eq_adjoint_fderiv`); at `n = 0` it is the empty vector.
    """
    out: Arr = ratio(2, y.shape[0], y.dtype) * (y - t) * seed[()]
    return out


# The tape.


@dataclass(eq=False)
class Node:
    """One entry of the tape: a value, the nodes it was computed from, and how to pull back.

    `vjp` maps the adjoint of this node to the adjoints of `parents`, in order; it is `None` for a
    leaf (an input the gradient is taken with respect to).
    """

    value: Arr
    parents: "tuple[Node, ...]" = ()
    vjp: Callable[[Arr], tuple[Arr, ...]] | None = None
    name: str = ""
    index: int = -1


class Tape:
    """A Wengert list: nodes in the order they were computed, so reversed order is a valid order
    for the chain rule (every use of a node comes after it)."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.adjoints: dict[int, Arr] = {}

    def _record(self, node: Node) -> Node:
        node.index = len(self.nodes)
        self.nodes.append(node)
        return node

    def leaf(self, value: Arr, name: str) -> Node:
        """Record an input, whose adjoint `backward` computes."""
        return self._record(Node(value, name=name))

    def affine(self, W: Node, x: Node, b: Node, name: str = "") -> Node:
        """Record `W x + b`."""
        Wv, xv = W.value, x.value
        return self._record(
            Node(affine(Wv, xv, b.value), (W, x, b), lambda d: affine_vjp(Wv, xv, d), name)
        )

    def relu(self, z: Node, name: str = "") -> Node:
        """Record `relu z`."""
        zv = z.value
        return self._record(Node(relu(zv), (z,), lambda d: (relu_vjp(zv, d),), name))

    def mse(self, y: Node, t: Arr, name: str = "") -> Node:
        """Record `mse t y`; the target `t` is a constant, not a node, so it gets no adjoint."""
        yv = y.value
        return self._record(Node(mse(yv, t), (y,), lambda s: (mse_vjp(yv, t, s),), name))

    def backward(self, seed: Arr | None = None) -> None:
        """Seed the last node with `seed` (default 1) and accumulate every node's adjoint.

        Walks the tape in reverse; a node's adjoint is the sum over its uses, so a value used twice
        gets both contributions. Nodes the output does not depend on keep the adjoint 0.
        """
        if not self.nodes:
            raise ValueError("Tape.backward: the tape is empty")
        out = self.nodes[-1]
        shape, dtype = out.value.shape, out.value.dtype
        if seed is None:
            seed = full(shape, 1, dtype)
        elif seed.shape != shape:
            raise ValueError(
                f"Tape.backward: seed has shape {seed.shape} but the output has {shape}"
            )
        adj = {n.index: zeros(n.value.shape, n.value.dtype) for n in self.nodes}
        adj[out.index] = seed
        for node in reversed(self.nodes):
            if node.vjp is None:
                continue
            for parent, g in zip(node.parents, node.vjp(adj[node.index]), strict=True):
                adj[parent.index] = adj[parent.index] + g
        self.adjoints = adj

    def grad(self, node: Node) -> Arr:
        """Return the adjoint of `node` from the last `backward`."""
        if node.index not in self.adjoints:
            raise ValueError(
                f"Tape.grad: no adjoint for node {node.name or node.index}; call backward() first"
            )
        return self.adjoints[node.index]
