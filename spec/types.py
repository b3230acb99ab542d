"""Lean's carrier types, kept apart as in Lean: spec tensors, Mathlib matrices, `Mat`, `Vec`.

Lean has four distinct types where numpy has one `ndarray`. The mirror keeps them apart so that the
conversion lemmas (`toMatrix_toMatE`, `toVecE_linear_input_deriv_spec_eq_adjoint`) compare values
of different types through the conversions Lean uses, not an array with itself.

Entries are real numbers: float64 by default, or exact rationals (`fractions.Fraction`, in numpy
object arrays) where exact arithmetic is wanted. Every dimension may be 0, as `Fin 0` is legal.
"""

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar

import numpy as np
from numpy.typing import NDArray

from .rational import Q, is_rational

F64: TypeAlias = NDArray[np.float64]
"""A float64 numpy array; shapes are written with jaxtyping (`Float[F64, "hidDim inDim"]`)."""

Arr: TypeAlias = NDArray[Any]
"""An array of real entries: float64, or object dtype holding `Fraction`s in exact mode."""

Real: TypeAlias = float | Fraction | Any
"""A real number: a float, or an exact rational (`Fraction`, or python-flint's `fmpq`; see
`spec.rational`)."""

__all__ = [
    "F64",
    "Arr",
    "Real",
    "Vec",
    "Mat",
    "Matrix",
    "Tensor",
    "Equation",
    "nat_cast",
    "real_inv",
    "as_real_array",
]


def real_inv(n: int | Real) -> Real:
    """Return Lean's `(n : ℝ)⁻¹`, where `0⁻¹ = 0` (division by zero is 0 in a field in Lean)."""
    if n == 0:
        return Q(0) if is_rational(n) else 0.0
    if is_rational(n):
        return 1 / n
    return 1.0 / float(n)


def as_real_array(data: Any, ndim: int, what: str) -> Arr:
    """Return `data` as a real array with `ndim` axes, or raise `ValueError` naming `what`."""
    arr = np.asarray(data)
    if arr.dtype != object:
        if arr.dtype.kind not in "fiub":
            raise ValueError(f"{what}: entries must be real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64, copy=False)
    if arr.ndim != ndim:
        raise ValueError(f"{what}: expected {ndim} axes, got shape {arr.shape}")
    return arr


def _dot(a: Arr, b: Arr) -> Real:
    # `sum` of elementwise products works for float64 and for Fraction object arrays alike;
    # an empty sum is the real 0, as `∑ i : Fin 0, _ = 0`.
    if a.size == 0:
        return Q(0) if a.dtype == object else 0.0
    out = np.sum(a * b)
    return out if is_rational(out) else float(out)


_S = TypeVar("_S", bound="_L2")  # Self, spelled so beartype's per-function checks accept it


@dataclass(frozen=True, eq=False)
class _L2:
    """What `Vec` and `Mat` share as `PiLp 2` spaces: entrywise `+`, `−` and `c •`, and the inner
    product `∑ entries, a * b` (the dot product on `Vec`, Frobenius on `Mat`)."""

    data: Arr
    _ndim: ClassVar[int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", as_real_array(self.data, self._ndim, type(self).__name__))

    def _check(self, other: "_L2", op: str) -> None:
        if type(other) is not type(self) or other.data.shape != self.data.shape:
            raise ValueError(
                f"{op}: {type(self).__name__} of shape {self.data.shape} with "
                f"{type(other).__name__} of shape {other.data.shape}"
            )

    def __add__(self: _S, other: _S) -> _S:
        self._check(other, f"{type(self).__name__} +")
        return type(self)(self.data + other.data)

    def __sub__(self: _S, other: _S) -> _S:
        self._check(other, f"{type(self).__name__} -")
        return type(self)(self.data - other.data)

    def smul(self: _S, c: Real) -> _S:
        """Return `c • v`."""
        return type(self)(self.data * c)

    def inner(self: _S, other: _S) -> Real:
        """Return `inner ℝ v w`, the sum of entrywise products (`inner_eq_sum_mul` on `Vec`,
        `inner_mat_eq_sum` on `Mat`)."""
        self._check(other, "inner")
        return _dot(self.data, other.data)

    def norm_sq(self) -> Real:
        """Return `‖v‖ ^ 2 = inner ℝ v v`."""
        return self.inner(self)


@dataclass(frozen=True, eq=False)
class Vec(_L2):
    """`Proofs.Autograd.Vec` (abbrev): ℝⁿ as `EuclideanSpace ℝ (Fin n)`, with the dot product.

    Coordinate `i` is `v i` (`v.ofLp i` in Lean), here `v[i]`.
    """

    _ndim: ClassVar[int] = 1

    @property
    def n(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, i: int) -> Real:
        return self.data[i]


@dataclass(frozen=True, eq=False)
class Mat(_L2):
    """`Proofs.Autograd.Mat` (abbrev): `PiLp 2 (Fin m → PiLp 2 (Fin n → ℝ))`, m rows, n columns.

    Its inner product is Frobenius, `⟪A, B⟫ = ∑ i j, A i j * B i j` (`inner_mat_eq_sum`), which
    makes it the Hilbert space the parameter gradients live in.
    """

    _ndim: ClassVar[int] = 2

    @property
    def m(self) -> int:
        return int(self.data.shape[0])

    @property
    def n(self) -> int:
        return int(self.data.shape[1])

    def __getitem__(self, ij: tuple[int, int]) -> Real:
        return self.data[ij]


@dataclass(frozen=True, eq=False)
class Matrix:
    """Mathlib's `Matrix (Fin m) (Fin n) ℝ`: a bare function `(i, j) ↦ entry`, with no inner
    product."""

    data: Arr

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", as_real_array(self.data, 2, "Matrix"))

    @property
    def m(self) -> int:
        return int(self.data.shape[0])

    @property
    def n(self) -> int:
        return int(self.data.shape[1])

    def __call__(self, i: int, j: int) -> Real:
        return self.data[i, j]


@dataclass(frozen=True, eq=False)
class Tensor:
    """`Spec.Tensor ℝ s`: a spec tensor of shape `.dim m .scalar` or `.dim m (.dim n .scalar)`.

    Lean's spec tensors are nested: a rank-2 tensor is a vector of rows. The mirror keeps that
    reading: a rank-2 tensor is only read through `Spec.get2` (row `i`, then column `j`).
    """

    data: Arr

    def __post_init__(self) -> None:
        arr = np.asarray(self.data)
        object.__setattr__(self, "data", as_real_array(arr, arr.ndim, "Tensor"))
        if self.data.ndim not in (1, 2):
            raise ValueError(
                f"Tensor: only ranks 1 and 2 are mirrored, got shape {self.data.shape}"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.data.shape)

    @property
    def rank(self) -> int:
        return int(self.data.ndim)


S = TypeVar("S")


@dataclass(frozen=True)
class Equation(Generic[S]):
    """A Lean equation `lhs = rhs` with both sides evaluated: what a mirrored equality lemma
    returns. The mirror states it; whether the sides agree is for a check to decide."""

    lhs: S
    rhs: S


def nat_cast(n: int, like: Vec) -> Real:
    """Return Lean's cast `(n : ℝ)`: an exact rational when `like` holds exact entries, else a
    float, so that the arithmetic it enters stays in `like`'s kind."""
    return Q(n) if like.data.dtype == object else float(n)
