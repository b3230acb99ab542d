"""The numbers behind the pictures of one example: Taylor series of the `hasFDerivAt_*` lemmas and
the per-entry error of the engine's gradients for the `grad_*_mse` lemmas.

These drive the engine, as the checks do, at more steps than a check takes; `spec.reporting.plots`
draws what `collect` returns and runs nothing itself.

The example
-----------
Every picture is drawn at one point, built deterministically from the run's seed by
`spec.strategies.build_mlp_example` (what `mlp_examples` builds from its drawn choices): the drawn
tuple is `((inDim, hidDim, outDim), rich=True, "mixed", seed)`, so the point has dyadic entries
over many magnitudes and a mixed activation pattern (some hidden units on, some off; `hidDim >= 2`
whenever the dimension range allows it), and the same seed always gives the same point. The sizes
are `--dims` when given, else `(3, 4, 2)` clamped to `[min_dim, max_dim]`. The direction `h` is
the point's first probe with its entries rounded to 4 significant bits (`_coarse`), so that
`p + s h` is exact over a wide sweep of steps; steps where it is not are left out. For
`hasFDerivAt_mse`, `y` is the network's output at the point (rounded to the engine's format), `t`
its target and `h` the `b2` probe, rounded likewise.

What is computed
----------------
The Taylor series are the predicates' own quantities, at more steps: the MLP's first-order
remainder `f(p + d) − f(p) − f'(d)` of the engine's forward pass at exactly representable steps
`d` (`spec.numerics.tolerance.exact_step`), the stated derivative `f'`
(`spec.checks.network.stated_derivative`, exactly, or its float64 form `jvp` with its bound), the
rounding bound of the check (`remainder_bound`), the no-kink radius from `zdot`, and the steps the
predicate uses from `step_size`. For `mse` each point is the engine comparison of the predicate
`spec.checks.mlp.check_hasFDerivAt_mse` itself, called with the step `s h`.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Backend
from ..examples import PARAMS, MlpExample, MlpPoint, MseExample
from ..numerics.tolerance import EXACT, PRECISIONS, exact_step, forward_bounds, grad_bounds
from ..runner import round_example
from ..subject import Subject
from ..types import F64, Mat, Vec
from .base import Config, exact

__all__ = [
    "TaylorSeries",
    "GradientErrors",
    "Figures",
    "collect",
    "plot_example",
    "taylor_series",
    "mse_taylor_series",
    "gradient_errors",
    "TAYLOR_NAMES",
    "GRAD_NAMES",
    "MSE_NAME",
]

NS = "Proofs.Autograd."


TAYLOR_NAMES = {f"{NS}hasFDerivAt_mlp_wrt_{k}": k for k in ("W2", "b1", "x", "W1")}


GRAD_NAMES = {f"{NS}grad_{k}_mse": k for k in ("W2", "b2", "b1", "x", "W1")}


MSE_NAME = f"{NS}hasFDerivAt_mse"


EXACT_SERIES_LIMIT = 2_000
"""Parameter count up to which the exact remainder (in rationals) is drawn beside the engine's."""


def plot_example(cfg: Config, seed: int) -> MlpExample:
    """Return the example every picture is drawn at: built from `seed` by the strategies' own
    builder, with a mixed activation pattern (see the module docstring)."""
    from ..strategies import build_mlp_example

    if cfg.dims is not None:
        dims = cfg.dims
    else:
        lo, hi = cfg.min_dim, cfg.max_dim
        n_in, n_hid, n_out = (min(max(d, lo), hi) for d in (3, 4, 2))
        dims = (n_in, n_hid, n_out)
    return build_mlp_example(dims, seed, margin=cfg.margin, probes=1)


def _subject(backend: Backend, cfg: Config) -> Subject:
    return Subject(backend, PRECISIONS[cfg.dtype], exact_reference=cfg.use_exact_reference())


def _params(p: MlpPoint) -> int:
    n_i, n_h, n_o = p.dims
    return n_h * (n_i + n_o + 1) + n_o


def _norm(v: Any) -> float:
    """Return the Euclidean norm of a float or exact vector (exact up to the square root)."""
    a = np.asarray(v)
    if a.dtype == object:
        return math.sqrt(float(sum((e * e for e in a.flat), exact(0.0).item())))
    return float(np.linalg.norm(a.astype(np.float64)))


@dataclass(frozen=True)
class TaylorSeries:
    """The first-order remainder of one `hasFDerivAt_*` statement along one direction, per step."""

    lean_name: str
    argument: str
    """What the function is differentiated in: `W1 b1 W2 x` for the MLP, `y` for `mse t`."""
    steps: F64
    """The steps `s` (powers of two; those where `p + s h` is not exact in the engine's format are
    left out, since the step taken there would not be `s h`)."""
    remainder: F64
    """`‖f(p + s h) − f(p) − f'(s h)‖₂` of the engine's function (0.0 where exactly 0)."""
    floor: F64
    """The derived rounding bound on that norm: what a correct engine may show where the exact
    remainder is 0 (the norm of the check's entrywise bound)."""
    exact: F64
    """The exact remainder's norm in real arithmetic (NaN where not computed): 0 inside the no-kink
    radius for the MLP, `(1/n)‖s h‖²` for `mse`."""
    radius: float
    """The no-kink radius along `h` (`min_i |z1 i| / |ż1 i|`); inf when no unit can change sign."""
    check_steps: tuple[float, ...]
    """The steps the predicate itself uses."""
    exact_reference: bool
    """Whether the engine's remainder was measured exactly (else in float64, with a wider bound)."""


def _coarse(h: F64) -> F64:
    """Return `h` with each entry rounded to 4 significant bits: `p + s h` then stays exact down
    to steps about 2^20 times smaller than with 24-bit entries, so the sweep reaches far inside
    the no-kink radius without leaving out steps."""
    m, e = np.frexp(h)
    out: F64 = np.ldexp(np.round(m * 16) / 16, e).astype(np.float64)
    return out


def _sweep(center: float, below: int, above: int) -> F64:
    e0 = math.floor(math.log2(center))
    steps: F64 = np.ldexp(1.0, np.arange(e0 - below, e0 + above + 1)).astype(np.float64)
    return steps


def taylor_series(backend: Backend, cfg: Config, seed: int, argument: str) -> TaylorSeries:
    """Return the Taylor series of `hasFDerivAt_mlp_wrt_<argument>` (W2, b1, x or W1) at the
    plotted example: the engine's remainder at steps from 2^-30 of the no-kink radius to 2^8 times
    it, with the check's rounding bound and, at small sizes, the exact remainder."""
    from ..mirror.mlp import mlpVecMat
    from ..numerics.steps import jvp, remainder_bound, step_size, zdot
    from .gradients import STEP_SCALES
    from .network import exact_args, stated_derivative

    subject = _subject(backend, cfg)
    prec = subject.prec
    ex = round_example(plot_example(cfg, seed), prec)
    p, k = ex.point, argument
    h = _coarse(ex.directions[0][k])
    fb = forward_bounds(p, prec)
    along = zdot(subject, k, p, fb, h)[0]
    zd = np.abs(along)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(zd > 0, np.abs(fb.z1) / zd, np.inf)
    radius = float(np.min(ratios)) if ratios.size else math.inf
    s0 = step_size(along, fb)
    check_steps = tuple(s0 * 2.0**-sc for sc in STEP_SCALES) if s0 > 0 else ()
    steps = _sweep(radius if math.isfinite(radius) else 1.0, 30, 8)
    exact_ref = subject.exact_reference
    with_exact = exact_ref or _params(p) <= EXACT_SERIES_LIMIT
    idx = PARAMS.index(k)
    args = exact_args(p) if with_exact else None
    fprime = stated_derivative(k, *args) if args is not None else None
    f0 = mlpVecMat(*args) if args is not None else None
    y0 = subject.forward(p)
    rem, floor, true = [], [], []
    kept = []
    for s in steps:
        d, dropped = exact_step(p.get(k), h * s, prec)
        if dropped:
            continue  # p + s h is not exact there: the step taken would not be s h
        kept.append(s)
        p1 = p.with_(k, p.get(k) + d)
        f1 = forward_bounds(p1, prec)
        y1 = subject.forward(p1)
        lin_x: Any = None
        if args is not None and fprime is not None and f0 is not None:
            wrap = Mat if d.ndim == 2 else Vec
            lin = fprime.apply(wrap(exact(d)))
            assert isinstance(lin, Vec)
            lin_x = lin.data
            moved: list[Any] = list(args)
            moved[idx] = wrap(args[idx].data + exact(d))
            true.append(_norm((mlpVecMat(*moved) - f0).data - lin_x))
        else:
            true.append(math.nan)
        if exact_ref and lin_x is not None:
            # As the check does: the engine's remainder measured exactly, within Δy(p + d) + Δy(p).
            rem.append(_norm(exact(y1) - exact(y0) - lin_x))
            floor.append(_norm(remainder_bound(fb, f1).value))
        else:
            jv, djv = jvp(subject, k, p, fb, d, 1.0)
            yf1, yf0 = np.asarray(y1, np.float64), np.asarray(y0, np.float64)
            rem.append(_norm((yf1 - yf0) - jv))
            floor.append(_norm(remainder_bound(fb, f1, (yf0, yf1, jv, djv), prec).value))
    return TaylorSeries(
        f"{NS}hasFDerivAt_mlp_wrt_{k}",
        k,
        np.array(kept, dtype=np.float64),
        np.array(rem, dtype=np.float64),
        np.array(floor, dtype=np.float64),
        np.array(true, dtype=np.float64),
        radius,
        check_steps,
        exact_ref,
    )


def mse_taylor_series(backend: Backend, cfg: Config, seed: int) -> TaylorSeries:
    """Return the Taylor series of `hasFDerivAt_mse` at the plotted example: at each step `s`, the
    engine comparison of the predicate `hasFDerivAt_mse` run with the step `s h` (the remainder of
    the engine's loss as a function of `b2`, which is `mse t`), its bound, and `(1/n)‖s h‖²`."""
    from .mlp import check_hasFDerivAt_mse

    subject = _subject(backend, cfg)
    prec = subject.prec
    ex = round_example(plot_example(cfg, seed), prec)
    p = ex.point
    y = prec.round(forward_bounds(p, prec).y) if prec is not EXACT else forward_bounds(p).y
    h = _coarse(ex.directions[0]["b2"])
    steps = _sweep(1.0, 40, 6)
    rem, floor, true, kept = [], [], [], []
    for s in steps:
        if exact_step(y, h * s, prec)[1]:
            continue  # y + s h is not exact there: the step taken would not be s h
        kept.append(s)
        v = check_hasFDerivAt_mse(MseExample(t=p.t, y=y, h=h * s), subject)
        c = next(c for c in v.comparisons if c.what.engine)
        rem.append(abs(c.actual) if c.actual is not None else math.nan)
        floor.append(c.bound if c.bound is not None else math.nan)
        true.append(abs(c.expected) if c.expected is not None else math.nan)
    return TaylorSeries(
        MSE_NAME,
        "y",
        np.array(kept, dtype=np.float64),
        np.array(rem, dtype=np.float64),
        np.array(floor, dtype=np.float64),
        np.array(true, dtype=np.float64),
        math.inf,
        (1.0,),
        subject.exact_reference,
    )


@dataclass(frozen=True)
class GradientErrors:
    """The engine's gradient in one argument against the right side of `grad_k_mse`, per entry."""

    lean_name: str
    argument: str
    engine: F64
    right_side: F64
    """The right side in float64 (the comparison used exact values when `exact_reference`)."""
    error: F64
    bound: F64
    ratio: F64
    """error / bound per entry (0/0 = 0; > 1 is a failure)."""
    exact_reference: bool
    hidden_on: F64
    """relu'(z1) at the point, per hidden unit: 1 where the unit passes gradient, 0 where off."""


def gradient_errors(backend: Backend, cfg: Config, seed: int, argument: str) -> GradientErrors:
    """Return the per-entry error of the engine's gradient in `argument` at the plotted example,
    with the bound of the `grad_<argument>_mse` check (compared as `spec.checks.base.against` does:
    with the exact right side within Δ, or the float64 one within 2Δ)."""
    from .network import exact_args, right_side

    subject = _subject(backend, cfg)
    prec = subject.prec
    p = round_example(plot_example(cfg, seed), prec).point
    k = argument
    fb = forward_bounds(p, prec)
    gb = grad_bounds(p, fb, prec)
    got = subject.grads(p)[k]
    if subject.exact_reference:
        rhs = right_side(k, *exact_args(p), Vec(exact(p.value("t"))))
        truth = np.asarray(rhs.data if isinstance(rhs, (Vec, Mat)) else rhs, dtype=object)
        diff = np.abs(exact(got) - truth)
        err = np.array([float(e) for e in diff.flat], dtype=np.float64).reshape(diff.shape)
        bound = np.asarray(gb.bound[k], dtype=np.float64)
    else:
        err = np.abs(np.asarray(got, np.float64) - np.asarray(gb.value[k], dtype=np.float64))
        bound = 2 * np.asarray(gb.bound[k], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0, 0.0, err / bound)
    return GradientErrors(
        f"{NS}grad_{k}_mse",
        k,
        np.asarray(got, np.float64),
        np.asarray(gb.value[k], dtype=np.float64),
        err,
        bound,
        ratio.astype(np.float64),
        subject.exact_reference,
        fb.mask,
    )


def _point_note(backend: Backend, cfg: Config, seed: int, ex: MlpExample) -> str:
    n_i, n_h, n_o = ex.point.dims
    name = str(getattr(backend, "name", type(backend).__name__))
    on = int(np.sum(forward_bounds(ex.point).mask))
    return (
        f"Engine {name!r} ({cfg.dtype}); one example from seed {seed}: inDim={n_i}, "
        f"hidDim={n_h} ({on} units on), outDim={n_o}"
    )


@dataclass(frozen=True)
class Figures:
    """What the pictures draw: one series per statement, by Lean name, and the caption line naming
    the engine and the example."""

    series: list[tuple[str, TaylorSeries | GradientErrors]]
    caption: str


def collect(backend: Backend, cfg: Config, seed: int, wanted: set[str] | None = None) -> Figures:
    """Return the numbers of every picture `wanted` (all when None): drive the engine at the
    example `plot_example(cfg, seed)`."""
    ex = plot_example(cfg, seed)
    series: list[tuple[str, TaylorSeries | GradientErrors]] = []
    if wanted is None or MSE_NAME in wanted:
        series.append((MSE_NAME, mse_taylor_series(backend, cfg, seed)))
    for name, k in TAYLOR_NAMES.items():
        if wanted is None or name in wanted:
            series.append((name, taylor_series(backend, cfg, seed, k)))
    for name, k in GRAD_NAMES.items():
        if wanted is None or name in wanted:
            series.append((name, gradient_errors(backend, cfg, seed, k)))
    return Figures(series, _point_note(backend, cfg, seed, ex))
