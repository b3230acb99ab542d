"""`python -m spec`: `check` runs the conformance suite on an engine; `trace` maps Lean names to
mirrors, tests and docs, and detects drift against a Lean source file."""

import argparse
import functools
import json
import math
import os
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .checks.base import Config
from .engine import load_backend
from .runner import Result, run_all
from .strategies import DEFAULT_MARGIN
from .verdict import Status

__all__ = ["main", "render_report"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m spec",
        description="Check a backprop engine against TorchLean's MlpMse.lean, Lean name by Lean "
        "name.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="run every predicate on an engine (default: the built-in one)")
    c.add_argument(
        "--backend",
        metavar="NAME|MODULE:ATTR",
        default=None,
        help="the engine: reference (default), torch, jax, or MODULE:ATTR naming an "
        "engine object or a zero-argument callable returning one",
    )
    c.add_argument(
        "--device",
        default=None,
        help="device for the built-in torch engine (e.g. cuda); default cpu",
    )
    c.add_argument(
        "--compile",
        nargs="?",
        const="default",
        default=None,
        metavar="MODE",
        help="check the compiled engine: torch.compile with backend MODE for --backend "
        "torch (inductor, the default, or aot_eager), jax.jit for --backend jax (jit)",
    )
    c.add_argument(
        "--examples",
        type=int,
        default=100,
        metavar="N",
        help="examples per predicate (default 100)",
    )
    c.add_argument("--seed", type=int, default=0, metavar="S", help="Hypothesis seed (default 0)")
    c.add_argument(
        "--max-dim",
        type=int,
        default=8,
        metavar="D",
        help="largest inDim, hidDim, outDim drawn (default 8)",
    )
    c.add_argument(
        "--min-dim",
        type=int,
        default=0,
        metavar="D",
        help="smallest dimension drawn (default 0, as Lean allows: empty layers are "
        "part of the domain checked; 1 or more narrows it, and the summary says so)",
    )
    c.add_argument(
        "--dims",
        default=None,
        metavar="IN,HID,OUT",
        help="check every MLP point at these sizes (e.g. a real model's layers) instead "
        "of drawing sizes; the lemmas about single maps keep --min-dim..--max-dim",
    )
    c.add_argument(
        "--reference",
        choices=("auto", "exact", "float"),
        default="auto",
        help="compare the engine with the spec's exact values (errors measured exactly, "
        "within the engine's own bound) or its float64 values (within twice it); auto: "
        "exact up to 10,000 parameters",
    )
    c.add_argument(
        "--margin",
        type=_margin,
        default=DEFAULT_MARGIN,
        help="the drawn points keep every |z1 i| off the kinks at least this far from "
        "the kink: a number, or a fraction P/Q, which --exact keeps exactly (default "
        "2^-60; float points also stay outside the band where rounding could flip a "
        "ReLU, relative to (|W1||x| + |b1|)_i); a larger margin narrows the domain",
    )
    c.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="the format the engine computes in; bounds are derived for it (default float64)",
    )
    c.add_argument(
        "--exact",
        action="store_true",
        help="hand the engine exact rationals (fractions.Fraction) and demand exact "
        "results: every bound is 0 (the built-in engine supports it)",
    )
    c.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        default=None,
        help="run only these Lean names (short or fully qualified)",
    )
    c.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON")
    c.add_argument(
        "--junit",
        metavar="PATH",
        default=None,
        help="also write JUnit XML for CI: one testcase per Lean name",
    )
    c.add_argument(
        "--markdown",
        metavar="PATH",
        default=None,
        help="also write a Markdown report: one section per Lean name",
    )
    c.add_argument(
        "--plots",
        metavar="DIR",
        default=None,
        help="also draw PNGs into DIR: a Taylor test per hasFDerivAt_* lemma, the "
        "gradient error per grad_*_mse lemma (needs the `plots` extra: matplotlib)",
    )
    c.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run the predicates in N processes: this one and N - 1 more (default 1)",
    )
    c.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only the K-th of N deterministic slices of the predicates (for CI jobs)",
    )
    c.add_argument(
        "--database",
        default=None,
        metavar="DIR",
        help="keep failing examples in DIR (Hypothesis's directory database) and replay "
        "them first in every later run, shard or job",
    )
    e = sub.add_parser(
        "explain", help="the statement, hypotheses, predicate, bounds and docs of one Lean name"
    )
    e.add_argument("name", help="a Lean name, short (grad_W1_mse) or fully qualified")
    t = sub.add_parser(
        "trace", help="Lean name ↔ mirror ↔ tests ↔ docs; drift against a Lean file", add_help=False
    )
    t.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "trace":
        # `trace` parses its own options (argparse.REMAINDER would not pass them through).
        from .traceability.trace import main as trace_main

        code: int = trace_main(argv[1:])
        return code
    args = _parser().parse_args(argv)
    if args.command == "explain":
        from .traceability.explain import explain

        try:
            print(explain(args.name))
        except KeyError as exc:
            return _fail(str(exc.args[0]))
        return 0
    return _check(args)


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def _check(args: argparse.Namespace) -> int:
    if args.examples < 1:
        return _fail(f"--examples {args.examples}: give at least 1")
    if args.min_dim < 0 or args.max_dim < args.min_dim:
        return _fail(
            f"--min-dim {args.min_dim} --max-dim {args.max_dim}: need 0 ≤ min-dim ≤ max-dim"
        )
    if args.margin is None:
        return _fail("--margin: give a positive number or a fraction P/Q, e.g. 1e-6 or 1/3")
    from hypothesis.errors import InvalidArgument

    from .strategies import check_margin

    try:
        check_margin(args.margin)
    except InvalidArgument as exc:
        return _fail(f"--margin {args.margin}: {exc}")
    if args.workers < 1:
        return _fail(f"--workers {args.workers}: give at least 1")
    for flag in ("json", "junit", "markdown", "plots"):
        path = getattr(args, flag)
        problem = None if path is None else _unusable(path, folder=flag == "plots")
        if problem is not None:
            return _fail(f"--{flag} {path}: {problem}")
    shard = None
    if args.shard is not None:
        k_s, _, n_s = args.shard.partition("/")
        if not (k_s.isdigit() and n_s.isdigit() and 1 <= int(k_s) <= int(n_s)):
            return _fail(f"--shard {args.shard!r}: give K/N with 1 ≤ K ≤ N, e.g. --shard 2/4")
        shard = (int(k_s), int(n_s))
    # An exact engine is built as the float64 one; it computes exactly on rational inputs.
    factory = functools.partial(
        load_backend,
        args.backend,
        "float64" if args.exact else args.dtype,
        args.device,
        args.compile,
    )
    try:
        backend = factory()
    except ValueError as exc:
        return _fail(str(exc))
    from . import _load_mirrors

    _load_mirrors()
    if args.only:
        from .registry import lookup

        for name in args.only:
            try:
                entry = lookup(name)
            except KeyError as exc:
                return _fail(f"--only {name}: {exc.args[0]}")
            if not entry.checks:
                return _fail(
                    f"--only {name}: {entry.decl.name} has no predicate of its own (the "
                    "module's predicates use it); `python -m spec trace` lists those "
                    "that do"
                )
    if args.exact and args.dtype != "float64":
        return _fail("--exact and --dtype exclude each other: an exact engine does not round")
    dtype = "exact" if args.exact else args.dtype
    dims = None
    if args.dims is not None:
        try:
            parsed = tuple(int(v) for v in args.dims.split(","))
        except ValueError:
            parsed = ()
        if len(parsed) != 3:
            return _fail(
                f"--dims {args.dims!r}: give three sizes IN,HID,OUT, e.g. --dims 784,256,10"
            )
        if min(parsed) < 0:
            return _fail(
                f"--dims {args.dims!r}: sizes must be >= 0 (0 is an empty layer, as "
                "Lean's Fin 0), e.g. --dims 784,256,10"
            )
        # Only the points of the MLP take these sizes; the lemmas about single maps (ReLU, the
        # linear layer, mse) keep drawing small sizes, where their exact checks stay cheap.
        dims = (parsed[0], parsed[1], parsed[2])
    reference = {"auto": None, "exact": True, "float": False}[args.reference]
    cfg = Config(
        min_dim=args.min_dim,
        max_dim=args.max_dim,
        margin=args.margin,
        dtype=dtype,
        dims=dims,
        exact_reference=reference,
    )
    if args.plots:
        from .reporting.plots import require_matplotlib

        try:
            require_matplotlib()
        except ImportError as exc:
            return _fail(f"--plots: {exc}")
    from .reporting.progress import progress
    from .reporting.report import narrowings
    from .runner import hypothesis_home, select

    config: dict[str, Any] = {
        "backend": args.backend,
        "device": args.device,
        "compile": args.compile,
        "seed": args.seed,
        "examples": args.examples,
        "dtype": dtype,
        "dims": args.dims,
        "reference": args.reference,
        "min_dim": args.min_dim,
        "max_dim": args.max_dim,
        "margin": args.margin,
        "database": args.database,
    }
    start = time.perf_counter()
    # Hypothesis keeps caches in ./.hypothesis even without a database: keep the cwd clean.
    with hypothesis_home():
        with progress(len(select(args.only, shard))) as advance:
            results = run_all(
                backend,
                cfg,
                args.examples,
                args.seed,
                args.only,
                shard=shard,
                workers=args.workers,
                backend_factory=factory,
                database=args.database,
                on_result=advance,
            )
    total = time.perf_counter() - start
    name = str(getattr(backend, "name", type(backend).__name__))
    narrowed = narrowings(cfg)
    report_notes = getattr(backend, "report_notes", None)  # e.g. compile time, TF32 (impl/)
    notes = list(report_notes()) if callable(report_notes) else []
    print(render_report(name, results, total, cfg, config, notes))
    if args.junit:
        from .reporting.report import write_junit

        write_junit(args.junit, name, results, config)
    if args.markdown:
        from .reporting.report import write_markdown

        write_markdown(args.markdown, name, results, config, narrowed=narrowed)
    if args.plots:
        from .checks.series import collect
        from .reporting.plots import write_plots

        # The numbers are computed by driving the engine (spec.checks.series); plots only draw.
        figures = collect(backend, cfg, args.seed, {r.lean_name for r in results})
        paths = write_plots(args.plots, figures, results)
        print(f"\nplots: {len(paths)} PNG file(s) in {args.plots}")
    if args.json:
        from .strategies import PROBE_BITS

        payload: dict[str, Any] = {
            "backend": name,
            "config": {
                "examples": args.examples,
                "seed": args.seed,
                "dtype": dtype,
                "min_dim": args.min_dim,
                "max_dim": args.max_dim,
                "margin": str(args.margin),
                "probe_bits": PROBE_BITS if dtype == "exact" else None,
                "narrowed": narrowed,
            },
            "seconds": round(total, 3),
            "results": [r.as_json() for r in results],
        }
        text = json.dumps(payload, indent=1, ensure_ascii=False) + "\n"
        Path(args.json).write_text(text, "utf-8")
    bad = [r for r in results if r.status in (Status.FAILS, Status.ERROR)]
    return 1 if bad else 0


def render_report(
    name: str,
    results: list[Result],
    total: float,
    cfg: Config,
    config: dict[str, Any],
    notes: list[str] | None = None,
) -> str:
    """Return what `check` prints for a run: the headline of a failing run, the table, the
    verdicts part by part of the domain, and each counterexample with its replay command.

    - `name`: the engine's name; `results`: the run's results; `total`: its seconds.
    - `cfg`: what the examples were drawn from; `config`: the options that replay a check
      (`spec.reporting.report.replay_command` says which keys it reads).
    - `notes`: lines the engine adds about itself (compile time, TF32), after the summary.
    """
    from .reporting.report import (
        narrowings,
        part_cell,
        render_counterexample,
        render_domain,
        render_headline,
        replay_command,
    )

    out: list[str] = []
    head = render_headline(results)
    if head:
        out.append("\n".join(head) + "\n")
    out.append(_table(name, results, total, part_cell))
    out.append("\n".join(render_domain(results, narrowings(cfg))))
    out += notes or []
    if cfg.dtype == "exact":
        out.append(_exact_note(results, cfg.probes))
    for r in results:
        if r.counterexample is not None or r.status is Status.ERROR:
            out.append("\n" + render_counterexample(r, replay_command(r.lean_name, config)))
    return "\n".join(out)


def _unusable(path: str, folder: bool) -> str | None:
    """Return why a report `path` cannot be written (None when it can): a file path whose folder is
    missing or not writable, or that is a folder; for `folder` (`--plots`), a path that is a file.
    Nothing is created: a run writes only what it was asked to, and only at the end."""
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            return "is a file; give a folder (it is created if missing)"
        parent = p if p.is_dir() else next((a for a in p.parents if a.exists()), Path("."))
        if not parent.is_dir():
            return f"{parent} is a file, not a folder; give another folder"
        if not os.access(parent, os.W_OK):
            return f"cannot write into {parent}; give a folder you can write to"
        return None
    if p.is_dir():
        return "is a folder; give a file path, e.g. " + str(p / "report")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        return f"folder {parent} does not exist; create it (mkdir -p {parent}) or give another path"
    if not parent.is_dir():
        return f"{parent} is a file, not a folder; give another path"
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        return f"cannot write {p}; give a path you can write to"
    return None


def _exact_note(results: list[Result], probes: int) -> str:
    """Return what an exact run established beyond the table: the kinds of points, and how unlikely
    a wrong gradient is to survive the integer probes of the grad_* checks."""
    from .checks.gradients import survival
    from .strategies import PROBE_BITS

    mlp = [r for r in results if r.active_examples is not None]
    points = ""
    if mlp:
        r = max(mlp, key=lambda r: r.examples)
        points = (
            f" Points: {r.rational_examples} of {r.examples} with small-denominator rational "
            "entries, the others floats converted exactly."
        )
    note = (
        "exact: engine values compared with zero tolerance (the worst/bound column is the "
        f"spec's own float64 values against exact ones).{points}"
    )
    if any(".grad_" in r.lean_name for r in results):
        note += f"\ngrad_* probes: {survival(PROBE_BITS, probes)}, at each point."
    return note


def _margin(text: str) -> float | Fraction | None:
    """Parse `--margin`: a positive finite float, or a positive fraction `P/Q` kept exact (None
    for anything else, reported by `check`)."""
    try:
        value: float | Fraction = Fraction(text) if "/" in text else float(text)
        finite = math.isfinite(value)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if finite and value > 0 else None


def _ratio(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{x:.2e}"


def _table(backend: str, results: list[Result], total: float, cell: Callable[[Any], str]) -> str:
    """Return the table: one row per Lean name, with its verdict on each part of the domain
    (`cell` renders one part)."""
    from .domain import PARTS

    head = ("Lean name", "status", "examples", *PARTS, "worst/bound", "time", "subject")
    rows = [head]
    for r in results:
        ex = f"{r.examples}" + (f" ({r.unmet} unmet)" if r.unmet else "")
        rows.append(
            (
                r.lean_name.removeprefix("Proofs.Autograd."),
                r.status.value,
                ex,
                *(cell(r.parts.get(p)) for p in PARTS),
                # An error row compared nothing: no ratio to show.
                "-" if r.status is Status.ERROR and not r.holds else _ratio(r.worst_ratio),
                f"{r.seconds:.2f}s",
                r.subject,
            )
        )
    last = len(head) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(last)]
    lines = [f"MlpMse conformance of engine {backend!r}"]
    for k, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(last)] + [row[last]]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  -------")
    counts = {s: sum(r.status is s for r in results) for s in Status}
    summary = (
        f"{counts[Status.HOLDS]} holds, {counts[Status.FAILS]} fails, "
        f"{counts[Status.UNMET]} unmet, {counts[Status.ERROR]} error in {total:.1f}s"
    )
    # The checks on the MLP's points run at the same drawn points, so one row tells what they were.
    mlp = [r for r in results if r.active_examples is not None]
    if mlp:
        r = max(mlp, key=lambda r: r.examples)
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r.patterns.items()))
        summary += (
            f"; of the {r.examples} points drawn, {r.active_examples} had active "
            f"hidden units ({kinds})"
        )
    lines.append(summary)
    return "\n".join(lines)
