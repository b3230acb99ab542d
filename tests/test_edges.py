"""The edges of each statement's domain: units next to the kink, exact kinks, empty layers.

Each wrong engine of `tests.backends.EDGE` is wrong only at one edge; the default configuration
(`Config()`: sizes 0..8, margin 2^-60, 100 examples) must catch it under every seed tried, and in
the part of the domain where it is wrong. The construction of near-kink points is checked against
its derivation (`spec.strategies._near_kink_bias`): every such unit is outside the band where a
correct engine could round it across the kink, on the right side, and at least the margin away.
"""

import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spec.checks.base import Config
from spec.domain import PARTS, near_kink_threshold
from spec.numerics.tolerance import FLOAT32, FLOAT64, forward_bounds
from spec.runner import module_checks, run_check
from spec.strategies import build_mlp_example
from spec.verdict import Status
from tests import backends as B

ROOT = Path(__file__).resolve().parents[1]

EDGE_CASES: dict[str, tuple[str, str]] = {
    # wrong engine: (the predicate that must catch it, the part where it is wrong)
    "MaskEpsilon": ("grad_b1_mse", "near-kink"),
    "MaskEpsilon6": ("grad_b1_mse", "near-kink"),
    "MaskEpsilon9": ("grad_b1_mse", "near-kink"),
    "MaskEpsilon12": ("grad_b1_mse", "near-kink"),
    "MaskRelative": ("grad_b1_mse", "near-kink"),
    "MaskFloat16": ("grad_b1_mse", "near-kink"),
    "ReluOneAtZero": ("y", "kink"),
    "ReluDerivOneAtZero": ("reluDerivCLM_apply", "kink"),
    "NaNAtEmptyOutput": ("grad_b2_mse", "interior"),
}
"""Every engine of `tests.backends.EDGE`, with where it must be caught."""

EDGE_SEEDS = (0, 1, 2)
EDGE_EXAMPLES = 100  # the CLI's default


def test_every_edge_engine_is_listed() -> None:
    assert sorted(EDGE_CASES) == sorted(cls.__name__ for cls in B.EDGE)


def _outcome(engine: str, seed_value: int) -> dict[str, Any]:
    short, _ = EDGE_CASES[engine]
    name, kind, check = next(c for c in module_checks() if c[0].endswith("." + short))
    r = run_check(name, kind, check, getattr(B, engine)(), Config(), EDGE_EXAMPLES, seed_value)
    return {
        "engine": engine,
        "seed": seed_value,
        "status": r.status.value,
        "failing_part": r.failing_part,
        "parts": {p: (v.status.value if v.status else None) for p, v in r.parts.items()},
        "counterexample_part": None if r.counterexample is None else r.failing_part,
    }


def _edge_child() -> None:
    """Entry point of the child process: engines on argv, their outcomes as JSON on stdout."""
    print(json.dumps([_outcome(e, s) for e in sys.argv[1:] for s in EDGE_SEEDS]))


@pytest.fixture(scope="module")
def edge_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Any]:
    """Run every edge engine under every seed, in two child interpreters, in parallel and without
    pytest's jaxtyping hook (the shapes are checked elsewhere: tests/test_typing.py)."""
    names = sorted(EDGE_CASES)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = "from tests.test_edges import _edge_child; _edge_child()"
    cwd = tmp_path_factory.mktemp("edges")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *half],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in (names[0::2], names[1::2])
    ]
    out: dict[tuple[str, int], Any] = {}
    for p in procs:
        stdout, stderr = p.communicate(timeout=900)
        assert p.returncode == 0, stderr
        for o in json.loads(stdout):
            out[(o["engine"], o["seed"])] = o
    assert len(out) == len(names) * len(EDGE_SEEDS)
    return out


@pytest.mark.parametrize("engine", sorted(EDGE_CASES))
def test_edge_engine_caught_under_every_seed(
    engine: str, edge_outcomes: dict[tuple[str, int], Any]
) -> None:
    """The default configuration catches the engine at its edge, under every seed tried."""
    short, where = EDGE_CASES[engine]
    for seed_value in EDGE_SEEDS:
        o = edge_outcomes[(engine, seed_value)]
        assert o["status"] == "fails", f"{short} on {engine}, seed {seed_value}: {o}"
        assert o["parts"].get(where) == "fails", f"{engine}, seed {seed_value}: {o}"
        assert o["failing_part"] is not None


@pytest.mark.parametrize("engine", ["ReluOneAtZero", "ReluDerivOneAtZero"])
def test_kink_engines_hold_off_the_kinks(
    engine: str, edge_outcomes: dict[tuple[str, int], Any]
) -> None:
    """A kink convention is wrong only at kinks: every other part holds, so the table says
    exactly where the engine departs from Lean."""
    for seed_value in EDGE_SEEDS:
        parts = edge_outcomes[(engine, seed_value)]["parts"]
        assert parts["kink"] == "fails"
        assert all(v == "holds" for p, v in parts.items() if p != "kink"), parts


def test_an_error_does_not_hide_a_failure(edge_outcomes: dict[tuple[str, int], Any]) -> None:
    """NaN at outDim = 0 is an error at empty layers; the wrong b2 gradient elsewhere is still
    found, and the row's verdict and shrunk counterexample are that failure."""
    for seed_value in EDGE_SEEDS:
        o = edge_outcomes[("NaNAtEmptyOutput", seed_value)]
        assert o["parts"]["empty"] in ("error", "fails"), o
        assert o["parts"]["interior"] == "fails", o
        assert o["status"] == "fails" and o["failing_part"] in ("interior", "near-kink", "kink"), o


def test_the_error_at_empty_layers_is_reported_with_its_part() -> None:
    """`mse` on the NaN-at-empty engine: an error in the empty part only, with its message."""
    name, kind, check = next(c for c in module_checks() if c[0].endswith(".mse"))
    r = run_check(name, kind, check, B.NaNAtEmptyOutput(), Config(), 30, 0)
    assert r.status is Status.ERROR
    assert r.failing_part == "empty"
    empty = r.parts["empty"]
    assert empty.errors > 0 and empty.first is not None
    assert "nan" in empty.first.message
    assert all(p.status is Status.HOLDS for k, p in r.parts.items() if k != "empty")


def test_parts_are_listed_in_order_and_count_every_example() -> None:
    """The per-part counts add up to the row's, and parts come in `PARTS` order."""
    name, kind, check = next(c for c in module_checks() if c[0].endswith(".grad_W1_mse"))
    r = run_check(name, kind, check, B.NumpyMlp(), Config(), 40, 3)
    assert list(r.parts) == [p for p in PARTS if p in r.parts]
    assert sum(p.examples for p in r.parts.values()) == r.examples == 40
    assert sum(p.unmet for p in r.parts.values()) == r.unmet
    assert r.parts["kink"].status is Status.UNMET  # hx: Lean says nothing at a kink


# --- the near-kink construction -------------------------------------------------------------

NEAR_SEEDS = range(400)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_near_kink_units_are_outside_the_doubt_band(dtype: str) -> None:
    """Every unit of a near-kink point has the exact sign it was built with (decided with
    Fractions), is at least the margin from the kink, and lies outside the band where the
    checker (and so any correct engine of the format) could put it across; float32 points are
    exact in float32."""
    prec = FLOAT64 if dtype == "float64" else FLOAT32
    margin = 2.0**-60
    near = 0
    for s in NEAR_SEEDS:
        ex = build_mlp_example(
            (1 + s % 8, 1 + s % 5, 1 + s % 3), s, margin=margin, part="near-kink", dtype=dtype
        )
        p = ex.point
        fb = forward_bounds(p, prec)
        assert not fb.kink_doubt.any(), (s, fb.z1, fb.d_z1)
        for i in range(p.dims[1]):
            z = sum(
                (Fraction(w) * Fraction(v) for w, v in zip(p.W1[i], p.x, strict=True)),
                Fraction(p.b1[i]),
            )
            assert z != 0 and abs(z) >= Fraction(margin)
            assert (z > 0) == (fb.z1[i] > 0)
        if dtype == "float32":
            for a in p.arrays().values():
                assert np.array_equal(a.astype(np.float32).astype(np.float64), a)
        near += ex.part == "near-kink"
    # Every point has a unit below the threshold relative to its scale (or, at float32's floor
    # for the widest rows, one at the floor itself).
    assert near >= 0.9 * len(NEAR_SEEDS)


def test_near_kink_units_span_the_orders_of_magnitude() -> None:
    """Near-kink points put positive units below each threshold a wrong mask might use, in a
    healthy share of points: absolute 1e-3 .. 1e-12, relative 1e-9, and below float16's least
    subnormal; and down to a few rounding errors from the kink."""
    hits = dict.fromkeys(["1e-3", "1e-6", "1e-9", "1e-12", "rel 1e-9", "float16", "floor"], 0)
    for s in NEAR_SEEDS:
        ex = build_mlp_example((1 + s % 8, 1 + s % 7, 1 + s % 3), s, part="near-kink")
        p = ex.point
        z = p.W1 @ p.x + p.b1
        scale = np.abs(p.W1) @ np.abs(p.x) + np.abs(p.b1)
        pos = z > 0
        for eps in ("1e-3", "1e-6", "1e-9", "1e-12"):
            hits[eps] += bool((pos & (z <= float(eps))).any())
        hits["rel 1e-9"] += bool((pos & (z <= 1e-9 * scale)).any())
        hits["float16"] += bool((pos & (z.astype(np.float16) == 0)).any())
        n = p.dims[0]
        gamma = (n + 1) * 2.0**-53 / (1 - (n + 1) * 2.0**-53)
        hits["floor"] += bool((np.abs(z) <= 64 * gamma * scale).any())
    share = {k: v / len(NEAR_SEEDS) for k, v in hits.items()}
    assert min(share.values()) >= 0.05, share


def test_near_kink_threshold_is_half_the_digits() -> None:
    assert near_kink_threshold(2.0**-53) == 2.0**-27
    assert near_kink_threshold(2.0**-24) == 2.0**-12
    assert near_kink_threshold(0.0) == 2.0**-27  # exact engines are classified as float64
    assert math.isclose(math.log2(near_kink_threshold(2.0**-53)), -27)


def test_kink_and_empty_points() -> None:
    """Kink points have an exact zero in z1; empty points have a zero size; both are labelled."""
    for s in range(50):
        kinked = build_mlp_example((3, 4, 2), s, part="kink")
        p = kinked.point
        assert kinked.part == "kink"
        assert any(
            sum(
                (Fraction(w) * Fraction(v) for w, v in zip(p.W1[i], p.x, strict=True)),
                Fraction(p.b1[i]),
            )
            == 0
            for i in range(p.dims[1])
        )
        empty = build_mlp_example((3, 4, 2), s, part="empty")
        assert empty.part == "empty" and 0 in empty.point.dims
