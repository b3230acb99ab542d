"""Continuous linear maps `E →L[ℝ] F` between the finite-dimensional Hilbert spaces of the module.

A map is an object with `apply` and `adjoint`, never a bare matrix. Every map has the Hilbert
adjoint of Lean (`ContinuousLinearMap.adjoint`) computed from its defining property alone,
`⟪A u, v⟫ = ⟪u, A† v⟫`, on a basis of the domain (`hilbert_adjoint`). Maps that have a closed-form
adjoint (`Wᵀ δ`, `R_x δ`, `outer δ x`) offer it as `adjoint()`; the lemmas of MlpMse are exactly the
statements that those closed forms are the Hilbert adjoint, and the predicates check them against
`hilbert_adjoint`, which assumes nothing.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..rational import Q, is_rational
from ..types import Mat, Real, Vec

Elem = Vec | Mat | Real
"""An element of one of the spaces: `Vec n`, `Mat m n`, or `ℝ` (a scalar)."""

__all__ = ["Elem", "Space", "CLM", "FunCLM", "Comp", "hilbert_adjoint", "inner", "is_exact"]


@dataclass(frozen=True)
class Space:
    """`Vec n` (shape `(n,)`), `Mat m n` (shape `(m, n)`), or `ℝ` (shape `()`)."""

    shape: tuple[int, ...]

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def wrap(self, data: NDArray[Any]) -> Elem:
        if len(self.shape) == 1:
            return Vec(data.reshape(self.shape))
        if len(self.shape) == 2:
            return Mat(data.reshape(self.shape))
        out: Any = data.reshape(())[()]
        return out if is_rational(out) else float(out)

    def basis(self, exact: bool) -> Iterator[Elem]:
        """Yield the standard orthonormal basis (for `Mat`, the matrix units `E i j`)."""
        for k in range(self.dim):
            flat = _zeros((self.dim,), exact)
            flat[k] = Q(1) if exact else 1.0
            yield self.wrap(flat)

    def __str__(self) -> str:
        if not self.shape:
            return "ℝ"
        if len(self.shape) == 1:
            return f"Vec {self.shape[0]}"
        return f"Mat {self.shape[0]} {self.shape[1]}"


def space_of(e: Elem) -> Space:
    if isinstance(e, Vec):
        return Space((e.n,))
    if isinstance(e, Mat):
        return Space((e.m, e.n))
    return Space(())


def is_exact(e: Elem) -> bool:
    """Return whether an element holds exact rationals (object arrays of them)."""
    if isinstance(e, (Vec, Mat)):
        return bool(e.data.dtype == object)
    return is_rational(e)


def inner(a: Elem, b: Elem) -> Real:
    """Return `inner ℝ a b`: the dot product on `Vec`, Frobenius on `Mat`, the product on `ℝ`."""
    if isinstance(a, Vec) and isinstance(b, Vec):
        return a.inner(b)
    if isinstance(a, Mat) and isinstance(b, Mat):
        return a.inner(b)
    if isinstance(a, (Vec, Mat)) or isinstance(b, (Vec, Mat)):
        raise TypeError(f"inner: elements of different spaces ({space_of(a)}, {space_of(b)})")
    return a * b


def data_of(e: Elem) -> NDArray[Any]:
    if isinstance(e, (Vec, Mat)):
        return e.data
    return np.array(e, dtype=object if is_rational(e) else np.float64)


class CLM(ABC):
    """A continuous linear map `domain →L[ℝ] codomain` (Mathlib's `E →L[ℝ] F`)."""

    domain: Space
    codomain: Space

    @abstractmethod
    def apply(self, u: Elem) -> Elem:
        """Return `A u`."""

    def adjoint(self) -> "CLM":
        """Return `A†`. The default is `hilbert_adjoint`; subclasses give closed forms."""
        return hilbert_adjoint(self)

    def __call__(self, u: Elem) -> Elem:
        return self.apply(u)

    def comp(self, other: "CLM") -> "CLM":
        """Return `self.comp other`, i.e. `u ↦ self (other u)` (`ContinuousLinearMap.comp`)."""
        return Comp(self, other)

    def smul(self, c: Real) -> "CLM":
        """Return `c • A`, i.e. `u ↦ c • A u`; its adjoint is `c • A†` (c real)."""
        adjoint = self.adjoint()

        def back() -> CLM:
            return FunCLM(
                f"{c} • ({adjoint!r})",
                self.codomain,
                self.domain,
                lambda v: _scale(c, adjoint.apply(v)),
                lambda: fwd,
            )

        fwd = FunCLM(
            f"{c} • ({self!r})",
            self.domain,
            self.codomain,
            lambda u: _scale(c, self.apply(u)),
            back,
        )
        return fwd

    def check_domain(self, u: Elem) -> None:
        if space_of(u) != self.domain:
            raise ValueError(f"{self}: argument in {space_of(u)}, expected {self.domain}")


class FunCLM(CLM):
    """A linear map given by a function and its spaces, with an optional closed-form adjoint."""

    def __init__(
        self,
        name: str,
        domain: Space,
        codomain: Space,
        fn: Callable[[Elem], Elem],
        adjoint_fn: Callable[[], CLM] | None = None,
    ) -> None:
        self.name, self.domain, self.codomain = name, domain, codomain
        self._fn, self._adjoint_fn = fn, adjoint_fn

    def apply(self, u: Elem) -> Elem:
        self.check_domain(u)
        return self._fn(u)

    def adjoint(self) -> CLM:
        return self._adjoint_fn() if self._adjoint_fn is not None else hilbert_adjoint(self)

    def __repr__(self) -> str:
        return self.name


class Comp(CLM):
    """`f.comp g`; its adjoint is `g† ∘ f†` (`ContinuousLinearMap.adjoint_comp`)."""

    def __init__(self, f: CLM, g: CLM) -> None:
        if g.codomain != f.domain:
            raise ValueError(f"comp: {g} lands in {g.codomain}, but {f} starts from {f.domain}")
        self.f, self.g = f, g
        self.domain, self.codomain = g.domain, f.codomain

    def apply(self, u: Elem) -> Elem:
        return self.f.apply(self.g.apply(u))

    def adjoint(self) -> CLM:
        return Comp(self.g.adjoint(), self.f.adjoint())

    def __repr__(self) -> str:
        return f"({self.f!r}).comp({self.g!r})"


def hilbert_adjoint(A: CLM) -> CLM:
    """Return `A†` from the defining property alone: `(A† v)_k = ⟪A e_k, v⟫` on the basis `e_k`.

    This is the adjoint of Lean's `ContinuousLinearMap.adjoint` (unique in finite dimension), built
    without any closed form, so it can serve as the independent side of the adjoint lemmas.
    It costs one application of `A` per basis vector of its domain.
    """

    def apply(v: Elem) -> Elem:
        exact = is_exact(v)
        coords = [inner(A.apply(e), v) for e in A.domain.basis(exact)]
        flat = np.array(coords, dtype=object if exact else np.float64)
        return A.domain.wrap(flat) if A.domain.shape else coords[0]

    return FunCLM(f"({A!r})†", A.codomain, A.domain, apply, adjoint_fn=lambda: A)


def _scale(c: Real, e: Elem) -> Elem:
    return e.smul(c) if isinstance(e, (Vec, Mat)) else c * e


def _zeros(shape: tuple[int, ...], exact: bool) -> NDArray[Any]:
    if exact:
        out = np.empty(shape, dtype=object)
        out.fill(Q(0))
        return out
    return np.zeros(shape, dtype=np.float64)
