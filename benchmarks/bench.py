"""Side-by-side benchmark: our single-point check of every MlpMse statement against
`torch.autograd.gradcheck` (slow and fast mode), on the same MLP + MSE loss and the same point.

Run from the repository root::

    python benchmarks/bench.py [--sizes 16,64,256,1024,2048] [--repeats N] [--out DIR]

For each `d = inDim = hidDim = outDim` it measures (medians of `--repeats` runs, one thread):

1. `spec.checks.point.check_point` on the reference engine (`impl.model.ReferenceBackend`) and on
the
   PyTorch engine (`impl.torch_backend.TorchBackend`): wall time, the engine calls it makes (the
   engine is wrapped in a counter), and the ratio to one plain forward + backward (`grads`) of the
   same engine;
2. `torch.autograd.gradcheck` in slow mode (only while one call is estimated under `--slow-limit`
   seconds) and in fast mode (`fast_mode=True`), all five inputs `W1 b1 W2 b2 x` requiring grad, in
   float64;
3. the peak of numpy allocations during our check (tracemalloc), relative to the bytes of the
   parameters `W1 b1 W2 b2`;
4. detection power: the smallest relative error, on a log grid from 1e-16 to 10 (ten points per
   decade), injected into the largest-magnitude entry of dW1, or into that entry's whole row, that
   each method flags.

It prints three tables (our check, gradcheck, detection) and one line per target of the issue,
and writes `performance.png` and `results.json` to `--out` (default `benchmarks/out/`).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # before numpy is imported: its BLAS reads these once, at load time
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import contextlib
import cProfile
import importlib
import io
import json
import math
import platform
import pstats
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/bench.py` puts benchmarks/ first, not the root
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from impl.model import ReferenceBackend  # noqa: E402
from spec.checks.base import Config  # noqa: E402
from spec.checks.point import check_point  # noqa: E402
from spec.engine import Backend  # noqa: E402
from spec.examples import PARAMS, MlpExample, MlpPoint  # noqa: E402
from spec.numerics.tolerance import _MOVED  # noqa: E402
from spec.verdict import Status, Verdict  # noqa: E402

F64 = NDArray[np.float64]

DEFAULT_SIZES = (16, 64, 256, 1024, 2048)
GRID: tuple[float, ...] = tuple(10.0 ** (k / 10) for k in range(-160, 11))
"""Relative errors tried: 1e-16 … 10, ten points per decade (bisection: 8 to 9 checks)."""
MARGIN = 0.1
"""Every |z1_i| is at least this: far from the kink for gradcheck's eps = 1e-6 too."""


# --- the benchmark point ------------------------------------------------------------------------


def _f32(a: F64) -> F64:
    """Round to float32 and back: every entry then has a 24-bit mantissa, like the spec's points."""
    out: F64 = a.astype(np.float32).astype(np.float64)
    return out


def make_example(d: int, seed: int = 0, probes: int = 2) -> MlpExample:
    """Return a point of the `d, d, d` MLP satisfying the no-kink hypothesis, with probes.

    W1, W2 ~ N(0, 1/d), x, t ~ N(0, 1), b2 ~ N(0, 1/100), all rounded to float32; b1 is chosen so
    that `z1 = W1 x + b1` has mixed signs (at least one unit on and one off when d >= 2) and
    `|z1_i| >= 0.1`. Probe directions are N(0, 1) arrays rounded to float32.
    Built with a few numpy calls: about 0.15 s at d = 1024 and 0.7 s at d = 2048.
    """
    if d < 1:
        raise ValueError(f"d={d} must be at least 1")
    rng = np.random.default_rng(seed)
    s = 1.0 / math.sqrt(d)
    W1 = _f32(rng.normal(0.0, s, (d, d)))
    W2 = _f32(rng.normal(0.0, s, (d, d)))
    x = _f32(rng.normal(size=d))
    t = _f32(rng.normal(size=d))
    b2 = _f32(rng.normal(0.0, 0.1, d))
    on = rng.random(d) < 0.5
    on[0] = True
    if d >= 2:
        on[1] = False
    r = MARGIN * (1.25 + rng.random(d))  # targets in [0.125, 0.225)
    b1 = _f32(np.where(on, r, -r) - W1 @ x)
    # The exact z1 lies within γ_{d+1} (|W1| |x| + |b1|) of its float64 evaluation (Higham (3.5));
    # the factor 2 covers the rounding of that bound's own evaluation.
    z = W1 @ x + b1
    u = 2.0**-53
    slack = 2 * (d + 1) * u / (1 - (d + 1) * u) * (np.abs(W1) @ np.abs(x) + np.abs(b1))
    if not (np.all(np.abs(z) - slack >= MARGIN) and np.all((z > 0) == on)):
        raise RuntimeError(f"internal error: z1 misses its targets (min |z1| = {np.abs(z).min()})")
    point = MlpPoint(W1=W1, b1=b1, W2=W2, b2=b2, x=x, t=t)
    dirs = tuple(
        {k: _f32(rng.normal(size=point.get(k).shape)) for k in PARAMS} for _ in range(probes)
    )
    pattern = "mixed" if d >= 2 else "all-on"
    return MlpExample(point=point, directions=dirs, active_pattern=pattern)


def n_params(d: int) -> int:
    """Return the parameter count of W1 b1 W2 b2 at `d, d, d`."""
    return 2 * d * d + 2 * d


# --- engines: counted, and with an injected error ------------------------------------------------

_OPTIONAL = ("z1", "a1", "mse", "mse_grad", "relu_vjp", "linear_input_vjp", "jvp")


class CountingEngine:
    """The engine `inner`, with every call counted and timed by method name (optional methods
    pass through only where `inner` has them, so the checker sees the same engine)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = str(getattr(inner, "name", type(inner).__name__))
        self.calls: dict[str, int] = {}
        self.seconds = 0.0
        """Wall time spent inside the engine's methods."""

    def _run(self, method: str, *args: Any) -> Any:
        self.calls[method] = self.calls.get(method, 0) + 1
        start = time.perf_counter()
        try:
            return getattr(self.inner, method)(*args)
        finally:
            self.seconds += time.perf_counter() - start

    def forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> Any:
        return self._run("forward", W1, b1, W2, b2, x)

    def loss(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any:
        return self._run("loss", W1, b1, W2, b2, x, t)

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Mapping[str, Any]:
        out: Mapping[str, Any] = self._run("grads", W1, b1, W2, b2, x, t)
        return out

    def __getattr__(self, method: str) -> Any:
        if method not in _OPTIONAL or not callable(getattr(self.inner, method, None)):
            raise AttributeError(method)
        return lambda *args: self._run(method, *args)


def perturb(g: F64, where: str, index: tuple[int, int], rel: float) -> F64:
    """Return dW1 with a relative error `rel` in entry `index` ("entry") or in its row ("row")."""
    out = g.copy()
    if where == "entry":
        out[index] += rel * out[index]
    elif where == "row":
        out[index[0]] += rel * out[index[0]]
    else:
        raise ValueError(f"where={where!r} must be 'entry' or 'row'")
    return out


class InjectedEngine(CountingEngine):
    """The engine `inner`, except that `grads` returns dW1 off by the relative error `rel` in one
    entry (`where="entry"`) or in that entry's whole row (`where="row"`)."""

    def __init__(self, inner: Any, where: str, index: tuple[int, int], rel: float) -> None:
        super().__init__(inner)
        self.name = f"{self.name}+{where}-error-{rel:.1e}"
        self.where, self.index, self.rel = where, index, rel

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Mapping[str, Any]:
        g = {
            k: np.asarray(v, dtype=np.float64)
            for k, v in super().grads(W1, b1, W2, b2, x, t).items()
        }
        g["W1"] = perturb(g["W1"], self.where, self.index, self.rel)
        return g


class MiniTorchEngine:
    """A minimal PyTorch engine (forward, loss, grads by `loss.backward()`), used only when
    `impl.torch_backend` cannot be imported."""

    name = "torch-mini"

    def _t(self, a: F64) -> torch.Tensor:
        return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)

    def forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> F64:
        with torch.no_grad():
            y = mlp(*(self._t(a) for a in (W1, b1, W2, b2, x)))
        out: F64 = y.numpy()
        return out

    def loss(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> float:
        with torch.no_grad():
            return float(mse_loss(self._t(t))(*(self._t(a) for a in (W1, b1, W2, b2, x))))

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> dict[str, F64]:
        leaves = [self._t(a).requires_grad_(True) for a in (W1, b1, W2, b2, x)]
        grads = torch.autograd.grad(mse_loss(self._t(t))(*leaves), leaves)
        return {k: g.numpy() for k, g in zip(PARAMS, grads, strict=True)}


def torch_engine() -> Any:
    """Return `impl.torch_backend.TorchBackend()` (float64, CPU), or `MiniTorchEngine()`."""
    try:
        module = importlib.import_module("impl.torch_backend")
        return module.TorchBackend(dtype=np.dtype("float64"), device="cpu")
    except (ImportError, AttributeError):
        return MiniTorchEngine()


def flagged(verdicts: Sequence[Verdict]) -> bool:
    """Return whether some predicate failed or reported an engine error."""
    return any(v.status in (Status.FAILS, Status.ERROR) for v in verdicts)


def largest_dW1_entry(ex: MlpExample) -> tuple[int, int]:
    """Return the index of the largest-magnitude entry of dW1 at the example's point."""
    p = ex.point
    g = np.asarray(ReferenceBackend().grads(*p.args(), p.t)["W1"])
    i, j = np.unravel_index(int(np.argmax(np.abs(g))), g.shape)
    return int(i), int(j)


# --- the PyTorch side: the loss, gradcheck, and the injected-error Function ----------------------


def mlp(
    W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor, b2: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    """`y = W2 · relu(W1 x + b1) + b2`, in plain torch ops."""
    return F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)


def mse_loss(t: torch.Tensor) -> Callable[..., torch.Tensor]:
    """Return `L(W1, b1, W2, b2, x) = mean((mlp(...) − t)²)`, the function gradcheck checks."""

    def loss(
        W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor, b2: torch.Tensor, x: torch.Tensor
    ) -> torch.Tensor:
        return F.mse_loss(mlp(W1, b1, W2, b2, x), t)

    return loss


def torch_inputs(ex: MlpExample) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Return `(W1, b1, W2, b2, x)` as float64 leaves requiring grad, and `t`."""
    p = ex.point
    leaves = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in p.args())
    return leaves, torch.tensor(p.t, dtype=torch.float64)


def injected_loss(
    t: torch.Tensor, where: str, index: tuple[int, int], rel: float
) -> Callable[..., torch.Tensor]:
    """Return the same loss as `mse_loss(t)`, as a `torch.autograd.Function` whose backward is the
    closed-form gradient with dW1 off by `rel` in one entry or its row (see `perturb`)."""

    class Injected(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *args: torch.Tensor) -> torch.Tensor:
            W1, b1, W2, b2, x = args
            ctx.save_for_backward(W1, b1, W2, b2, x)
            return F.mse_loss(mlp(W1, b1, W2, b2, x), t)

        @staticmethod
        def backward(ctx: Any, *grad_outputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            (gout,) = grad_outputs
            W1, b1, W2, b2, x = ctx.saved_tensors
            z = W1 @ x + b1
            a = torch.relu(z)
            g = (2.0 / t.numel()) * (W2 @ a + b2 - t) * gout
            dz = (W2.T @ g) * (z > 0).to(z.dtype)
            dW1 = torch.outer(dz, x)
            dW1 = torch.from_numpy(perturb(dW1.detach().numpy(), where, index, rel))
            return dW1, dz, torch.outer(g, a), g, W1.T @ dz

    def loss(*args: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = Injected.apply(*args)  # type: ignore[no-untyped-call]
        return out

    return loss


@contextlib.contextmanager
def no_slow_fallback() -> Iterator[None]:
    """On a failed fast-mode comparison, gradcheck recomputes the full slow-mode Jacobians only to
    print them (`_run_slow_mode_and_get_error`): hours at d = 2048. The verdict is decided before
    that call, so detection runs replace it by an empty message."""
    module = importlib.import_module("torch.autograd.gradcheck")
    with mock.patch.object(module, "_run_slow_mode_and_get_error", lambda *a, **k: ""):
        yield


def run_gradcheck(
    fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...], fast: bool
) -> bool:
    """Return gradcheck's verdict (True = passes) with its default eps, atol and rtol."""
    return bool(torch.autograd.gradcheck(fn, inputs, fast_mode=fast, raise_exception=False))


def count_calls(fn: Callable[..., torch.Tensor]) -> tuple[Callable[..., torch.Tensor], list[int]]:
    """Return `fn` counting its calls into the returned one-element list."""
    calls = [0]

    def counted(*args: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        return fn(*args)

    return counted, calls


# --- measuring ----------------------------------------------------------------------------------


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Return the median wall time of `repeats` calls of `fn` (time.perf_counter)."""
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fresh(ex: MlpExample) -> MlpExample:
    """Return a copy of the example with new arrays: a check at it finds nothing cached from an
    earlier check (the spec remembers bounds and conversions by the identity of the arrays)."""
    point = MlpPoint.of({k: v.copy() for k, v in ex.point.arrays().items()})
    dirs = tuple({k: v.copy() for k, v in d.items()} for d in ex.directions)
    return replace(ex, point=point, directions=dirs)


def check_time(engine: Any, ex: MlpExample, cfg: Config, repeats: int) -> float:
    """Return the median wall time of `repeats` checks, each at a fresh copy of the example (made
    outside the timed region), so that every check pays for everything it computes."""
    times = []
    for _ in range(max(1, repeats)):
        e = fresh(ex)
        start = time.perf_counter()
        check_point(engine, e, cfg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(
    engine: Any,
    ex: MlpExample,
    cfg: Config,
    repeats: int,
    fb_reps: int,
) -> tuple[float, float, float]:
    """Return the median time of one check, the median time of one forward + backward, and the
    median of their ratios, measured in pairs: each of `repeats` rounds times one check at a
    fresh copy of the example, then `fb_reps` forward + backward calls (their median), so that
    both sides of each ratio see the same state of a shared machine."""
    thunk = fwd_bwd(engine, ex)
    checks, fbs, ratios = [], [], []
    for _ in range(max(1, repeats)):
        c = check_time(engine, ex, cfg, 1)
        f = median_time(thunk, fb_reps)
        checks.append(c)
        fbs.append(f)
        ratios.append(c / f)
    return statistics.median(checks), statistics.median(fbs), statistics.median(ratios)


def our_check(
    engine: Any,
    ex: MlpExample,
    cfg: Config,
) -> tuple[list[Verdict], dict[str, int], float]:
    """Run the single-point check once on a counted copy of `engine`; return the verdicts, the
    calls per method, and the fraction of the check's wall time spent inside the engine."""
    counted = CountingEngine(engine)
    ex = fresh(ex)
    start = time.perf_counter()
    verdicts = check_point(counted, ex, cfg)
    return verdicts, dict(counted.calls), counted.seconds / (time.perf_counter() - start)


def fwd_bwd(engine: Any, ex: MlpExample) -> Callable[[], object]:
    """Return a thunk: one plain forward + backward of `engine` (`grads`) at the example's point,
    handed read-only views as the checker hands them (the torch engine shares read-only arrays
    instead of copying them, so both sides of the ratio take the same path)."""
    p = ex.point
    args = [_read_only(a) for a in (*p.args(), p.t)]
    return lambda: engine.grads(*args)


def _read_only(a: F64) -> F64:
    view = a.view()
    view.flags.writeable = False
    return view


def peak_memory(engine: Backend, ex: MlpExample, cfg: Config) -> int:
    """Return the peak of Python and numpy allocations (bytes, tracemalloc) during one check,
    above what was allocated before it started."""
    ex = fresh(ex)
    # The moved copies of W1 and W2 are kept between checks for reuse
    # (`spec.numerics.tolerance._MOVED`): let them go, so that the check allocates them again and
    # they are counted.
    _MOVED.clear()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        check_point(engine, ex, cfg)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def threshold(flags: Callable[[float], bool], grid: Sequence[float] = GRID) -> float | None:
    """Return the smallest grid value `flags` is True at, by bisection (assuming it is monotone);
    None when even the largest is not flagged. The smallest grid value is tried first."""
    if not flags(grid[-1]):
        return None
    if flags(grid[0]):
        return grid[0]
    lo, hi = 0, len(grid) - 1  # flags(grid[lo]) False, flags(grid[hi]) True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if flags(grid[mid]):
            hi = mid
        else:
            lo = mid
    return grid[hi]


def ours_flags(
    engine: Any, ex: MlpExample, cfg: Config, where: str, index: tuple[int, int]
) -> Callable[[float], bool]:
    return lambda rel: flagged(check_point(InjectedEngine(engine, where, index, rel), ex, cfg))


def gradcheck_flags(
    ex: MlpExample, where: str, index: tuple[int, int], fast: bool
) -> Callable[[float], bool]:
    inputs, t = torch_inputs(ex)

    def flags(rel: float) -> bool:
        with no_slow_fallback():
            return not run_gradcheck(injected_loss(t, where, index, rel), inputs, fast)

    return flags


# --- one size -----------------------------------------------------------------------------------


@dataclass
class Row:
    """Everything measured at one size; seconds unless named otherwise; None = not run."""

    d: int
    params: int
    reference: str = ""
    """How the spec's values are compared: "exact" (rationals) or "float64" (Config's default)."""
    ours_ref_s: float = math.nan
    ours_ref_float_s: float = math.nan
    """The reference engine's check with float64 references (same as ours_ref_s above 10,000
    parameters, where that is the default)."""
    ours_torch_s: float = math.nan
    calls_ref: dict[str, int] = field(default_factory=dict)
    calls_torch: dict[str, int] = field(default_factory=dict)
    engine_share_ref: float = math.nan
    """Fraction of one check's wall time spent inside the engine's own methods."""
    engine_share_torch: float = math.nan
    fb_ref_s: float = math.nan
    fb_torch_s: float = math.nan
    fb_plain_s: float = math.nan
    """One `loss.backward()` of the plain torch function gradcheck checks."""
    fwd_plain_s: float = math.nan
    """One forward pass of that function (no grad): what each slow-mode function call costs."""
    verdicts: int = 0
    holds_ref: int = 0
    holds_torch: int = 0
    slow_s: float | None = None
    slow_est_s: float | None = None
    slow_runs: int = 0
    slow_pass: bool | None = None
    slow_calls: int | None = None
    fast_calls: int = 0
    fast_s: float = math.nan
    fast_pass: bool | None = None
    mem_peak_bytes: int = 0
    param_bytes: int = 0
    detect: dict[str, float | None] = field(default_factory=dict)
    """Keys `{ours,fast,slow}-{entry,row}`; value None = not flagged up to 10; absent = not run."""
    detect_notes: dict[str, str] = field(default_factory=dict)
    g_entry: float = 0.0
    """dL/dW1 at the largest-magnitude entry: the entry (and row) the errors are injected into."""
    slow_predicted: float = math.nan
    """`slow_mode_predicted(g_entry)`: slow mode's threshold from its tolerance formula."""

    ratio_ref: float = math.nan
    """check / fwd+bwd on the reference engine: the median of the ratios of `paired` runs."""
    ratio_torch: float = math.nan

    @property
    def slow_over_ours(self) -> float | None:
        return None if self.slow_s is None else self.slow_s / self.ours_ref_s


def measure_size(
    d: int,
    repeats: int,
    slow_limit: float,
    slow_detect_limit: float,
    previous: Sequence[Row],
    detect: bool = True,
    log: Callable[[str], None] = print,
    grid: Sequence[float] = GRID,
) -> Row:
    """Measure everything at one size; `previous` (smaller sizes) feed the slow-mode estimate;
    detection thresholds are bisected over `grid`."""
    ex = make_example(d)
    cfg = Config(dims=(d, d, d))
    row = Row(d=d, params=n_params(d))
    row.param_bytes = 8 * row.params
    ref, tor = ReferenceBackend(), torch_engine()

    # 1. our check, on each engine, and one plain forward + backward of each.
    for engine in (ref, tor):
        check_point(engine, ex, cfg)  # warm-up
    verdicts, row.calls_ref, row.engine_share_ref = our_check(ref, ex, cfg)
    row.verdicts, row.holds_ref = len(verdicts), sum(v.status is Status.HOLDS for v in verdicts)
    verdicts_t, row.calls_torch, row.engine_share_torch = our_check(tor, ex, cfg)
    row.holds_torch = sum(v.status is Status.HOLDS for v in verdicts_t)
    row.reference = "exact" if cfg.use_exact_reference() else "float64"
    fb_reps = max(repeats, 20 if d <= 256 else 5)
    row.ours_ref_s, row.fb_ref_s, row.ratio_ref = paired(ref, ex, cfg, repeats, fb_reps)
    if cfg.use_exact_reference():
        fcfg = Config(dims=(d, d, d), exact_reference=False)
        row.ours_ref_float_s = check_time(ref, ex, fcfg, repeats)
    else:
        row.ours_ref_float_s = row.ours_ref_s
    row.ours_torch_s, row.fb_torch_s, row.ratio_torch = paired(tor, ex, cfg, repeats, fb_reps)
    inputs, t = torch_inputs(ex)
    f = mse_loss(t)

    def plain() -> None:  # one forward + backward; like `loss.backward()`, without touching .grad
        torch.autograd.grad(f(*inputs), inputs)

    row.fb_plain_s = median_time(plain, fb_reps)

    def forward_only() -> None:
        with torch.no_grad():
            f(*inputs)

    row.fwd_plain_s = median_time(forward_only, fb_reps)
    log(
        f"d={d}: ours {row.ours_ref_s:.3f} s (reference), {row.ours_torch_s:.3f} s (torch); "
        f"{row.holds_ref}/{row.verdicts} and {row.holds_torch}/{row.verdicts} hold"
    )

    # 2. gradcheck: fast always; slow while one call is estimated under slow_limit.
    counted, calls = count_calls(f)
    row.fast_pass = run_gradcheck(counted, inputs, fast=True)
    row.fast_calls = calls[0]
    row.fast_s = median_time(lambda: run_gradcheck(f, inputs, fast=True), repeats)
    row.slow_est_s = estimate_slow(d, row.fwd_plain_s, previous)
    if row.slow_est_s is None or row.slow_est_s < slow_limit:
        runs = repeats if (row.slow_est_s or 0.0) * repeats < 30 else 1
        counted, calls = count_calls(f)
        start = time.perf_counter()
        row.slow_pass = run_gradcheck(counted, inputs, fast=False)
        first = time.perf_counter() - start
        row.slow_calls = calls[0]
        rest = [
            median_time(lambda: run_gradcheck(f, inputs, fast=False), 1) for _ in range(runs - 1)
        ]
        row.slow_s, row.slow_runs = statistics.median([first, *rest]), runs
    slow_text = (
        f"{row.slow_s:.2f} s"
        if row.slow_s is not None
        else f"skipped (est. {row.slow_est_s:.0f} s)"
    )
    log(f"d={d}: gradcheck fast {row.fast_s:.4f} s, slow {slow_text}")

    # 3. peak memory of our check (reference engine: every allocation is numpy's).
    row.mem_peak_bytes = peak_memory(ref, ex, cfg)

    # 4. detection power.
    if detect:
        index = largest_dW1_entry(ex)
        p = ex.point
        row.g_entry = float(np.asarray(ref.grads(*p.args(), p.t)["W1"])[index])
        row.slow_predicted = slow_mode_predicted(row.g_entry)
        slow_call = row.slow_s if row.slow_s is not None else row.slow_est_s
        for where in ("entry", "row"):
            row.detect[f"ours-{where}"] = threshold(ours_flags(ref, ex, cfg, where, index), grid)
            row.detect[f"fast-{where}"] = threshold(gradcheck_flags(ex, where, index, True), grid)
            if slow_call is not None and slow_call <= slow_detect_limit:
                row.detect[f"slow-{where}"] = threshold(
                    gradcheck_flags(ex, where, index, False), grid
                )
            else:
                row.detect_notes[f"slow-{where}"] = (
                    f"not run (est. {slow_call:,.0f} s a call); predicted "
                    f"{slow_mode_predicted(row.g_entry):.1e}"
                    if slow_call
                    else "not run"
                )
        log(f"d={d}: detection " + ", ".join(f"{k} {_rel(v)}" for k, v in row.detect.items()))
    return row


SLOW_CALL_PER_FWD = 2.5
"""Seconds of one slow-mode function call per second of a plain forward pass, used only when no
smaller size was measured (measured here: 2.3 to 3.5 at d = 16, 64 and 256: the forward
pass plus perturbing one entry and differencing)."""


def slow_mode_predicted(g: float, atol: float = 1e-5, rtol: float = 1e-3) -> float:
    """Return the relative error in one gradient entry `g` that slow mode starts to flag: it
    compares each Jacobian entry with `|analytical − numerical| <= atol + rtol·|numerical|`, so
    (up to the finite-difference error) at `(atol + rtol·|g|) / |g|`, never below `rtol`."""
    return (atol + rtol * abs(g)) / abs(g) if g else math.inf


def estimate_slow(d: int, fwd_plain_s: float, previous: Sequence[Row]) -> float | None:
    """Estimate one slow-mode call at `d`. Slow mode makes 2N + 2 function calls (N = checked
    scalars), each about one forward pass: scale the largest smaller size measured by N and by the
    ratio of forward times (at least 1); with none measured, (2N + 2) calls of
    `SLOW_CALL_PER_FWD · fwd_plain_s` each. None below 10,000 scalars (just run it)."""
    n = n_params(d) + d
    measured = [r for r in previous if r.slow_s is not None]
    if not measured:
        return None if n < 10_000 else (2 * n + 2) * SLOW_CALL_PER_FWD * fwd_plain_s
    last = max(measured, key=lambda r: r.d)
    assert last.slow_s is not None
    n_last = n_params(last.d) + last.d
    return last.slow_s * (n / n_last) * max(1.0, fwd_plain_s / last.fwd_plain_s)


# --- reporting ----------------------------------------------------------------------------------


def _rel(v: float | None) -> str:
    return "> 10 (never)" if v is None else f"{v:.1e}"


def _calls(c: Mapping[str, int]) -> str:
    order = ("forward", "loss", "grads", *_OPTIONAL)
    parts = [f"{c[k]} {k}" for k in order if c.get(k)]
    return f"{sum(c.values())} ({', '.join(parts)})"


def _x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.3g}×" if v < 100 else f"{v:,.0f}×"


def ours_table(rows: Sequence[Row]) -> str:
    """Return the table of our check (Markdown)."""
    head = (
        "| d | params | ref. values | ours, ref engine s | fwd+bwd ref ms | check / fwd+bwd | "
        "in engine | ours, torch engine s | fwd+bwd torch ms | check / fwd+bwd | in engine | "
        "engine calls per check | peak mem / params |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        ref = f"{r.ours_ref_s:.3g}"
        if r.reference == "exact":
            ref += f" (float64 ref.: {r.ours_ref_float_s:.3g})"
        lines.append(
            f"| {r.d} | {r.params:,} | {r.reference} | {ref} | {1e3 * r.fb_ref_s:.3g} | "
            f"{r.ratio_ref:,.0f} | {r.engine_share_ref:.0%} | {r.ours_torch_s:.3g} | "
            f"{1e3 * r.fb_torch_s:.3g} | {r.ratio_torch:,.0f} | {r.engine_share_torch:.0%} | "
            f"{_calls(r.calls_ref)} | "
            f"{r.mem_peak_bytes / r.param_bytes:.1f} |"
        )
    return "\n".join(lines)


def gradcheck_table(rows: Sequence[Row]) -> str:
    """Return the table of gradcheck against our check (Markdown)."""
    head = (
        "| d | scalars checked | f-calls slow / fast | slow s | fast s | plain fwd+bwd ms | "
        "slow / ours (ref) | slow / ours (torch) | fast / ours (torch) |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if r.slow_s is not None:
            slow = f"{r.slow_s:.3g}" + (" (1 run)" if r.slow_runs == 1 else "")
            calls = f"{r.slow_calls:,} / {r.fast_calls}"
        else:
            slow = f"skipped (est. {r.slow_est_s:,.0f})" if r.slow_est_s else "skipped"
            calls = f"{2 * (r.params + r.d) + 2:,} (not run) / {r.fast_calls}"
        torch_x = None if r.slow_s is None else r.slow_s / r.ours_torch_s
        lines.append(
            f"| {r.d} | {r.params + r.d:,} | {calls} | {slow} | {r.fast_s:.3g} | "
            f"{1e3 * r.fb_plain_s:.3g} | {_x(r.slow_over_ours)} | {_x(torch_x)} | "
            f"{r.fast_s / r.ours_torch_s:.2g}× |"
        )
    return "\n".join(lines)


def detection_table(rows: Sequence[Row]) -> str:
    """Return the detection table (Markdown): smallest relative error flagged."""
    head = (
        "| d | \\|dW1_k\\| | entry: ours | entry: fast | entry: slow | row: ours | row: fast | "
        "row: slow |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r.detect:
            continue
        cells = []
        for where in ("entry", "row"):
            for m in ("ours", "fast", "slow"):
                key = f"{m}-{where}"
                cells.append(
                    _rel(r.detect[key]) if key in r.detect else r.detect_notes.get(key, "-")
                )
        lines.append(f"| {r.d} | {r.g_entry:.3g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows: Sequence[Row]) -> list[str]:
    """Return one line per target of the issue: met or not, with the numbers."""
    out = []
    by_d = {r.d: r for r in rows}
    if 1024 in by_d:
        r = by_d[1024]
        for name, s, ratio in (
            ("reference", r.ours_ref_s, r.ratio_ref),
            ("torch", r.ours_torch_s, r.ratio_torch),
        ):
            out.append(
                f"d=1024 {name}: check {s:.3f} s (target < 0.5 s: "
                f"{'met' if s < 0.5 else 'NOT met'}), {ratio:.0f} fwd+bwd "
                f"(target < 30: {'met' if ratio < 30 else 'NOT met'})"
            )
    if 256 in by_d:
        r = by_d[256]
        sp = r.slow_over_ours
        out.append(
            "d=256: gradcheck slow / ours = "
            + (
                "n/a (slow mode not run)"
                if sp is None
                else f"{sp:,.0f}× (target >= 100×: {'met' if sp >= 100 else 'NOT met'})"
            )
        )
        if "ours-entry" in r.detect:
            e = r.detect["ours-entry"]
            ok = e is not None and e <= 1e-9
            out.append(
                f"d=256: ours flags a single-entry relative error of {_rel(e)} "
                f"(target <= 1e-9: {'met' if ok else 'NOT met'})"
            )
    missed = []
    for r in rows:
        for where in ("entry", "row"):
            o, f = r.detect.get(f"ours-{where}"), r.detect.get(f"fast-{where}")
            if f"fast-{where}" in r.detect and f is not None and (o is None or o > f):
                missed.append(f"d={r.d} {where}")
    if any(r.detect for r in rows):
        out.append(
            "every error fast mode flags is flagged by ours: "
            + ("met" if not missed else "NOT met at " + ", ".join(missed))
        )
    return out


def plot(rows: Sequence[Row], path: Path) -> bool:
    """Write the two-panel PNG (time vs d; detection threshold vs d); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ds = [r.d for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6), dpi=90)

    ax1.loglog(
        ds, [r.ours_ref_s for r in rows], "o-", color="C0", label="ours, reference engine (default)"
    )
    if any(r.reference == "exact" for r in rows):
        ax1.loglog(
            ds,
            [r.ours_ref_float_s for r in rows],
            "o:",
            color="C0",
            mfc="none",
            label="ours, reference engine, float64 ref. values",
        )
    ax1.loglog(ds, [r.ours_torch_s for r in rows], "s-", color="C2", label="ours, torch engine")
    slow = [(r.d, r.slow_s) for r in rows if r.slow_s is not None]
    if slow:
        ax1.loglog(*zip(*slow, strict=True), "^-", color="C3", label="gradcheck slow")
    est = [(r.d, r.slow_est_s) for r in rows if r.slow_s is None and r.slow_est_s is not None]
    if est and slow:
        ax1.loglog(
            [slow[-1][0], *(e[0] for e in est)],
            [slow[-1][1], *(e[1] for e in est)],
            "^:",
            color="C3",
            mfc="none",
            label="gradcheck slow, estimated (not run)",
        )
    ax1.loglog(ds, [r.fast_s for r in rows], "v-", color="C1", label="gradcheck fast")
    ax1.loglog(
        ds, [r.fb_torch_s for r in rows], "--", color="gray", label="one fwd+bwd, torch engine"
    )
    if 1024 in ds:
        ax1.plot([1024], [0.5], "*", color="k", ms=11, label="target at d = 1024: 0.5 s")
    ax1.set_xlabel("d = in = hid = out")
    ax1.set_ylabel("seconds per call (median)")
    ax1.set_title("Cost of one check")
    ax1.set_xticks(ds, [str(d) for d in ds])
    ax1.minorticks_off()
    ax1.grid(True, which="major", alpha=0.3)
    ax1.legend(fontsize=7.5, loc="upper left")

    styles = {"ours": ("o", "C0"), "fast": ("v", "C1"), "slow": ("^", "C3")}
    for m, (marker, color) in styles.items():
        for where, ls in (("entry", "-"), ("row", "--")):
            key = f"{m}-{where}"
            pts = [(r.d, r.detect[key]) for r in rows if key in r.detect]
            if not pts:
                continue
            xs = [p[0] for p in pts]
            ys = [30.0 if v is None else v for _, v in pts]  # never flagged: drawn above 10
            ax2.loglog(
                xs,
                ys,
                marker=marker,
                ls=ls,
                color=color,
                ms=7 if where == "entry" else 10,
                mfc=color if where == "entry" else "none",
                label=f"{'ours' if m == 'ours' else 'gradcheck ' + m}, one {where}",
            )
    pred = [(r.d, r.slow_predicted) for r in rows if math.isfinite(r.slow_predicted)]
    if pred:
        ax2.loglog(
            *zip(*pred, strict=True),
            ":",
            color="C3",
            lw=1.2,
            label="gradcheck slow, predicted (atol + rtol|g|)/|g|",
        )
    if 256 in ds:
        ax2.plot([256], [1e-9], "*", color="k", ms=11, label="target at d = 256: 1e-9")
    ax2.axhline(10.0, color="k", lw=0.6)
    ax2.text(ds[0], 40, "above the line: not flagged even at 10", fontsize=7, va="bottom")
    ax2.set_ylim(1e-16, 1e4)
    ax2.set_xlabel("d = in = hid = out")
    ax2.set_ylabel("smallest relative error in dW1 flagged")
    ax2.set_title("Detection threshold (lower is better)")
    ax2.set_xticks(ds, [str(d) for d in ds])
    ax2.minorticks_off()
    ax2.grid(True, which="major", alpha=0.3)
    if ax2.get_legend_handles_labels()[0]:  # nothing to label when detection was not run
        ax2.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


def machine() -> dict[str, str]:
    """Return the CPU model, core count, versions and thread settings."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "spec", "impl"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        commit = head + (" + uncommitted changes in spec/ or impl/" if dirty else "")
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "load_avg_1m": f"{os.getloadavg()[0]:.2f}",
        "commit": commit,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": str(torch.get_num_threads()),
        "env": ", ".join(
            f"{v}={os.environ.get(v, '')}"
            for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        ),
    }


def limit_threads() -> str:
    """Limit torch and numpy's BLAS to one thread; return how numpy's was limited."""
    torch.set_num_threads(1)
    try:
        tpc: Any = importlib.import_module("threadpoolctl")
    except ImportError:
        return "env vars only (threadpoolctl not installed)"
    tpc.threadpool_limits(1)
    pools = ", ".join(
        f"{p.get('internal_api')}={p.get('num_threads')}" for p in tpc.threadpool_info()
    )
    return f"threadpoolctl.threadpool_limits(1): {pools}"


def profile_check(d: int, engine: Any | None = None, top: int = 15) -> str:
    """Return the cProfile report of one check: `spec/` functions by cumulative time, then every
    function by own time."""
    ex = make_example(d)
    cfg = Config(dims=(d, d, d))
    eng = engine if engine is not None else ReferenceBackend()
    check_point(eng, ex, cfg)  # warm-up
    ex = fresh(ex)
    prof = cProfile.Profile()
    prof.enable()
    check_point(eng, ex, cfg)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(r"spec[/\\]", top)
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated d values (default %(default)s)",
    )
    ap.add_argument("--repeats", type=int, default=5, help="runs per median (default 5)")
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "out",
        help="where results.json and performance.png go (default benchmarks/out/)",
    )
    ap.add_argument(
        "--slow-limit",
        type=float,
        default=60.0,
        help="run gradcheck slow mode only while one call is estimated under this "
        "many seconds (default 60)",
    )
    ap.add_argument(
        "--slow-detect-limit",
        type=float,
        default=5.0,
        help="bisect gradcheck slow mode's threshold only where one call takes at most "
        "this many seconds (default 5)",
    )
    ap.add_argument("--no-detect", action="store_true", help="skip the detection-power bisection")
    ap.add_argument(
        "--profile",
        type=int,
        metavar="D",
        default=None,
        help="print a cProfile of one check at d = D (reference engine) and exit",
    )
    args = ap.parse_args(argv)
    threads = limit_threads()
    if args.profile is not None:
        print(profile_check(args.profile))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    info = machine()
    info["numpy_blas_threads"] = threads
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    start = time.perf_counter()
    rows: list[Row] = []
    for d in sizes:
        rows.append(
            measure_size(
                d,
                args.repeats,
                args.slow_limit,
                args.slow_detect_limit,
                rows,
                detect=not args.no_detect,
                log=lambda s: print(s, flush=True),
            )
        )
    total = time.perf_counter() - start
    print()
    print(ours_table(rows))
    print()
    print(gradcheck_table(rows))
    print()
    if any(r.detect for r in rows):
        print(detection_table(rows))
        print()
    for line in targets(rows):
        print(line)
    print(f"\ntotal {total:.0f} s; 1-minute load average at the end {os.getloadavg()[0]:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(
        json.dumps(
            {"machine": info, "total_s": total, "rows": [asdict(r) for r in rows]},
            indent=1,
            default=str,
        )
    )
    png = args.out / "performance.png"
    print(
        f"wrote {args.out / 'results.json'}"
        + (f" and {png}" if plot(rows, png) else " (no plot: matplotlib not installed)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
