"""Drift between the Lean declarations the mirror was written against and a Lean source file.

`against_manifest` compares a parsed Lean file with the manifest entries for that file;
`between` compares two parsed versions of a file. Both return a `DriftReport` whose findings fall
into these categories:

========================  =======  ===============================================================
category                  benign   meaning
========================  =======  ===============================================================
``added``                 no       a declaration the listing does not have (complete listings only)
``removed``               no       a listed declaration is gone, and nothing has its fingerprint
``renamed``               no       a listed declaration is gone and a new name has its fingerprint
``statement_changed``     no       same name, other fingerprint (for a definition: other value)
``kind_changed``          no       same name, other kind (``lemma``/``theorem``, ``def``/``abbrev``)
``moved``                 yes      same name, kind and fingerprint, on another line
``proof_changed``         yes      same name, kind and fingerprint, other proof (two-file mode)
``unverified``            yes      the listing has no fingerprint to compare with
========================  =======  ===============================================================

The exit-code policy: 0 when every finding is benign, 1 otherwise (`DriftReport.exit_code`).
A listing is *complete* when it lists every declaration of the file (the module's own file, whose
entries have ``in_module``); for a building block's file only the listed declarations are
followed, so other declarations of that file are not reported as added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from .lean_source import Declaration, LeanFile
from .registry import MODULE_FILE, LeanDecl

__all__ = [
    "Category",
    "BENIGN",
    "Record",
    "Finding",
    "DriftReport",
    "compare",
    "against_manifest",
    "between",
    "manifest_file_for",
]

Category = Literal[
    "added", "removed", "renamed", "statement_changed", "kind_changed", "moved", "proof_changed",
    "unverified",
]
BENIGN: frozenset[str] = frozenset({"moved", "proof_changed", "unverified"})
_ORDER = ("removed", "renamed", "statement_changed", "kind_changed", "added", "moved",
          "proof_changed", "unverified")


@dataclass(frozen=True)
class Record:
    """What drift compares of one declaration; `fingerprint`/`body_hash` may be unknown (None)."""

    name: str
    kind: str
    line: int | None
    fingerprint: str | None
    body_hash: str | None = None

    @classmethod
    def of_decl(cls, d: Declaration) -> Record:
        return cls(d.name, d.kind, d.line, d.fingerprint, d.body_hash)

    @classmethod
    def of_manifest(cls, d: LeanDecl) -> Record:
        return cls(d.name, d.kind, d.line, d.fingerprint, None)


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

    @property
    def benign(self) -> bool:
        return self.category in BENIGN

    def message(self) -> str:
        """Return one line saying what changed and, if it matters, what to do."""
        old = f"{self.old_kind} {self.name}"
        at_old = f" (line {self.old_line})" if self.old_line is not None else ""
        at_new = f" (line {self.new_line})" if self.new_line is not None else ""
        c = self.category
        if c == "added":
            return (f"added: {self.new_kind} {self.name}{at_new} is not in the manifest; add it to "
                    "spec/data/manifest.json and write its mirror")
        if c == "removed":
            return (f"removed: {old}{at_old} is gone from the Lean file; retire its mirror and its "
                    "manifest entry")
        if c == "renamed":
            return (f"renamed: {old}{at_old} is now {self.new_kind} {self.new_name}{at_new} "
                    "(same fingerprint); rename the manifest entry and the @mirrors name")
        if c == "statement_changed":
            return (f"statement changed: {old}{at_new}: fingerprint {self.old_fingerprint} → "
                    f"{self.new_fingerprint}; re-read the Lean statement and update the mirror "
                    "and the manifest")
        if c == "kind_changed":
            return (f"kind changed: {self.name}{at_new} was a {self.old_kind}, is now a "
                    f"{self.new_kind}; update the manifest's kind and the @mirrors kind")
        if c == "moved":
            return f"moved (benign): {old} from line {self.old_line} to line {self.new_line}"
        if c == "proof_changed":
            return f"proof changed (benign): {old}{at_new}: same statement, other proof"
        return (f"unverified (benign): {old}{at_new}: the manifest has no fingerprint to compare "
                "with")

    def as_json(self) -> dict[str, Any]:
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
        out = {c: 0 for c in _ORDER}
        for f in self.findings:
            out[f.category] += 1
        return {c: k for c, k in out.items() if k}

    def by_category(self, category: str) -> list[Finding]:
        return [f for f in self.findings if f.category == category]

    def as_json(self) -> dict[str, Any]:
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
        head = (f"drift of {self.source or '<text>'} against {self.lean_file} "
                f"({what}: {self.listed} listed, {self.parsed} parsed)")
        if self.note:
            head += f"\nnote: {self.note}"
        if not self.findings:
            return head + "\nno drift"
        counts = ", ".join(f"{k} {c.replace('_', ' ')}" for c, k in self.counts().items())
        verdict = "only benign changes" if self.exit_code == 0 else "drift that needs attention"
        lines = [head, f"{counts}: {verdict}"]
        lines.extend("  " + f.message() for f in self.findings)
        return "\n".join(lines)


def compare(
    old: Sequence[Record], new: Sequence[Record], *, complete: bool = True
) -> list[Finding]:
    """Return the findings between the `old` listing and the `new` declarations.

    Names are matched first; the unmatched old names are then paired with unmatched new names of
    the same fingerprint (renames, first by line); with `complete`, the new names left over are
    `added`.
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
            name=o.name, old_kind=o.kind, new_kind=n.kind, old_line=o.line, new_line=n.line,
            old_fingerprint=o.fingerprint, new_fingerprint=n.fingerprint,
        )
        if o.kind != n.kind:
            out.append(Finding("kind_changed", **base))
        if o.fingerprint is None:
            out.append(Finding("unverified", **base))
        elif o.fingerprint != n.fingerprint:
            out.append(Finding("statement_changed", **base))
        else:
            if o.line is not None and o.line != n.line:
                out.append(Finding("moved", **base))
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
            out.append(Finding("removed", o.name, old_kind=o.kind, old_line=o.line,
                               old_fingerprint=o.fingerprint))
            continue
        taken.add(match.name)
        out.append(Finding("renamed", o.name, new_name=match.name, old_kind=o.kind,
                           new_kind=match.kind, old_line=o.line, new_line=match.line,
                           old_fingerprint=o.fingerprint, new_fingerprint=match.fingerprint))
        if o.kind != match.kind:
            out.append(Finding("kind_changed", match.name, old_kind=o.kind, new_kind=match.kind,
                               old_line=o.line, new_line=match.line,
                               old_fingerprint=o.fingerprint, new_fingerprint=match.fingerprint))
    if complete:
        for r in candidates:
            if r.name not in taken:
                out.append(Finding("added", r.name, new_kind=r.kind, new_line=r.line,
                                   new_fingerprint=r.fingerprint))
    out.sort(key=lambda f: (_ORDER.index(f.category), f.old_line or f.new_line or 0, f.name))
    return out


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
        if norm.parts[-len(parts):] == parts:
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
    return DriftReport(lean_file, lean.path, complete, len(listed), len(lean.declarations),
                       findings, note)


def between(old: LeanFile, new: LeanFile, lean_file: str | None = None) -> DriftReport:
    """Compare two parsed versions of one Lean file: every declaration of `old` is listed."""
    findings = compare(
        [Record.of_decl(d) for d in old.declarations],
        [Record.of_decl(d) for d in new.declarations],
        complete=True,
    )
    return DriftReport(
        lean_file or old.path or "<old>", new.path, True, len(old.declarations),
        len(new.declarations), findings,
    )
