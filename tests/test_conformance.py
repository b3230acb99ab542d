"""The built-in engine conforms: every predicate holds on it, and kinks are reported as such.

- With the default configuration (the whole domain: empty layers, kinks, units next to them) and
  with `min_dim=1`, every module check holds on `impl.ReferenceBackend`, and a lemma's hypothesis
  is unmet only at the exact kinks of the "kink" part, never next to them.
- At points where some `z1 i = 0` exactly, the lemmas that assume `hx` (`hasFDerivAt_mlp_wrt_{b1,
  x,W1}`, `grad_{b1,x,W1}_mse`) answer `unmet`, never `holds` nor `fails`, while the lemmas that
  need no hypothesis (`grad_W2_mse`, `grad_b2_mse`, `hasFDerivAt_mlp_wrt_W2`) still hold there.
- The report counts the examples whose hidden layer had active units, over all three patterns.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings

import spec.checks.gradients as G
import spec.checks.mlp
from impl import ReferenceBackend
from spec.checks.base import Check, Config
from spec.engine import Backend
from spec.examples import MlpExample
from spec.runner import Result, module_checks, run_all, run_check
from spec.strategies import kinked_mlp_examples
from spec.subject import Subject
from spec.verdict import Status, Verdict
from tests import backends as B

SEED = 4242
EXAMPLES = 15
CONFIGS = {"default": Config(), "min_dim_1": Config(min_dim=1)}
NAMES = [name for name, _, _ in module_checks()]
CHECKS = {name.rsplit(".", 1)[-1]: (name, kind, check) for name, kind, check in module_checks()}

Predicate = Callable[[MlpExample, Subject], Verdict]

NEEDS_HX: dict[str, Predicate] = {
    "hasFDerivAt_mlp_wrt_b1": G.check_hasFDerivAt_mlp_wrt_b1,
    "hasFDerivAt_mlp_wrt_x": G.check_hasFDerivAt_mlp_wrt_x,
    "hasFDerivAt_mlp_wrt_W1": G.check_hasFDerivAt_mlp_wrt_W1,
    "grad_b1_mse": G.check_grad_b1_mse,
    "grad_x_mse": G.check_grad_x_mse,
    "grad_W1_mse": G.check_grad_W1_mse,
}
"""The lemmas with the hypothesis `hx : ∀ i, z1 W1 b1 x i ≠ 0`."""

NO_HYPOTHESIS: dict[str, Predicate] = {
    "hasFDerivAt_mlp_wrt_W2": G.check_hasFDerivAt_mlp_wrt_W2,
    "grad_W2_mse": G.check_grad_W2_mse,
    "grad_b2_mse": G.check_grad_b2_mse,
    # At a kink it compares only the W2 and b2 slices, which need no hypothesis.
    "adjoint_fderiv_comp_apply_one": spec.checks.mlp.check_adjoint_fderiv_comp_apply_one,
}
"""Lemmas drawn at MLP points that need no hypothesis, so they still hold at a kink."""

_results: dict[str, list[Result]] = {}


def results(config: str) -> list[Result]:
    """Return the reference engine's results for `config`, computed once per session."""
    if config not in _results:
        _results[config] = run_all(ReferenceBackend(), CONFIGS[config], EXAMPLES, SEED)
    return _results[config]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_reference_engine_holds_everywhere(config: str) -> None:
    """Every module check holds on the reference engine, with no unmet example."""
    rs = results(config)
    assert [r.lean_name for r in rs] == NAMES
    bad = [
        f"{r.lean_name}: {r.status.value}: {r.message}" for r in rs if r.status is not Status.HOLDS
    ]
    assert not bad, "\n".join(bad)
    for r in rs:
        assert r.examples >= 1 and r.holds + r.unmet == r.examples and r.holds > 0, r
        unmet_parts = {p for p, v in r.parts.items() if v.unmet}
        assert unmet_parts <= {"kink"}, f"{r.lean_name}: hx unmet in {unmet_parts}"
        assert r.counterexample is None


@pytest.mark.parametrize("config", list(CONFIGS))
def test_active_units_are_counted(config: str) -> None:
    """Checks drawn at MLP points count the examples with active hidden units."""
    mlp = [r for r in results(config) if r.active_examples is not None]
    assert len(mlp) >= 16  # affineMat, mlpVecMat, mse, adjoint_…, z1, a1, y, 4 hasFDerivAt, 5 grad
    for r in mlp:
        assert r.active_examples is not None and r.active_examples > 0, r
        assert sum(r.patterns.values()) == r.examples, r
        assert r.active_examples == r.patterns.get("all-on", 0) + r.patterns.get("mixed", 0), r
    others = [r for r in results(config) if r.active_examples is None]
    assert others and all(not r.patterns for r in others)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_all_patterns_are_drawn(config: str) -> None:
    """Over 60 points the hidden layer is seen all-on, all-off and mixed (and, with `min_dim=0`,
    with `hidDim = 0`: "none"); every check of one run draws the same points for one seed, so
    one cheap check (`mlpVecMat`) stands for all."""
    name, kind, check = CHECKS["mlpVecMat"]
    r = run_check(name, kind, check, ReferenceBackend(), CONFIGS[config], 60, SEED)
    assert r.status is Status.HOLDS, r
    assert {"all-on", "all-off", "mixed"} <= set(r.patterns), r.patterns
    assert r.active_examples == r.patterns["all-on"] + r.patterns["mixed"]
    assert ("none" in r.patterns) == (CONFIGS[config].min_dim == 0), r.patterns


SMALL = Config(min_dim=2, max_dim=4)
"""Small runs draw small sizes, and at size 1 some bugs vanish: a spec `mse` n times too large is
right at outDim = 1, and 2 examples may both draw it. With every dimension at least 2, two
examples are enough to show such a bug."""


@pytest.mark.parametrize("short", list(CHECKS))
def test_holds_with_two_examples_at_sizes_above_1(short: str) -> None:
    """Every check holds on the reference engine with 2 examples whose sizes are all at least 2
    (the lemmas with `hx` are unmet at exact kinks only, and compare at the other example)."""
    name, kind, check = CHECKS[short]
    r = run_check(name, kind, check, ReferenceBackend(), SMALL, 2, SEED)
    assert r.status is Status.HOLDS, r.counterexample.describe() if r.counterexample else r
    assert r.holds > 0 and r.holds + r.unmet == r.examples == 2, r
    assert {p for p, v in r.parts.items() if v.unmet} <= {"kink"}, r


KINKED = kinked_mlp_examples(max_dim=4, probes=2)
KINK_SETTINGS = settings(
    max_examples=25, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
ENGINES_AT_KINKS: dict[str, Callable[[], Backend]] = {
    "reference": ReferenceBackend,
    # A correct engine with another kink convention (mask z1 >= 0): the lemmas say nothing at
    # the kink, so it must be reported as unmet there too, never as failing.
    "mask-z1-ge-0": B.MaskZ1NonNegative,
}


def _exact_kinks(ex: MlpExample) -> list[int]:
    p = ex.point
    return [
        i
        for i in range(p.b1.shape[0])
        if sum(
            (Fraction(float(w)) * Fraction(float(v)) for w, v in zip(p.W1[i], p.x, strict=True)),
            Fraction(float(p.b1[i])),
        )
        == 0
    ]


@pytest.mark.parametrize("engine", list(ENGINES_AT_KINKS))
@KINK_SETTINGS
@given(ex=KINKED)
def test_hx_lemmas_are_unmet_at_kinks(engine: str, ex: MlpExample) -> None:
    """Where some `z1 i = 0`, each lemma assuming `hx` answers `unmet` naming the kinked unit."""
    kinks = _exact_kinks(ex)
    assert kinks, "kinked_mlp_examples drew a point without a kink"
    subject = Subject(ENGINES_AT_KINKS[engine]())
    for name, predicate in NEEDS_HX.items():
        v = predicate(ex, subject)
        assert v.status is Status.UNMET, f"{name}: {v.describe()}"
        assert v.comparisons == ()
        assert "hx fails" in v.message
        assert f"z1 W1 b1 x {kinks[0]} = 0" in v.message


@pytest.mark.parametrize("engine", list(ENGINES_AT_KINKS))
@KINK_SETTINGS
@given(ex=KINKED)
def test_lemmas_without_hypothesis_hold_at_kinks(engine: str, ex: MlpExample) -> None:
    """`grad_W2_mse`, `grad_b2_mse`, `hasFDerivAt_mlp_wrt_W2` (and the W2/b2 slices of
    `adjoint_fderiv_comp_apply_one`) need no hypothesis: they hold at kinked points."""
    subject = Subject(ENGINES_AT_KINKS[engine]())
    for name, predicate in NO_HYPOTHESIS.items():
        v = predicate(ex, subject)
        assert v.status is Status.HOLDS, f"{name}: {v.describe()}"
        assert v.comparisons, f"{name} compared nothing"


def _at_kinks(short: str) -> Result:
    name, kind, check = CHECKS[short]
    kinked = Check(
        name,
        lambda cfg: kinked_mlp_examples(max_dim=cfg.max_dim, probes=cfg.probes),
        check.run,
        check.subject,
    )
    return run_check(name, kind, kinked, ReferenceBackend(), Config(max_dim=4), 20, SEED)


@pytest.mark.parametrize("short", list(NEEDS_HX))
def test_runner_reports_unmet_at_kinks(short: str) -> None:
    """Run on kinked points only, a lemma assuming `hx` is reported `unmet` overall, not `holds`."""
    r = _at_kinks(short)
    assert r.status is Status.UNMET, r
    assert r.unmet == r.examples > 0 and r.holds == 0
    assert r.counterexample is None
    assert "hypothesis" in r.message
    assert r.patterns == {"kinked": r.examples}


@pytest.mark.parametrize("short", ["hasFDerivAt_mlp_wrt_W2", "grad_W2_mse", "grad_b2_mse"])
def test_runner_reports_holds_at_kinks_without_hypothesis(short: str) -> None:
    """Run on kinked points only, a lemma with no hypothesis is reported `holds`."""
    r = _at_kinks(short)
    assert r.status is Status.HOLDS, r
    assert r.holds == r.examples > 0 and r.unmet == 0
