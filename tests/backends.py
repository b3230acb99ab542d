"""Engines for the conformance tests: deliberately wrong ones, which must be caught, and correct
variants, which must never be flagged.

Everything here is plain numpy, written without `impl` or `spec`: `MinimalMlp` is the textbook
two-layer MLP with MSE loss and its hand-written backward pass, split into small steps (`pre`,
`act`, `hidden_mask`, `mse_gradient`, `back_W2`, …) so that a mutant overrides exactly one step.
`NumpyMlp` adds every optional method of the protocol (`z1`, `a1`, `mse`, `mse_grad`, `relu_vjp`,
`linear_input_vjp`, `jvp`), built from the same steps, so a mutated step shows wherever the engine
uses it: a wrong engine is wrong consistently, as a real one would be.

Each class is usable as `--backend tests.backends:ClassName` (a class is a zero-argument callable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Grads = dict[str, F64]

__all__ = [
    "F64",
    "MinimalMlp",
    "NumpyMlp",
    # wrong engines
    "MissingFactor2",
    "SumNotMean",
    "NoReluMask",
    "MaskFromW1x",
    "MaskFromOtherUnit",
    "W2NotTransposed",
    "OuterSwappedReshaped",
    "OuterSwappedRaw",
    "LeakyRelu",
    "MissingBias1",
    "TinyErrorW1",
    "TinyErrorX",
    "HidDimOneNoMask",
    "OutDimOneNoFactor2",
    "ReluVjpHalfAtZero",
    "ReluVjpOneAtZero",
    "ReluVjpMaskFromDelta",
    "LinearInputVjpNotTransposed",
    "JvpIgnoresRelu",
    "RaisesInGrads",
    "NaNInGrads",
    "WrongOutputShape",
    "GradsAsList",
    "WritesIntoInputs",
    "WritesThroughTorch",
    "ExitsInWorkers",
    "MaskEpsilon",
    "ReluEpsilon",
    "MaskEpsilon6",
    "MaskEpsilon9",
    "MaskEpsilon12",
    "MaskRelative",
    "MaskFloat16",
    "ReluOneAtZero",
    "ReluDerivOneAtZero",
    "NaNAtEmptyOutput",
    "WRONG",
    "EPSILON",
    "EDGE",
    "ERRORING",
    "TINY",
    # correct variants
    "ReversedLoops",
    "FsumSums",
    "PairwiseSums",
    "EinsumSums",
    "MaskZ1NonNegative",
    "MaskA1Positive",
    "NormLoss",
    "LongDouble",
    "CORRECT",
]


def _f64(a: Any) -> F64:
    out: F64 = np.asarray(a, dtype=np.float64)
    return out


class MinimalMlp:
    """The protocol's three methods only: `forward`, `loss`, `grads`, by hand in numpy.

    `y = W2 relu(W1 x + b1) + b2`, `loss = (1/n) ‖y − t‖²` (0 when n = 0), and the backward pass
    `g = (2/n)(y − t)`, `dW2 = g a1ᵀ`, `db2 = g`, `db1 = relu'(z1) ⊙ W2ᵀ g`, `dx = W1ᵀ db1`,
    `dW1 = db1 xᵀ`, with `relu'(s) = [s > 0]`.
    """

    name = "numpy-minimal"

    # Primitive sums: the correct variants change how a sum is computed, nothing else.

    def matvec(self, W: F64, v: F64) -> F64:
        """Return `W v`."""
        return _f64(W @ v)

    def dot(self, a: F64, b: F64) -> float:
        """Return `Σ a_k b_k`."""
        return float(a @ b)

    def transpose_apply(self, W: F64, d: F64) -> F64:
        """Return `Wᵀ d`, the input gradient of `v ↦ W v` at upstream `d`."""
        return self.matvec(np.ascontiguousarray(W.T), d)

    def outer(self, u: F64, v: F64) -> F64:
        """Return `u vᵀ`."""
        return _f64(np.outer(u, v))

    # Steps of the forward pass.

    def pre(self, W1: F64, b1: F64, x: F64) -> F64:
        """Return `z1 = W1 x + b1`."""
        return self.matvec(W1, x) + b1

    def act(self, z: F64) -> F64:
        """Return `relu z`."""
        return _f64(np.where(z > 0, z, 0.0))

    def act_deriv(self, z: F64) -> F64:
        """Return `relu'(z)` entrywise, with `relu'(0) = 0`."""
        return _f64((z > 0).astype(np.float64))

    def output(self, W2: F64, a1: F64, b2: F64) -> F64:
        """Return `y = W2 a1 + b2`."""
        return self.matvec(W2, a1) + b2

    def inv_n(self, n: int) -> float:
        """Return `1/n`, with `1/0 = 0` as in Lean."""
        return 1.0 / n if n else 0.0

    def mse_value(self, y: F64, t: F64) -> float:
        """Return `(1/n) ‖y − t‖²`."""
        r = y - t
        return self.inv_n(y.shape[0]) * self.dot(r, r)

    def mse_gradient(self, y: F64, t: F64) -> F64:
        """Return `(2/n)(y − t)`."""
        return (2.0 * self.inv_n(y.shape[0])) * (y - t)

    # Steps of the backward pass.

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        """Return the ReLU mask the backward pass multiplies by: `relu'(z1)`."""
        return self.act_deriv(z1)

    def back_W2(self, W2: F64, g: F64) -> F64:
        """Return `W2ᵀ g`."""
        return self.transpose_apply(W2, g)

    def back_W1(self, W1: F64, d: F64) -> F64:
        """Return `W1ᵀ d`."""
        return self.transpose_apply(W1, d)

    def grad_W2(self, g: F64, a1: F64) -> F64:
        """Return `g a1ᵀ`."""
        return self.outer(g, a1)

    def grad_W1(self, d: F64, x: F64) -> F64:
        """Return `d xᵀ`."""
        return self.outer(d, x)

    # The protocol.

    def forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> Any:
        return self.output(W2, self.act(self.pre(W1, b1, x)), b2)

    def loss(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        return self.mse_value(_f64(self.forward(W1, b1, W2, b2, x)), t)

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        z1 = self.pre(W1, b1, x)
        a1 = self.act(z1)
        y = self.output(W2, a1, b2)
        g = self.mse_gradient(y, t)
        d1 = self.hidden_mask(z1, a1, W1, b1, x) * self.back_W2(W2, g)
        out: Grads = {
            "W1": self.grad_W1(d1, x),
            "b1": d1,
            "W2": self.grad_W2(g, a1),
            "b2": g,
            "x": self.back_W1(W1, d1),
        }
        return out


class NumpyMlp(MinimalMlp):
    """`MinimalMlp` with every optional method of the protocol, built from the same steps."""

    name = "numpy"

    def z1(self, W1: F64, b1: F64, x: F64) -> Any:
        return self.pre(W1, b1, x)

    def a1(self, W1: F64, b1: F64, x: F64) -> Any:
        return self.act(self.pre(W1, b1, x))

    def mse(self, y: F64, t: F64) -> Any:
        return self.mse_value(y, t)

    def mse_grad(self, y: F64, t: F64) -> Any:
        return self.mse_gradient(y, t)

    def relu_vjp(self, z: F64, delta: F64) -> Any:
        return self.act_deriv(z) * delta

    def linear_input_vjp(self, W: F64, delta: F64) -> Any:
        return self.transpose_apply(W, delta)

    def jvp(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, tangents: Mapping[str, F64]) -> Any:
        def tan(k: str, like: F64) -> F64:
            return _f64(tangents[k]) if k in tangents else np.zeros_like(like)

        tW1, tb1, tW2, tb2, tx = (
            tan("W1", W1),
            tan("b1", b1),
            tan("W2", W2),
            tan("b2", b2),
            tan("x", x),
        )
        z1 = self.pre(W1, b1, x)
        a1 = self.act(z1)
        dz1 = self.matvec(tW1, x) + self.matvec(W1, tx) + tb1
        da1 = self.act_deriv(z1) * dz1
        return self.matvec(tW2, a1) + self.matvec(W2, da1) + tb2


# --- Wrong engines: each must be caught ------------------------------------------------------


class MissingFactor2(NumpyMlp):
    """MSE gradient `(1/n)(y − t)`: the factor 2 of `d/dy ‖y − t‖²` is missing."""

    name = "missing-factor-2"

    def mse_gradient(self, y: F64, t: F64) -> F64:
        return self.inv_n(y.shape[0]) * (y - t)


class SumNotMean(NumpyMlp):
    """Loss `‖y − t‖²` and gradient `2(y − t)`: a sum over outputs where Lean takes the mean."""

    name = "sum-not-mean"

    def inv_n(self, n: int) -> float:
        return 1.0


class NoReluMask(NumpyMlp):
    """Backward pass without the ReLU mask: `db1 = W2ᵀ g` at inactive units too."""

    name = "no-relu-mask"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return np.ones_like(z1)


class MaskFromW1x(NumpyMlp):
    """ReLU mask taken from `W1 x`, the pre-activation without the bias `b1`."""

    name = "mask-from-W1x"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return self.act_deriv(self.matvec(W1, x))


class MaskFromOtherUnit(NumpyMlp):
    """ReLU mask of unit i taken from unit i − 1 (an off-by-one in the mask's index)."""

    name = "mask-from-other-unit"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return _f64(np.roll(self.act_deriv(z1), 1))


class W2NotTransposed(NumpyMlp):
    """Backward through the second layer with `W2` read as `(hid, out)`: `W2 g` instead of `W2ᵀ g`
    for square `W2`, and the row-major reshape of `W2` otherwise (so the shapes stay right)."""

    name = "W2-not-transposed"

    def back_W2(self, W2: F64, g: F64) -> F64:
        out_dim, hid = W2.shape
        return self.matvec(W2.reshape(hid, out_dim), g)


class OuterSwappedReshaped(NumpyMlp):
    """`dW1 = outer(x, δ)` reshaped to `(hid, in)`: the right shape, the wrong values."""

    name = "outer-swapped-reshaped"

    def grad_W1(self, d: F64, x: F64) -> F64:
        return self.outer(x, d).reshape(d.shape[0], x.shape[0])


class OuterSwappedRaw(NumpyMlp):
    """`dW1 = outer(x, δ)`: shape `(in, hid)`, an error when `in ≠ hid`, wrong values otherwise."""

    name = "outer-swapped-raw"

    def grad_W1(self, d: F64, x: F64) -> F64:
        return self.outer(x, d)


class LeakyRelu(NumpyMlp):
    """A leaky ReLU (slope 0.01) with its own, consistent derivative: forward and backward agree
    with each other, but the function is not Lean's `mlpVecMat`."""

    name = "leaky-relu"

    def act(self, z: F64) -> F64:
        return _f64(np.where(z > 0, z, 0.01 * z))

    def act_deriv(self, z: F64) -> F64:
        return _f64(np.where(z > 0, 1.0, 0.01))


class MissingBias1(NumpyMlp):
    """Forward without the hidden bias, `z1 = W1 x`, with the consistent backward (`db1 = 0`)."""

    name = "missing-bias-1"

    def pre(self, W1: F64, b1: F64, x: F64) -> F64:
        return self.matvec(W1, x)

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        out: Grads = super().grads(W1, b1, W2, b2, x, t)
        out["b1"] = np.zeros_like(b1)
        return out


def _nudge_largest(a: F64, rel: float) -> F64:
    out = a.copy()
    if out.size:
        idx = np.unravel_index(int(np.argmax(np.abs(out))), out.shape)
        out[idx] *= 1.0 + rel
    return out


class TinyErrorW1(NumpyMlp):
    """The largest-magnitude entry of `dW1` off by a relative 1e-9, everything else right."""

    name = "tiny-error-W1"
    rel = 1e-9

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        out: Grads = super().grads(W1, b1, W2, b2, x, t)
        out["W1"] = _nudge_largest(out["W1"], self.rel)
        return out


class TinyErrorX(NumpyMlp):
    """The largest-magnitude entry of `dx` off by a relative 1e-9, everything else right."""

    name = "tiny-error-x"
    rel = 1e-9

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        out: Grads = super().grads(W1, b1, W2, b2, x, t)
        out["x"] = _nudge_largest(out["x"], self.rel)
        return out


class HidDimOneNoMask(NumpyMlp):
    """Right everywhere except `hidDim == 1`, where the backward pass forgets the ReLU mask
    (a "single unit" fast path)."""

    name = "hid-dim-1-no-mask"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        if z1.shape[0] == 1:
            return np.ones_like(z1)
        return self.act_deriv(z1)


class OutDimOneNoFactor2(NumpyMlp):
    """Right everywhere except `outDim == 1`, where the MSE gradient is `y − t` (a "scalar
    regression" fast path that drops the factor 2)."""

    name = "out-dim-1-no-factor-2"

    def mse_gradient(self, y: F64, t: F64) -> F64:
        if y.shape[0] == 1:
            return y - t
        return super().mse_gradient(y, t)


class ReluVjpHalfAtZero(NumpyMlp):
    """ReLU backward rule with `relu'(0) = 0.5` (the convention of JAX's `maximum`)."""

    name = "relu-vjp-half-at-zero"

    def relu_vjp(self, z: F64, delta: F64) -> Any:
        return np.where(z > 0, delta, np.where(z == 0, 0.5 * delta, 0.0))


class ReluVjpOneAtZero(NumpyMlp):
    """ReLU backward rule with `relu'(0) = 1` (mask `z ≥ 0`)."""

    name = "relu-vjp-one-at-zero"

    def relu_vjp(self, z: F64, delta: F64) -> Any:
        return np.where(z >= 0, delta, 0.0)


class ReluVjpMaskFromDelta(NumpyMlp):
    """ReLU backward rule masking by the sign of the incoming gradient, `relu(δ)`, not of `z`."""

    name = "relu-vjp-mask-from-delta"

    def relu_vjp(self, z: F64, delta: F64) -> Any:
        return np.where(delta > 0, delta, 0.0)


class LinearInputVjpNotTransposed(NumpyMlp):
    """Linear layer input gradient `W δ` (W read as `(in, out)`) instead of `Wᵀ δ`."""

    name = "linear-input-vjp-not-transposed"

    def linear_input_vjp(self, W: F64, delta: F64) -> Any:
        out_dim, in_dim = W.shape
        return self.matvec(W.reshape(in_dim, out_dim), delta)


class JvpIgnoresRelu(NumpyMlp):
    """Forward-mode derivative that treats the ReLU as the identity (`a1 = z1`, no mask)."""

    name = "jvp-ignores-relu"

    def jvp(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, tangents: Mapping[str, F64]) -> Any:
        def tan(k: str, like: F64) -> F64:
            return _f64(tangents[k]) if k in tangents else np.zeros_like(like)

        z1 = self.pre(W1, b1, x)
        dz1 = self.matvec(tan("W1", W1), x) + self.matvec(W1, tan("x", x)) + tan("b1", b1)
        return self.matvec(tan("W2", W2), z1) + self.matvec(W2, dz1) + tan("b2", b2)


class RaisesInGrads(NumpyMlp):
    """An engine whose backward pass raises."""

    name = "raises-in-grads"
    MESSAGE = "backward pass exploded (simulated out-of-memory)"

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        raise RuntimeError(self.MESSAGE)


class NaNInGrads(NumpyMlp):
    """An engine whose `dW1` has NaN in its whole last row."""

    name = "nan-in-grads"

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        out: Grads = super().grads(W1, b1, W2, b2, x, t)
        if out["W1"].size:
            out["W1"][-1, :] = np.nan
        return out


class WrongOutputShape(NumpyMlp):
    """An engine whose forward pass returns a column `(outDim, 1)` instead of a vector."""

    name = "wrong-output-shape"

    def forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> Any:
        return _f64(super().forward(W1, b1, W2, b2, x)).reshape(-1, 1)


class GradsAsList(NumpyMlp):
    """An engine whose `grads` returns a list in the order `W1 b1 W2 b2 x`, not a mapping."""

    name = "grads-as-list"

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        out: Grads = super().grads(W1, b1, W2, b2, x, t)
        return [out[k] for k in ("W1", "b1", "W2", "b2", "x")]


class WritesIntoInputs(NumpyMlp):
    """An engine whose `grads` applies a weight-decay step to `W1` in place before its backward
    pass: it would corrupt the caller's point, and its gradient is of another loss."""

    name = "writes-into-inputs"

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        W1 *= 1 - 2.0**-10
        return super().grads(W1, b1, W2, b2, x, t)


class WritesThroughTorch(NumpyMlp):
    """Scales `W1` in place through a torch tensor sharing its memory, which numpy's read-only
    flag cannot stop (`torch.from_numpy` ignores it)."""

    name = "writes-through-torch"

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        import warnings

        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns of the non-writable array
            torch.from_numpy(W1).mul_(1 - 2.0**-10)
        return super().grads(W1, b1, W2, b2, x, t)


class ExitsInWorkers(NumpyMlp):
    """An engine whose backward pass ends the process it runs in, except in the main process: a
    crash (a fatal signal, running out of memory) in the worker processes of `--workers N`."""

    name = "exits-in-workers"

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        import multiprocessing
        import os

        if multiprocessing.current_process().name != "MainProcess":
            os._exit(3)
        return super().grads(W1, b1, W2, b2, x, t)


class UnbuildableInWorkers(NumpyMlp):
    """A correct engine that cannot be built in the worker processes of `--workers N` (a factory
    that needs what only the main process has: a device, a licence, an open file)."""

    name = "unbuildable-in-workers"

    def __init__(self) -> None:
        import multiprocessing

        if multiprocessing.current_process().name != "MainProcess":
            raise RuntimeError("this engine is built in the main process only")


WRONG: tuple[type[MinimalMlp], ...] = (
    MissingFactor2,
    SumNotMean,
    NoReluMask,
    MaskFromW1x,
    MaskFromOtherUnit,
    W2NotTransposed,
    OuterSwappedReshaped,
    OuterSwappedRaw,
    LeakyRelu,
    MissingBias1,
    TinyErrorW1,
    TinyErrorX,
    HidDimOneNoMask,
    OutDimOneNoFactor2,
    ReluVjpHalfAtZero,
    ReluVjpOneAtZero,
    ReluVjpMaskFromDelta,
    LinearInputVjpNotTransposed,
    JvpIgnoresRelu,
    RaisesInGrads,
    NaNInGrads,
    WrongOutputShape,
    GradsAsList,
    WritesIntoInputs,
)
"""Every wrong engine."""

ERRORING: tuple[type[MinimalMlp], ...] = (
    RaisesInGrads,
    NaNInGrads,
    WrongOutputShape,
    GradsAsList,
    WritesIntoInputs,
)
"""The wrong engines that misbehave (raise, NaN, bad shape or type): reported as `error`."""

TINY: tuple[type[MinimalMlp], ...] = (TinyErrorW1, TinyErrorX)


class MaskEpsilon(NumpyMlp):
    """Backward mask `z1 > 1e-3` (an "epsilon for stability"): wrong at units with
    `0 < z1 ≤ 1e-3`, where `hx` holds and Lean's gradient passes through."""

    name = "mask-epsilon"
    eps = 1e-3

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return _f64((z1 > self.eps).astype(np.float64))


class ReluEpsilon(NumpyMlp):
    """ReLU thresholded at `1e-3` in the forward pass and, consistently, in the backward pass:
    not Lean's `reluSpec` at units with `0 < z1 ≤ 1e-3`."""

    name = "relu-epsilon"
    eps = 1e-3

    def act(self, z: F64) -> F64:
        return _f64(np.where(z > self.eps, z, 0.0))

    def act_deriv(self, z: F64) -> F64:
        return _f64((z > self.eps).astype(np.float64))


class MaskEpsilon6(MaskEpsilon):
    """Backward mask `z1 > 1e-6`."""

    name = "mask-epsilon-1e-6"
    eps = 1e-6


class MaskEpsilon9(MaskEpsilon):
    """Backward mask `z1 > 1e-9`."""

    name = "mask-epsilon-1e-9"
    eps = 1e-9


class MaskEpsilon12(MaskEpsilon):
    """Backward mask `z1 > 1e-12`: wrong only at units with `0 < z1 ≤ 1e-12`."""

    name = "mask-epsilon-1e-12"
    eps = 1e-12


class MaskRelative(NumpyMlp):
    """Backward mask `z1 > 1e-9 (|W1||x| + |b1|)`, relative to the unit's own scale: wrong at
    units whose `z1` is positive but below a billionth of that scale, where `hx` still holds."""

    name = "mask-relative-1e-9"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        scale = np.abs(W1) @ np.abs(x) + np.abs(b1)
        return _f64((z1 > 1e-9 * scale).astype(np.float64))


class MaskFloat16(NumpyMlp):
    """Backward mask read from `z1` stored in float16 (a mixed-precision cache): positive units
    below float16's least subnormal, `2**-25`, round to 0 and lose their gradient."""

    name = "mask-float16"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return _f64((z1.astype(np.float16) > 0).astype(np.float64))


class ReluOneAtZero(NumpyMlp):
    """Forward ReLU with `relu(0) = 1` (a step where the kink is): wrong only at exact kinks,
    where the statements without `hx` (`mlpVecMat`, `a1`, `y`, the W2 and b2 lemmas) still hold."""

    name = "relu-one-at-zero"

    def act(self, z: F64) -> F64:
        return _f64(np.where(z > 0, z, np.where(z == 0, 1.0, 0.0)))


class ReluDerivOneAtZero(NumpyMlp):
    """`relu'(0) = 1` everywhere the engine uses the derivative (its backward mask, `relu_vjp`,
    `jvp`): Lean's `reluDerivSpec 0 = 0`, which the `reluDerivCLM_*` lemmas state at every x."""

    name = "relu-deriv-one-at-zero"

    def act_deriv(self, z: F64) -> F64:
        return _f64((z >= 0).astype(np.float64))


class NaNAtEmptyOutput(NumpyMlp):
    """Two faults at once: the loss is NaN at `outDim = 0` (the mean of nothing, as frameworks
    compute it; Lean's `mse` is 0 there), and the `b2` gradient is off by a factor `1 + 2**-20`
    everywhere. An error at empty layers must not hide the wrong gradient elsewhere."""

    name = "nan-at-empty-output"

    def mse_value(self, y: F64, t: F64) -> float:
        return math.nan if y.shape[0] == 0 else super().mse_value(y, t)

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        out: Grads = super().grads(W1, b1, W2, b2, x, t)
        out["b2"] = out["b2"] * (1 + 2.0**-20)
        return out


EPSILON: tuple[type[MinimalMlp], ...] = (MaskEpsilon, ReluEpsilon)
"""Wrong only where `0 < z1 ≤ 1e-3`: invisible to points drawn with every `|z1 i| ≥ margin` when
the margin exceeds 1e-3, as a margin of `2**-6` would."""

EDGE: tuple[type[MinimalMlp], ...] = (
    MaskEpsilon,
    MaskEpsilon6,
    MaskEpsilon9,
    MaskEpsilon12,
    MaskRelative,
    MaskFloat16,
    ReluOneAtZero,
    ReluDerivOneAtZero,
    NaNAtEmptyOutput,
)
"""Wrong only at an edge of the domain: units next to the kink (masks with an epsilon, absolute,
relative or from float16), exact kinks (`relu(0) = 1`, `relu'(0) = 1`), empty layers (NaN at
`outDim = 0`, beside a gradient bug elsewhere that the error must not hide)."""


# --- Correct variants: must never be flagged -------------------------------------------------


class ReversedLoops(NumpyMlp):
    """Every sum as a Python loop in reverse index order."""

    name = "reversed-loops"

    def matvec(self, W: F64, v: F64) -> F64:
        m, n = W.shape
        out = np.zeros(m)
        for i in range(m):
            acc = 0.0
            for j in reversed(range(n)):
                acc += float(W[i, j]) * float(v[j])
            out[i] = acc
        return out

    def dot(self, a: F64, b: F64) -> float:
        acc = 0.0
        for k in reversed(range(a.shape[0])):
            acc += float(a[k]) * float(b[k])
        return acc


class FsumSums(NumpyMlp):
    """Every sum correctly rounded, with `math.fsum`."""

    name = "fsum"

    def matvec(self, W: F64, v: F64) -> F64:
        return _f64([math.fsum(row * v) for row in W]).reshape(W.shape[0])

    def dot(self, a: F64, b: F64) -> float:
        return math.fsum(a * b)


def _pairwise(terms: F64) -> float:
    n = terms.shape[0]
    if n == 0:
        return 0.0
    if n == 1:
        return float(terms[0])
    half = n // 2
    return _pairwise(terms[:half]) + _pairwise(terms[half:])


class PairwiseSums(NumpyMlp):
    """Every sum by recursive pairwise summation."""

    name = "pairwise"

    def matvec(self, W: F64, v: F64) -> F64:
        return _f64([_pairwise(row * v) for row in W]).reshape(W.shape[0])

    def dot(self, a: F64, b: F64) -> float:
        return _pairwise(a * b)


class EinsumSums(NumpyMlp):
    """Every product and sum with `np.einsum`."""

    name = "einsum"

    def matvec(self, W: F64, v: F64) -> F64:
        return _f64(np.einsum("ij,j->i", W, v))

    def dot(self, a: F64, b: F64) -> float:
        return float(np.einsum("k,k->", a, b))

    def outer(self, u: F64, v: F64) -> F64:
        return _f64(np.einsum("i,j->ij", u, v))


class MaskZ1NonNegative(MinimalMlp):
    """Backward mask `z1 ≥ 0`: differs from Lean's `relu'(0) = 0` only at kinks, where the lemmas
    that use the mask (b1, x, W1) assume `hx` and say nothing. Only `forward`, `loss`, `grads`, so
    the kink convention is never asked of `relu_vjp`."""

    name = "mask-z1-ge-0"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return _f64((z1 >= 0).astype(np.float64))


class MaskA1Positive(MinimalMlp):
    """Backward mask `a1 > 0` (read from the activation rather than the pre-activation)."""

    name = "mask-a1-gt-0"

    def hidden_mask(self, z1: F64, a1: F64, W1: F64, b1: F64, x: F64) -> F64:
        return _f64((a1 > 0).astype(np.float64))


class NormLoss(NumpyMlp):
    """Loss `np.linalg.norm(y − t)**2 / n` and gradient `(y − t) * (2 / n)`."""

    name = "norm-loss"

    def mse_value(self, y: F64, t: F64) -> float:
        n = y.shape[0]
        return float(np.linalg.norm(y - t) ** 2 / n) if n else 0.0

    def mse_gradient(self, y: F64, t: F64) -> F64:
        n = y.shape[0]
        return (y - t) * (2 / n) if n else np.zeros_like(y)


class LongDouble(NumpyMlp):
    """Every product and sum in `np.longdouble` (extended precision where the platform has it),
    each step's result rounded back to float64."""

    name = "longdouble"

    def matvec(self, W: F64, v: F64) -> F64:
        return _f64(W.astype(np.longdouble) @ v.astype(np.longdouble))

    def dot(self, a: F64, b: F64) -> float:
        return float(a.astype(np.longdouble) @ b.astype(np.longdouble))

    def pre(self, W1: F64, b1: F64, x: F64) -> F64:
        return _f64(W1.astype(np.longdouble) @ x.astype(np.longdouble) + b1.astype(np.longdouble))

    def output(self, W2: F64, a1: F64, b2: F64) -> F64:
        return _f64(W2.astype(np.longdouble) @ a1.astype(np.longdouble) + b2.astype(np.longdouble))

    def mse_value(self, y: F64, t: F64) -> float:
        n = y.shape[0]
        r = y.astype(np.longdouble) - t.astype(np.longdouble)
        return float((r @ r) / n) if n else 0.0


CORRECT: tuple[type[MinimalMlp], ...] = (
    MinimalMlp,
    NumpyMlp,
    ReversedLoops,
    FsumSums,
    PairwiseSums,
    EinsumSums,
    MaskZ1NonNegative,
    MaskA1Positive,
    NormLoss,
    LongDouble,
)
"""Every correct engine (the reference engine `impl.ReferenceBackend` is checked beside them)."""
