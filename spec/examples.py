"""The inputs a predicate is checked on: a point of the MLP, with probe directions, and small
vector examples for the lemmas about single maps. Strategies in `spec.strategies` build them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from jaxtyping import Float

from .types import F64

__all__ = ["PARAMS", "MlpPoint", "MlpExample", "VecExample", "LinearExample", "MseExample"]

PARAMS: tuple[str, ...] = ("W1", "b1", "W2", "b2", "x")
"""The arguments a gradient is taken with respect to, in the order of the `grad_*_mse` lemmas."""


@dataclass(frozen=True, eq=False)
class MlpPoint:
    """The section variables `W1 b1 W2 b2 x t` of MlpMse's gradient block, as float64 arrays."""

    W1: Float[F64, "hidDim inDim"]
    b1: Float[F64, " hidDim"]
    W2: Float[F64, "outDim hidDim"]
    b2: Float[F64, " outDim"]
    x: Float[F64, " inDim"]
    t: Float[F64, " outDim"]

    @property
    def dims(self) -> tuple[int, int, int]:
        """Return `(inDim, hidDim, outDim)`."""
        return int(self.x.shape[0]), int(self.b1.shape[0]), int(self.b2.shape[0])

    def args(self) -> tuple[F64, F64, F64, F64, F64]:
        """Return `(W1, b1, W2, b2, x)`, the arguments of `mlpVecMat` and of `forward`."""
        return self.W1, self.b1, self.W2, self.b2, self.x

    def get(self, name: str) -> F64:
        """Return the array named `name` (one of `W1 b1 W2 b2 x t`)."""
        return getattr(self, name)  # type: ignore[no-any-return]

    def with_(self, name: str, value: F64) -> MlpPoint:
        """Return this point with the array `name` replaced by `value`."""
        return replace(self, **{name: value})

    def arrays(self) -> dict[str, F64]:
        return {k: self.get(k) for k in (*PARAMS, "t")}


@dataclass(frozen=True, eq=False)
class MlpExample:
    """A point of the MLP and probe directions, one array per argument in `PARAMS` for each probe."""

    point: MlpPoint
    directions: tuple[dict[str, F64], ...] = field(default_factory=tuple)
    active_pattern: str = ""
    """The realised activation pattern: "all-on", "all-off", "mixed", "none" (hidDim = 0) or
    "kinked" (some z1 i = 0 exactly); reports count the examples that exercised active units."""


@dataclass(frozen=True, eq=False)
class VecExample:
    """Vectors `x dx δ : Vec n` for the `reluDerivCLM_*` lemmas; `x` may have zero coordinates."""

    x: Float[F64, " n"]
    dx: Float[F64, " n"]
    delta: Float[F64, " n"]


@dataclass(frozen=True, eq=False)
class LinearExample:
    """A weight tensor `W`, an upstream `δ` and a probe `u` for the linear-layer adjoint lemma."""

    W: Float[F64, "outDim inDim"]
    delta: Float[F64, " outDim"]
    u: Float[F64, " inDim"]


@dataclass(frozen=True, eq=False)
class MseExample:
    """A target `t`, a point `y` and a step `h` for the `mse` lemmas."""

    t: Float[F64, " n"]
    y: Float[F64, " n"]
    h: Float[F64, " n"]

