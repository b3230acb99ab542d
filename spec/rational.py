"""Exact rationals for the spec: python-flint's `fmpq` when it is installed (the fast path), else
`fractions.Fraction`, which always works. One scalar type is used throughout a run, since the two
do not mix; `use_flint(False)` switches to the fallback (to measure it, or to rule flint out).

Floats convert exactly (a float is a dyadic rational), so nothing here ever rounds.
"""

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from .numerics.memo import IdentityMemo

if TYPE_CHECKING:
    from flint import fmpq, fmpq_mat
else:
    try:
        from flint import fmpq, fmpq_mat
    except ImportError:  # the optional extra `exact` is not installed
        fmpq = fmpq_mat = None

__all__ = [
    "Rational",
    "HAVE_FLINT",
    "use_flint",
    "flint_in_use",
    "Q",
    "q",
    "is_rational",
    "to_fraction",
    "exact_array",
    "fraction_array",
    "matvec",
]

Rational: TypeAlias = Any
"""An exact rational: `fmpq` on the fast path, `Fraction` otherwise. Typed `Any`: the union of the
two is not closed under arithmetic (they do not mix), and a run uses only one of them."""

HAVE_FLINT = fmpq is not None
_state = {"flint": HAVE_FLINT}


def use_flint(enabled: bool) -> None:
    """Use python-flint's `fmpq` (if installed) or `fractions.Fraction` from now on."""
    _state["flint"] = enabled and HAVE_FLINT


def flint_in_use() -> bool:
    """Return whether exact arithmetic currently runs on python-flint."""
    return _state["flint"]


def Q(numerator: int, denominator: int = 1) -> Rational:
    """Return the rational `numerator / denominator` in the scalar type in use."""
    if _state["flint"]:
        return fmpq(numerator, denominator)
    return Fraction(numerator, denominator)


def is_rational(v: object) -> bool:
    """Return whether `v` is an exact rational (`Fraction` or `fmpq`)."""
    return isinstance(v, Fraction) or (fmpq is not None and isinstance(v, fmpq))


def q(v: Any) -> Rational:
    """Return `v` (a float, an int, a `Fraction` or an `fmpq`) exactly, in the scalar type in use.

    Raises `ValueError` for NaN and infinities, which are not real numbers.
    """
    if isinstance(v, (Fraction,)) or (fmpq is not None and isinstance(v, fmpq)):
        num, den = int(v.numerator), int(v.denominator)
    elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        num, den = int(v), 1
    else:
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"{f} is not a real number")
        num, den = f.as_integer_ratio()
    return Q(num, den)


def to_fraction(v: Any) -> Fraction:
    """Return an exact rational as a `Fraction` (for comparisons with an engine's `Fraction`s)."""
    if isinstance(v, Fraction):
        return v
    if fmpq is not None and isinstance(v, fmpq):
        return Fraction(int(v.numerator), int(v.denominator))
    return Fraction(float(v)) if not isinstance(v, (int, np.integer)) else Fraction(int(v))


_CONVERTED: IdentityMemo[NDArray[Any]] = IdentityMemo(8)


def exact_array(a: Any) -> NDArray[Any]:
    """Return the array (or number) with every entry converted exactly by `q`.

    Float arrays convert through `float.as_integer_ratio` in one pass; the last few matrices
    converted are remembered (by identity), since every predicate at a point reads the same `W1`.
    """
    if isinstance(a, np.ndarray) and a.ndim == 2:
        return _CONVERTED.get((a,), _state["flint"], lambda: _exact_array(a))
    return _exact_array(a)


def _exact_array(a: Any) -> NDArray[Any]:
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        make = fmpq if _state["flint"] else Fraction
        if not np.isfinite(arr).all():
            raise ValueError("NaN or infinity is not a real number")
        flat = [make(*v.as_integer_ratio()) for v in arr.ravel().tolist()]
        out = np.empty(arr.shape, dtype=object)
        out.ravel()[:] = flat if flat else []
    else:
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            out[idx] = q(v)
    return out


_FLINT_MIN = 4096
"""Entries from which a matrix-vector product goes through `fmpq_mat` (its conversion costs about
0.2 µs per entry, the product itself far less; below this numpy's object loop is as fast)."""


def matvec(W: NDArray[Any], v: NDArray[Any]) -> NDArray[Any]:
    """Return `W v` for object arrays of rationals, exactly; an empty sum is the rational 0."""
    m, n = W.shape
    if n == 0:
        out = np.empty(m, dtype=object)
        out.fill(Q(0))
        return out
    if _state["flint"] and W.size >= _FLINT_MIN and _all_fmpq(W, v):
        prod = fmpq_mat(m, n, list(W.flat)) * fmpq_mat(n, 1, list(v))
        return np.array(prod.entries(), dtype=object).reshape(m)
    out2: NDArray[Any] = W @ v
    return out2


def _all_fmpq(W: NDArray[Any], v: NDArray[Any]) -> bool:
    return isinstance(W.flat[0], fmpq) and isinstance(v[0], fmpq)


def fraction_array(a: NDArray[Any]) -> NDArray[Any]:
    """Return `a` as an object array of `Fraction`s (what exact engines are handed), converting
    floats, ints and `fmpq`s exactly; an array of `Fraction`s is returned as it is."""
    if a.dtype == object and all(type(v) is Fraction for v in a.flat):
        return a
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = to_fraction(v)
    return out
