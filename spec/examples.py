"""The inputs a predicate is checked on: a point of the MLP, with probe directions, and small
vector examples for the lemmas about single maps. Strategies in `spec.strategies` build them."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np
from jaxtyping import Float

from .domain import Part, part_of_vector
from .rational import fraction_array
from .types import F64, Arr

__all__ = [
    "PARAMS",
    "MlpPoint",
    "rational_point",
    "rational_example",
    "MlpExample",
    "VecExample",
    "LinearExample",
    "MseExample",
]

_X = TypeVar("_X", bound="_ExactValues")

PARAMS: tuple[str, ...] = ("W1", "b1", "W2", "b2", "x")
"""The arguments a gradient is taken with respect to, in the order of the `grad_*_mse` lemmas."""


class _ExactValues:
    """The exact-values protocol of every example: `rational` holds the example itself when its
    entries are not all floats (object arrays of `Fraction` by field name; the float64 fields are
    then the entries rounded to nearest), and `value(name)` reads the exact array either way."""

    rational: Mapping[str, Arr] | None

    def value(self, name: str) -> Arr:
        """Return the exact array `name`: the rational one, else the float64 one."""
        out: Arr = self.rational[name] if self.rational is not None else getattr(self, name)
        return out

    def witness(self) -> dict[str, Arr]:
        """Return every array of the example exactly, for a verdict's witness."""
        return {f.name: self.value(f.name) for f in fields(self) if f.name != "rational"}  # type: ignore[arg-type]

    @property
    def is_rational(self) -> bool:
        """Whether the example's entries are exact rationals rather than floats."""
        return self.rational is not None

    def inputs(self) -> dict[str, F64]:
        """Return the float arrays an engine is handed, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rational"}  # type: ignore[arg-type]

    def rounded(self: _X, to: Callable[[F64], F64]) -> _X:
        """Return the example with every array rounded by `to` (to an engine's format)."""
        return replace(self, **{k: to(v) for k, v in self.inputs().items()})  # type: ignore[type-var]


@dataclass(frozen=True, eq=False)
class MlpPoint(_ExactValues):
    """The section variables `W1 b1 W2 b2 x t` of MlpMse's gradient block, as float64 arrays."""

    W1: Float[F64, "hidDim inDim"]
    b1: Float[F64, " hidDim"]
    W2: Float[F64, "outDim hidDim"]
    b2: Float[F64, " outDim"]
    x: Float[F64, " inDim"]
    t: Float[F64, " outDim"]
    rational: Mapping[str, Arr] | None = None
    """The point itself when its entries are not all floats (`spec.strategies` draws such points
    for exact engines): object arrays of `fractions.Fraction` under the keys `W1 b1 W2 b2 x t`.
    The float64 arrays above are then its entries rounded to nearest: they give shapes and
    sizes, and nothing compared is computed from them; everything exact reads `value`."""

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

    def with_(self, name: str, value: F64) -> "MlpPoint":
        """Return this point with the array `name` replaced by `value` (a float point only: a
        rational one moves with `moved_exactly`)."""
        if self.rational is not None:
            raise ValueError(
                "MlpPoint.with_ replaces a float64 array, and this point is rational; "
                "use moved_exactly"
            )
        arrays = self.arrays()
        arrays[name] = value
        return MlpPoint.of(arrays)

    @staticmethod
    def of(arrays: Mapping[str, F64]) -> "MlpPoint":
        """Return the float point with the arrays `W1 b1 W2 b2 x t` of `arrays`."""
        return MlpPoint(
            W1=arrays["W1"],
            b1=arrays["b1"],
            W2=arrays["W2"],
            b2=arrays["b2"],
            x=arrays["x"],
            t=arrays["t"],
        )

    def arrays(self) -> dict[str, F64]:
        return {k: self.get(k) for k in (*PARAMS, "t")}

    def values(self) -> tuple[Arr, Arr, Arr, Arr, Arr]:
        """Return the exact `(W1, b1, W2, b2, x)` (see `value`)."""
        return (
            self.value("W1"),
            self.value("b1"),
            self.value("W2"),
            self.value("b2"),
            self.value("x"),
        )

    def moved_exactly(self, name: str, d: Arr) -> "MlpPoint":
        """Return the rational point with `value(name) + d` in place of `value(name)` (object
        arrays of `Fraction`; `d` may also be a float array), its float image rounded to nearest."""
        exact = {k: fraction_array(self.value(k)) for k in (*PARAMS, "t")}
        exact[name] = exact[name] + fraction_array(d)
        return rational_point(exact)


def rational_point(exact: Mapping[str, Any]) -> MlpPoint:
    """Return the `MlpPoint` whose value is `exact` (arrays of `Fraction`s under `W1 b1 W2 b2 x
    t`), with each float64 array its entries rounded to nearest."""
    data = {k: fraction_array(np.asarray(exact[k], dtype=object)) for k in (*PARAMS, "t")}
    return replace(MlpPoint.of({k: _rounded(a) for k, a in data.items()}), rational=data)


@dataclass(frozen=True, eq=False)
class MlpExample:
    """A point of the MLP and probe directions, one array per argument in `PARAMS` for each
    probe."""

    point: MlpPoint
    directions: tuple[dict[str, F64], ...] = field(default_factory=tuple)
    active_pattern: str = ""
    """The realised activation pattern: "all-on", "all-off", "mixed", "none" (hidDim = 0) or
    "kinked" (some z1 i = 0 exactly); reports count the examples that exercised active units."""
    probe_bits: int | None = None
    """When the directions' entries are integers drawn uniformly among `2**probe_bits` values
    (exact mode), the bits: the checks then state how unlikely a wrong gradient is to survive."""
    part: Part = "interior"
    """The part of the domain the point lies in (`spec.domain`), read from its exact `z1`."""

    @property
    def pattern(self) -> str:
        """The activation pattern, which runs tally (`active_pattern`)."""
        return self.active_pattern

    @property
    def active(self) -> bool:
        """Whether the example exercised active hidden units (all on, or some)."""
        return self.active_pattern in ("all-on", "mixed")

    @property
    def is_rational(self) -> bool:
        """Whether the point's entries are exact rationals rather than floats."""
        return self.point.rational is not None

    def inputs(self) -> dict[str, F64]:
        """Return the arrays an engine is handed: `W1 b1 W2 b2 x t`."""
        return dict(self.point.arrays())

    def rounded(self, to: Callable[[F64], F64]) -> "MlpExample":
        """Return the example with the point and the directions rounded by `to`."""
        point = MlpPoint.of({k: to(v) for k, v in self.point.arrays().items()})
        dirs = tuple({k: to(v) for k, v in d.items()} for d in self.directions)
        return replace(self, point=point, directions=dirs)


@dataclass(frozen=True, eq=False)
class VecExample(_ExactValues):
    """Vectors `x dx δ : Vec n` for the `reluDerivCLM_*` lemmas; `x` may have zero coordinates."""

    x: Float[F64, " n"]
    dx: Float[F64, " n"]
    delta: Float[F64, " n"]
    rational: Mapping[str, Arr] | None = None

    @property
    def part(self) -> Part:
        """Return the part of the domain (`spec.domain`): empty, a kink `x i = 0`, near one."""
        return part_of_vector(self.value("x"), empty=self.x.shape[0] == 0)


@dataclass(frozen=True, eq=False)
class LinearExample(_ExactValues):
    """A weight tensor `W`, an upstream `δ` and a probe `u` for the linear-layer adjoint lemma."""

    W: Float[F64, "outDim inDim"]
    delta: Float[F64, " outDim"]
    u: Float[F64, " inDim"]
    rational: Mapping[str, Arr] | None = None

    @property
    def part(self) -> Part:
        """Return the part of the domain (`spec.domain`): empty when a dimension is 0."""
        return "empty" if 0 in self.W.shape else "interior"


@dataclass(frozen=True, eq=False)
class MseExample(_ExactValues):
    """A target `t`, a point `y` and a step `h` for the `mse` lemmas."""

    t: Float[F64, " n"]
    y: Float[F64, " n"]
    h: Float[F64, " n"]
    rational: Mapping[str, Arr] | None = None

    @property
    def part(self) -> Part:
        """Return the part of the domain (`spec.domain`): empty when `n = 0`."""
        return "empty" if self.t.shape[0] == 0 else "interior"


_E = TypeVar("_E", VecExample, LinearExample, MseExample)


def rational_example(cls: type[_E], exact: Mapping[str, Any]) -> _E:
    """Return the example of type `cls` whose value is `exact` (arrays of `Fraction`s by field
    name), with each float64 field its entries rounded to nearest."""
    data = {k: fraction_array(np.asarray(v, dtype=object)) for k, v in exact.items()}
    return cls(**{k: _rounded(a) for k, a in data.items()}, rational=data)


def _rounded(a: Arr) -> F64:
    return np.array([float(v) for v in a.flat], dtype=np.float64).reshape(a.shape)
