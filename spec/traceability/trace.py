"""`python -m spec trace`: each Lean name of the manifest, its mirror, its tests, its docs page.

    python -m spec trace [--check] [--lean-source PATH [PATH ...] [--lean-file FILE]] [--json]
                         [--results PATH] [--write-docs]

* no flags: print the traceability table (Lean name, kind, Lean file:line, Python object with
  file:line, tests, docs page; with `--results`, the latest conformance status from a file written
  by `python -m spec check --json PATH`).
* `--check`: print one line per problem and exit 1 when a manifest name has no mirror, a mirror
  names a Lean name the manifest lacks (or another kind), a lemma has no test, a docs page names
  a Lean declaration the manifest lacks, or `docs/traceability.md` is stale.
* `--lean-source PATH [PATH ...]`: report drift against the manifest (`spec.traceability.drift`).
  A folder is a TorchLean checkout: every file of the manifest's closure
  (`spec.traceability.closure`) is read from it and compared, and a change in a helper names the
  module's declarations it reaches. A file is compared with the manifest file it is a copy of
  (guessed from the end of PATH, else its base name, else MlpMse.lean; `--lean-file FILE` says
  which, for a single PATH). Exit 0 when only benign changes, 1 otherwise, 2 when a file cannot be
  read or Lean would reject it (duplicate declarations, a truncated proof, an unclosed scope,
  unbalanced brackets): one `error: file:line: reason` line each.
* `--write-docs`: regenerate `docs/traceability.md` from the registry.
* `--json`: machine-readable output for whichever of the above runs.

How a test is found for a declaration (files `tests/*.py`, but not the tests of this tracing
machinery itself, which name declarations as data): a test function exercises it when its source
(decorators included) contains the fully qualified Lean name or a string literal equal to the
short name, or when its name, after `test_` and an optional `invalid_`, contains the short name
as a whole `_`-delimited word that is not part of a longer short name also found there
(`test_grad_W1_mse` exercises `grad_W1_mse`, not `mse`). The same mentions outside test
functions (a module-level table that parametrizes tests, say) credit the file.

How docs are scanned (`docs/*.md` except the generated `traceability.md`, fenced code blocks
skipped): an inline code span whose leading identifier is a manifest name, fully qualified or
short, makes that page describe the declaration. For `--check`, a span names an *unknown* Lean
declaration when it contains a dotted name under `Proofs.`, `Spec.` or `Activation.` that is
neither a manifest name nor a namespace of one, or when the whole span is one bare identifier of
two or more `_`-separated segments that is not a manifest short name but differs from one in
exactly one segment (`grad_W3_mse`, `hasFDerivAt_mlp_wrt_b2`): the shape of a Lean name of ours.
Ordinary code words (`numpy.allclose`, `grad_fn`, `W1`) are never flagged.
"""

import argparse
import ast
import inspect
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..registry import LEAN_REPOSITORY, PINNED_COMMIT, Entry, LeanDecl
from .closure import Closure, closure, reaching
from .drift import CheckoutReport, against_manifest, against_source, annotate, missing_file
from .drift import manifest_file_for as _manifest_file_for
from .lean_source import LeanFile, LeanParseError, parse_file

__all__ = [
    "main",
    "PythonObject",
    "Row",
    "repo_root",
    "locate",
    "scan_tests",
    "scan_docs",
    "build_rows",
    "render_table",
    "render_markdown",
    "render_closure",
    "lean_source_drift",
    "problems",
    "DOCS_PAGE",
    "WRITE_DOCS_COMMAND",
]

DOCS_PAGE = "docs/traceability.md"
WRITE_DOCS_COMMAND = "python -m spec trace --write-docs"
_META_TESTS = frozenset({"test_trace.py", "test_drift.py", "test_lean_source.py"})
_DOTTED_RE = re.compile(r"(?<![\w.])(?:Proofs|Spec|Activation)(?:\.[^\W\d][\w'!?₀-₉]*)+")
_LEADING_RE = re.compile(r"@?([^\W\d][\w'!?.₀-₉]*)")
_BARE_RE = re.compile(r"[^\W\d][\w'!?₀-₉]*")
_SPAN_RE = re.compile(r"`([^`\n]+)`")
_FENCE_RE = re.compile(r"^(```|~~~)")


def repo_root() -> Path:
    """Return the repository that holds the `spec` package (its `tests/` and `docs/`)."""
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PythonObject:
    """Where a mirror lives: module, qualified name, file (relative to the root) and line."""

    module: str
    qualname: str
    file: str | None
    line: int | None

    @property
    def label(self) -> str:
        return f"{self.module}.{self.qualname}"

    @property
    def location(self) -> str:
        if self.file is None:
            return "?"
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class Row:
    """One line of the traceability table."""

    lean_name: str
    kind: str
    lean_file: str
    lean_line: int | None
    python: PythonObject | None
    tests: tuple[str, ...]
    docs: tuple[str, ...]
    status: str | None = None

    @property
    def lean_location(self) -> str:
        if self.lean_line is None:
            return self.lean_file
        return f"{self.lean_file}:{self.lean_line}"

    def as_json(self) -> dict[str, Any]:
        py = self.python
        return {
            "lean_name": self.lean_name,
            "kind": self.kind,
            "lean_file": self.lean_file,
            "lean_line": self.lean_line,
            "python": None
            if py is None
            else {
                "module": py.module,
                "qualname": py.qualname,
                "file": py.file,
                "line": py.line,
            },
            "tests": list(self.tests),
            "docs": list(self.docs),
            "status": self.status,
        }


def _relative(path: str | None, root: Path) -> str | None:
    if path is None:
        return None
    p = Path(path).resolve()
    try:
        return p.relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def locate(obj: object, root: Path) -> PythonObject:
    """Return the module, qualified name, file and first line of a mirror object."""
    target = inspect.unwrap(obj) if callable(obj) else obj
    module = str(getattr(target, "__module__", None) or getattr(type(target), "__module__", "?"))
    qualname = str(getattr(target, "__qualname__", None) or type(target).__qualname__)
    file: str | None = None
    line: int | None = None
    try:
        file = inspect.getsourcefile(target)  # type: ignore[arg-type]
        line = inspect.getsourcelines(target)[1]  # type: ignore[arg-type]
    except (TypeError, OSError):
        pass
    return PythonObject(module, qualname, _relative(file, root), line)


def _test_functions(tree: ast.Module) -> list[tuple[str, ast.AST, int, int]]:
    """Return (label, node, first line, last line) of each test function, decorators included."""
    out: list[tuple[str, ast.AST, int, int]] = []

    def visit(body: Sequence[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
                "test"
            ):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                out.append((prefix + node.name, node, first, node.end_lineno or node.lineno))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, f"{prefix}{node.name}::")

    visit(tree.body, "")
    return out


def _strings(node: ast.AST) -> Iterator[ast.Constant]:
    """Yield the string literals under `node` (decorators included)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub


def _name_words(function: str, shorts: Iterable[str]) -> set[str]:
    """Return the short names that `function` (a test name) names as whole words."""
    rest = function.split("::")[-1]
    rest = rest[len("test_") :] if rest.startswith("test_") else rest
    rest = rest[len("invalid_") :] if rest.startswith("invalid_") else rest
    spans: list[tuple[int, int, str]] = []
    for s in shorts:
        for m in re.finditer(rf"(?:^|(?<=_)){re.escape(s)}(?=_|$)", rest):
            spans.append((m.start(), m.end(), s))
    found = set()
    for a, b, s in spans:
        if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) for a2, b2, _ in spans):
            found.add(s)
    return found


def scan_tests(root: Path, decls: Sequence[LeanDecl]) -> dict[str, list[str]]:
    """Return, for each Lean name, the tests (`tests/file.py::function`) that exercise it."""
    out: dict[str, list[str]] = {d.name: [] for d in decls}
    by_short: dict[str, list[str]] = {}
    for d in decls:
        by_short.setdefault(d.short_name, []).append(d.name)
    by_literal = {**by_short, **{d.name: [d.name] for d in decls}}
    for path in sorted((root / "tests").glob("*.py")):
        if path.name in _META_TESTS:
            continue
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        lines = text.splitlines()
        rel = f"tests/{path.name}"
        credited: set[str] = set()
        inside: set[int] = set()
        for label, node, first, last in _test_functions(tree):
            source = "\n".join(lines[first - 1 : last])
            hits = {d.name for d in decls if d.name in source}
            for const in _strings(node):
                inside.add(id(const))
                hits.update(by_literal.get(str(const.value), ()))
            for s in _name_words(label, by_short):
                hits.update(by_short[s])
            for name in hits:
                out[name].append(f"{rel}::{label}")
                credited.add(name)
        elsewhere = {d.name for d in decls if d.name in text}
        for const in _strings(tree):
            if id(const) not in inside:
                elsewhere.update(by_literal.get(str(const.value), ()))
        for d in decls:
            if d.name in elsewhere and d.name not in credited:
                out[d.name].append(rel)
    return out


def _doc_spans(text: str) -> Iterable[tuple[int, str]]:
    """Yield (line, content) of the inline code spans of Markdown `text`, outside fences."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        m = _FENCE_RE.match(line.lstrip())
        if m:
            fence = None if fence == m.group(1) else (fence or m.group(1))
            continue
        if fence:
            continue
        for span in _SPAN_RE.finditer(line):
            yield number, span.group(1).strip()


def _doc_pages(root: Path) -> list[Path]:
    return [p for p in sorted((root / "docs").rglob("*.md")) if p.name != Path(DOCS_PAGE).name]


def scan_docs(root: Path, decls: Sequence[LeanDecl]) -> dict[str, list[str]]:
    """Return, for each Lean name, the docs pages (`docs/x.md`) with it leading a code span."""
    out: dict[str, list[str]] = {d.name: [] for d in decls}
    index: dict[str, list[str]] = {}
    for d in decls:
        index.setdefault(d.name, []).append(d.name)
        index.setdefault(d.short_name, []).append(d.name)
    for path in _doc_pages(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        named: set[str] = set()
        for _line, span in _doc_spans(text):
            m = _LEADING_RE.match(span)
            if m:
                named.update(index.get(m.group(1).rstrip("."), []))
            named.update(n for n in _DOTTED_RE.findall(span) if n in out)
        for name in named:
            out[name].append(path.relative_to(root).as_posix())
    return out


def _looks_like_ours(word: str, shorts: set[str]) -> bool:
    """Tell whether a bare identifier differs from a manifest short name in exactly one segment."""
    segs = word.split("_")
    if len(segs) < 2 or word in shorts:
        return False
    for s in shorts:
        other = s.split("_")
        if len(other) == len(segs) and sum(a != b for a, b in zip(segs, other, strict=True)) == 1:
            return True
    return False


def _unknown_doc_names(root: Path, decls: Sequence[LeanDecl]) -> list[tuple[str, int, str]]:
    """Return (page, line, name) for each Lean-looking name in docs that the manifest lacks."""
    names = {d.name for d in decls}
    namespaces = {d.name.rsplit(".", k)[0] for d in decls for k in range(1, d.name.count(".") + 1)}
    shorts = {d.short_name for d in decls}
    out: list[tuple[str, int, str]] = []
    for path in _doc_pages(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for line, span in _doc_spans(text):
            for dotted in _DOTTED_RE.findall(span):
                if dotted not in names and dotted not in namespaces:
                    out.append((path.relative_to(root).as_posix(), line, dotted))
            if _BARE_RE.fullmatch(span) and _looks_like_ours(span, shorts):
                out.append((path.relative_to(root).as_posix(), line, span))
    return out


def build_rows(
    registry: Mapping[str, Entry],
    decls: Sequence[LeanDecl],
    root: Path,
    results: Mapping[str, str] | None = None,
) -> list[Row]:
    """Return one row per manifest declaration, in manifest order."""
    tests = scan_tests(root, decls)
    docs = scan_docs(root, decls)
    rows: list[Row] = []
    for d in decls:
        entry = registry.get(d.name)
        rows.append(
            Row(
                lean_name=d.name,
                kind=d.kind,
                lean_file=d.file,
                lean_line=d.line,
                python=None if entry is None else locate(entry.obj, root),
                tests=tuple(tests[d.name]),
                docs=tuple(docs[d.name]),
                status=None if results is None else results.get(d.name, "not run"),
            )
        )
    return rows


def render_table(rows: Sequence[Row]) -> str:
    """Return the rows as an aligned plain-text table."""
    head = ["Lean name", "kind", "Lean file:line", "Python object", "tests", "docs"]
    with_status = any(r.status is not None for r in rows)
    if with_status:
        head.append("status")
    table = [head]
    for r in rows:
        py = "—" if r.python is None else f"{r.python.label} ({r.python.location})"
        cells = [
            r.lean_name,
            r.kind,
            r.lean_location,
            py,
            ", ".join(r.tests) or "—",
            ", ".join(r.docs) or "—",
        ]
        if with_status:
            cells.append(r.status or "—")
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(head) - 1)]
    lines = []
    for k, row in enumerate(table):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if k == 0:
            lines.append("  ".join([*("-" * w for w in widths), "-" * len(row[-1])]))
    return "\n".join(lines)


def render_markdown(rows: Sequence[Row]) -> str:
    """Return `docs/traceability.md` for `rows` (no status column: it is not a repository fact)."""
    base = f"https://github.com/{LEAN_REPOSITORY}/blob/{PINNED_COMMIT}"
    out = [
        "# Traceability: Lean declarations, mirrors, tests, docs",
        "",
        f"Generated by `{WRITE_DOCS_COMMAND}` from `spec/data/manifest.json` and the registry "
        "(`spec.registry.REGISTRY`); do not edit by hand. `python -m spec trace --check` fails "
        "when this page differs from what the registry generates.",
        "",
        f"Lean side: [{LEAN_REPOSITORY}]({base}) at `{PINNED_COMMIT[:12]}`. A test is listed when "
        "its source names the Lean declaration or its name does (`test_<name>`, "
        "`test_invalid_<name>`); a docs page when a code span there names it.",
        "",
        "| Lean name | kind | Lean file:line | Python object | tests | docs |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.lean_file.startswith("Mathlib/"):
            lean = f"`{r.lean_file}` (Mathlib)"
        else:
            anchor = f"#L{r.lean_line}" if r.lean_line is not None else ""
            lean = f"[{r.lean_location}]({base}/{r.lean_file}{anchor})"
        if r.python is None:
            py = "—"
        elif r.python.file is None:
            py = f"`{r.python.label}`"
        else:
            py = f"[`{r.python.label}`](../{r.python.file})"
        tests = "<br>".join(f"`{t}`" for t in r.tests) or "—"
        docs = (
            "<br>".join(
                f"[{Path(p).stem}]({Path(p).relative_to('docs').as_posix()})" for p in r.docs
            )
            or "—"
        )
        out.append(f"| `{r.lean_name}` | {r.kind} | {lean} | {py} | {tests} | {docs} |")
    return "\n".join(out) + "\n"


def render_closure(c: Closure | None) -> str:
    """Return the closure section of `docs/traceability.md` ("" when the manifest has none)."""
    if c is None:
        return ""
    base = f"https://github.com/{LEAN_REPOSITORY}/blob/{PINNED_COMMIT}"
    total = sum(len(src.declarations) for src in c.files.values())
    out = [
        "",
        "## The closure: what the statements are built from",
        "",
        f"The {len(c.roots())} declarations of `{c.module}` reach {total} TorchLean declarations "
        f"in {len(c.files)} files, through the names their statements and the definitions among "
        "them use (`spec.traceability.closure`; rebuilt from a checkout at the pinned commit by "
        "`python -m spec.traceability.closure CHECKOUT --write`). "
        "`python -m spec trace --lean-source CHECKOUT` compares each of them; a change names "
        "the module's declarations it reaches "
        "(the last column).",
        "",
        "| Lean name | kind | Lean file:line | fingerprint | reaches |",
        "|---|---|---|---|---|",
    ]
    names = [d.name for f in sorted(c.files) for d in c.files[f].declarations]
    reach = reaching(c, names)
    for f in sorted(c.files):
        for d in c.files[f].declarations:
            n = len(reach[d.name])
            out.append(
                f"| `{d.name}` | {d.kind} | [{f}:{d.line}]({base}/{f}#L{d.line}) | "
                f"`{d.fingerprint}` | {n} |"
            )
    out += [
        "",
        "Outside TorchLean (Mathlib and Lean core: the boundary, not fingerprinted): "
        + ", ".join(f"`{n}`" for n in c.external)
        + ".",
    ]
    return "\n".join(out) + "\n"


def problems(registry: Mapping[str, Entry], decls: Sequence[LeanDecl], root: Path) -> list[str]:
    """Return one line per traceability problem (empty when all is in order)."""
    out: list[str] = []
    by_name = {d.name: d for d in decls}
    for d in decls:
        if d.name not in registry:
            out.append(
                f"missing mirror: {d.name} ({d.kind}, {d.file}:{d.line}) has no mirror in "
                "spec.registry.REGISTRY; add one to its banner module in spec/mirror, its "
                f"docstring opening with `{d.name}` ({d.kind})"
            )
    for name, entry in registry.items():
        known = by_name.get(name)
        if known is None:
            out.append(
                f"unknown Lean name: the registry mirrors {name!r}, which spec/data/manifest.json "
                "does not list; fix the name in the mirror's docstring or add the declaration to "
                "the manifest"
            )
        elif entry.decl.kind != known.kind:
            out.append(
                f"kind mismatch: the registry has {name} as a {entry.decl.kind}, the manifest as a "
                f"{known.kind}; make the kind in the mirror's docstring match the manifest"
            )
    rows = build_rows(registry, decls, root)
    tests = {r.lean_name: r.tests for r in rows}
    for d in decls:
        if d.kind in ("lemma", "theorem") and not tests[d.name]:
            out.append(
                f"untested {d.kind}: {d.name} has no test; name one test_{d.short_name} in tests/ "
                f"or mention {d.name} in a test"
            )
    for page, line, name in _unknown_doc_names(root, decls):
        out.append(
            f"unknown Lean name in docs: {page}:{line} names `{name}`, which "
            "spec/data/manifest.json does not list; correct the name or add it to the manifest"
        )
    docs_page = root / DOCS_PAGE
    expected = render_markdown(rows) + render_closure(_closure())
    try:
        current: str | None = docs_page.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current is None:
        out.append(
            f"missing docs: {DOCS_PAGE} does not exist; generate it with {WRITE_DOCS_COMMAND}"
        )
    elif current != expected:
        out.append(
            f"stale docs: {DOCS_PAGE} differs from what the registry generates; regenerate it with "
            f"{WRITE_DOCS_COMMAND}"
        )
    return out


def _load_results(path: str) -> dict[str, str]:
    """Return Lean name → status text from a `python -m spec check --json` file."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), list):
        raise ValueError(
            "expected an object with a `results` list (from `python -m spec check --json PATH`)"
        )
    out: dict[str, str] = {}
    for r in raw["results"]:
        if isinstance(r, dict) and isinstance(r.get("lean_name"), str):
            examples = r.get("examples")
            count = f" ({examples})" if examples is not None else ""
            out[r["lean_name"]] = f"{r.get('status', '?')}{count}"
    return out


def _closure() -> Closure | None:
    """Return the manifest's closure (a seam for tests)."""
    return closure()


def _read(path: str) -> tuple[LeanFile | None, str | None]:
    """Parse the Lean file at `path`; return (LeanFile, None) or (None, an error line)."""
    try:
        return parse_file(path), None
    except LeanParseError as exc:
        return None, f"error: cannot parse {exc}"
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, f"error: cannot read Lean file {path}: {why}"


def _one_file(
    path: str,
    rel: str | None,
    decls: Sequence[LeanDecl],
    c: Closure | None,
    out: CheckoutReport,
    note: str | None = None,
) -> None:
    """Compare one Lean file with its manifest file `rel` (guessed if None); add to `out`."""
    lean, err = _read(path)
    if lean is None:
        out.errors.append(err or f"error: cannot read Lean file {path}")
        return
    if rel is None and c is not None:
        files = {d.file for d in decls} | set(c.files)
        rel, note = _manifest_file_for(path, files, c.module)
    src = c.files.get(rel) if c is not None and rel is not None else None
    try:
        if src is not None and c is not None:
            report = annotate(against_source(lean, src), c)
        else:
            report = against_manifest(lean, decls, rel)
    except LeanParseError as exc:
        out.errors.append(f"error: cannot use {exc}")
        return
    except ValueError as exc:
        out.errors.append(f"error: --lean-file: {exc}")
        return
    report.note = report.note or note
    out.reports.append(report)


def lean_source_drift(
    paths: Sequence[str], decls: Sequence[LeanDecl], lean_file: str | None, as_json: bool
) -> tuple[int, str]:
    """Return the exit status and the text of `trace --lean-source PATHS`.

    A folder is a checkout: each file of the closure is read from it (a missing file is reported
    as the removal of its tracked declarations). A file is compared with its manifest file.
    """
    c = _closure()
    out = CheckoutReport(" ".join(paths))
    for path in paths:
        root = Path(path)
        if root.is_dir():
            if c is None:
                out.errors.append(
                    f"error: {path} is a folder, but the manifest has no closure "
                    "to compare a checkout with; pass the Lean files themselves"
                )
                continue
            if not any((root / rel).is_file() for rel in c.files):
                out.errors.append(
                    f"error: {path}: none of the {len(c.files)} files of the closure (e.g. "
                    f"{c.module}) is in this folder; pass the root of a TorchLean checkout"
                )
                continue
            for rel in sorted(c.files):
                target = root / rel
                if target.is_file():
                    _one_file(str(target), rel, decls, c, out)
                    continue
                out.reports.append(annotate(missing_file(c.files[rel], str(target)), c))
        else:
            _one_file(path, lean_file, decls, c, out)
    if as_json:
        data = (
            out.as_json()
            if len(paths) > 1 or out.errors or Path(paths[0]).is_dir() or len(out.reports) != 1
            else out.reports[0].as_json()
        )
        return out.exit_code, json.dumps(data, indent=1, ensure_ascii=False)
    if out.errors:
        return 2, "\n".join(out.errors)
    if len(out.reports) == 1 and not Path(paths[0]).is_dir():
        return out.exit_code, out.reports[0].format()
    return out.exit_code, out.format()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m spec trace",
        description="Map each Lean declaration of the manifest to its mirror, tests and docs; "
        "check the map; detect drift against a Lean source file.",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1, one line per problem, if the traceability is incomplete or stale",
    )
    p.add_argument(
        "--lean-source",
        metavar="PATH",
        nargs="+",
        default=None,
        help="report drift of these Lean files, or of every file of the closure in "
        "this TorchLean checkout folder, against spec/data/manifest.json",
    )
    p.add_argument(
        "--lean-file",
        metavar="FILE",
        default=None,
        help="with --lean-source: the manifest file (e.g. NN/Proofs/Autograd/FDeriv/"
        "Core.lean) that PATH is a copy of (default: guessed from PATH)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--results",
        metavar="PATH",
        default=None,
        help="add the status column from a `python -m spec check --json PATH` file",
    )
    p.add_argument("--write-docs", action="store_true", help=f"regenerate {DOCS_PAGE}")
    return p


def main(argv: list[str]) -> int:
    """Run `python -m spec trace` with the arguments after `trace`; return the exit status."""
    args = _parser().parse_args(argv[1:] if argv[:1] == ["--"] else argv)
    from ..registry import REGISTRY, manifest

    decls = list(manifest().declarations.values())
    root = repo_root()
    status = 0
    if args.lean_source is not None:
        if args.lean_file is not None and len(args.lean_source) > 1:
            print(
                "error: --lean-file names the manifest file of one PATH; give one PATH",
                file=sys.stderr,
            )
            return 2
        code, text = lean_source_drift(args.lean_source, decls, args.lean_file, args.json)
        if code == 2 and text.startswith("error: "):
            print(text, file=sys.stderr)
            return 2
        print(text)
        status = max(status, code)
        if not (args.check or args.write_docs):
            return status
    if args.write_docs:
        text = render_markdown(build_rows(REGISTRY, decls, root)) + render_closure(_closure())
        page = root / DOCS_PAGE
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(text, encoding="utf-8")
        print(f"wrote {DOCS_PAGE} ({len(decls)} declarations)")
    if args.check:
        found = problems(REGISTRY, decls, root)
        if args.json:
            print(json.dumps({"problems": found}, indent=1, ensure_ascii=False))
        elif found:
            print("\n".join(found))
            print(f"trace --check: {len(found)} problem(s)", file=sys.stderr)
        else:
            print(f"trace --check: OK ({len(decls)} declarations, {len(REGISTRY)} mirrors)")
        return max(status, 1 if found else 0)
    if args.write_docs or args.lean_source is not None:
        return status
    results: dict[str, str] | None = None
    if args.results is not None:
        try:
            results = _load_results(args.results)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"error: cannot read results {args.results}: {exc}", file=sys.stderr)
            return 2
    rows = build_rows(REGISTRY, decls, root, results)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=1, ensure_ascii=False))
    else:
        print(render_table(rows))
    return 0
