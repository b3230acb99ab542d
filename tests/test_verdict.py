"""`spec.verdict`: the verdict constructors keep what they are given, and `describe` says it.

`unmet`, `error`, `combine`, `noted` and `compare_exact` are what every predicate answers with; a
verdict that lost its subject, witness or message would make every report built on it mislead.
(`tests/test_compare.py` tests `compare` on float arrays against the plain definition.)
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from spec.numerics.bound import Bound
from spec.verdict import (
    Comparison,
    Quantity,
    Status,
    Verdict,
    combine,
    compare,
    compare_exact,
    error,
    noted,
    unmet,
)

NAME = "Proofs.Autograd.grad_W1_mse"
WITNESS = {"x": np.array([1.0, -2.0])}


def test_unmet_keeps_everything_and_compares_nothing() -> None:
    v = unmet(NAME, "engine grads", "hx fails: z1 W1 b1 x 0 = 0", **WITNESS)
    assert (v.lean_name, v.status, v.subject, v.message) == (
        NAME,
        Status.UNMET,
        "engine grads",
        "hx fails: z1 W1 b1 x 0 = 0",
    )
    assert v.comparisons == () and v.worst is None and v.worst_ratio == 0.0
    assert list(v.witness) == ["x"] and v.witness["x"] is WITNESS["x"]
    assert v.describe() == f"{NAME} [engine grads]: unmet: hx fails: z1 W1 b1 x 0 = 0"


def test_error_keeps_everything() -> None:
    v = error(NAME, "engine grads", "grads raised ValueError: no", **WITNESS)
    assert (v.lean_name, v.status, v.subject, v.message) == (
        NAME,
        Status.ERROR,
        "engine grads",
        "grads raised ValueError: no",
    )
    assert v.comparisons == () and list(v.witness) == ["x"]
    assert v.describe() == f"{NAME} [engine grads]: error: grads raised ValueError: no"


def _cmp(quantity: str, err: float, bound: float = 1.0) -> Comparison:
    return compare(
        Quantity(quantity), np.array([err]), np.array([0.0]), Bound(np.array([bound]), "derived")
    )


def test_combine_holds_when_every_comparison_does() -> None:
    cs = [_cmp("a", 0.5), _cmp("b", 0.25)]
    v = combine(NAME, "engine", cs, **WITNESS)
    assert v.status is Status.HOLDS and v.message == "" and v.comparisons == tuple(cs)
    assert v.worst is cs[0] and v.worst_ratio == 0.5 and list(v.witness) == ["x"]
    assert v.describe() == f"{NAME} [engine]: holds"


def test_combine_fails_naming_the_worst_failing_comparison() -> None:
    cs = [_cmp("a", 0.5), _cmp("b", 3.0), _cmp("c", 2.0)]
    v = combine(NAME, "engine", cs, **WITNESS)
    assert v.status is Status.FAILS and v.message == "b differs"
    assert v.worst is cs[1] and v.worst_ratio == 3.0 and list(v.witness) == ["x"]
    assert v.describe() == (f"{NAME} [engine]: fails: b differs\n  worst: " + cs[1].describe())


def test_noted_appends_to_the_message() -> None:
    v = combine(NAME, "engine", [_cmp("a", 0.5)])
    assert noted(v, "") is v
    assert noted(v, "x not compared").message == "x not compared"
    w = combine(NAME, "engine", [_cmp("a", 2.0)])
    assert noted(w, "x not compared").message == "a differs; x not compared"
    assert noted(w, "x not compared").status is Status.FAILS


def test_describe_of_a_comparison() -> None:
    c = compare(
        Quantity("q"),
        np.array([1.0, 4.0]),
        np.array([1.0, 1.0]),
        Bound(np.array([1.0, 2.0]), "γ_2|x|"),
    )
    assert not c.ok and c.index == (1,) and c.failing == 1 and c.total == 2
    assert c.describe() == (
        "q[1]: actual 4.0, expected 1.0, error 3 EXCEEDS bound 2 (ratio 1.5; "
        "1 of 2 entries fail; bound: γ_2|x|)"
    )
    ok = compare(
        Quantity("q"),
        np.array([1.5]),
        np.array([1.0]),
        Bound(np.array([1.0]), "d"),
        ulp_dtype=np.float64,
    )
    assert ok.ulps == 0.5 / float(np.spacing(1.0))
    assert ok.describe() == (
        "q[0]: actual 1.5, expected 1.0, error 0.5 (2.25e+15 ulp) within "
        "bound 1 (ratio 0.5; 0 of 1 entries fail; bound: d)"
    )
    scalar = compare(Quantity("s"), np.float64(3.0), 1.0, Bound(1.0, "d"))
    assert scalar.index == () and scalar.describe() == (
        "s: actual 3.0, expected 1.0, error 2 EXCEEDS bound 1 (ratio 2; 1 of 1 entries fail; "
        "bound: d)"
    )
    empty = compare(Quantity("q"), np.zeros(0), np.zeros(0), Bound(0.0, "d"))
    assert empty.ok and empty.index is None and empty.describe() == "q: nothing to compare (empty)"


def test_a_shape_mismatch_fails_infinitely() -> None:
    c = compare(Quantity("q"), np.zeros(2), np.zeros(3), Bound(1.0, "d"))
    assert not c.ok and c.worst_ratio == math.inf and c.failing == c.total == 1
    assert c.derivation == "shape (2,) where the statement has shape (3,)"


def test_compare_exact_demands_equality() -> None:
    same = compare_exact(Quantity("q"), [Fraction(1, 3)], [Fraction(1, 3)])
    assert same.quantity == "q" and same.ok and same.bound == 0.0
    assert same.derivation == "exact rational arithmetic, bound 0"
    off = compare_exact(Quantity("q"), [Fraction(1, 3) + Fraction(1, 2**80)], [Fraction(1, 3)])
    assert not off.ok and off.worst_ratio == math.inf and off.failing == 1
    assert off.error == pytest.approx(2.0**-80, rel=1e-12)


def test_a_verdict_without_comparisons_has_no_worst() -> None:
    v = Verdict(NAME, Status.HOLDS, "spec")
    assert v.worst is None and v.worst_ratio == 0.0 and v.witness == {}
