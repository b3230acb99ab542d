"""Drift between the Lean declarations the mirror was written against and Lean source files.

`against_source` compares a parsed Lean file with its record in the manifest's closure
(`spec.traceability.closure`); `against_manifest` with the manifest's `declarations` for its file;
`between` compares two parsed versions of a file. Each returns a `DriftReport` whose findings fall
into these categories:

======================  =======  ==================================================================
category                benign   meaning
======================  =======  ==================================================================
``added``               no       a declaration the listing does not have (complete listings only)
``removed``             no       a listed declaration is gone, and nothing has its fingerprint
``renamed``             no       a listed declaration is gone and a new name has its fingerprint
``statement_changed``   no       same name, other normal form (for a definition: other value)
``kind_changed``        no       same name, other kind (``def``/``abbrev``; ``lemma``/``theorem``
                                 are one kind)
``visibility_changed``  no       a listed declaration became ``private``/``protected`` or public
``open_changed``        no       an ``open``/``export`` added or removed: names may mean otherwise
``alias_changed``       no       an ``alias`` added to or removed from the module's file
``moved``               yes      same name, kind and fingerprint, on another line
``respelled``           yes      same normal form, other spelling (``traceability.lean_normal``):
                                 ASCII or Unicode tokens, ``fun``/``λ``, bound names, redundant
                                 parentheses, layout, ``lemma``/``theorem``; the detail says which
``scope_changed``       yes      a ``namespace`` or ``variable`` command added or removed, or an
                                 alias in a helper file (what it changes shows in fingerprints)
``proof_changed``       yes      same name, kind and fingerprint, other proof (two-file mode)
``unverified``          yes      the listing has no fingerprint to compare with
======================  =======  ==================================================================

The exit-code policy: 0 when every finding is benign, 1 otherwise (`DriftReport.exit_code`); a
file Lean would reject is no drift but an error (`LeanParseError`, exit 2 in `python -m spec
trace`). A listing is *complete* when it lists every declaration of the file (the module's own
file); for a helper file only the listed declarations are followed, so other declarations of
that file are not reported as added.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Literal

from ..registry import MODULE_FILE, LeanDecl
from .closure import Closure, SourceDecl, SourceFile, reaching
from .lean_normal import SPELLINGS
from .lean_source import THEOREM_KINDS, Declaration, LeanFile, LeanParseError

__all__ = [
    "Category",
    "BENIGN",
    "Record",
    "Finding",
    "DriftReport",
    "CheckoutReport",
    "compare",
    "compare_scope",
    "scope_error",
    "against_source",
    "against_manifest",
    "between",
    "annotate",
    "missing_file",
    "manifest_file_for",
]

Category = Literal[
    "added",
    "removed",
    "renamed",
    "statement_changed",
    "kind_changed",
    "visibility_changed",
    "open_changed",
    "alias_changed",
    "moved",
    "respelled",
    "scope_changed",
    "proof_changed",
    "unverified",
]
BENIGN: frozenset[str] = frozenset(
    {"moved", "respelled", "scope_changed", "proof_changed", "unverified"}
)
_ORDER = (
    "removed",
    "renamed",
    "statement_changed",
    "kind_changed",
    "visibility_changed",
    "open_changed",
    "alias_changed",
    "added",
    "moved",
    "respelled",
    "scope_changed",
    "proof_changed",
    "unverified",
)
_MEANING = frozenset(
    {"removed", "renamed", "statement_changed", "kind_changed", "visibility_changed"}
)
"""Flagged findings on a declaration whose effect reaches the module's declarations."""


def _family(kind: str) -> str:
    """Return the kind as Lean sees it: `lemma` is Mathlib's spelling of `theorem`."""
    return "theorem" if kind in THEOREM_KINDS else kind


@dataclass(frozen=True)
class Record:
    """What drift compares of one declaration; what is unknown is None (or empty)."""

    name: str
    kind: str
    line: int | None
    fingerprint: str | None
    body_hash: str | None = None
    visibility: str | None = None
    spellings: tuple[tuple[str, int], ...] | None = None
    binders: tuple[str, ...] | None = None
    parens: int | None = None
    layout: str | None = None

    @classmethod
    def of_decl(cls, d: Declaration) -> "Record":
        """Return the record of a parsed declaration."""
        return cls(
            d.name,
            d.kind,
            d.line,
            d.fingerprint,
            d.body_hash,
            d.visibility,
            d.spellings,
            d.binders,
            d.parens,
            d.layout,
        )

    @classmethod
    def of_source(cls, d: SourceDecl) -> "Record":
        """Return the record of a declaration of the manifest's closure."""
        return cls(
            d.name,
            d.kind,
            d.line,
            d.fingerprint,
            None,
            d.visibility,
            d.spellings,
            d.binders,
            d.parens,
            d.layout,
        )

    @classmethod
    def of_manifest(cls, d: LeanDecl) -> "Record":
        """Return the record of a manifest declaration (kind, line and fingerprint only)."""
        return cls(d.name, d.kind, d.line, d.fingerprint, None)


def respellings(old: Record, new: Record) -> list[str]:
    """Return what differs in the spelling of two records of one normal form (empty if nothing)."""
    out: list[str] = []
    if old.kind != new.kind:
        out.append(f"`{old.kind}` → `{new.kind}`")
    if old.spellings is not None and new.spellings is not None:
        a, b = Counter(dict(old.spellings)), Counter(dict(new.spellings))
        for alt in sorted(set(a) | set(b), key=list(SPELLINGS).index):
            if b[alt] > a[alt]:
                out.append(f"`{SPELLINGS[alt]}` → `{alt}` ×{b[alt] - a[alt]}")
            elif a[alt] > b[alt]:
                out.append(f"`{alt}` → `{SPELLINGS[alt]}` ×{a[alt] - b[alt]}")
    if old.binders is not None and new.binders is not None and old.binders != new.binders:
        pairs = dict.fromkeys(
            f"`{x}` → `{y}`" for x, y in zip(old.binders, new.binders, strict=False) if x != y
        )
        out.append("bound variable " + ", ".join(pairs))
    if old.parens is not None and new.parens is not None and old.parens != new.parens:
        out.append(f"redundant parentheses ({old.parens} → {new.parens})")
    if not out and old.layout and new.layout and old.layout != new.layout:
        out.append("line breaks, spacing or comments")
    return out


@dataclass(frozen=True)
class Finding:
    """One difference: `name` is the listed (old) name; `new_name` is set for renames."""

    category: Category
    name: str
    new_name: str | None = None
    old_kind: str | None = None
    new_kind: str | None = None
    old_line: int | None = None
    new_line: int | None = None
    old_fingerprint: str | None = None
    new_fingerprint: str | None = None
    detail: str | None = None
    """What changed, in words (respellings, scope commands, visibility)."""
    reaches: tuple[str, ...] = ()
    """The module's declarations whose meaning this change reaches (closure mode)."""

    @property
    def benign(self) -> bool:
        """Tell whether the finding leaves every statement's meaning as it was."""
        return self.category in BENIGN

    def _reach(self) -> str:
        if not self.reaches or self.reaches == (self.name,):
            return ""
        shorts = [r.rsplit(".", 1)[-1] for r in self.reaches]
        return f" [reaches {len(shorts)} of the module: {', '.join(shorts)}]"

    def message(self) -> str:
        """Return one line saying what changed and, if it matters, what to do."""
        old = f"{self.old_kind} {self.name}"
        at_old = f" (line {self.old_line})" if self.old_line is not None else ""
        at_new = f" (line {self.new_line})" if self.new_line is not None else ""
        c = self.category
        reach = self._reach()
        if c == "added":
            return (
                f"added: {self.new_kind} {self.name}{at_new} is not in the manifest; add it to "
                "spec/data/manifest.json and write its mirror"
            )
        if c == "removed":
            return (
                f"removed: {old}{at_old} is gone from the Lean file{reach}; retire its mirror "
                "and its manifest entry"
            )
        if c == "renamed":
            return (
                f"renamed: {old}{at_old} is now {self.new_kind} {self.new_name}{at_new} "
                f"(same fingerprint){reach}; rename the manifest entry and the mirror"
            )
        if c == "statement_changed":
            return (
                f"statement changed: {old}{at_new}: fingerprint {self.old_fingerprint} → "
                f"{self.new_fingerprint}{reach}; re-read the Lean statement and update the "
                "mirror and the manifest"
            )
        if c == "kind_changed":
            return (
                f"kind changed: {self.name}{at_new} was a {self.old_kind}, is now a "
                f"{self.new_kind}{reach}; update the manifest's kind and the mirror's"
            )
        if c == "visibility_changed":
            return (
                f"visibility changed: {old}{at_new}: {self.detail}{reach}; re-read who may "
                "use it and update the manifest"
            )
        if c == "open_changed":
            return (
                f"open changed: {self.detail}{reach}; names after it may resolve otherwise: "
                "re-read the statements below it and update the manifest"
            )
        if c == "alias_changed":
            return (
                f"alias changed: {self.detail}; a name of the module was added or removed: "
                "update the manifest"
            )
        if c == "moved":
            return f"moved (benign): {old} from line {self.old_line} to line {self.new_line}"
        if c == "respelled":
            return f"respelled (benign): {old}{at_new}: same statement to Lean; {self.detail}"
        if c == "scope_changed":
            return f"scope changed (benign): {self.detail}"
        if c == "proof_changed":
            return f"proof changed (benign): {old}{at_new}: same statement, other proof"
        return (
            f"unverified (benign): {old}{at_new}: the manifest has no fingerprint to compare with"
        )

    def as_json(self) -> dict[str, Any]:
        """Return the finding as a JSON object."""
        return {
            "category": self.category,
            "benign": self.benign,
            "name": self.name,
            "new_name": self.new_name,
            "old_kind": self.old_kind,
            "new_kind": self.new_kind,
            "old_line": self.old_line,
            "new_line": self.new_line,
            "old_fingerprint": self.old_fingerprint,
            "new_fingerprint": self.new_fingerprint,
            "detail": self.detail,
            "reaches": list(self.reaches),
            "message": self.message(),
        }


@dataclass
class DriftReport:
    """The findings of one comparison, with the file compared and what was listed."""

    lean_file: str
    source: str | None
    complete: bool
    listed: int
    parsed: int
    findings: list[Finding] = field(default_factory=list)
    note: str | None = None

    @property
    def exit_code(self) -> int:
        """Return 0 when every finding is benign, 1 otherwise."""
        return 0 if all(f.benign for f in self.findings) else 1

    def counts(self) -> dict[str, int]:
        """Return how many findings each category has (categories with none left out)."""
        out = {c: 0 for c in _ORDER}
        for f in self.findings:
            out[f.category] += 1
        return {c: k for c, k in out.items() if k}

    def by_category(self, category: str) -> list[Finding]:
        """Return the findings of one category."""
        return [f for f in self.findings if f.category == category]

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON object."""
        return {
            "lean_file": self.lean_file,
            "source": self.source,
            "complete": self.complete,
            "listed": self.listed,
            "parsed": self.parsed,
            "note": self.note,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "findings": [f.as_json() for f in self.findings],
        }

    def format(self) -> str:
        """Return the human-readable report: a summary line, then one line per finding."""
        what = "every declaration" if self.complete else "the listed declarations"
        head = (
            f"drift of {self.source or '<text>'} against {self.lean_file} "
            f"({what}: {self.listed} listed, {self.parsed} parsed)"
        )
        if self.note:
            head += f"\nnote: {self.note}"
        if not self.findings:
            return head + "\nno drift"
        counts = ", ".join(f"{k} {c.replace('_', ' ')}" for c, k in self.counts().items())
        verdict = "only benign changes" if self.exit_code == 0 else "drift that needs attention"
        lines = [head, f"{counts}: {verdict}"]
        lines.extend("  " + f.message() for f in self.findings)
        return "\n".join(lines)


@dataclass
class CheckoutReport:
    """Drift of several files (a checkout, or files given one by one), and the files refused."""

    source: str
    reports: list[DriftReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """One line per file that cannot be used: `file:line: reason; what to do`."""

    @property
    def exit_code(self) -> int:
        """Return 2 when a file cannot be used, else 1 when some drift is flagged, else 0."""
        if self.errors:
            return 2
        return max((r.exit_code for r in self.reports), default=0)

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON object."""
        return {
            "source": self.source,
            "exit_code": self.exit_code,
            "errors": self.errors,
            "files": [r.as_json() for r in self.reports],
        }

    def format(self) -> str:
        """Return the reports of the files with findings, then a summary line."""
        parts = [r.format() for r in self.reports if r.findings or r.note]
        quiet = sum(1 for r in self.reports if not r.findings and not r.note)
        flagged = sum(1 for r in self.reports if r.exit_code)
        tail = (
            f"{self.source}: {len(self.reports)} file(s) compared, {flagged} with drift that "
            f"needs attention, {quiet} with no drift"
        )
        if self.errors:
            tail += f"; {len(self.errors)} file(s) Lean would reject"
        return "\n".join([*parts, tail])


def compare(
    old: Sequence[Record], new: Sequence[Record], *, complete: bool = True
) -> list[Finding]:
    """Return the findings between the `old` listing and the `new` declarations.

    Names are matched first; the unmatched old names are then paired with unmatched new names of
    the same fingerprint (renames, first by line); with `complete`, the new names left over are
    `added`. `lemma` and `theorem` are one kind (a change between them is a respelling).
    """
    new_by_name = {r.name: r for r in new}
    old_names = {r.name for r in old}
    out: list[Finding] = []
    unmatched_old: list[Record] = []
    for o in old:
        n = new_by_name.get(o.name)
        if n is None:
            unmatched_old.append(o)
            continue
        base: dict[str, Any] = dict(
            name=o.name,
            old_kind=o.kind,
            new_kind=n.kind,
            old_line=o.line,
            new_line=n.line,
            old_fingerprint=o.fingerprint,
            new_fingerprint=n.fingerprint,
        )
        if _family(o.kind) != _family(n.kind):
            out.append(Finding("kind_changed", **base))
        if o.visibility is not None and n.visibility is not None and o.visibility != n.visibility:
            out.append(
                Finding("visibility_changed", **base, detail=f"{o.visibility} → {n.visibility}")
            )
        if o.fingerprint is None:
            out.append(Finding("unverified", **base))
        elif o.fingerprint != n.fingerprint:
            out.append(Finding("statement_changed", **base))
        else:
            if o.line is not None and o.line != n.line:
                out.append(Finding("moved", **base))
            spelled = respellings(o, n) if _family(o.kind) == _family(n.kind) else []
            if spelled:
                out.append(Finding("respelled", **base, detail="; ".join(spelled)))
            if o.body_hash is not None and n.body_hash is not None and o.body_hash != n.body_hash:
                out.append(Finding("proof_changed", **base))
    candidates = sorted(
        (r for r in new if r.name not in old_names), key=lambda r: (r.line or 0, r.name)
    )
    by_fingerprint: dict[str, list[Record]] = {}
    for r in reversed(candidates):  # each list ends with its first candidate by line
        if r.fingerprint is not None:
            by_fingerprint.setdefault(r.fingerprint, []).append(r)
    taken: set[str] = set()
    for o in unmatched_old:
        same = by_fingerprint.get(o.fingerprint) if o.fingerprint is not None else None
        match = same.pop() if same else None
        if match is None:
            out.append(
                Finding(
                    "removed",
                    o.name,
                    old_kind=o.kind,
                    old_line=o.line,
                    old_fingerprint=o.fingerprint,
                )
            )
            continue
        taken.add(match.name)
        out.append(
            Finding(
                "renamed",
                o.name,
                new_name=match.name,
                old_kind=o.kind,
                new_kind=match.kind,
                old_line=o.line,
                new_line=match.line,
                old_fingerprint=o.fingerprint,
                new_fingerprint=match.fingerprint,
            )
        )
        if _family(o.kind) != _family(match.kind):
            out.append(
                Finding(
                    "kind_changed",
                    match.name,
                    old_kind=o.kind,
                    new_kind=match.kind,
                    old_line=o.line,
                    new_line=match.line,
                    old_fingerprint=o.fingerprint,
                    new_fingerprint=match.fingerprint,
                )
            )
    if complete:
        for r in candidates:
            if r.name not in taken:
                out.append(
                    Finding(
                        "added",
                        r.name,
                        new_kind=r.kind,
                        new_line=r.line,
                        new_fingerprint=r.fingerprint,
                    )
                )
    out.sort(key=lambda f: (_ORDER.index(f.category), f.old_line or f.new_line or 0, f.name))
    return out


def _multiset_diff(old: Iterable[Any], new: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """Return (removed, added) between two multisets, in their first order."""
    a, b = Counter(old), Counter(new)
    return list((a - b).elements()), list((b - a).elements())


def compare_scope(old: SourceFile, new: LeanFile) -> list[Finding]:
    """Return the `open`, `namespace`, `variable` and `alias` commands added or removed.

    An `open`/`export` change is flagged (a name after it may resolve to another declaration);
    an alias change is flagged in the module's own file (a name of the module appears or goes);
    `namespace`, `variable` and helper aliases are reported as benign (a declaration they change
    shows a changed fingerprint or name).
    """
    out: list[Finding] = []
    old_lines = {(t, ns): ln for ln, t, ns in old.opens}
    new_lines = {(o.text, o.namespace): o.line for o in new.opens}
    gone, came = _multiset_diff(
        ((t, ns) for _ln, t, ns in old.opens), ((o.text, o.namespace) for o in new.opens)
    )
    for text, ns in gone:
        where = f" in namespace {ns}" if ns else ""
        out.append(
            Finding(
                "open_changed",
                text,
                old_line=old_lines[(text, ns)],
                detail=f"`{text}`{where} (line {old_lines[(text, ns)]}) was removed",
            )
        )
    for text, ns in came:
        where = f" in namespace {ns}" if ns else ""
        out.append(
            Finding(
                "open_changed",
                text,
                new_line=new_lines[(text, ns)],
                detail=f"`{text}`{where} (line {new_lines[(text, ns)]}) was added",
            )
        )
    for ns in old.namespaces:
        if ns not in new.namespaces:
            out.append(Finding("scope_changed", ns, detail=f"namespace `{ns}` is gone"))
    for ns in new.namespaces:
        if ns not in old.namespaces:
            out.append(Finding("scope_changed", ns, detail=f"namespace `{ns}` was added"))
    old_vars = {fp: (ln, names) for ln, names, fp in old.variables}
    new_vars = {v.fingerprint: (v.line, v.names) for v in new.variables}
    gone_v, came_v = _multiset_diff(
        (fp for _l, _n, fp in old.variables), (v.fingerprint for v in new.variables)
    )
    for fp in gone_v:
        ln, names = old_vars[fp]
        what = ", ".join(names) or "an instance"
        twin = next((x for x in came_v if new_vars[x][1] == names), None)
        if twin is not None:
            came_v.remove(twin)
            out.append(
                Finding(
                    "scope_changed",
                    "variable",
                    old_line=ln,
                    new_line=new_vars[twin][0],
                    detail=f"`variable` binding {what} (line {ln}) was changed",
                )
            )
        else:
            out.append(
                Finding(
                    "scope_changed",
                    "variable",
                    old_line=ln,
                    detail=f"`variable` binding {what} (line {ln}) was removed",
                )
            )
    for fp in came_v:
        ln, names = new_vars[fp]
        out.append(
            Finding(
                "scope_changed",
                "variable",
                new_line=ln,
                detail=f"`variable` binding {', '.join(names) or 'an instance'} "
                f"(line {ln}) was added",
            )
        )
    old_alias = {n: (t, ln) for n, t, ln in old.aliases}
    new_alias = {a.name: (a.target, a.line) for a in new.aliases}
    cat: Category = "alias_changed" if old.complete else "scope_changed"
    for name, (target, ln) in new_alias.items():
        if old_alias.get(name, ("", 0))[0] != target:
            out.append(
                Finding(
                    cat,
                    name,
                    new_line=ln,
                    detail=f"`alias {name} := {target}` (line {ln}) was added",
                )
            )
    for name, (_target, ln) in old_alias.items():
        if name not in new_alias:
            out.append(
                Finding(cat, name, old_line=ln, detail=f"`alias {name}` (line {ln}) was removed")
            )
    return out


def scope_error(old: SourceFile, new: LeanFile) -> LeanParseError | None:
    """Return an error when `new` leaves more scopes open at its end than the recorded file.

    Lean accepts a `namespace` or `section` left open at the end of a file, but the pinned file
    closes them: a file that ends inside them was cut off (or lost an `end`), and the statements
    it still holds cannot be trusted.
    """
    recorded = [(k, h) for k, h, _ln in old.open_at_end]
    left = [(s.kind, s.header, s.line) for s in new.open_at_end]
    if len(left) <= len(recorded) and [(k, h) for k, h, _l in left] == recorded[: len(left)]:
        return None
    extra = (
        left[len(recorded) :]
        if [(k, h) for k, h, _l in left[: len(recorded)]] == recorded
        else left
    )
    names = ", ".join(f"`{k}{' ' + h if h else ''}` (line {ln})" for k, h, ln in reversed(extra))
    return LeanParseError(
        new.lines,
        f"the file ends with {names} still open, which {old.file} closes: the file is cut off "
        "(truncated?) or lost an `end`; restore the rest of the file",
        new.path,
    )


def against_source(lean: LeanFile, src: SourceFile) -> DriftReport:
    """Compare the parsed `lean` file with its record `src` in the manifest's closure.

    Raise `LeanParseError` when the file leaves scopes open that the recorded file closes.
    """
    err = scope_error(src, lean)
    if err is not None:
        raise err
    findings = compare(
        [Record.of_source(d) for d in src.declarations],
        [Record.of_decl(d) for d in lean.declarations],
        complete=src.complete,
    )
    findings.extend(compare_scope(src, lean))
    findings.sort(key=lambda f: (_ORDER.index(f.category), f.old_line or f.new_line or 0, f.name))
    return DriftReport(
        src.file, lean.path, src.complete, len(src.declarations), len(lean.declarations), findings
    )


def missing_file(src: SourceFile, path: str) -> DriftReport:
    """Return the report for a file of the closure that the checkout lacks: all is removed."""
    findings = [
        Finding("removed", d.name, old_kind=d.kind, old_line=d.line, old_fingerprint=d.fingerprint)
        for d in src.declarations
    ]
    return DriftReport(
        src.file,
        path,
        src.complete,
        len(src.declarations),
        0,
        findings,
        f"{path} does not exist: every tracked declaration is gone",
    )


def annotate(report: DriftReport, c: Closure) -> DriftReport:
    """Return `report` with each flagged finding naming the module declarations it reaches.

    A changed declaration reaches the module's declarations that use it, directly or through
    other helpers; a changed `open` reaches those of the declarations after it in its file.
    """
    src = c.files.get(report.lean_file)
    out: list[Finding] = []
    for f in report.findings:
        names: list[str] = []
        if f.category in _MEANING:
            names = [f.name]
        elif f.category == "open_changed" and src is not None:
            line = f.old_line if f.old_line is not None else f.new_line or 0
            names = [d.name for d in src.declarations if d.line > line]
        if names:
            reach = reaching(c, names)
            merged = tuple(dict.fromkeys(r for n in names for r in reach[n]))
            f = replace(f, reaches=merged)
        out.append(f)
    report.findings = out
    return report


def manifest_file_for(
    source: str, files: Iterable[str], module_file: str = MODULE_FILE
) -> tuple[str, str | None]:
    """Return which manifest file the local path `source` is a copy of, and a note if guessed.

    The manifest file whose path `source` ends with wins; else the one with the same base name
    (if only one has it); else `module_file` (the module's own file), with a note saying so.
    """
    norm = PurePosixPath(source.replace("\\", "/"))
    names = sorted(set(files))
    for f in names:
        parts = PurePosixPath(f).parts
        if norm.parts[-len(parts) :] == parts:
            return f, None
    same = [f for f in names if PurePosixPath(f).name == norm.name]
    if len(same) == 1:
        return same[0], None
    why = "several manifest files are named" if same else "no manifest file is named"
    return module_file, (
        f"{why} {norm.name!r}: compared with {module_file}; pass --lean-file to choose another"
    )


def against_manifest(
    lean: LeanFile, decls: Iterable[LeanDecl], lean_file: str | None = None
) -> DriftReport:
    """Compare the parsed `lean` file with the manifest entries `decls` for its file.

    `lean_file` is the repository path the manifest uses (default: guessed from `lean.path` by
    `manifest_file_for`, falling back to the file of the `in_module` entries). The listing is
    complete when its entries are the module's own (`in_module`).
    """
    all_decls = list(decls)
    files = {d.file for d in all_decls}
    note: str | None = None
    if lean_file is None:
        modules = sorted({d.file for d in all_decls if d.in_module})
        module_file = modules[0] if len(modules) == 1 else MODULE_FILE
        lean_file, note = manifest_file_for(lean.path or module_file, files, module_file)
    elif lean_file not in files:
        raise ValueError(
            f"lean_file {lean_file!r} is not a file of the manifest; choose one of: "
            + ", ".join(sorted(files))
        )
    listed = [d for d in all_decls if d.file == lean_file]
    complete = any(d.in_module for d in listed)
    findings = compare(
        [Record.of_manifest(d) for d in listed],
        [Record.of_decl(d) for d in lean.declarations],
        complete=complete,
    )
    return DriftReport(
        lean_file, lean.path, complete, len(listed), len(lean.declarations), findings, note
    )


def between(old: LeanFile, new: LeanFile, lean_file: str | None = None) -> DriftReport:
    """Compare two parsed versions of one Lean file: every declaration of `old` is listed.

    Raise `LeanParseError` when `new` leaves scopes open that `old` closes.
    """
    file = lean_file or old.path or "<old>"
    src = SourceFile.of_file(file, old, {d.name: () for d in old.declarations}, complete=True)
    err = scope_error(src, new)
    if err is not None:
        raise err
    findings = compare(
        [Record.of_decl(d) for d in old.declarations],
        [Record.of_decl(d) for d in new.declarations],
        complete=True,
    )
    findings.extend(compare_scope(src, new))
    findings.sort(key=lambda f: (_ORDER.index(f.category), f.old_line or f.new_line or 0, f.name))
    return DriftReport(file, new.path, True, len(old.declarations), len(new.declarations), findings)
