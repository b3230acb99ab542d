"""Executable checks: how each Lean declaration is turned into a predicate the runner can draw
examples for, and the small helpers the predicates share."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from hypothesis.strategies import SearchStrategy

from ..engine import BackendError
from ..numerics.bound import Bound
from ..numerics.tolerance import EXACT
from ..rational import exact_array
from ..registry import attach_check
from ..subject import Subject
from ..types import Arr
from ..verdict import Comparison, Quantity, Verdict, compare, error

__all__ = ["Config", "Check", "check", "exact", "guarded", "against"]


@dataclass(frozen=True)
class Config:
    """What the examples are drawn from: dimension range, kink margin, probes per example."""

    min_dim: int = 0
    """The least size drawn: 0 (Lean's `Fin 0`) puts empty layers into the domain checked."""
    max_dim: int = 8
    margin: float | Fraction = 2.0**-60
    """The least |z1 i| of the drawn points (`spec.strategies.DEFAULT_MARGIN`, kept equal by a
    test); a `Fraction` is kept exactly by rational points and rounded up for float ones."""
    probes: int = 2
    dtype: str = "float64"
    """The format the engine is checked in ("float64", "float32", or "exact"); examples are
    rounded to it."""
    dims: tuple[int, int, int] | None = None
    """`(inDim, hidDim, outDim)` to check every MLP point at, instead of drawing sizes."""
    exact_reference: bool | None = None
    """Compare engines with the spec's exact values (True), its float64 values (False), or decide
    by size (None): exact rationals cost O(parameters) Python-level operations per example."""

    def use_exact_reference(self) -> bool:
        """Return whether the run compares with exact values: always for an exact engine, else as
        asked, else when the largest MLP drawn has at most `EXACT_REFERENCE_LIMIT` parameters."""
        if self.dtype == "exact" or self.exact_reference is not None:
            return self.dtype == "exact" or bool(self.exact_reference)
        i, h, o = self.dims if self.dims is not None else (self.max_dim,) * 3
        return h * (i + o + 1) + o <= EXACT_REFERENCE_LIMIT


EXACT_REFERENCE_LIMIT = 10_000
"""Parameter count up to which engines are compared with exact values by default (measured: about
0.1-0.4 s per example and predicate at this size with `fractions.Fraction`)."""


Predicate = Callable[[Any, Subject], Verdict]


@dataclass(frozen=True)
class Check:
    """A predicate of one Lean declaration, with the strategy its examples come from."""

    lean_name: str
    strategy: Callable[[Config], SearchStrategy[Any]]
    run: Predicate
    subject: str
    """What is checked, on what: e.g. "engine grads vs closed form; engine loss along probes"."""


def check(
    name: str, strategy: Callable[[Config], SearchStrategy[Any]], subject: str
) -> Callable[[Predicate], Predicate]:
    """Attach the decorated predicate as the check of the registered mirror `name`.

    The predicate must be named `check_<short name>`, so a check reads as the Lean name it checks;
    `spec.registry.attach_check` refuses a name no mirror is registered under.
    """

    def register(fn: Predicate) -> Predicate:
        short = name.rsplit(".", 1)[-1]
        if getattr(fn, "__name__", None) != f"check_{short}":
            raise LookupError(
                f"@check({name!r}): name the predicate check_{short}, "
                f"not {getattr(fn, '__name__', fn)!r}"
            )
        attach_check(name, Check(name, strategy, guarded(name, fn), subject))
        return fn

    return register


def guarded(name: str, fn: Predicate) -> Predicate:
    """Return `fn` with engine failures turned into an `error` verdict naming the engine's fault."""

    def run(ex: Any, subject: Subject) -> Verdict:
        try:
            return fn(ex, subject)
        except BackendError as exc:
            return error(name, f"engine {subject.name}", str(exc))

    run.__name__ = getattr(fn, "__name__", name)
    run.__doc__ = fn.__doc__
    return run


def exact(a: Any) -> Arr:
    """Return the array (or number) as exact rationals (`spec.rational`: python-flint's `fmpq` when
    installed, else `Fraction`); floats convert without rounding."""
    return exact_array(a)


def against(
    subject: Subject,
    what: Quantity,
    actual: Any,
    exact_expected: Callable[[], Any],
    float_expected: Any,
    within: Bound,
) -> Comparison:
    """Compare an engine's value with the spec's.

    With an exact reference (the default), against the spec's exact value within the engine's own
    rounding bound `Δ`: the error is measured exactly, so a pass certifies the bound. Otherwise
    (sizes where exact rationals cost too much) against the spec's float64 value within `2Δ`,
    since both computations are within `Δ` of the exact value.
    """
    ulp = None if subject.prec is EXACT else subject.prec.dtype
    if subject.exact_reference:
        return compare(what, actual, exact_expected(), within, ulp_dtype=ulp)

    # Two statements may compare the very same arrays (grad_W1_mse and the W1 slice of
    # adjoint_fderiv_comp_apply_one, on one engine gradient at one point): at millions of entries
    # the comparison is worth reusing under the new statement's name, for as long as the
    # subject memoizes its calls at one point (`spec.checks.point.check_point`).
    def run() -> Comparison:
        return compare(what, actual, float_expected, within, ulp_dtype=ulp, scale=2.0)

    done: Comparison = subject.reuse((actual, float_expected, within.value), ("against",), run)
    return replace(done, what=what, derivation=f"2·({within.derivation})")
