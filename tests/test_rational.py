"""Exact rationals (`spec.rational`): python-flint's fast path and the `Fraction` fallback agree,
nothing rounds, and certified comparisons decide exactly what full rational arithmetic decides.
Every switch of the arithmetic goes through `arithmetic_of`, which restores it even when the test
fails, so a failure here cannot change the arithmetic of the tests that follow."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impl import ReferenceBackend
from spec import rational
from spec.checks.base import Config
from spec.checks.point import check_point
from spec.examples import MlpExample
from spec.numerics.bound import Bound
from spec.strategies import mlp_examples
from spec.verdict import Quantity, Status, compare

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@contextmanager
def arithmetic_of(flint: bool) -> Iterator[None]:
    """Switch `spec.rational` to python-flint (or `Fraction`s) inside the block, and back to what
    it was after it, whatever happens inside."""
    before = rational.flint_in_use()
    rational.use_flint(flint)
    try:
        yield
    finally:
        rational.use_flint(before)


@pytest.fixture(autouse=True, scope="module")
def _flint_is_restored() -> Iterator[None]:
    before = rational.flint_in_use()
    yield
    assert rational.flint_in_use() == before, "a test left spec.rational switched"


@pytest.fixture(params=[True, False], ids=["flint", "fractions"])
def arithmetic(request: pytest.FixtureRequest) -> Iterator[bool]:
    assert rational.HAVE_FLINT, "python-flint is part of the test extras: pip install -e '.[test]'"
    with arithmetic_of(bool(request.param)):
        yield bool(request.param)


def test_arithmetic_of_restores_on_error() -> None:
    before = rational.flint_in_use()
    with pytest.raises(ZeroDivisionError), arithmetic_of(not before):
        assert rational.flint_in_use() == (not before)
        rational.Q(1, 0)
    assert rational.flint_in_use() == before


@given(finite)
def test_q_is_exact(x: float) -> None:
    for flint in (True, False):
        with arithmetic_of(flint):
            assert rational.to_fraction(rational.q(x)) == Fraction(x)


def test_q_rejects_non_reals() -> None:
    with pytest.raises(ValueError, match="not a real number"):
        rational.q(math.nan)
    with pytest.raises(ValueError, match="not a real number"):
        rational.exact_array(np.array([1.0, math.inf]))


def test_switching_changes_the_scalar_type(arithmetic: bool) -> None:
    v = rational.Q(1, 3)
    assert isinstance(v, Fraction) != arithmetic
    assert rational.flint_in_use() == arithmetic
    assert rational.is_rational(v) and not rational.is_rational(1.0 / 3)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(-60, 60))
def test_matvec_agrees_with_fraction_arithmetic(seed: int, scale: int) -> None:
    """`matvec` on flint's matrices (70·70 entries is past the switch) is the exact product."""
    rng = np.random.default_rng(seed)
    W = np.ldexp(rng.standard_normal((70, 70)), scale)
    v = np.ldexp(rng.standard_normal(70), -scale)
    want = [
        sum((Fraction(w) * Fraction(x) for w, x in zip(row, v, strict=True)), Fraction(0))
        for row in W
    ]
    for flint in (True, False):
        with arithmetic_of(flint):
            got = rational.matvec(rational.exact_array(W), rational.exact_array(v))
            assert [rational.to_fraction(g) for g in got] == want


def test_empty_sums_are_the_rational_zero(arithmetic: bool) -> None:
    out = rational.matvec(np.empty((3, 0), dtype=object), np.empty(0, dtype=object))
    assert out.shape == (3,) and all(rational.is_rational(x) and x == 0 for x in out)


def test_exact_array_cache_is_per_object_and_per_arithmetic() -> None:
    W = np.array([[0.1, 0.2], [0.3, 0.4]])
    with arithmetic_of(True):
        a = rational.exact_array(W)
        assert rational.exact_array(W) is a
        assert rational.exact_array(W.copy()) is not a
    with arithmetic_of(False):
        b = rational.exact_array(W)
        assert isinstance(b[0, 0], Fraction) and b is not a


near = st.tuples(
    finite.filter(lambda v: abs(v) < 1e200), st.integers(-3, 3), st.floats(0, 1e-10) | st.just(0.0)
)


@given(st.lists(near, min_size=1, max_size=12))
def test_certified_comparison_decides_as_exact_arithmetic(
    cases: list[tuple[float, int, float]],
) -> None:
    """Entries whose error sits within a few ulps of the bound, or has a zero bound, are decided
    in rationals; the verdict is always the one full rational arithmetic gives."""
    expected = [rational.Q(*e.as_integer_ratio()) for e, _k, _b in cases]
    actual = np.array([np.nextafter(e, math.inf * k) if k else e for e, k, _b in cases])
    # Bounds right at the true errors, and a hair either side of them.
    exact_err = [
        abs(Fraction(float(a)) - rational.to_fraction(e))
        for a, e in zip(actual, expected, strict=True)
    ]
    bound = np.array(
        [float(err) * (1 + rel) for err, (_e, _k, rel) in zip(exact_err, cases, strict=True)]
    )
    c = compare(Quantity("q"), actual, np.array(expected, dtype=object), Bound(bound, "test"))
    truth_bad = sum(err > Fraction(float(b)) for err, b in zip(exact_err, bound, strict=True))
    assert c.failing == truth_bad
    assert c.ok == (truth_bad == 0)


@pytest.mark.parametrize("flint", [True, False], ids=["flint", "fractions"])
@settings(max_examples=3, deadline=None)
@given(ex=mlp_examples(fixed_dims=(12, 10, 8), probes=1, pattern="mixed"))
def test_exact_verification_of_the_gradients_holds_either_way(flint: bool, ex: MlpExample) -> None:
    with arithmetic_of(flint):
        cfg = Config(dims=(12, 10, 8), exact_reference=True, probes=1)
        verdicts = check_point(ReferenceBackend(), ex, cfg)
        assert verdicts and all(v.status is Status.HOLDS for v in verdicts), [
            v.describe() for v in verdicts if v.status is not Status.HOLDS
        ]
