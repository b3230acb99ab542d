"""Deliberately wrong PyTorch engines: `TorchBackend` with one building block replaced by a custom
`torch.autograd.Function` (or module) whose backward rule has a textbook bug. The checker must
catch every one; `tests/test_torch_backend.py` says which predicates do.

Each engine is the real `impl.torch_backend.TorchBackend` with one class attribute swapped
(`relu`, `linear` or `make_loss`), so the bug shows wherever the engine uses that block (its
`grads`, and its `relu_vjp`, `linear_input_vjp` or `mse_grad`) and nowhere else, as in a real
engine. The forward rules are right: only the derivatives are wrong, which is what a gradient
check exists to find. The forward-mode rules (`jvp`, used by `torch.func.jvp`) are right too,
unless the name says otherwise.

Each class is usable as `--backend tests.torch_mutants:ClassName` (a class is a zero-argument
callable): e.g. `python -m spec check --backend tests.torch_mutants:UnmaskedReluBackward`.

Compiled: `torch.compile` traces a custom `torch.autograd.Function` into its graph (forward and
backward) only when the function has no forward-mode rule (`jvp`); with one, Dynamo stops at
"Unsupported custom jvp". `UnmaskedReluBackwardOnly` is `UnmaskedReluBackward` without the `jvp`
rule, and `_MseNoFactor2` has none, so `UnmaskedReluBackwardOnly(compile="aot_eager")` and
`MseBackwardNoFactor2(compile="inductor")` put a wrong backward inside the compiled graph
(`tests/test_torch_compile.py` asserts they are caught).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from impl.torch_backend import TorchBackend

__all__ = [
    "UnmaskedReluBackward",
    "DoubledReluBackward",
    "MseBackwardNoFactor2",
    "SumReductionMse",
    "LinearBackwardNotTransposed",
    "UnmaskedReluBackwardOnly",
    "MUTANTS",
]


# ReLU: forward max(z, 0); the right backward is `g ⊙ [z > 0]`.


class _UnmaskedRelu(torch.autograd.Function):
    """ReLU whose backward passes the upstream gradient through without the mask `[z > 0]`."""

    @staticmethod
    def forward(z: Tensor) -> Tensor:
        return F.relu(z)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        (z,) = inputs
        ctx.save_for_backward(z)
        ctx.save_for_forward(z)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g  # BUG: should be g * (z > 0)

    @staticmethod
    def jvp(ctx: Any, dz: Tensor) -> Tensor:
        z: Tensor = ctx.saved_tensors[0]
        return dz * (z > 0)


class _DoubledRelu(torch.autograd.Function):
    """ReLU whose backward is masked correctly but scaled by 2."""

    @staticmethod
    def forward(z: Tensor) -> Tensor:
        return F.relu(z)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        (z,) = inputs
        ctx.save_for_backward(z)
        ctx.save_for_forward(z)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        z: Tensor = ctx.saved_tensors[0]
        return 2 * g * (z > 0)  # BUG: the factor 2

    @staticmethod
    def jvp(ctx: Any, dz: Tensor) -> Tensor:
        z: Tensor = ctx.saved_tensors[0]
        return dz * (z > 0)


class _UnmaskedReluNoJvp(torch.autograd.Function):
    """`_UnmaskedRelu` without a forward-mode rule, so that `torch.compile` can trace it."""

    @staticmethod
    def forward(z: Tensor) -> Tensor:
        return F.relu(z)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g  # BUG: should be g * (z > 0)


def _apply1(fn: type[torch.autograd.Function]) -> Callable[[Tensor], Tensor]:
    """Return `fn.apply`, typed: torch leaves `Function.apply` untyped (`(*args) -> Any`)."""
    return cast(Callable[[Tensor], Tensor], fn.apply)


def unmasked_relu(z: Tensor) -> Tensor:
    """Return `relu(z)`, with the unmasked backward of `_UnmaskedRelu`."""
    return _apply1(_UnmaskedRelu)(z)


def doubled_relu(z: Tensor) -> Tensor:
    """Return `relu(z)`, with the backward of `_DoubledRelu` (twice the right one)."""
    return _apply1(_DoubledRelu)(z)


def unmasked_relu_backward_only(z: Tensor) -> Tensor:
    """Return `relu(z)`, with the unmasked backward of `_UnmaskedReluNoJvp` and no `jvp` rule."""
    return _apply1(_UnmaskedReluNoJvp)(z)


class UnmaskedReluBackward(TorchBackend):
    """ReLU backward without the mask: dead units pass gradient. Caught where a unit is off."""

    relu = staticmethod(unmasked_relu)


class UnmaskedReluBackwardOnly(TorchBackend):
    """`UnmaskedReluBackward` whose ReLU has no forward-mode rule: `torch.compile` can trace it,
    and `jvp` (`torch.func.jvp`) raises for it."""

    relu = staticmethod(unmasked_relu_backward_only)


class DoubledReluBackward(TorchBackend):
    """ReLU backward `2 g ⊙ [z > 0]`: every gradient through the hidden layer is doubled."""

    relu = staticmethod(doubled_relu)


# MSE: forward mean((y − t)²); the right backward is `(2/n)(y − t) · g`.


class _MseNoFactor2(torch.autograd.Function):
    """Mean squared error whose backward is `(1/n)(y − t)`: the factor 2 is missing."""

    @staticmethod
    def forward(y: Tensor, t: Tensor) -> Tensor:
        return torch.mean((y - t) ** 2)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        y, t = inputs
        ctx.save_for_backward(y, t)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, None]:
        y, t = ctx.saved_tensors
        return g * (y - t) / y.numel(), None  # BUG: should be 2 g (y − t) / n


class MseNoFactor2Loss(nn.Module):
    """`nn.MSELoss`-like module computing with `_MseNoFactor2`."""

    def forward(self, y: Tensor, t: Tensor) -> Tensor:
        apply = cast(Callable[[Tensor, Tensor], Tensor], _MseNoFactor2.apply)
        return apply(y, t)


class MseBackwardNoFactor2(TorchBackend):
    """MSE whose hand-written backward drops the 2 of `d/dy (y − t)² = 2 (y − t)`."""

    def make_loss(self) -> nn.Module:
        return MseNoFactor2Loss()


class SumReductionMse(TorchBackend):
    """`nn.MSELoss(reduction="sum")`: the loss and its gradient are n times Lean's `mse`."""

    def make_loss(self) -> nn.Module:
        return nn.MSELoss(reduction="sum")


# Linear: y = W x + b; the right input gradient is Wᵀ g (for a vector x: g @ W).


class _LinearNotTransposed(torch.autograd.Function):
    """`F.linear` whose backward returns `W g` for the input instead of `Wᵀ g`.

    The shapes agree only for a square `W` (inDim = outDim); otherwise autograd rejects the
    gradient's shape, and the checker reports the engine's exception.
    """

    @staticmethod
    def forward(x: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
        return F.linear(x, W, b)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x, W, b = inputs
        ctx.has_bias = b is not None
        ctx.save_for_backward(x, W)
        ctx.save_for_forward(x, W)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        x, W = ctx.saved_tensors
        grad_x = W @ g  # BUG: should be W.T @ g (= g @ W)
        grad_W = torch.outer(g, x)
        return grad_x, grad_W, (g if ctx.has_bias else None)

    @staticmethod
    def jvp(ctx: Any, dx: Tensor | None, dW: Tensor | None, db: Tensor | None) -> Tensor:
        x, W = ctx.saved_tensors
        out = torch.zeros(W.shape[0], dtype=W.dtype, device=W.device)
        if dx is not None:
            out = out + W @ dx
        if dW is not None:
            out = out + dW @ x
        if db is not None:
            out = out + db
        return out


class LinearNotTransposedLayer(nn.Linear):
    """`nn.Linear` computing with `_LinearNotTransposed`."""

    def forward(self, x: Tensor) -> Tensor:
        apply = cast(Callable[[Tensor, Tensor, Tensor | None], Tensor], _LinearNotTransposed.apply)
        return apply(x, self.weight, self.bias)


class LinearBackwardNotTransposed(TorchBackend):
    """The layers' input gradient is `W g`, not `Wᵀ g`; the weight and bias gradients are right."""

    linear = LinearNotTransposedLayer


MUTANTS: tuple[type[TorchBackend], ...] = (
    UnmaskedReluBackward,
    DoubledReluBackward,
    MseBackwardNoFactor2,
    SumReductionMse,
    LinearBackwardNotTransposed,
)
"""Every wrong engine of this module."""
