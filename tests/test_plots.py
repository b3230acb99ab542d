"""Pictures: the PNGs are written and sane, and the data they draw says what the lemmas say.

The Taylor series are checked, not only drawn: inside the no-kink radius the MLP's first-order
remainder is 0 exactly (spec, rationals) and the engine's stays under the rounding floor; beyond it
a kink makes the remainder nonzero; for `mse` the remainder is exactly `(1/n)‖s h‖²`, slope 2.
"""

from __future__ import annotations

import math
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from spec.checks.base import Config
from spec.checks.series import (
    GRAD_NAMES,
    TAYLOR_NAMES,
    _coarse,
    collect,
    gradient_errors,
    mse_taylor_series,
    plot_example,
    taylor_series,
)
from spec.engine import load_backend
from spec.reporting.plots import require_matplotlib, write_plots
from spec.runner import run_all
from tests.backends import MissingFactor2, NumpyMlp, TinyErrorW1

pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")

ROOT = Path(__file__).resolve().parents[1]
CFG = Config()
SEED = 0
PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG, path
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data[-12:-8] == b"\x00\x00\x00\x00" and data[-8:-4] == b"IEND"
    return int(width), int(height)


def test_write_plots_writes_one_png_per_statement(tmp_path: Path) -> None:
    paths = write_plots(str(tmp_path / "plots"), collect(NumpyMlp(), CFG, SEED))
    names = {Path(p).stem for p in paths}
    expected = {"hasFDerivAt_mse"} | {n.rsplit(".", 1)[1] for n in [*TAYLOR_NAMES, *GRAD_NAMES]}
    assert names == expected and len(paths) == 10
    for p in paths:
        path = Path(p)
        assert 10_000 < path.stat().st_size < 200_000, (p, path.stat().st_size)
        assert png_size(path) == (688, 480)


def test_results_choose_the_pictures(tmp_path: Path) -> None:
    results = run_all(TinyErrorW1(), Config(max_dim=3), 3, SEED, only=["grad_W1_mse"])
    figures = collect(TinyErrorW1(), CFG, SEED, {r.lean_name for r in results})
    paths = write_plots(str(tmp_path), figures, results)
    assert [Path(p).name for p in paths] == ["grad_W1_mse.png"]


def test_drawing_runs_no_engine(tmp_path: Path) -> None:
    """`spec.reporting.plots` draws what `collect` computed: it imports no engine, subject or
    check, so drawing cannot call an engine."""
    import ast

    import spec.reporting.plots as plots

    tree = ast.parse(Path(plots.__file__).read_text())
    imported = {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module is not None
    }
    assert imported & {"engine", "subject", "checks.base", "checks.network"} == set()
    assert "checks.series" in imported


def test_the_example_is_deterministic_and_mixed() -> None:
    a, b = plot_example(CFG, SEED), plot_example(CFG, SEED)
    assert a.point.dims == (3, 4, 2) and a.active_pattern == "mixed"
    for k in ("W1", "b1", "W2", "b2", "x", "t"):
        assert np.array_equal(a.point.get(k), b.point.get(k))
    assert plot_example(Config(dims=(5, 2, 1)), 7).point.dims == (5, 2, 1)
    assert plot_example(Config(min_dim=1, max_dim=2), 1).point.dims == (2, 2, 2)


def test_coarse_keeps_4_significant_bits() -> None:
    h = np.array([0.0, 1.0, -3.0, 0.1, 12345.678, -(2.0**-30) * 7.3])
    c = _coarse(h)
    m, _ = np.frexp(c)
    assert np.all(m * 16 == np.round(m * 16))
    assert np.all(np.sign(c) == np.sign(h)) and np.all(np.abs(c - h) <= np.abs(h) / 16)


@pytest.mark.parametrize("arg", ["b1", "x", "W1"])
def test_mlp_remainder_vanishes_inside_the_radius_and_appears_beyond(arg: str) -> None:
    ts = taylor_series(NumpyMlp(), CFG, SEED, arg)
    assert ts.lean_name == f"Proofs.Autograd.hasFDerivAt_mlp_wrt_{arg}" and ts.exact_reference
    assert math.isfinite(ts.radius) and ts.radius > 0
    inside, beyond = ts.steps < ts.radius, ts.steps > ts.radius
    assert inside.sum() >= 20 and beyond.sum() >= 5
    # Exactly 0 in real arithmetic inside the radius; the engine within its rounding floor.
    assert np.all(ts.exact[inside] == 0)
    assert np.all(ts.remainder[inside] <= ts.floor[inside])
    # Beyond the radius a kink is crossed: the remainder is real, far above the floor, and the
    # engine's follows the exact one.
    assert np.any(ts.exact[beyond] > 0)
    far = beyond & (ts.exact > 1e3 * ts.floor)
    assert far.any()
    assert np.allclose(ts.remainder[far], ts.exact[far], rtol=1e-6)
    # The check's own steps are inside the radius.
    assert ts.check_steps and all(s < ts.radius for s in ts.check_steps)


def test_mlp_remainder_in_W2_is_0_at_every_step() -> None:
    ts = taylor_series(NumpyMlp(), CFG, SEED, "W2")
    assert math.isinf(ts.radius)
    assert np.all(ts.exact == 0) and np.all(ts.remainder <= ts.floor)


def test_exact_engine_remainder_is_exactly_0_inside() -> None:
    engine = load_backend(None)  # the reference engine computes exactly on rational inputs
    ts = taylor_series(engine, Config(dtype="exact"), SEED, "b1")
    inside = ts.steps < ts.radius
    assert np.all(ts.remainder[inside] == 0) and np.all(ts.floor == 0)
    assert np.any(ts.remainder[~inside] > 0)


def test_float_reference_series_has_the_wider_floor() -> None:
    exact_ts = taylor_series(NumpyMlp(), CFG, SEED, "x")
    float_ts = taylor_series(NumpyMlp(), Config(exact_reference=False), SEED, "x")
    assert not float_ts.exact_reference
    assert np.array_equal(exact_ts.steps, float_ts.steps)
    assert np.all(float_ts.floor >= exact_ts.floor)
    inside = float_ts.steps < float_ts.radius
    assert np.all(float_ts.remainder[inside] <= float_ts.floor[inside])


def test_mse_remainder_is_quadratic() -> None:
    ts = mse_taylor_series(NumpyMlp(), CFG, SEED)
    ex = plot_example(CFG, SEED)
    h = _coarse(ex.directions[0]["b2"])
    n = ex.point.dims[2]
    # The exact remainder is (1/n)‖s h‖², computed here independently.
    assert np.allclose(ts.exact, ts.steps**2 * float(h @ h) / n, rtol=1e-12)
    # Slope 2: doubling the step multiplies the remainder by 4, where it is above the floor.
    above = ts.exact > 1e4 * ts.floor
    assert above.sum() >= 10
    s, r = ts.steps[above], ts.remainder[above]
    slopes = np.diff(np.log2(r)) / np.diff(np.log2(s))
    assert np.allclose(slopes, 2.0, atol=1e-3)
    # Everywhere, the engine's remainder is within the floor of the exact one.
    assert np.all(np.abs(ts.remainder - ts.exact) <= ts.floor)
    # The sweep reaches below the floor, where the picture shows rounding.
    assert np.any(ts.exact < ts.floor)


def test_gradient_errors_within_bounds_for_a_correct_engine() -> None:
    for k in GRAD_NAMES.values():
        ge = gradient_errors(NumpyMlp(), CFG, SEED, k)
        assert ge.ratio.shape == ge.engine.shape == ge.right_side.shape
        assert np.all(ge.ratio <= 1), (k, ge.ratio)
        # Units that are off pass no gradient: those entries are exactly equal (ratio 0).
        if k == "W1":
            off = ge.hidden_on == 0
            assert off.any() and np.all(ge.ratio[off] == 0) and np.all(ge.engine[off] == 0)


def test_gradient_errors_show_the_wrong_entries() -> None:
    ge = gradient_errors(TinyErrorW1(), CFG, SEED, "W1")
    assert int(np.sum(ge.ratio > 1)) == 1  # one entry off by a relative 1e-9
    assert np.all(gradient_errors(TinyErrorW1(), CFG, SEED, "W2").ratio <= 1)
    wrong = gradient_errors(MissingFactor2(), CFG, SEED, "b2")
    assert np.all(wrong.ratio > 1e6)


def test_missing_matplotlib_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"optional extra.*\[plots\]"):
        require_matplotlib()


def test_docs_picture_is_small_and_a_png() -> None:
    # The pictures docs/reports.md shows are committed, small, and real PNGs.
    page = (ROOT / "docs" / "reports.md").read_text("utf-8")
    pictures = [ROOT / "docs" / p for p in re.findall(r"!\[[^\]]*\]\((img/[^)]+\.png)\)", page)]
    assert pictures, "docs/reports.md shows a Taylor plot from docs/img/"
    for p in pictures:
        assert p.stat().st_size < 100_000, p
        assert png_size(p) == (688, 480)
