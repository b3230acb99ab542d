"""Verdicts: what a predicate answers. Never a bare bool, and never "holds" for what it did not
check.

A verdict is one of
- `holds`: every comparison made was within its bound (the bound and its derivation are kept);
- `fails`: some comparison was not; the witness, the worst entry, the error seen and the bound it
  was held to are kept;
- `unmet`: the lemma's hypothesis does not hold at this input (a kink, `z1 i = 0`), so the lemma
  says nothing there and nothing was compared;
- `error`: the engine under test misbehaved (raised, returned a wrong shape, a NaN or an inf).
"""

import math
from dataclasses import dataclass, field, replace
from enum import Enum
from fractions import Fraction
from typing import Any

import numpy as np

from .numerics.blocks import BLOCK, OuterSum
from .numerics.bound import EXACTLY, Bound
from .rational import Q, flint_in_use, is_rational, q, to_fraction
from .types import Arr

__all__ = [
    "Status",
    "Quantity",
    "Comparison",
    "Explanation",
    "Verdict",
    "compare",
    "compare_exact",
    "combine",
    "unmet",
    "error",
]


class Status(str, Enum):  # noqa: UP042  (StrEnum would change str()/format() of members)
    HOLDS = "holds"
    FAILS = "fails"
    UNMET = "unmet"
    ERROR = "error"


@dataclass(frozen=True)
class Quantity:
    """What a comparison compares, in the statement's terms: its two sides, and what reports need
    to know of it without reading its text."""

    left: str
    """The left side, e.g. "engine grads['W1']"."""
    right: str | None = None
    """The right side, e.g. "the statement's right side"; None where the left side is compared
    with 0 (a first-order remainder)."""
    argument: str | None = None
    """Set where the left side is the engine's gradient in this argument of the network (W1 b1
    W2 b2 x) and the right side the statement's closed form for it."""
    engine: bool = False
    """Whether the left side is the engine's value (else the spec's own)."""

    def __str__(self) -> str:
        return self.left if self.right is None else f"{self.left} vs {self.right}"


@dataclass(frozen=True)
class Comparison:
    """One comparison `|actual − expected| ≤ bound`, entrywise, reduced to its worst entry."""

    what: Quantity
    """What was compared, in the statement's terms."""
    ok: bool
    worst_ratio: float
    """max over entries of |actual − expected| / bound (0/0 = 0; x/0 = inf for x > 0)."""
    index: tuple[int, ...] | None
    actual: float | None
    expected: float | None
    error: float | None
    bound: float | None
    failing: int
    total: int
    derivation: str
    """How the bound was derived (sizes, unit roundoff), or "exact" for a zero bound."""
    ulps: float | None = None
    """The worst error in units in the last place of the expected value, in the engine's format."""

    @property
    def quantity(self) -> str:
        """What was compared, as one line of text: `left vs right`, or the left side alone."""
        return str(self.what)

    def describe(self) -> str:
        if self.index is None:
            return f"{self.quantity}: nothing to compare (empty)"
        where = f"[{', '.join(map(str, self.index))}]" if self.index else ""
        verdict = "within" if self.ok else "EXCEEDS"
        return (
            f"{self.quantity}{where}: actual {self.actual!r}, expected {self.expected!r}, "
            f"error {_g(self.error)}{'' if self.ulps is None else f' ({_g(self.ulps)} ulp)'} "
            f"{verdict} bound {_g(self.bound)} "
            f"(ratio {_g(self.worst_ratio)}; {self.failing} of {self.total} entries fail; "
            f"bound: {self.derivation})"
        )


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


@dataclass(frozen=True)
class Explanation:
    """What a domain says of a failing or erring example, in the statement's terms, as lines for a
    report: computed where the example is at hand, never parsed or recomputed later."""

    dimensions: str | None = None
    """The sizes, as Lean names them (`inDim = 3, hidDim = 4, outDim = 2`)."""
    hypothesis: str | None = None
    """Whether the statement's hypothesis holds at the example, and by how much."""
    values: tuple[str, ...] = ()
    """The spec's values at the example, a line each (`z1 = W1 x + b1 = [...]`)."""
    in_terms: str | None = None
    """The statement with the worst comparison's two sides put in (`L = R, at [i, j]: the engine
    gives …, the right side is …`)."""
    expansion: str | None = None
    """The worst entry of the statement's right side with the numbers substituted."""
    right_side: str | None = None
    """The right side in full."""


@dataclass(frozen=True)
class Verdict:
    """A predicate's answer for one input, with everything needed to read or replay it."""

    lean_name: str
    status: Status
    subject: str
    message: str = ""
    comparisons: tuple[Comparison, ...] = ()
    witness: dict[str, Any] = field(default_factory=dict)
    explanation: "Explanation | None" = None
    """For a failure or an error, what the check's domain says of the witness (`Domain.explain`),
    for a report to print as it stands."""

    @property
    def worst_ratio(self) -> float:
        return max((c.worst_ratio for c in self.comparisons), default=0.0)

    @property
    def worst(self) -> Comparison | None:
        return max(self.comparisons, key=lambda c: c.worst_ratio, default=None)

    def describe(self) -> str:
        head = f"{self.lean_name} [{self.subject}]: {self.status.value}"
        if self.message:
            head += f": {self.message}"
        worst = self.worst
        if self.status is Status.FAILS and worst is not None:
            return head + "\n  worst: " + worst.describe()
        return head


def compare(
    what: Quantity,
    actual: Arr | float | Fraction | OuterSum,
    expected: Arr | float | Fraction | OuterSum,
    within: Bound,
    ulp_dtype: Any = None,
    scale: float = 1.0,
) -> Comparison:
    """Compare entrywise: `|actual − expected| ≤ scale · within.value`. A NaN anywhere fails.

    The bound (`spec.numerics.bound.Bound`) is an array of the same shape (or a scalar) derived
    from the sizes and the unit roundoff, with its derivation; a zero bound demands exact
    equality. With `scale` (2, for two computations each within the bound of the exact value),
    the derivation reads `2·(…)`. When either side holds exact
    rationals (object arrays of `Fraction`), the error is measured exactly: floats convert to
    rationals without rounding, so the verdict certifies the bound rather than estimating it.
    With `ulp_dtype` (the engine's float type), the worst error is also given in units in the last
    place of the expected value in that format. (`scale` spares forming `2Δ` at a million entries.)
    """
    bound = within.value
    derivation = within.derivation if scale == 1.0 else f"{scale:g}·({within.derivation})"
    a = np.asarray(actual)
    # A closed form kept as factors (`OuterSum`) is compared a block of rows at a time, never
    # formed whole; exact comparisons (small sizes) take it whole.
    exact_side = a.dtype == object or (
        not isinstance(expected, OuterSum) and np.asarray(expected).dtype == object
    )
    e: Any = expected if isinstance(expected, OuterSum) and not exact_side else np.asarray(expected)
    if a.shape != e.shape:
        return Comparison(
            what,
            False,
            math.inf,
            (),
            None,
            None,
            None,
            None,
            1,
            1,
            f"shape {a.shape} where the statement has shape {e.shape}",
        )
    bnd: Any = (
        bound
        if isinstance(bound, OuterSum) and not exact_side
        else np.asarray(bound, dtype=np.float64)
    )
    if a.size == 0:
        return Comparison(what, True, 0.0, None, None, None, None, None, 0, 0, derivation)
    if exact_side:
        e = np.asarray(e)
        b = scale * bnd if scale != 1.0 else bnd
        if b.shape != a.shape:
            b = np.broadcast_to(b, a.shape)
        err, bad, ratio = _certified_errors(a, e, b)
        idx = _unravel(int(np.argmax(ratio)), a.shape)
        worst, error, failing = float(ratio[idx]), float(err[idx]), int(bad.sum())
    else:
        a = a.astype(np.float64, copy=False)
        if not isinstance(e, OuterSum):
            e = e.astype(np.float64, copy=False)
        flat, worst, error, failing = _float_worst(a, e, bnd, scale)
        idx = _unravel(flat, a.shape)
    bound_at = scale * _entry(bnd, idx, a.shape)
    expected_at = _entry(e, idx, a.shape)
    ulps = None
    if ulp_dtype is not None and math.isfinite(expected_at):
        ulps = error / float(np.spacing(np.abs(np.asarray(expected_at, dtype=ulp_dtype))))
    return Comparison(
        what=what,
        ok=failing == 0,
        worst_ratio=worst,
        index=idx,
        actual=float(a[idx]),
        expected=expected_at,
        error=error,
        bound=bound_at,
        failing=failing,
        total=int(a.size),
        derivation=derivation,
        ulps=ulps,
    )


def _entry(x: Any, idx: tuple[int, ...], shape: tuple[int, ...]) -> float:
    # One entry of an array, a scalar broadcast to `shape`, or an `OuterSum`.
    if isinstance(x, OuterSum):
        return float(x[idx])
    if isinstance(x, np.ndarray) and x.shape == shape:
        return float(x[idx])
    return float(np.broadcast_to(x, shape)[idx])


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    # `np.unravel_index` as a tuple of ints; a vector's index directly.
    if len(shape) == 1:
        return (flat,)
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _float_worst(a: Arr, e: Any, bound: Any, factor: float) -> tuple[int, float, float, int]:
    """Return, for `|a − e| ≤ factor · bound` entrywise, the flat index of the worst entry (the
    largest error / bound, the first of equals; 0/0 counts 0, a NaN infinitely bad), its ratio,
    its error, and how many entries fail. A block at a time, in small buffers; `e` and `bound`
    may be `OuterSum`s, whose blocks are evaluated in those buffers."""
    n = a.size
    factored = isinstance(e, OuterSum) or isinstance(bound, OuterSum)
    # Blocks of whole rows where a factored side is evaluated a row block at a time.
    width = a.shape[-1] if factored else 1
    # Entries compared at a time: at a million entries, fresh error and ratio arrays would cost
    # more than the arithmetic.
    block = max(1, BLOCK // max(1, width)) * width
    read_e, read_b = _reader(e, a.shape, block), _reader(bound, a.shape, block)
    fa = a.reshape(-1)
    err_buf, ratio_buf = np.empty(min(n, block)), np.empty(min(n, block))
    best, best_at, best_err, failing = -1.0, 0, 0.0, 0
    # A power-of-two factor divides the ratios exactly: no scaled copy of the bound is formed.
    exact_scale = math.frexp(factor)[0] == 0.5
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for i in range(0, n, block):
            k = min(block, n - i)
            err, ratio = err_buf[:k], ratio_buf[:k]
            np.subtract(fa[i : i + k], read_e(i, k), out=err)
            np.abs(err, out=err)
            b = read_b(i, k)
            if factor != 1.0 and not exact_scale:
                b = factor * b
            np.divide(err, b, out=ratio)
            if factor != 1.0 and exact_scale:
                np.multiply(ratio, 1.0 / factor, out=ratio)  # (err / b) / factor, in place
            j = int(np.argmax(ratio))  # the first NaN, if there is one
            # A largest ratio below 1 means every error is below its bound (both roundings are
            # monotone and 1 is a float): nothing fails, and no 0/0 or NaN is in the block.
            if not ratio[j] < 1.0:
                sb = factor * b if factor != 1.0 and exact_scale else b
                failing += k - int(np.count_nonzero(err <= sb))  # NaN compares false: a failure
                undefined = np.isnan(ratio)  # 0/0 (a zero bound met exactly), or a NaN value
                if undefined.any():
                    ratio[undefined] = np.where(err[undefined] == 0, 0.0, np.inf)
                j = int(np.argmax(ratio))
            if ratio[j] > best:
                best, best_at, best_err = float(ratio[j]), i + j, float(err[j])
    return best_at, best, best_err, failing


def _reader(x: Any, shape: tuple[int, ...], block: int) -> Any:
    """Return `read(i, k)`: the flat entries `i:i+k` of `x` (an array of `shape`, a scalar, or an
    `OuterSum`, whose `i` and `k` are then whole rows)."""
    if isinstance(x, OuterSum):
        width = x.shape[1]
        rows = block // width
        out, scratch = np.empty((rows, width)), np.empty((rows, width))

        def read_rows(i: int, k: int) -> Arr:
            r = k // width
            return x.rows(i // width, i // width + r, out[:r], scratch[:r]).reshape(-1)

        return read_rows
    arr = np.asarray(x)
    if arr.ndim == 0:
        return lambda i, k: arr
    flat = (
        arr.reshape(-1)
        if arr.shape == shape
        else np.ascontiguousarray(np.broadcast_to(arr, shape)).reshape(-1)
    )
    return lambda i, k: flat[i : i + k]


def _exact(v: Any) -> Fraction | None:
    # Compare in `Fraction`s: the engine's rationals and the spec's (`fmpq` or `Fraction`) meet
    # here.
    if is_rational(v) or isinstance(v, (int, np.integer)):
        return to_fraction(v)
    f = float(v)
    return Fraction(f) if math.isfinite(f) else None


def _exact_fmpq(v: Any) -> Any:
    # The same exact value as `_exact`, as python-flint's `fmpq` (only while flint is in use).
    if is_rational(v):
        return v  # an `fmpq`: `Fraction`s take the other path
    if isinstance(v, (int, np.integer)):
        return q(v)
    f = float(v)
    return Q(*f.as_integer_ratio()) if math.isfinite(f) else None


def _ratio(d: Any, bd: Any) -> float:
    try:
        return float(d / bd)
    except OverflowError:  # an error beyond 1e308 bounds (a subnormal bound) is infinitely off
        return math.inf


def _certified_errors(a: Arr, e: Arr, b: Arr) -> tuple[Arr, Arr, Arr]:
    """Decide `|a − e| ≤ b` exactly for every entry, doing exact arithmetic only where it matters.

    Rounded to float64, the error is off by at most `2u(|a| + |e|)` (one rounding of `e`, one of the
    difference): entries whose float error clears the bound, or exceeds it, by more than that are
    decided in float64; the rest (and every entry with a zero bound) are decided in rationals.
    Arrays of at most `SMALL` entries (most comparisons: scalars and vectors of a small network)
    are decided entry by entry (`_certified_entry`), where numpy's per-call cost would dominate;
    larger ones a whole array at a time (`_certified_arrays`), with the same result.
    """
    if a.size > SMALL:
        return _certified_arrays(a, e, b)
    shape = a.shape
    bounds = np.broadcast_to(np.asarray(b, dtype=np.float64), shape)
    decided = [
        _certified_entry(x, y, float(w))
        for x, y, w in zip(a.flat, e.flat, bounds.flat, strict=True)
    ]
    err = np.array([d[0] for d in decided], dtype=np.float64).reshape(shape)
    bad = np.array([d[1] for d in decided], dtype=bool).reshape(shape)
    ratio = np.array([d[2] for d in decided], dtype=np.float64).reshape(shape)
    return err, bad, ratio


SMALL = 8
"""Arrays of at most this many entries are compared entry by entry (`_certified_entry`)."""


def _certified_entry(x: Any, y: Any, bound: float) -> tuple[float, bool, float]:
    # One entry of `_certified_arrays`, in Python floats: the same operations, in the same order,
    # so the same roundings (Python's floats are IEEE binary64, as numpy's float64).
    af, ef = _float_or_nan(x), _float_or_nan(y)
    err = abs(af - ef)
    slack = 4 * 2.0**-53 * (abs(af) + abs(ef)) + 2.0**-1073
    if err + slack <= bound and bound > 0:
        ratio = 0.0 if err == 0 else err / bound
        return err, False, math.inf if math.isnan(ratio) else ratio
    if err - slack > bound and math.isfinite(err):
        ratio = math.inf if bound == 0 else err / (bound if bound > 0 else 1.0)
        return err, True, math.inf if math.isnan(ratio) else ratio
    return _exact_entry(x, y, bound)


def _float_or_nan(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _certified_arrays(a: Arr, e: Arr, b: Arr) -> tuple[Arr, Arr, Arr]:
    # `_certified_errors` a whole array at a time.
    shape = a.shape
    a, e, b = a.reshape(-1), e.reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    af = _as_float(a)
    ef = _as_float(e)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        err = np.abs(af - ef)
        slack = 4 * 2.0**-53 * (np.abs(af) + np.abs(ef)) + 2.0**-1073
        sure_ok = (err + slack <= b) & (b > 0)
        sure_bad = (err - slack > b) & np.isfinite(err)
        ratio = np.where(err == 0, 0.0, err / np.where(b > 0, b, 1.0))
        ratio = np.where((b == 0) & (err > 0), np.inf, ratio)
    unsure = ~(sure_ok | sure_bad)
    bad = sure_bad.copy()
    if unsure.any():
        ex_err, ex_bad, ex_ratio = _exact_errors(a[unsure], e[unsure], b[unsure])
        err[unsure], bad[unsure], ratio[unsure] = ex_err, ex_bad, ex_ratio
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    return err.reshape(shape), bad.reshape(shape), ratio.reshape(shape)


def _as_float(x: Arr) -> Arr:
    if x.dtype != object:
        return x.astype(np.float64)
    try:  # every entry converts (the common case): one pass, no per-entry bookkeeping
        return np.fromiter((float(v) for v in x.flat), np.float64, x.size).reshape(x.shape)
    except (TypeError, ValueError, OverflowError):
        pass
    out = np.empty(x.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(x):
        try:
            out[idx] = float(v)
        except (TypeError, ValueError, OverflowError):
            out[idx] = math.nan
    return out


def _exact_errors(a: Arr, e: Arr, b: Arr) -> tuple[Arr, Arr, Arr]:
    # The error |a − e| in exact rationals, entry by entry (`_exact_entry`).
    err = np.empty(a.shape, dtype=np.float64)
    bad = np.zeros(a.shape, dtype=bool)
    ratio = np.zeros(a.shape, dtype=np.float64)
    for idx in np.ndindex(a.shape):
        err[idx], bad[idx], ratio[idx] = _exact_entry(a[idx], e[idx], float(b[idx]))
    return err, bad, ratio


def _exact_entry(x: Any, y: Any, bound: float) -> tuple[float, bool, float]:
    # The error |x − y| in exact rationals against `bound`; a non-finite entry is an infinite
    # error. In python-flint's `fmpq` (arithmetic in C) unless a side is a `Fraction` (an exact
    # engine's value), which does not mix with `fmpq`; both convert to floats correctly rounded.
    convert = (
        _exact_fmpq
        if flint_in_use() and type(x) is not Fraction and type(y) is not Fraction
        else _exact
    )
    xr, yr = convert(x), convert(y)
    if xr is None or yr is None:
        return math.inf, True, math.inf
    d = abs(xr - yr)
    if not math.isfinite(bound):  # an infinite bound holds anything; a NaN one nothing
        return float(d), math.isnan(bound), math.inf if math.isnan(bound) else 0.0
    bd = convert(bound)
    ratio = 0.0 if d == 0 else (math.inf if bd == 0 else _ratio(d, bd))
    return float(d), bool(d > bd), ratio


def combine(lean_name: str, subject: str, comparisons: list[Comparison], **witness: Any) -> Verdict:
    """Return `holds` if every comparison is within its bound, else `fails` naming the worst."""
    failed = [c for c in comparisons if not c.ok]
    if failed:
        worst = max(failed, key=lambda c: c.worst_ratio)
        return Verdict(
            lean_name,
            Status.FAILS,
            subject,
            f"{worst.quantity} differs",
            tuple(comparisons),
            dict(witness),
        )
    return Verdict(lean_name, Status.HOLDS, subject, "", tuple(comparisons), dict(witness))


def noted(verdict: Verdict, note: str) -> Verdict:
    """Return the verdict with `note` (what was not compared) added to its message."""
    if not note:
        return verdict
    return replace(verdict, message=f"{verdict.message}; {note}" if verdict.message else note)


def unmet(lean_name: str, subject: str, message: str, **witness: Any) -> Verdict:
    """Return a verdict that the lemma's hypothesis does not hold here (nothing was compared)."""
    return Verdict(lean_name, Status.UNMET, subject, message, (), dict(witness))


def error(lean_name: str, subject: str, message: str, **witness: Any) -> Verdict:
    """Return a verdict that the engine under test misbehaved."""
    return Verdict(lean_name, Status.ERROR, subject, message, (), dict(witness))


def compare_exact(what: Quantity, actual: Arr | Any, expected: Arr | Any) -> Comparison:
    """Compare exact rationals for equality: the bound is 0 and nothing is rounded."""
    a, e = np.asarray(actual, dtype=object), np.asarray(expected, dtype=object)
    if a.shape == e.shape and a.size and _same_rationals(a, e):
        # Every entry equal, as `compare` would find it (its worst entry then the first), without
        # forming the error arrays: most exact comparisons at small sizes are of this kind.
        first = (0,) * a.ndim
        return Comparison(
            what, True, 0.0, first, float(a[first]), float(e[first]), 0.0, 0.0, 0, a.size, EXACTLY
        )
    return compare(what, a, e, Bound.zero(EXACTLY))


def _same_rationals(a: Arr, e: Arr) -> bool:
    # Entries of one type (`fmpq` and `Fraction` do not compare with each other) and equal.
    return all(type(x) is type(y) and x == y for x, y in zip(a.flat, e.flat, strict=True))
