"""Pictures of one example: Taylor tests of the `hasFDerivAt_*` lemmas, and the per-entry error of
the engine's gradients as a fraction of their bounds for the `grad_*_mse` lemmas.

The numbers come from `spec.checks.series.collect` (which drives the engine; its docstring says
how the example is built and what is computed); this module only draws them. matplotlib is an
optional extra (`plots`); it is imported only when a picture is drawn.
"""

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks.series import Figures, GradientErrors, TaylorSeries
from ..runner import Result
from ..types import F64

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["write_plots", "require_matplotlib"]


MAX_LABELLED = 16
"""Up to this many rows or columns every entry gets a tick label (on/off for hidden units)."""

DPI = 80
"""Resolution of the PNGs: 688 × 480 pixels, about 50-90 KB each."""


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


# --- Taylor series -----------------------------------------------------------------------------


# --- gradient errors ---------------------------------------------------------------------------


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
    paragraphs = "\n".join(_wrap(p, 110) for p in caption.split("\n"))
    return _Page(fig, f"{title}\n{_wrap(statement, 100)}", paragraphs), ax


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
    caption = page.caption + "\n" + _wrap(note, 110)
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


def _wrap(text: str, width: int) -> str:
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
    directory: str, figures: Figures, results: Sequence[Result] | None = None
) -> list[str]:
    """Draw one PNG per series of `figures` (`spec.checks.series.collect`): a Taylor test per
    `hasFDerivAt_*` statement, the per-entry error of the engine's gradient over its bound per
    `grad_*_mse` lemma, into `directory`, and return the paths written. With `results`, each
    caption says the run's verdict for its declaration. Needs matplotlib (the `plots` extra).
    """
    require_matplotlib()
    import matplotlib

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context(_RC):
        for name, data in figures.series:
            path = out_dir / f"{name.rsplit('.', 1)[-1]}.png"
            page = _draw_taylor(data) if isinstance(data, TaylorSeries) else _draw_gradient(data)
            _finish(_rasterize(page), page, figures.caption + _run_note(results, name), path)
            paths.append(path)
    return [str(p) for p in paths]


_RC: dict[Any, Any] = {"text.hinting": "none", "font.size": 9}
"""Unhinted text: FreeType's autohinter was most of the drawing time (about 3× slower)."""
