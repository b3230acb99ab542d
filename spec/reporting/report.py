"""Reports people read: the headline of a failing run, the counterexample in the statement's own
terms, and the run as JUnit XML (for CI) and Markdown (for a pull request or a wiki page).

Everything here reads `Result`s and the manifest; nothing runs an engine or computes a value. The
numbers a report prints are the ones the predicates compared (`Comparison.actual`, `.expected`,
`.error`, `.bound`, the sides of `Comparison.what`); the sizes, the values "at this point" and the
worst entry of a right side with the numbers put in come with the verdict (`Verdict.explanation`,
written by the check's domain).
"""

import re
import shlex
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..checks.base import Config
from ..domain import PARTS
from ..registry import LEAN_REPOSITORY, MODULE_FILE, PINNED_COMMIT, LeanDecl, manifest
from ..runner import PartResult, Result
from ..strategies import DEFAULT_MARGIN
from ..text import array as _arr
from ..verdict import Comparison, Explanation, Status

__all__ = [
    "part_cell",
    "render_domain",
    "narrowings",
    "render_headline",
    "render_counterexample",
    "replay_command",
    "junit_xml",
    "write_junit",
    "markdown",
    "write_markdown",
]

PREFIX = "Proofs.Autograd."
MAX_HEADLINE = 3


# --- small formatting helpers ------------------------------------------------------------------


def _g(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    return f"{x:.{digits}g}"


def _times(ratio: float) -> str:
    """Return how many times the bound an error is, e.g. `2.8e+05×`."""
    return "an infinite multiple of" if ratio == float("inf") else f"{ratio:.2g}×"


def _index(idx: tuple[int, ...] | None) -> str:
    return f"[{', '.join(map(str, idx))}]" if idx else ""


def _short(name: str) -> str:
    return name.removeprefix(PREFIX)


def _decl(name: str) -> LeanDecl | None:
    return manifest().declarations.get(name)


def _sides(c: Comparison) -> tuple[str, str]:
    """Return the two sides of a comparison; a remainder (no right side) is compared with 0."""
    return c.what.left, "0" if c.what.right is None else c.what.right


def _right_label(right: str) -> str:
    return "right side" if right.startswith("the statement's right side") else right


def _entry_line(c: Comparison) -> str:
    """Return `left[idx] = a, right b, error e > bound b (r× the bound)` for a failed comparison."""
    if c.actual is None or c.expected is None:
        return f"{c.quantity}: {c.derivation}"
    left, right = _sides(c)
    idx = _index(c.index)
    times = "exact equality required" if c.bound == 0 else f"{_times(c.worst_ratio)} the bound"
    return (
        f"{left}{idx} = {c.actual!r}, {_right_label(right)} = {c.expected!r}, "
        f"error {_g(c.error)} > bound {_g(c.bound)} ({times})"
    )


def _bad(results: Sequence[Result]) -> list[Result]:
    fails = [r for r in results if r.status is Status.FAILS]
    fails.sort(key=lambda r: -_ratio_of(r))  # stable: ties keep the Lean file's order
    return fails + [r for r in results if r.status is Status.ERROR]


def _ratio_of(r: Result) -> float:
    v = r.counterexample
    return v.worst_ratio if v is not None else r.worst_ratio


# --- the domain, part by part -------------------------------------------------------------------


def part_cell(p: PartResult | None) -> str:
    """Return a table cell for one part of one check: `ok 38`, `unmet 14`, `FAIL 3/38`,
    `ERR 12/12` (failing examples of those drawn in the part), or `-` when none was drawn."""
    status = None if p is None else p.status
    if p is None or status is None:
        return "-"
    if status is Status.FAILS:
        return f"FAIL {p.fails}/{p.examples}"
    if status is Status.ERROR:
        return f"ERR {p.errors}/{p.examples}"
    return f"{'ok' if status is Status.HOLDS else 'unmet'} {p.examples}"


def narrowings(cfg: Config) -> list[str]:
    """Return, in words, each way the configuration leaves part of Lean's domain unchecked."""
    out = []
    if cfg.dims is not None:
        if 0 not in cfg.dims:
            out.append(
                f"--dims {','.join(map(str, cfg.dims))}: no empty layers at the MLP's "
                "points (Lean's sizes may be 0)"
            )
    elif cfg.min_dim > 0:
        out.append(f"--min-dim {cfg.min_dim}: no empty layers (Lean's sizes may be 0)")
    if cfg.dims is None and cfg.max_dim == 0:
        out.append("--max-dim 0: empty layers only")
    if Fraction(cfg.margin) > Fraction(DEFAULT_MARGIN):
        out.append(
            f"--margin {cfg.margin}: no unit nearer the kink than that (Lean's hx asks "
            "only z1 i ≠ 0)"
        )
    return out


def render_domain(results: Sequence[Result], narrowed: Sequence[str] = ()) -> list[str]:
    """Return the verdicts part by part of the domain: for each part drawn, how many declarations
    hold, fail, err or are unmet there, and the first failure's message; then the narrowings.

    E.g. `empty      16 hold, 6 error: mse: numpy.loss returned nan; expected a finite number`
    tells at one glance that an engine is right on non-empty networks and wrong at `n = 0`.
    """
    lines = ["by part of the domain (declarations; see spec.domain):"]
    for part in PARTS:
        rows = [(r, r.parts[part]) for r in results if part in r.parts]
        rows = [(r, p) for r, p in rows if p.status is not None]
        if not rows:
            lines.append(f"  {part:<10} not drawn")
            continue
        counts = {s: sum(p.status is s for _, p in rows) for s in Status}
        words = [
            f"{counts[s]} {w}"
            for s, w in (
                (Status.HOLDS, "hold"),
                (Status.FAILS, "fail"),
                (Status.ERROR, "error"),
                (Status.UNMET, "unmet"),
            )
            if counts[s]
        ]
        line = f"  {part:<10} " + ", ".join(words)
        if counts[Status.UNMET] and part == "kink":
            line += " (their hypothesis fails there)"
        bad = [(r, p) for r, p in rows if p.first is not None]
        if bad:
            r, p = bad[0]
            assert p.first is not None
            first = (p.first.message or p.first.status.value).splitlines()[0]
            if p.first.worst is not None and not p.first.worst.ok:
                first = _entry_line(p.first.worst)
            line += f"; first: {_short(r.lean_name)}: {first}"
        lines.append(line)
    lines += [f"narrowed: {n}" for n in narrowed]
    return lines


# --- the headline ------------------------------------------------------------------------------


def render_headline(results: Sequence[Result]) -> list[str]:
    """Return at most 3 lines naming the failing Lean statement(s) and the worst entry; `[]` when
    nothing fails or errs.

    A failing run prints these first, before the table: the declaration whose worst entry is
    furthest beyond its bound, that entry (both sides, the error, the bound and how many times the
    bound it is), the statement in plain math, and how many other declarations fail.
    """
    bad = _bad(results)
    if not bad:
        return []
    first = bad[0]
    lines = [_headline_of(first)]
    decl = _decl(first.lean_name)
    if decl is not None:
        lines.append(f"  statement: {decl.statement}")
    rest = bad[1:]
    if rest:
        names = ", ".join(_short(r.lean_name) for r in rest[:6]) + (", …" if len(rest) > 6 else "")
        errs = sum(r.status is Status.ERROR for r in rest)
        fails = len(rest) - errs
        plural = "s" if len(rest) > 1 else ""
        if not errs:
            what = f"failing declaration{plural}"
        elif not fails:
            what = f"declaration{plural} with engine or checker errors"
        else:
            what = f"declarations ({fails} failing, {errs} with engine or checker errors)"
        lines.append(f"… and {len(rest)} more {what}: {names}")
    return lines[:MAX_HEADLINE]


def _headline_of(r: Result) -> str:
    tag = "FAIL" if r.status is Status.FAILS else "ERROR"
    v = r.counterexample
    worst = v.worst if v is not None else None
    if r.status is Status.FAILS and worst is not None and not worst.ok:
        hint = f"; dtype: {r.hint}" if r.hint else ""
        return f"{tag} {r.lean_name}: {_entry_line(worst)}{hint}"
    msg = (v.message if v is not None and v.message else r.message) or r.status.value
    return f"{tag} {r.lean_name}: {msg.splitlines()[0]}"


# --- the counterexample in the statement's terms -----------------------------------------------

_MEANING = {
    "grad": "The engine's backprop gradient (left) must equal the closed form the lemma proves "
    "(right), up to the rounding bound.",
    "hasFDerivAt": "Inside the no-kink radius the network is affine in this argument, so the "
    "first-order remainder f(p + d) − f(p) − f'(d) must be 0, up to the rounding bound.",
    "def": "The engine's value (left) must equal the definition (right), up to the rounding bound.",
    "lemma": "Both sides of the identity must agree, up to the rounding bound.",
}


def _category(name: str, decl: LeanDecl | None) -> str:
    short = _short(name)
    if short.startswith("grad_") or short in (
        "adjoint_fderiv_comp_apply_one",
        "mseGrad_eq_adjoint_fderiv",
    ):
        return "grad"
    if short.startswith("hasFDerivAt"):
        return "hasFDerivAt"
    return "def" if decl is not None and decl.kind == "def" else "lemma"


def render_counterexample(result: Result, replay: str) -> str:
    """Return the counterexample of a failing (or erring) result in the statement's own terms.

    It gives the verdict and the Lean statement, the hypotheses and whether they hold at the
    witness, the smallest dimensions found (as Lean names them: inDim, hidDim, outDim), the inputs
    `W1 b1 W2 b2 x t` (or the vectors of the lemma), the values at that point, the two sides that
    differ at the worst entry with the numbers substituted into the statement, the error, the
    bound with its derivation (and ULPs), the other failing comparisons, and the replay command.
    """
    name = result.lean_name
    decl = _decl(name)
    v = result.counterexample
    # The first lines keep the CLI's long-standing shape: the status and name, the statement, the
    # worst comparison in one line (or the message); the details follow.
    out = [f"{result.status.value.upper()}: {name}"]
    if decl is not None:
        out.append(f"  statement: {decl.statement}")
    worst = v.worst if v is not None else None
    failing = result.status is Status.FAILS and worst is not None and not worst.ok
    if failing and worst is not None:
        out.append("  worst: " + worst.describe())
        if result.hint:
            out.append("  dtype: " + result.hint)
    else:
        msg = (v.message if v is not None and v.message else result.message) or result.status.value
        out.append(f"  {result.status.value}: {msg}")
    witness: Mapping[str, Any] = v.witness if v is not None else {}
    e = v.explanation if v is not None else None
    if decl is not None:
        line = f"{MODULE_FILE.rsplit('/', 1)[-1]}:{decl.line}, " if decl.line else ""
        out.append(f'  lean: {decl.kind}, {line}section "{decl.section}"')
        out.append("  hypotheses: " + ("; ".join(decl.hypotheses) or "none"))
        if e is not None and e.hypothesis is not None:
            out.append(f"    {e.hypothesis}")
    out.append("  meaning: " + _MEANING[_category(name, decl)])
    if e is not None and e.dimensions is not None:
        out.append(f"  dimensions: {e.dimensions}   (the smallest example found)")
    if result.status is Status.ERROR and witness:
        shapes = ", ".join(f"{k} {np.shape(a)}" for k, a in witness.items())
        out.append(f"  shapes handed to the engine: {shapes}")
    if witness:
        out.append("  inputs:")
        for k, a in witness.items():
            out.append(f"    {k} = {_arr(a, exact=True)}".replace("\n", "\n" + " " * (7 + len(k))))
    values = e.values if e is not None else ()
    if values:
        out.append("  at this point (the spec's float64 values):")
        out.extend(f"    {s}".replace("\n", "\n      ") for s in values)
    if failing and worst is not None and v is not None:
        out.extend(_differ(name, decl, worst, e))
        others = [c for c in v.comparisons if not c.ok and c is not worst]
        for c in others[:3]:
            out.append("  also fails: " + _entry_line(c))
        if len(others) > 3:
            out.append(f"  … and {len(others) - 3} more failing comparisons")
    out.append(f"  replay: {replay}")
    return "\n".join(out)


def _differ(name: str, decl: LeanDecl | None, c: Comparison, e: Explanation | None) -> list[str]:
    left, right = _sides(c)
    idx = _index(c.index)
    out: list[str] = []
    if c.actual is None or c.expected is None:
        return [f"  the sides differ: {c.quantity}: {c.derivation}"]
    if e is not None and e.in_terms is not None:
        out.append(f"  {e.in_terms}")
        if e.expansion is not None:
            out.append(f"    right side at {idx} = {e.expansion}")
        if e.right_side is not None:
            out.append(f"    right side in full = {e.right_side}".replace("\n", "\n" + " " * 23))
    where = f"at the worst entry {idx} (of {c.total})" if idx else "(a scalar)"
    out.append(f"  the two sides {where}:")
    width = max(len(left), len(right))
    out.append(f"    left:  {left.ljust(width)} = {c.actual!r}")
    out.append(f"    right: {right.ljust(width)} = {c.expected!r}")
    ulps = "" if c.ulps is None else f" ({_g(c.ulps)} ulp)"
    out.append(
        f"  error: {_g(c.error, 3)}{ulps} > bound {_g(c.bound, 3)}: "
        f"{_times(c.worst_ratio)} the bound; {c.failing} of {c.total} entries exceed their "
        "bound"
    )
    out.append(
        f"  bound: {c.derivation}  (derived from the sizes and the unit roundoff; see "
        "docs/tolerances.md)"
    )
    return out


# --- replay ------------------------------------------------------------------------------------


def replay_command(lean_name: str, config: Mapping[str, object]) -> str:
    """Return the `python -m spec check … --only NAME` command that replays one check of a run.

    Reads these keys of `config` when present (the `--json` config of the CLI plus the engine's
    options): `backend` (the `--backend` argument; absent or None for the built-in engine),
    `device`, `compile`, `seed`, `examples`, `dtype` ("exact" gives `--exact`), `dims`
    ("IN,HID,OUT" or a triple), `reference`, `min_dim`, `max_dim`, `database`, `margin` (given
    only when not the default 2^-60).
    """
    cmd = ["python", "-m", "spec", "check"]

    def opt(flag: str, key: str) -> None:
        value = config.get(key)
        if value is not None:
            cmd.extend([flag, str(value)])

    opt("--backend", "backend")
    opt("--device", "device")
    opt("--compile", "compile")
    opt("--seed", "seed")
    opt("--examples", "examples")
    dtype = config.get("dtype")
    if dtype == "exact":
        cmd.append("--exact")
    elif dtype is not None:
        cmd.extend(["--dtype", str(dtype)])
    dims = config.get("dims")
    if dims is not None:
        cmd.extend(["--dims", dims if isinstance(dims, str) else ",".join(map(str, dims))])  # type: ignore[call-overload]
    if config.get("reference") not in (None, "auto"):
        opt("--reference", "reference")
    opt("--min-dim", "min_dim")
    opt("--max-dim", "max_dim")
    opt("--database", "database")
    margin = config.get("margin")
    if isinstance(margin, (float, Fraction)) and margin != DEFAULT_MARGIN:
        cmd.extend(["--margin", repr(margin) if isinstance(margin, float) else str(margin)])
    cmd.extend(["--only", lean_name])
    return shlex.join(cmd)


Replay = Callable[[Result], str]


def _replayer(config: Mapping[str, object], replay: Replay | None) -> Replay:
    return replay if replay is not None else (lambda r: replay_command(r.lean_name, config))


# --- JUnit XML ---------------------------------------------------------------------------------


def _counts(results: Sequence[Result]) -> dict[Status, int]:
    return {s: sum(r.status is s for r in results) for s in Status}


def _figures(r: Result) -> str:
    worst = "inf" if r.worst_ratio == float("inf") else f"{r.worst_ratio:.3g}"
    parts = ", ".join(f"{name} {part_cell(p)}" for name, p in r.parts.items())
    return (
        f"examples {r.examples}, holds {r.holds}, unmet {r.unmet}, worst error/bound {worst}, "
        f"time {r.seconds:.3f} s, checked on: {r.subject}; by part: {parts or 'none'}"
    )


def junit_xml(
    backend: str,
    results: Sequence[Result],
    config: Mapping[str, object],
    replay: Replay | None = None,
) -> str:
    """Return the run as JUnit XML: a `<testsuite>` with the config as `<properties>` and one
    `<testcase>` per Lean name (classname = the Lean namespace, name = the short Lean name).

    A fail is a `<failure>` (message: the worst comparison's one-line description; text: the full
    counterexample), an engine or checker error an `<error>`, and `unmet` (the lemma's hypothesis
    never held, so nothing was compared) a `<skipped>` with the reason: neither a pass nor a
    failure. Each case's time is the check's time; its figures are in `<system-out>`.
    """
    counts = _counts(results)
    total = sum(r.seconds for r in results)
    suites = ET.Element(
        "testsuites",
        {
            "name": "MlpMse conformance",
            "tests": str(len(results)),
            "failures": str(counts[Status.FAILS]),
            "errors": str(counts[Status.ERROR]),
            "skipped": str(counts[Status.UNMET]),
            "time": f"{total:.3f}",
        },
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": f"MlpMse conformance of engine {backend!r}",
            "tests": str(len(results)),
            "failures": str(counts[Status.FAILS]),
            "errors": str(counts[Status.ERROR]),
            "skipped": str(counts[Status.UNMET]),
            "time": f"{total:.3f}",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": socket.gethostname(),
        },
    )
    props = ET.SubElement(suite, "properties")
    fixed = {
        "engine": backend,
        "lean_repository": LEAN_REPOSITORY,
        "lean_commit": PINNED_COMMIT,
        "lean_module": MODULE_FILE,
    }
    for key, value in {**fixed, **{k: v for k, v in config.items() if k not in fixed}}.items():
        if value is not None:
            ET.SubElement(props, "property", {"name": str(key), "value": str(value)})
    rep = _replayer(config, replay)
    for r in results:
        namespace, _, short = r.lean_name.rpartition(".")
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": namespace or "_root_", "name": short, "time": f"{r.seconds:.3f}"},
        )
        v = r.counterexample
        if r.status is Status.FAILS:
            worst = v.worst if v is not None else None
            message = worst.describe() if worst is not None else r.message
            el = ET.SubElement(case, "failure", {"message": message, "type": "fails"})
            el.text = render_counterexample(r, rep(r))
        elif r.status is Status.ERROR:
            kind = "checker error" if r.message.startswith("checker error") else "engine error"
            el = ET.SubElement(
                case,
                "error",
                {"message": r.message.splitlines()[0] if r.message else kind, "type": kind},
            )
            el.text = render_counterexample(r, rep(r))
        elif r.status is Status.UNMET:
            ET.SubElement(case, "skipped", {"message": f"unmet: {r.message}"})
        ET.SubElement(case, "system-out").text = _figures(r)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(
    path: str,
    backend: str,
    results: Sequence[Result],
    config: Mapping[str, object],
    replay: Replay | None = None,
) -> None:
    """Write the run as JUnit XML to `path` (see `junit_xml`); `replay` gives each failure's replay
    command (default: `replay_command` from `config`)."""
    Path(path).write_text(junit_xml(backend, results, config, replay), "utf-8")


# --- Markdown ----------------------------------------------------------------------------------


def _source_url(line: int | None = None) -> str:
    anchor = f"#L{line}" if line else ""
    return f"https://github.com/{LEAN_REPOSITORY}/blob/{PINNED_COMMIT}/{MODULE_FILE}{anchor}"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", name.lower().replace(" ", "-"))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(
    backend: str,
    results: Sequence[Result],
    config: Mapping[str, object],
    replay: Replay | None = None,
    narrowed: Sequence[str] = (),
) -> str:
    """Return the run as Markdown: the headline, the configuration, a summary table linking to one
    section per Lean name with its statement, hypotheses, verdict, figures and counterexample."""
    counts = _counts(results)
    rep = _replayer(config, replay)
    out = [f"# MlpMse conformance of engine `{backend}`", ""]
    head = render_headline(results)
    if head:
        out += ["```text", *head, "```", ""]
    out.append(
        f"**{counts[Status.HOLDS]} holds, {counts[Status.FAILS]} fails, "
        f"{counts[Status.UNMET]} unmet, {counts[Status.ERROR]} error** in "
        f"{sum(r.seconds for r in results):.1f} s, against "
        f"[`{MODULE_FILE}`]({_source_url()}) "
        f"at `{PINNED_COMMIT[:12]}`."
    )
    out.append("")
    if config:
        # The default engine is `--backend` None: name it as the report's title does.
        shown = {k: (backend if k == "backend" and v is None else v) for k, v in config.items()}
        out.append("Configuration: " + ", ".join(f"`{k}` = `{v}`" for k, v in shown.items()) + ".")
        out.append("")
    out += [
        "| Lean name | status | examples | unmet | "
        + " | ".join(PARTS)
        + " | worst error/bound | time |",
        "|---|---|---:|---:|" + "---|" * len(PARTS) + "---:|---:|",
    ]
    for r in results:
        worst = "inf" if r.worst_ratio == float("inf") else f"{r.worst_ratio:.2e}"
        if r.status is Status.ERROR and not r.holds:
            worst = "-"  # nothing was compared: the engine erred
        cells = " | ".join(part_cell(r.parts.get(p)) for p in PARTS)
        out.append(
            f"| [`{_short(r.lean_name)}`](#{_anchor(r.lean_name)}) | {r.status.value} | "
            f"{r.examples} | {r.unmet} | {cells} | {worst} | {r.seconds:.2f} s |"
        )
    out += ["", "```text", *render_domain(results, narrowed), "```", ""]
    for r in results:
        decl = _decl(r.lean_name)
        out.append(f"## {r.lean_name}")
        out.append("")
        if decl is not None:
            out.append(
                f'- **{decl.kind}** in section "{decl.section}" '
                f"([source]({_source_url(decl.line)}))"
            )
            out.append(f"- **statement:** `{decl.statement}`")
            hyps = "; ".join(f"`{h}`" for h in decl.hypotheses) or "none"
            out.append(f"- **hypotheses:** {hyps}")
        verdict = r.status.value + (
            f": {_md_cell(r.message.splitlines()[0])}"
            if r.message and r.status is not Status.FAILS
            else ""
        )
        out.append(f"- **verdict:** {verdict}")
        out.append(f"- **figures:** {_figures(r)}")
        if r.status is Status.FAILS and r.counterexample is not None and r.counterexample.worst:
            out.append(f"- **worst entry:** {_entry_line(r.counterexample.worst)}")
        if r.counterexample is not None or r.status is Status.ERROR:
            out += ["", "```text", render_counterexample(r, rep(r)), "```"]
        out.append("")
    return "\n".join(out)


def write_markdown(
    path: str,
    backend: str,
    results: Sequence[Result],
    config: Mapping[str, object],
    replay: Replay | None = None,
    narrowed: Sequence[str] = (),
) -> None:
    """Write the run as Markdown to `path` (see `markdown`)."""
    Path(path).write_text(markdown(backend, results, config, replay, narrowed), "utf-8")
