"""Smoke test of `benchmarks/bench.py` at tiny sizes: the pieces run and agree with each other.

No timing is asserted; the benchmark itself is run by hand (docs/performance.md).
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from impl.model import ReferenceBackend

# Imported by name, not `from benchmarks import bench`: `benchmarks/` has no `__init__.py`, so
# `mypy --strict benchmarks/bench.py tests/test_bench.py` would see the file as two modules.
bench: Any = importlib.import_module("benchmarks.bench")

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


def test_make_example_satisfies_no_kink_with_mixed_signs() -> None:
    ex = bench.make_example(8, seed=3)
    p = ex.point
    assert p.dims == (8, 8, 8)
    z = p.W1 @ p.x + p.b1
    assert np.all(np.abs(z) >= bench.MARGIN)
    assert (z > 0).any() and (z < 0).any()
    for a in p.arrays().values():  # 24-bit mantissas
        assert np.array_equal(a.astype(np.float32).astype(np.float64), a)
    assert len(ex.directions) == 2 and set(ex.directions[0]) == set(bench.PARAMS)


def test_counting_engine_counts_and_the_check_holds() -> None:
    ex = bench.make_example(3)
    verdicts, calls, share = bench.our_check(ReferenceBackend(), ex, bench.Config(dims=(3, 3, 3)))
    assert verdicts and not bench.flagged(verdicts)
    assert calls.get("grads", 0) >= 1 and sum(calls.values()) > calls["grads"]
    assert 0.0 < share < 1.0
    engine = bench.CountingEngine(ReferenceBackend())
    with pytest.raises(AttributeError):
        engine.no_such_method  # noqa: B018 - only the protocol's optional methods pass through


@pytest.mark.parametrize(
    "exact_reference", [True, False], ids=["exact-reference", "float64-reference"]
)
def test_the_single_point_check_makes_the_engine_calls_the_cost_model_states(
    exact_reference: bool,
) -> None:
    # docs/performance.md: one moved point per probe, shared by the remainder statement (its
    # forward) and the gradient statement (its loss), and nothing asked twice at one point.
    ex = bench.make_example(4)
    cfg = bench.Config(dims=(4, 4, 4), exact_reference=exact_reference)
    verdicts, calls, _ = bench.our_check(ReferenceBackend(), ex, cfg)
    assert verdicts and not bench.flagged(verdicts)
    assert calls == {"forward": 5, "loss": 6, "grads": 1, "z1": 1, "a1": 1, "mse": 1, "jvp": 4}


def test_perturb_entry_and_row() -> None:
    g = np.arange(1.0, 7.0).reshape(2, 3)
    e = bench.perturb(g, "entry", (1, 2), 0.5)
    assert e[1, 2] == 9.0 and np.count_nonzero(e != g) == 1
    r = bench.perturb(g, "row", (1, 2), 0.5)
    assert np.array_equal(r[1], 1.5 * g[1]) and np.array_equal(r[0], g[0])
    assert np.array_equal(g, np.arange(1.0, 7.0).reshape(2, 3))  # not written into
    with pytest.raises(ValueError):
        bench.perturb(g, "column", (0, 0), 1.0)


def test_threshold_bisects_a_monotone_predicate() -> None:
    grid = bench.GRID
    assert grid[0] == pytest.approx(1e-16) and grid[-1] == pytest.approx(10.0)
    assert bench.threshold(lambda r: r >= 3e-7) == pytest.approx(10**-6.5)
    assert bench.threshold(lambda r: True) == grid[0]
    assert bench.threshold(lambda r: False) is None


def test_injected_function_matches_autograd_without_error() -> None:
    ex = bench.make_example(4)
    inputs, t = bench.torch_inputs(ex)
    index = bench.largest_dW1_entry(ex)
    want = torch.autograd.grad(bench.mse_loss(t)(*inputs), inputs)
    got = torch.autograd.grad(bench.injected_loss(t, "entry", index, 0.0)(*inputs), inputs)
    for w, g in zip(want, got, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-13, atol=1e-15)
    bad = torch.autograd.grad(bench.injected_loss(t, "entry", index, 1.0)(*inputs), inputs)[0]
    assert bad[index].item() == pytest.approx(2 * want[0][index].item())


def test_detection_ours_and_gradcheck_at_tiny_size() -> None:
    ex = bench.make_example(3)
    cfg = bench.Config(dims=(3, 3, 3))
    index = bench.largest_dW1_entry(ex)
    ours = bench.ours_flags(ReferenceBackend(), ex, cfg, "entry", index)
    assert not ours(0.0) and ours(1e-6)
    fast = bench.gradcheck_flags(ex, "entry", index, fast=True)
    slow = bench.gradcheck_flags(ex, "row", index, fast=False)
    assert not fast(0.0) and fast(1.0)
    assert not slow(0.0) and slow(1.0)
    inputs, t = bench.torch_inputs(ex)
    assert bench.run_gradcheck(bench.mse_loss(t), inputs, fast=True)


def test_measure_size_tables_and_plot(tmp_path: Path) -> None:
    grid = (1e-16, 10.0)
    r = bench.measure_size(2, 1, 60.0, 5.0, [], log=lambda s: None, grid=grid)
    rows: list[Any] = [r]
    assert r.holds_ref == r.verdicts == r.holds_torch > 0
    assert r.slow_pass and r.fast_pass and r.fast_calls > 0
    assert r.slow_calls == 2 * (r.params + r.d) + 2
    assert r.mem_peak_bytes > 0 and math.isfinite(r.ratio_ref)
    assert r.slow_predicted == bench.slow_mode_predicted(r.g_entry)
    assert r.slow_predicted >= 1e-3
    assert set(r.detect) == {f"{m}-{w}" for m in ("ours", "fast", "slow") for w in ("entry", "row")}
    for table in (bench.ours_table(rows), bench.gradcheck_table(rows), bench.detection_table(rows)):
        assert table.count("\n") >= 2 and "| 2 |" in table
    assert any("fast mode flags" in line for line in bench.targets(rows))
    png = tmp_path / "p.png"
    if bench.plot(rows, png):
        assert png.stat().st_size > 1000


def test_slow_estimate_scales_with_scalars_checked() -> None:
    small = bench.Row(d=4, params=bench.n_params(4), slow_s=1.0, fwd_plain_s=1e-3)
    est = bench.estimate_slow(8, 1e-3, [small])
    assert est == pytest.approx((bench.n_params(8) + 8) / (bench.n_params(4) + 4))
    assert bench.estimate_slow(8, 1e-3, []) is None
    assert bench.estimate_slow(1024, 1e-3, []) is not None
