"""Pictures of one example: Taylor tests of the `hasFDerivAt_*` lemmas, and the per-entry error of
the engine's gradients as a fraction of their bounds for the `grad_*_mse` lemmas.

matplotlib is an optional extra (`plots`); it is imported only when a picture is drawn.

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

What is computed, and by whom ----------------------------- The Taylor series are the predicates'
own quantities, at more steps: the MLP's first-order remainder `f(p + d) − f(p) − f'(d)` of the
engine's forward pass at exactly representable steps `d` (`spec.numerics.tolerance.exact_step`), the
stated derivative `f'` (`spec.checks.network.stated_derivative`, exactly, or its float64 form `jvp`
with its bound), the rounding bound of the check (`forward_bounds(...).d_y` of both points, plus the
derivative's bound in float mode), the no-kink radius from `zdot`, and the steps the predicate uses
from `step_size`. For `mse` each point is the engine comparison of the predicate
`spec.checks.mlp.check_hasFDerivAt_mse` itself, called with the step `s h`.
"""

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks.base import Config, exact
from ..engine import Backend
from ..examples import MlpExample, MlpPoint, MseExample
from ..numerics.tolerance import EXACT, PRECISIONS, exact_step, forward_bounds, grad_bounds
from ..runner import Result, round_example
from ..subject import Subject
from ..types import F64, Mat, Vec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "TaylorSeries",
    "GradientErrors",
    "plot_example",
    "taylor_series",
    "mse_taylor_series",
    "gradient_errors",
    "write_plots",
    "TAYLOR_NAMES",
    "require_matplotlib",
    "GRAD_NAMES",
]

NS = "Proofs.Autograd."
TAYLOR_NAMES = {f"{NS}hasFDerivAt_mlp_wrt_{k}": k for k in ("W2", "b1", "x", "W1")}
GRAD_NAMES = {f"{NS}grad_{k}_mse": k for k in ("W2", "b2", "b1", "x", "W1")}
MSE_NAME = f"{NS}hasFDerivAt_mse"
_ORDER = ("W1", "b1", "W2", "b2", "x")

MAX_LABELLED = 16
"""Up to this many rows or columns every entry gets a tick label (on/off for hidden units)."""

DPI = 80
"""Resolution of the PNGs: 688 × 480 pixels, about 50-90 KB each."""

EXACT_SERIES_LIMIT = 2_000
"""Parameter count up to which the exact remainder (in rationals) is drawn beside the engine's."""


def require_matplotlib() -> None:
    """Raise `ImportError` telling how to install the `plots` extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plots need matplotlib, an optional extra: install it with "
            "`python -m pip install -e '.[plots]'` (or `python -m pip install matplotlib`)"
        ) from exc


# --- the example -------------------------------------------------------------------------------


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


# --- Taylor series -----------------------------------------------------------------------------


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
    from ..checks.gradients import STEP_SCALES
    from ..checks.network import exact_args, stated_derivative
    from ..mirror.mlp import mlpVecMat
    from ..numerics.steps import jvp, remainder_bound, step_size, zdot

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
    idx = _ORDER.index(k)
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
    from ..checks.mlp import check_hasFDerivAt_mse

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


# --- gradient errors ---------------------------------------------------------------------------


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
    from ..checks.network import exact_args, right_side

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


# --- drawing -----------------------------------------------------------------------------------


def _statement(name: str) -> str:
    from ..registry import manifest

    decl = manifest().declarations.get(name)
    return decl.statement if decl else ""


@dataclass
class _Page:
    """A picture: the matplotlib figure (axes, legend), and the title and caption around it."""

    fig: "Figure"
    title: str
    caption: str


def _figure(title: str, statement: str, caption: str) -> "tuple[_Page, Axes]":
    """Return a page with the title (Lean name and statement) for the top, one axes, room under
    it for a legend, and the caption (how to read the picture, what was drawn) for the bottom.

    The layout is fixed rather than constrained (constrained layout cost about 0.3 s a figure),
    and the title and caption are drawn by Pillow onto the rendered image (`_save`): drawing them
    as matplotlib text cost about 30 ms a figure, half the time of a picture."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.6, 6.0), dpi=DPI)
    ax = fig.add_axes((0.1, 0.3, 0.86, 0.55))
    paragraphs = "\n".join(wrap_like(p, 110) for p in caption.split("\n"))
    return _Page(fig, f"{title}\n{wrap_like(statement, 100)}", paragraphs), ax


@functools.cache
def _font(size: int) -> Any:
    """Return DejaVu Sans (matplotlib's own font, so every symbol of the statements is there)."""
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return ImageFont.truetype(path, size)


def _rasterize(page: _Page) -> Any:
    """Return the figure rendered by Agg, as an RGB Pillow image (most of a picture's time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(page.fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    width, height = canvas.get_width_height()
    rgba = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    return Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")


def _finish(img: Any, page: _Page, note: str, path: Path) -> None:
    """Draw the title, the caption and `note` (the engine, the example, the run's verdict) on the
    rendered image, and write the PNG."""
    from PIL import ImageDraw

    width, height = img.size
    draw = ImageDraw.Draw(img)
    draw.multiline_text(
        (width / 2, 6),
        page.title,
        font=_font(12),
        fill=(0, 0, 0),
        anchor="ma",
        align="center",
        spacing=3,
    )
    caption = page.caption + "\n" + wrap_like(note, 110)
    box = draw.multiline_textbbox((0, 0), caption, font=_font(10), spacing=3)
    draw.multiline_text(
        (12, height - 6 - (box[3] - box[1])), caption, font=_font(10), fill=(40, 40, 40), spacing=3
    )
    img.save(path, compress_level=3)


def _log_axis(axis: Any, base: int) -> None:
    """Label a log axis with plain-text powers (`2⁻³⁰`, `1e-12`): matplotlib's default labels are
    mathtext, whose parsing dominated the drawing time."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

    def label(v: float, _pos: int) -> str:
        if v <= 0:
            return ""
        e = round(math.log(v, base))
        return f"{base}{str(e).translate(sup)}" if base == 2 else f"1e{e}"

    axis.set_major_locator(LogLocator(base=base, numticks=8))
    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_locator(NullLocator())


def wrap_like(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _run_note(results: Sequence[Result] | None, name: str) -> str:
    if not results:
        return ""
    for r in results:
        if r.lean_name == name:
            worst = "inf" if r.worst_ratio == math.inf else f"{r.worst_ratio:.2g}"
            return (
                f"; this run: {r.status.value} on {r.examples} examples, worst error/bound {worst}"
            )
    return ""


def _point_note(backend: Backend, cfg: Config, seed: int, ex: MlpExample) -> str:
    n_i, n_h, n_o = ex.point.dims
    name = str(getattr(backend, "name", type(backend).__name__))
    on = int(np.sum(forward_bounds(ex.point).mask))
    return (
        f"Engine {name!r} ({cfg.dtype}); one example from seed {seed}: inDim={n_i}, "
        f"hidDim={n_h} ({on} units on), outDim={n_o}"
    )


def _draw_taylor(ts: TaylorSeries) -> _Page:
    from matplotlib.lines import Line2D

    mlp = ts.argument != "y"
    if mlp and math.isinf(ts.radius):
        how = (
            f"Read: the network is affine in {ts.argument} everywhere, so the exact remainder "
            "is 0 at every step: a correct engine's dots are exactly 0 (▼) or under the "
            "rounding floor."
        )
    elif mlp:
        how = (
            "Read: left of r the exact remainder is 0, so a correct engine's dots are exactly 0 "
            "(▼) or under the rounding floor; a dot above the floor there is a failure."
        )
    else:
        how = (
            "Read: the remainder is exactly (1/n)‖s h‖² (grey, slope 2): a correct engine's "
            "dots "
            "sit on it, or anywhere under the rounding floor where it is smaller."
        )
    page, ax = _figure(ts.lean_name, _statement(ts.lean_name), how)
    s = ts.steps
    pos = ts.remainder > 0
    zero = ts.remainder == 0
    positive = np.concatenate(
        [
            ts.remainder[pos],
            ts.floor[ts.floor > 0],
            ts.exact[np.isfinite(ts.exact) & (ts.exact > 0)],
        ]
    )
    lo = float(positive.min()) / 30 if positive.size else 1e-20
    hi = float(positive.max()) * 5 if positive.size else 1.0
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _log_axis(ax.xaxis, 2)
    _log_axis(ax.yaxis, 10)
    ax.set_ylim(lo, hi)
    handles = []
    if (ts.floor > 0).any():
        ax.plot(s, ts.floor, color="tab:orange", ls="--", lw=1.6)
        handles.append(
            Line2D(
                [],
                [],
                color="tab:orange",
                ls="--",
                lw=1.6,
                label="rounding floor (the check's derived bound)",
            )
        )
    else:
        handles.append(
            Line2D(
                [],
                [],
                color="tab:orange",
                ls="--",
                lw=1.6,
                label="rounding floor: 0 (exact arithmetic; not drawn)",
            )
        )
    ex_ok = np.isfinite(ts.exact) & (ts.exact > 0)
    if ex_ok.any():
        label = (
            "exact remainder (1/n)‖s h‖², slope 2"
            if not mlp
            else "exact remainder (rationals); 0 left of r"
        )
        ax.plot(s[ex_ok], ts.exact[ex_ok], color="0.55", lw=3, alpha=0.6, zorder=1)
        handles.append(Line2D([], [], color="0.55", lw=3, alpha=0.6, label=label))
    ax.plot(s[pos], ts.remainder[pos], "o", color="tab:blue", ms=5, zorder=3)
    handles.append(
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            color="tab:blue",
            label="the engine's remainder" if mlp else "engine: |remainder of its loss|",
        )
    )
    if zero.any():
        ax.plot(
            s[zero],
            np.full(int(zero.sum()), lo * 1.6),
            "v",
            color="tab:green",
            ms=7,
            zorder=3,
            clip_on=False,
        )
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="v",
                color="tab:green",
                label="engine remainder exactly 0 (drawn at the bottom)",
            )
        )
    if mlp and math.isfinite(ts.radius):
        ax.axvline(ts.radius, color="tab:red", lw=1.4)
        ax.axvspan(s[0] / 2, ts.radius, color="tab:green", alpha=0.06, lw=0)
        ax.set_xlim(s[0] / 2, s[-1] * 2)
        handles.append(
            Line2D(
                [],
                [],
                color="tab:red",
                lw=1.4,
                label=f"no-kink radius r = {ts.radius:.3g} (first ReLU sign change)",
            )
        )
        mid = math.sqrt(s[0] * ts.radius)
        middle = math.sqrt(lo * hi)
        ax.text(
            mid,
            middle,
            "s < r: no ReLU flips, f is affine:\nthe exact remainder is 0",
            ha="center",
            va="center",
            fontsize=9,
            color="tab:green",
        )
        ax.text(
            ts.radius * 1.15,
            middle,
            "s > r: a kink\nis crossed",
            ha="left",
            va="center",
            fontsize=9,
            color="tab:red",
        )
    for c in ts.check_steps if mlp else ():
        ax.axvline(c, ymin=0.94, ymax=1.0, color="k", lw=1.2)
    if mlp and ts.check_steps:
        handles.append(
            Line2D(
                [],
                [],
                color="k",
                lw=1.2,
                marker="|",
                ls="",
                label="steps the check uses (ticks at the top)",
            )
        )
    ax.set_xlabel("step s along h (log scale, base 2)")
    ax.set_ylabel("‖f(p + s h) − f(p) − f′(s h)‖ (log scale)" if mlp else "‖remainder‖ (log scale)")
    ax.grid(True, which="major", color="0.9", lw=0.6)
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.1),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    return page


def _draw_gradient(ge: GradientErrors) -> _Page:
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    k = ge.argument
    ref = "exact right side, within Δ" if ge.exact_reference else "float64 right side, within 2Δ"
    how = (
        f"Read: one cell or bar per entry, |engine − right side| / bound ({ref}): up to 1 "
        "(green) is within the derived rounding bound, above 1 (red) fails, 0 is exact."
    )
    page, ax = _figure(ge.lean_name, _statement(ge.lean_name), how + "\n" + _worst_entry(ge))
    fig = page.fig
    r = ge.ratio
    finite = r[np.isfinite(r) & (r > 0)]
    top = max(1.0, float(finite.max())) if finite.size else 1.0
    if r.ndim == 2:
        logr = np.where(r > 0, np.log10(np.where(r > 0, r, 1.0)), np.nan)
        lo = min(-4.0, float(np.nanmin(logr)) if np.isfinite(logr).any() else -4.0)
        lo = float(math.floor(lo))
        norm = TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=float(max(1, math.ceil(math.log10(top)))))
        masked = np.ma.masked_invalid(logr)
        cmap = _cmap()
        im = ax.imshow(masked, cmap=cmap, norm=norm, aspect="auto")
        bar = fig.colorbar(im, ax=ax, shrink=0.9, pad=0.02)
        step = max(1, math.ceil((norm.vmax - norm.vmin) / 10))  # type: ignore[operator]
        ticks = sorted({0, *range(int(norm.vmin), int(norm.vmax) + 1, step)})  # type: ignore[arg-type]
        bar.set_ticks(ticks, labels=["1 = the bound" if t == 0 else f"1e{t}" for t in ticks])
        bar.set_label("error / bound (log scale)")
        rows, cols = r.shape
        if rows * cols <= 120:
            for i in range(rows):
                for j in range(cols):
                    txt = "0" if r[i, j] == 0 else f"{r[i, j]:.1g}"
                    ax.text(
                        j,
                        i,
                        txt,
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="k" if r[i, j] <= 1 else "w",
                    )
        if cols <= MAX_LABELLED:
            ax.set_xticks(range(cols), labels=_ticks(k, "col", cols, ge.hidden_on))
        if rows <= MAX_LABELLED:
            ax.set_yticks(range(rows), labels=_ticks(k, "row", rows, ge.hidden_on))
        names = {
            "W1": ("inDim index j", "hidDim index i"),
            "W2": ("hidDim index j", "outDim index i"),
        }
        xl, yl = names.get(k, ("column", "row"))
        ax.set_xlabel(f"{xl} (entry [i, j] of grad {k})")
        ax.set_ylabel(yl)
        ax.legend(
            handles=[Patch(color="0.93", label="0: engine equals the right side exactly")],
            loc="upper left",
            bbox_to_anchor=(0, -0.2),
            fontsize=8,
            frameon=False,
        )
    else:
        n = r.shape[0]
        xs = np.arange(n)
        pos = r > 0
        lo = float(r[pos].min()) / 30 if pos.any() else 1e-6
        lo = min(lo, 1e-4)
        hi = max(top * 5, 10.0)
        ax.set_yscale("log")
        _log_axis(ax.yaxis, 10)
        ax.set_ylim(lo, hi)
        colors = ["tab:red" if v > 1 else "tab:green" for v in r]
        shown = [c for c, q in zip(colors, pos, strict=True) if q]
        ax.vlines(xs[pos], lo, r[pos], colors=shown, lw=3)
        ax.plot(xs[pos], r[pos], "o", color="k", ms=4)
        zero = ~pos
        if zero.any():
            ax.plot(
                xs[zero],
                np.full(int(zero.sum()), lo * 1.6),
                "v",
                color="tab:green",
                ms=8,
                clip_on=False,
            )
        ax.axhline(1.0, color="tab:red", ls="--", lw=1.4)
        if n <= MAX_LABELLED:
            ax.set_xticks(xs, labels=_ticks(k, "col", n, ge.hidden_on))
        dim = {"b1": "hidDim", "b2": "outDim", "x": "inDim"}.get(k, "")
        ax.set_xlabel(f"entry i of grad {k} ({dim} index)")
        ax.set_ylabel("error / bound (log scale)")
        ax.set_xlim(-0.6, n - 0.4)
        ax.grid(True, axis="y", color="0.9", lw=0.6)
        ax.legend(
            handles=[
                Line2D(
                    [], [], color="tab:red", ls="--", lw=1.4, label="1 = the bound: above it fails"
                ),
                Line2D([], [], color="tab:green", lw=3, label="entry within its bound"),
                Line2D([], [], color="tab:red", lw=3, label="entry beyond its bound"),
                Line2D(
                    [],
                    [],
                    ls="",
                    marker="v",
                    color="tab:green",
                    label="exactly equal (error 0; drawn at the bottom)",
                ),
            ],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.1),
            ncol=2,
            fontsize=8,
            frameon=False,
        )
    return page


def _worst_entry(ge: GradientErrors) -> str:
    """Return the line naming the entry furthest from the right side, relative to its bound."""
    i = np.unravel_index(int(np.argmax(ge.ratio)), ge.ratio.shape)
    where = "[" + ", ".join(str(int(j)) for j in i) + "]"
    if ge.ratio[i] == 0:
        return f"Every entry of the engine's gradient in {ge.argument} is exactly the right side."
    return (
        f"Worst entry {where}: engine {float(ge.engine[i])!r}, right side "
        f"{float(ge.right_side[i])!r}, error {float(ge.error[i]):.2g}, bound "
        f"{float(ge.bound[i]):.2g}: {float(ge.ratio[i]):.2g}× the bound."
    )


def _ticks(k: str, axis: str, n: int, on: F64) -> list[str]:
    """Return tick labels; along a hidden dimension, each says whether the unit is on or off."""
    hidden = (k == "W1" and axis == "row") or (k == "W2" and axis == "col") or k == "b1"
    if not hidden:
        return [str(i) for i in range(n)]
    return [f"{i}\n{'on' if on[i] else 'off'}" for i in range(n)]


def _cmap() -> Any:
    from matplotlib import colormaps

    return colormaps["RdYlGn_r"].with_extremes(bad="0.93")


def write_plots(
    directory: str,
    backend: Backend,
    cfg: Config,
    seed: int,
    results: Sequence[Result] | None = None,
) -> list[str]:
    """Write one PNG per `hasFDerivAt_*` statement (a Taylor test) and per `grad_*_mse` lemma (the
    per-entry error of the engine's gradient over its bound) into `directory`, and return the
    paths written.

    With `results`, only the declarations in it are drawn (so `--only` narrows the pictures too)
    and each caption says the run's verdict for that declaration. Needs matplotlib (the `plots`
    extra).
    """
    require_matplotlib()
    import matplotlib

    wanted = None if results is None else {r.lean_name for r in results}
    with matplotlib.rc_context(_RC):
        jobs, point = _jobs(backend, cfg, seed, wanted)
        paths = _paths(directory, jobs)
        for job, path in zip(jobs, paths, strict=True):
            page = job.page()
            _finish(_rasterize(page), page, point + _run_note(results, job.name), path)
    return [str(p) for p in paths]


_RC: dict[Any, Any] = {"text.hinting": "none", "font.size": 9}
"""Unhinted text: FreeType's autohinter was most of the drawing time (about 3× slower)."""


@dataclass(frozen=True)
class _Job:
    """One picture's name and numbers, computed from the engine; drawing it needs no engine."""

    name: str
    data: TaylorSeries | GradientErrors

    def page(self) -> _Page:
        return (
            _draw_taylor(self.data)
            if isinstance(self.data, TaylorSeries)
            else _draw_gradient(self.data)
        )


def _jobs(
    backend: Backend, cfg: Config, seed: int, wanted: set[str] | None
) -> tuple[list[_Job], str]:
    """Return the numbers of every picture `wanted` (all when None), and the caption line naming
    the engine and the example."""
    ex = plot_example(cfg, seed)
    jobs: list[_Job] = []
    if wanted is None or MSE_NAME in wanted:
        jobs.append(_Job(MSE_NAME, mse_taylor_series(backend, cfg, seed)))
    for name, k in TAYLOR_NAMES.items():
        if wanted is None or name in wanted:
            jobs.append(_Job(name, taylor_series(backend, cfg, seed, k)))
    for name, k in GRAD_NAMES.items():
        if wanted is None or name in wanted:
            jobs.append(_Job(name, gradient_errors(backend, cfg, seed, k)))
    return jobs, _point_note(backend, cfg, seed, ex)


def _paths(directory: str, jobs: list[_Job]) -> list[Path]:
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [out_dir / f"{job.name.removeprefix(NS)}.png" for job in jobs]
