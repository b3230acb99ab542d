"""Exact mode end to end: rational points, integer probes, zero tolerance, the engines it catches.

`rational_mlp_examples` must give points whose no-kink margin holds exactly and whose entries are
not all dyadic; the reference engine must hold on every predicate at such points; and engines that
are wrong in ways only exact arithmetic sees (one that computes in float64 and returns fractions,
one whose gradient is off by 2^-80 relative) must be caught. The run summary must state how
unlikely a wrong gradient is to survive the integer probes. And `check --exact` must prove what it
prints: a recording engine sees only exact rationals (some no float holds), the counts of rational
points in the note and the JSON report agree and are not 0, and an error of 2^-80 fails against a
bound of 0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from impl import ReferenceBackend
from spec.checks.base import Config
from spec.checks.gradients import survival
from spec.examples import PARAMS, MlpExample, MseExample, VecExample
from spec.numerics.tolerance import EXACT
from spec.reporting.report import render_counterexample
from spec.runner import Result, module_checks, run_all, run_check
from spec.strategies import (
    PROBE_BITS,
    linear_examples,
    mlp_examples_for,
    mse_examples,
    rational_mlp_examples,
    vec_examples,
)
from spec.subject import Subject
from spec.verdict import Status

EXACT_CFG = Config(max_dim=4, dtype="exact")
CHECKS = {name.rsplit(".", 1)[-1]: (name, kind, check) for name, kind, check in module_checks()}


def _z1(ex: MlpExample) -> list[Fraction]:
    r = ex.point.rational
    assert r is not None
    return [
        sum((w * v for w, v in zip(row, r["x"], strict=True)), Fraction(0)) + b
        for row, b in zip(r["W1"].tolist(), r["b1"].tolist(), strict=True)
    ]


MARGINS = [Fraction(1, 3), Fraction(1, 1000), Fraction(2) ** -40, Fraction(7, 5)]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(MARGINS).flatmap(
        lambda m: st.tuples(st.just(m), rational_mlp_examples(min_dim=0, max_dim=5, margin=m))
    )
)
def test_rational_points_satisfy_hx_with_the_exact_margin(
    case: tuple[Fraction, MlpExample],
) -> None:
    margin, ex = case
    p = ex.point
    assert p.rational is not None
    z = _z1(ex)
    assert all(abs(v) >= margin for v in z), (margin, z)
    assert ex.active_pattern == (
        "none"
        if not z
        else "all-on"
        if all(v > 0 for v in z)
        else "all-off"
        if all(v < 0 for v in z)
        else "mixed"
    )
    for k in (*PARAMS, "t"):
        exact_k, float_k = p.rational[k], p.get(k)
        assert exact_k.shape == float_k.shape
        assert all(type(v) is Fraction for v in exact_k.flat)
        # The float image is the rounding to nearest of each entry.
        assert all(float(v) == f for v, f in zip(exact_k.flat, float_k.flat, strict=True))


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        vec_examples(min_dim=0, max_dim=5, rational=True),
        linear_examples(min_dim=0, max_dim=5, rational=True),
        mse_examples(min_dim=0, max_dim=5, rational=True),
    )
)
def test_rational_single_map_examples_are_exact_with_rounded_floats(ex: Any) -> None:
    assert ex.rational is not None
    for name, exact_a in ex.rational.items():
        float_a = getattr(ex, name)
        assert exact_a.shape == float_a.shape
        assert all(
            type(v) is Fraction and float(v) == f
            for v, f in zip(exact_a.flat, float_a.flat, strict=True)
        )
    if isinstance(ex, MseExample) and ex.h.size:
        assert any(v != 0 for v in ex.rational["h"].flat)
    if isinstance(ex, VecExample) and ex.x.size >= 3:
        x = ex.rational["x"]
        assert any(v == 0 for v in x) and any(v > 0 for v in x) and any(v < 0 for v in x)


def _non_dyadic(ex: MlpExample) -> bool:
    r = ex.point.rational
    return r is not None and any(
        v.denominator & (v.denominator - 1) for k in ("W1", "W2", "x") for v in r[k].flat
    )


def test_rational_points_have_thirds_fifths_sevenths() -> None:
    ex = find(rational_mlp_examples(max_dim=3), _non_dyadic)
    assert _non_dyadic(ex)


def test_some_units_sit_exactly_at_the_margin() -> None:
    margin = Fraction(1, 7)
    ex = find(
        rational_mlp_examples(max_dim=4, margin=margin),
        lambda e: any(abs(v) == margin for v in _z1(e)),
    )
    assert any(abs(v) == margin for v in _z1(ex))


@settings(max_examples=30, deadline=None)
@given(mlp_examples_for(exact=True, max_dim=4, probes=2))
def test_exact_probes_are_integers_of_probe_bits(ex: MlpExample) -> None:
    assert ex.probe_bits == PROBE_BITS
    half = 2.0 ** (PROBE_BITS - 1)
    for d in ex.directions:
        for k in PARAMS:
            h = d[k]
            assert np.all(h == np.round(h)) and np.all((-half <= h) & (h < half))


def test_survival_states_the_probability() -> None:
    assert "≤ 2^-32" in survival(32)
    assert "2 independent probes with probability ≤ 2^-64" in survival(32, 2)
    assert "no probability is claimed" in survival(None)


def _results(
    engine: Any,
    seed: int,
    only: list[str] | None = None,
    examples: int = 30,
) -> list[Result]:
    return run_all(engine, EXACT_CFG, examples, seed, only)


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_engine_holds_exactly(seed: int) -> None:
    results = _results(ReferenceBackend(), seed)
    bad = [(r.lean_name, r.status, r.message) for r in results if r.status is not Status.HOLDS]
    assert not bad
    mlp = [r for r in results if r.active_examples is not None]
    assert mlp and all(r.rational_examples > 0 for r in mlp), "no rational point was drawn"


class FloatInDisguise(ReferenceBackend):
    """An 'exact' engine that rounds its inputs to float64, computes in floats and returns the
    results as fractions: right on small dyadic inputs, wrong on thirds."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "float-in-disguise"

    @staticmethod
    def _floats(args: tuple[Any, ...]) -> list[Any]:
        return [np.asarray(a, dtype=object).astype(np.float64) for a in args]

    @staticmethod
    def _fractions(a: Any) -> Any:
        arr = np.asarray(a, dtype=np.float64)
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            out[idx] = Fraction(float(v))
        return out

    def forward(self, *args: Any) -> Any:
        return self._fractions(super().forward(*self._floats(args)))

    def loss(self, *args: Any) -> Any:
        return Fraction(float(super().loss(*self._floats(args))))

    def grads(self, *args: Any) -> Any:
        return {k: self._fractions(v) for k, v in super().grads(*self._floats(args)).items()}

    def mse(self, *args: Any) -> Any:
        return Fraction(float(super().mse(*self._floats(args))))

    def mse_grad(self, *args: Any) -> Any:
        return self._fractions(super().mse_grad(*self._floats(args)))

    def relu_vjp(self, *args: Any) -> Any:
        return self._fractions(super().relu_vjp(*self._floats(args)))

    def linear_input_vjp(self, *args: Any) -> Any:
        return self._fractions(super().linear_input_vjp(*self._floats(args)))


class GradOffBy2ToMinus80(ReferenceBackend):
    """An exact engine whose dW1 is off by 2^-80 relative in its largest entry."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "grad-off-by-2^-80"

    def grads(self, *args: Any) -> Any:
        out = super().grads(*args)
        g = out["W1"]
        if g.size:
            idx = np.unravel_index(int(np.argmax([abs(v) for v in g.flat])), g.shape)
            g[idx] = g[idx] * (1 + Fraction(1, 2**80)) if g[idx] != 0 else Fraction(1, 2**80)
        return out


@pytest.mark.parametrize(
    "short",
    [
        "mlpVecMat",
        "y",
        "mse",
        "grad_W2_mse",
        "grad_W1_mse",
        "hasFDerivAt_mlp_wrt_W1",
        "mseGrad",
        "hasFDerivAt_mse",
        "mseGrad_eq_adjoint_fderiv",
        "reluDerivCLM_apply",
        "toVecE_linear_input_deriv_spec_eq_adjoint",
    ],
)
def test_float_arithmetic_in_an_exact_engine_is_caught(short: str) -> None:
    name, kind, check = CHECKS[short]
    r = run_check(name, kind, check, FloatInDisguise(), EXACT_CFG, 50, 3)
    assert r.status is Status.FAILS, r.message


class OnlyMseRounds(ReferenceBackend):
    """An exact engine whose optional `mse(y, t)` alone rounds its inputs to float64."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "only-mse-rounds"

    def mse(self, y: Any, t: Any) -> Any:
        return Fraction(float(super().mse(*FloatInDisguise._floats((y, t)))))


def test_the_optional_mse_is_handed_exact_values() -> None:
    name, kind, check = CHECKS["mse"]
    r = run_check(name, kind, check, OnlyMseRounds(), EXACT_CFG, 100, 3)
    assert r.status is Status.FAILS, r.message
    assert r.counterexample is not None
    assert any("engine mse(y, t)" in c.quantity for c in r.counterexample.comparisons if not c.ok)


def test_a_2_to_minus_80_gradient_error_is_caught_with_the_probability_stated() -> None:
    name, kind, check = CHECKS["grad_W1_mse"]
    r = run_check(name, kind, check, GradOffBy2ToMinus80(), EXACT_CFG, 50, 3)
    assert r.status is Status.FAILS
    v = r.counterexample
    assert v is not None
    failing = [c.quantity for c in v.comparisons if not c.ok]
    # Caught entrywise against the exact right side, and along the integer probes.
    assert any("vs the statement's right side" in q for q in failing)
    assert any("vs its own (L(p + s h) − L(p)) / s − s(1/n)‖f'(h)‖²" in q for q in failing)
    probes = [c.quantity for c in v.comparisons if "⟪right side, h⟫" in c.quantity]
    assert probes and all(f"N = 2^{PROBE_BITS}" in q for q in probes)


def test_counterexample_inputs_print_exactly() -> None:
    """A counterexample's inputs print as the exact values checked: fractions for a rational
    point (b1 = [1/12], not 0.08333333), the shortest round-trip repr for a float one (a near-kink
    b1 = [1.0000000002683038], not 1.), so that what is shown is what fails."""
    name, kind, check = CHECKS["y"]
    r = run_check(name, kind, check, FloatInDisguise(), EXACT_CFG, 50, 3)
    assert r.status is Status.FAILS and r.counterexample is not None
    text = render_counterexample(r, "replay")
    inputs = text.split("inputs:")[1].split("at this point")[0]
    for key, value in r.counterexample.witness.items():
        arr = np.asarray(value)
        shown = inputs.split(f"{key} = ", 1)[1].split(" = ", 1)[0]
        numbers = re.findall(r"-?\d+(?:/\d+|\.\d*(?:e[-+]?\d+)?)?", shown)
        if arr.dtype == object:
            parsed = [Fraction(v) for v in numbers]
        else:
            parsed = [Fraction(float(v)) for v in numbers]
        assert parsed[: arr.size] == [Fraction(v) for v in arr.flat], (key, shown)


def test_rational_values_print_as_fractions() -> None:
    from spec.text import array as _arr

    assert _arr(np.array([Fraction(1, 12), Fraction(-7, 3)], dtype=object)) == "[1/12, -7/3]"
    assert _arr(np.array([1 + 2.0**-32]), exact=True) == "[1.0000000002328306]"
    assert _arr(np.array([1 + 2.0**-32])) == "[1.]"  # derived values stay compact


def test_a_float_engine_is_not_handed_a_rational_point() -> None:
    ex = find(rational_mlp_examples(max_dim=2), lambda e: True)
    with pytest.raises(ValueError, match="rational examples are for exact engines"):
        Subject(ReferenceBackend()).forward(ex.point)
    assert Subject(ReferenceBackend(), EXACT).forward(ex.point).dtype == object


def test_a_fractional_margin_is_kept_exactly_and_replayed() -> None:
    from spec.reporting.report import replay_command

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spec",
            "check",
            "--exact",
            "--margin",
            "1/3",
            "--examples",
            "10",
            "--only",
            "hasFDerivAt_mlp_wrt_b1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cmd = replay_command(
        "N", {"dtype": "exact", "margin": Fraction(1, 3), "seed": 0, "examples": 1}
    )
    assert "--margin 1/3" in cmd
    bad = subprocess.run(
        [sys.executable, "-m", "spec", "check", "--margin", "1/0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0
    assert "give a positive number or a fraction P/Q" in bad.stderr + bad.stdout


def test_cli_exact_run_states_points_and_survival_probability() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spec",
            "check",
            "--exact",
            "--examples",
            "10",
            "--only",
            "grad_W1_mse",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "small-denominator rational entries" in proc.stdout
    assert "passes 2 independent probes with probability ≤ 2^-64" in proc.stdout


RECORD = "SPEC_TEST_EXACT_RECORD"
"""The environment variable naming the file `RecordingEngine` appends its records to."""


class RecordingEngine(ReferenceBackend):
    """The reference engine, recording the arguments it is handed: for each call of `forward`,
    `loss` and `grads`, one JSON line with the types of their entries and whether any entry is a
    rational no float holds (a denominator that is not a power of 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "recording"

    def _record(self, method: str, args: tuple[Any, ...]) -> None:
        entries = [v for a in args for v in np.asarray(a, dtype=object).flat]
        types = sorted({type(v).__name__ for v in entries})
        non_dyadic = any(
            isinstance(v, Fraction) and v.denominator & (v.denominator - 1) for v in entries
        )
        with open(os.environ[RECORD], "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "method": method,
                        "types": types,
                        "non_dyadic": non_dyadic,
                        "entries": len(entries),
                    }
                )
                + "\n"
            )

    def forward(self, *args: Any) -> Any:
        self._record("forward", args)
        return super().forward(*args)

    def loss(self, *args: Any) -> Any:
        self._record("loss", args)
        return super().loss(*args)

    def grads(self, *args: Any) -> Any:
        self._record("grads", args)
        return super().grads(*args)


ROOT = Path(__file__).resolve().parents[1]


def _cli(args: list[str], cwd: Path, record: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env[RECORD] = str(record)
    return subprocess.run(
        [sys.executable, "-m", "spec", "check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_exact_run_hands_the_engine_rationals(tmp_path: Path) -> None:
    """What `--exact` says it did, it did: every point the engine was handed is exact rationals
    (some no float holds), the JSON report's counts of rational points are those the note prints
    and are not 0, and the configuration it records is exact."""
    record = tmp_path / "calls.jsonl"
    # At seed 0, 6 of the 30 points drawn are rational, some with non-dyadic entries.
    proc = _cli(
        [
            "--exact",
            "--backend",
            "tests.test_exact:RecordingEngine",
            "--examples",
            "30",
            "--max-dim",
            "3",
            "--only",
            "grad_W1_mse",
            "mlpVecMat",
            "--json",
            "r.json",
        ],
        tmp_path,
        record,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = [json.loads(line) for line in record.read_text("utf-8").splitlines()]
    assert {c["method"] for c in calls} >= {"forward", "loss", "grads"}
    assert all(c["types"] == ["Fraction"] for c in calls if c["entries"]), calls
    assert sum(c["non_dyadic"] for c in calls) > 0, "no point with thirds, fifths, sevenths"
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert data["config"]["dtype"] == "exact" and data["config"]["probe_bits"] == PROBE_BITS
    m = re.search(r"Points: (\d+) of (\d+) with small-denominator rational entries", proc.stdout)
    assert m is not None, proc.stdout
    shown, of = int(m.group(1)), int(m.group(2))
    counts = [(r["rational_examples"], r["examples"]) for r in data["results"]]
    assert (shown, of) in counts and 0 < shown <= of, (shown, of, counts)
    assert all(0 < k <= n for k, n in counts), counts


def test_cli_exact_run_holds_the_engine_to_a_zero_bound(tmp_path: Path) -> None:
    """An error of 2^-80 relative in one gradient entry, invisible in float64, fails an `--exact`
    run: the bound the run used is 0."""
    proc = _cli(
        [
            "--exact",
            "--backend",
            "tests.test_exact:GradOffBy2ToMinus80",
            "--examples",
            "20",
            "--max-dim",
            "3",
            "--only",
            "grad_W1_mse",
            "--json",
            "r.json",
        ],
        tmp_path,
        tmp_path / "unused",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (r,) = json.loads((tmp_path / "r.json").read_text("utf-8"))["results"]
    assert r["status"] == "fails", r
    assert "FAILS: Proofs.Autograd.grad_W1_mse" in proc.stdout
    worst = next(ln for ln in proc.stdout.splitlines() if ln.startswith("  worst: "))
    m = re.search(r"error (\S+) EXCEEDS bound 0 ", worst)
    assert m is not None and 0 < float(m.group(1)) < 1e-20, worst
