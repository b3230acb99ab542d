"""The two-layer MLP with MSE loss on the tape, and `ReferenceBackend`, the built-in engine.

`mlpVecMat W1 b1 W2 b2 x = W2 · relu(W1 x + b1) + b2` and `mse t y = (1/n) ‖y − t‖²`, with the
intermediate values under their Lean names `z1`, `a1`, `y`. Gradients come from one forward pass
recorded on a `Tape` and one reverse pass over it; no closed-form gradient appears here.

Scalars: float inputs are computed in the backend's dtype (float64 by default; float32 for
`ReferenceBackend(dtype=np.float32)`, whose results come back as float64 arrays). In the default
float64 backend, object arrays of `Fraction`s (or ints) switch a call to exact rational arithmetic,
and the results are object arrays of `Fraction`s.
"""

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from jaxtyping import Shaped
from numpy.typing import NDArray

from . import tape as tp
from .tape import Arr, Node, Tape

__all__ = ["MlpTape", "record_mlp", "ReferenceBackend", "PARAMS"]

PARAMS: tuple[str, ...] = ("W1", "b1", "W2", "b2", "x")
"""The arguments `grads` and `jvp` differentiate with respect to, in the protocol's order."""


def float_input(a: Any, engine: str) -> NDArray[np.float64]:
    """Return an input array as float64 (the array itself when it is float64 already), or raise
    `ValueError` for entries a floating-point engine cannot compute with, e.g. the exact rationals
    `--exact` hands out."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise ValueError(
            f"{engine} computes in floating point; it cannot take {arr.dtype} entries "
            "(exact rationals, as `--exact` hands out, need an engine that computes exactly)"
        )
    out: NDArray[np.float64] = arr.astype(np.float64, copy=False)
    return out


def check_tangents(
    tangents: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]] | None = None
) -> None:
    """Raise `ValueError` for a key of a `jvp`'s `tangents` that is not one of `PARAMS`, or, given
    the primals' shapes, for a tangent of another shape (one place for every engine's messages)."""
    unknown = sorted(set(tangents) - set(PARAMS))
    if unknown:
        raise ValueError(
            f"tangents has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(PARAMS)}"
        )
    for k, shape in (shapes or {}).items():
        if k in tangents and tuple(np.shape(tangents[k])) != tuple(shape):
            raise ValueError(
                f"tangents[{k!r}] has shape {tuple(np.shape(tangents[k]))}; "
                f"expected {tuple(shape)}, the shape of {k}"
            )


# Lean's implicit `{inDim hidDim outDim : Nat}`: the named axes of every argument.
_AXES: dict[str, tuple[str, ...]] = {
    "W1": ("hidDim", "inDim"),
    "b1": ("hidDim",),
    "W2": ("outDim", "hidDim"),
    "b2": ("outDim",),
    "x": ("inDim",),
    "t": ("outDim",),
}


@dataclass(frozen=True, eq=False)
class MlpTape:
    """One recorded evaluation of the MLP: the tape, its leaves by name, and the named values."""

    tape: Tape
    leaves: dict[str, Node]
    z1: Node
    a1: Node
    y: Node
    loss: Node | None


def record_mlp(
    W1: Shaped[Arr, "hidDim inDim"],
    b1: Shaped[Arr, " hidDim"],
    W2: Shaped[Arr, "outDim hidDim"],
    b2: Shaped[Arr, " outDim"],
    x: Shaped[Arr, " inDim"],
    t: Shaped[Arr, " outDim"] | None = None,
) -> MlpTape:
    """`Proofs.Autograd.mlpVecMat` (def): Record `y = W2 · relu(W1 x + b1) + b2` (and `mse t y`).

    Assumes validated arrays of one dtype; `ReferenceBackend` checks its arguments first.
    """
    tape = Tape()
    leaves = {k: tape.leaf(v, k) for k, v in zip(PARAMS, (W1, b1, W2, b2, x), strict=True)}
    z1 = tape.affine(leaves["W1"], leaves["x"], leaves["b1"], "z1")  # `Proofs.Autograd.z1`
    a1 = tape.relu(z1, "a1")  # `Proofs.Autograd.a1`
    y = tape.affine(leaves["W2"], a1, leaves["b2"], "y")  # `Proofs.Autograd.y`
    loss = None if t is None else tape.mse(y, t, "loss")
    return MlpTape(tape, leaves, z1, a1, y, loss)


class ReferenceBackend:
    """The built-in reverse-mode engine: a tape in numpy, generic in the scalar type.

    Implements the backend protocol of `spec.engine`, with every optional method. Each method
    checks its arguments and raises `ValueError` naming the argument, its shape and the expected
    shape when the dimensions disagree.

    - `dtype`: the float type to compute in, default `np.float64`; e.g.
      `ReferenceBackend(dtype=np.float32)` computes in float32 and returns float64 arrays.
    """

    name: str

    def __init__(self, dtype: Any = np.float64) -> None:
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise ValueError(
                f"ReferenceBackend: dtype={dt} is not a float type; pass e.g. np.float64 or "
                "np.float32"
            )
        self.dtype: np.dtype[Any] = dt
        self.name = "reference" if dt == np.float64 else f"reference-{dt.name}"

    def __repr__(self) -> str:
        return f"ReferenceBackend(dtype=np.{self.dtype.name})"

    # The protocol.

    def forward(
        self,
        W1: NDArray[Any],
        b1: NDArray[Any],
        W2: NDArray[Any],
        b2: NDArray[Any],
        x: NDArray[Any],
    ) -> NDArray[Any]:
        """`Proofs.Autograd.mlpVecMat` (def): Return `y = W2 · relu(W1 x + b1) + b2`."""
        W1, b1, W2, b2, x = self._prepare(_mlp_args(W1, b1, W2, b2, x))
        return self._out(record_mlp(W1, b1, W2, b2, x).y.value)

    def loss(
        self,
        W1: NDArray[Any],
        b1: NDArray[Any],
        W2: NDArray[Any],
        b2: NDArray[Any],
        x: NDArray[Any],
        t: NDArray[Any],
    ) -> float | Fraction:
        """Return `mse t (mlpVecMat W1 b1 W2 b2 x)`: a float, or a `Fraction` in exact mode."""
        W1, b1, W2, b2, x, t = self._prepare(_mlp_args(W1, b1, W2, b2, x, t))
        loss = record_mlp(W1, b1, W2, b2, x, t).loss
        assert loss is not None
        return self._scalar_out(loss.value)

    def grads(
        self,
        W1: NDArray[Any],
        b1: NDArray[Any],
        W2: NDArray[Any],
        b2: NDArray[Any],
        x: NDArray[Any],
        t: NDArray[Any],
    ) -> dict[str, NDArray[Any]]:
        """Return the gradient of the loss in each of `W1 b1 W2 b2 x`, by one reverse pass.

        The `grad_*_mse` theorems state what these equal under the no-kink hypothesis; here they
        are computed, not looked up.
        """
        W1, b1, W2, b2, x, t = self._prepare(_mlp_args(W1, b1, W2, b2, x, t))
        rec = record_mlp(W1, b1, W2, b2, x, t)
        rec.tape.backward()
        return {k: self._out(rec.tape.grad(rec.leaves[k])) for k in PARAMS}

    # The optional methods, each reusing the rule of `impl.tape` it names.

    def z1(self, W1: NDArray[Any], b1: NDArray[Any], x: NDArray[Any]) -> NDArray[Any]:
        """`Proofs.Autograd.z1` (def): Return the hidden pre-activation `W1 x + b1`."""
        W1, b1, x = self._prepare(
            [("W1", W1, _AXES["W1"]), ("b1", b1, _AXES["b1"]), ("x", x, _AXES["x"])]
        )
        return self._out(tp.affine(W1, x, b1))

    def a1(self, W1: NDArray[Any], b1: NDArray[Any], x: NDArray[Any]) -> NDArray[Any]:
        """`Proofs.Autograd.a1` (def): Return the hidden activation `relu(W1 x + b1)`."""
        W1, b1, x = self._prepare(
            [("W1", W1, _AXES["W1"]), ("b1", b1, _AXES["b1"]), ("x", x, _AXES["x"])]
        )
        return self._out(tp.relu(tp.affine(W1, x, b1)))

    def mse(self, y: NDArray[Any], t: NDArray[Any]) -> float | Fraction:
        """`Proofs.Autograd.mse` (def): Return `(1/n) ‖y − t‖²`, which is 0 when `n = 0`."""
        y, t = self._prepare([("y", y, ("n",)), ("t", t, ("n",))])
        return self._scalar_out(tp.mse(y, t))

    def mse_grad(self, y: NDArray[Any], t: NDArray[Any]) -> NDArray[Any]:
        """`Proofs.Autograd.mseGrad` (def): Return `(2/n) (y − t)`, the VJP of `mse` at seed 1."""
        y, t = self._prepare([("y", y, ("n",)), ("t", t, ("n",))])
        return self._out(tp.mse_vjp(y, t, tp.full((), 1, y.dtype)))

    def relu_vjp(self, z: NDArray[Any], delta: NDArray[Any]) -> NDArray[Any]:
        """`Proofs.Autograd.reluDerivCLM` (def): Return `relu'(z) ⊙ δ`, with `relu'(0) = 0`."""
        z, delta = self._prepare([("z", z, ("n",)), ("delta", delta, ("n",))])
        return self._out(tp.relu_vjp(z, delta))

    def linear_input_vjp(self, W: NDArray[Any], delta: NDArray[Any]) -> NDArray[Any]:
        """`Spec.linearInputDerivSpec` (def): Return `Wᵀ δ`, the input adjoint of `x ↦ W x`."""
        W, delta = self._prepare([("W", W, ("outDim", "inDim")), ("delta", delta, ("outDim",))])
        return self._out(tp.linear_input_vjp(W, delta))

    def jvp(
        self,
        W1: NDArray[Any],
        b1: NDArray[Any],
        W2: NDArray[Any],
        b2: NDArray[Any],
        x: NDArray[Any],
        tangents: Mapping[str, NDArray[Any]],
    ) -> NDArray[Any]:
        """Return the derivative of `forward` at `(W1, b1, W2, b2, x)` along `tangents`.

        `dz1 = dW1 x + W1 dx + db1`, `dy = dW2 a1 + W2 (relu'(z1) ⊙ dz1) + db2`, with the strict
        `relu'` (0 at a kink). A key missing from `tangents` means a zero tangent.
        """
        check_tangents(tangents)
        given = [k for k in PARAMS if k in tangents]
        arrays = self._prepare(
            _mlp_args(W1, b1, W2, b2, x)
            + [(f"tangents[{k!r}]", tangents[k], _AXES[k]) for k in given]
        )
        W1, b1, W2, b2, x = arrays[:5]
        # A missing tangent is zero: its term is skipped (a zero W1 would cost a pass over a
        # million-entry array for nothing).
        d: dict[str, Arr | None] = dict.fromkeys(PARAMS)
        d.update(zip(given, arrays[5:], strict=True))
        rec = record_mlp(W1, b1, W2, b2, x)
        z1, a1 = rec.z1.value, rec.a1.value
        dz1 = tp.affine_jvp(W1, x, d["W1"], d["x"], d["b1"])
        dy = tp.affine_jvp(W2, a1, d["W2"], tp.relu_jvp(z1, dz1), d["b2"])
        return self._out(dy)

    # Checking and converting arguments and results.

    def _prepare(self, args: Sequence[tuple[str, Any, tuple[str, ...]]]) -> list[Arr]:
        """Return the arguments as arrays of one scalar type, after checking their shapes."""
        arrays = [_as_real(value, name) for name, value, _ in args]
        _check_axes([(name, a, axes) for (name, _, axes), a in zip(args, arrays, strict=True)])
        names = [name for name, _, _ in args]
        if self.dtype != np.float64:
            return [_cast(a, self.dtype, name) for name, a in zip(names, arrays, strict=True)]
        if any(tp.is_exact(a.dtype) for a in arrays):
            # One exact argument makes the call exact: floats convert to rationals without error.
            return [_exact(a, name) for name, a in zip(names, arrays, strict=True)]
        return [a.astype(np.float64, copy=False) for a in arrays]

    def _out(self, a: Arr) -> NDArray[Any]:
        # float32 results come back as float64 arrays holding the same (float32) values.
        return a if tp.is_exact(a.dtype) else a.astype(np.float64, copy=False)

    def _scalar_out(self, a: Arr) -> float | Fraction:
        value = a[()]
        return value if isinstance(value, Fraction) else float(value)


def _mlp_args(*arrays: Any) -> list[tuple[str, Any, tuple[str, ...]]]:
    names = (*PARAMS, "t")[: len(arrays)]
    return [(k, a, _AXES[k]) for k, a in zip(names, arrays, strict=True)]


def _as_real(value: Any, name: str) -> Arr:
    arr: Arr = np.asarray(value)
    if arr.dtype.kind not in "fiubO":
        raise ValueError(
            f"{name} has dtype {arr.dtype} but should hold real numbers "
            "(a float, int or bool dtype, or Fraction objects)"
        )
    return arr


def _check_axes(args: Sequence[tuple[str, Arr, tuple[str, ...]]]) -> None:
    """Raise `ValueError` unless each named axis has one size across all arguments.

    The first argument with an axis fixes its size; a later disagreement is reported against it,
    e.g. "W2 has shape (3, 4) but W1 says hidDim = 5 (W2 should have shape (outDim, hidDim) =
    (3, 5))".
    """
    bound: dict[str, tuple[int, str]] = {}
    for name, arr, axes in args:
        shape = tuple(int(s) for s in arr.shape)
        if len(shape) != len(axes):
            raise ValueError(
                f"{name} has shape {shape} but should have {len(axes)} "
                f"ax{'i' if len(axes) == 1 else 'e'}s ({', '.join(axes)})"
            )
        for axis, size in zip(axes, shape, strict=True):
            if axis in bound and bound[axis][0] != size:
                expected = tuple(
                    bound[a][0] if a in bound else s for a, s in zip(axes, shape, strict=True)
                )
                raise ValueError(
                    f"{name} has shape {shape} but {bound[axis][1]} says {axis} = "
                    f"{bound[axis][0]} ({name} should have shape ({', '.join(axes)}) = {expected})"
                )
            bound.setdefault(axis, (size, name))


def _cast(a: Arr, dtype: np.dtype[Any], name: str) -> Arr:
    try:
        out: Arr = a.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot convert its entries to {dtype}: {exc}") from exc
    return out


def _exact(a: Arr, name: str) -> Arr:
    """Return `a` as an object array of `Fraction`s, converting each entry exactly."""
    out: Arr = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = _fraction(a[idx], name, idx)
    return out


def _fraction(v: Any, name: str, idx: tuple[int, ...]) -> Fraction:
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (bool, np.bool_)):
        return Fraction(int(v))
    if isinstance(v, numbers.Rational):  # int, np.integer
        return Fraction(int(v.numerator), int(v.denominator))
    if isinstance(v, (float, np.floating)) and math.isfinite(float(v)):
        return Fraction(float(v))  # exact: every finite float is a rational
    raise ValueError(f"{name}[{', '.join(map(str, idx))}] = {v!r} is not a finite real number")
