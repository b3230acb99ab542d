"""The dependency closure of the module: every TorchLean declaration its statements reach.

The manifest's `sources` table records, for each Lean file of TorchLean that the closure touches,
the declarations of that file the module's 25 declarations reach (transitively, through the names
their statements use and the values of the definitions among them), with fingerprints, lines and
the facts drift compares: visibility, spellings, bound names, the file's `open`s, namespaces,
`variable`s and aliases, and the scopes left open at its end. Mathlib and Lean's core are the
boundary: the names reached there are listed (`external`), not fingerprinted.

    python -m spec.traceability.closure CHECKOUT [--write]

reads a TorchLean checkout at the pinned commit and prints (or, with `--write`, stores in
`spec/data/manifest.json`) that table, and refreshes the fingerprints and lines of the manifest's
`declarations`.

Names are resolved as Lean resolves them, without elaboration: a name used in namespace `A.B`
with `open`s `O1, O2` is looked up as `A.B.n`, `A.n`, `n`, `O1.n`, `O2.n` (each `open` also
relative to the enclosing namespaces), `_root_.n` as `n`; a dotted name that names nothing is
looked up without its last component (a structure's field, a namespace's member); a name that is
the first atom of a TorchLean notation (`VJP` of `VJP[f, x]`) reaches that notation. All
candidates found are kept (an over-approximation where Lean would pick one). Not followed:
instances found by type-class resolution, coercions, notations made of symbols only, and names
built by macros; names a declaration uses only inside `by` blocks (proofs) are not followed
either.
"""

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .lean_source import THEOREM_KINDS, Declaration, LeanFile, LeanParseError, parse_file

__all__ = [
    "SourceDecl",
    "SourceFile",
    "Closure",
    "Index",
    "index_checkout",
    "build",
    "closure",
    "reaching",
    "resolve",
    "main",
]

_SHORT_LOCAL_RE = re.compile(r"[^\W\d_ℝℕℤℚℂ][0-9₀-₉']*")
"""A one-letter name (with digits or primes): an auto-bound implicit or a pattern variable."""
_KEYWORDS = frozenset(
    {
        "if",
        "then",
        "else",
        "match",
        "with",
        "where",
        "do",
        "let",
        "have",
        "show",
        "from",
        "at",
        "by",
        "fun",
        "in",
        "return",
        "mut",
        "for",
        "calc",
    }
)


@dataclass(frozen=True)
class SourceDecl:
    """A declaration of the closure as the manifest records it."""

    name: str
    kind: str
    line: int
    fingerprint: str
    visibility: str = "public"
    spellings: tuple[tuple[str, int], ...] = ()
    binders: tuple[str, ...] = ()
    parens: int = 0
    layout: str = ""
    uses: tuple[str, ...] = ()
    """The TorchLean declarations (of the closure) its statement or value names."""

    @classmethod
    def of_decl(cls, d: Declaration, uses: Iterable[str] = ()) -> "SourceDecl":
        """Return the record of a parsed declaration."""
        return cls(
            d.name,
            d.kind,
            d.line,
            d.fingerprint,
            d.visibility,
            d.spellings,
            d.binders,
            d.parens,
            d.layout,
            tuple(uses),
        )

    def as_json(self) -> dict[str, Any]:
        """Return the manifest's JSON object for this declaration."""
        return {
            "name": self.name,
            "kind": self.kind,
            "line": self.line,
            "fingerprint": self.fingerprint,
            "visibility": self.visibility,
            "spellings": dict(self.spellings),
            "binders": list(self.binders),
            "parens": self.parens,
            "layout": self.layout,
            "uses": list(self.uses),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "SourceDecl":
        """Read the manifest's JSON object for a declaration."""
        return cls(
            d["name"],
            d["kind"],
            int(d["line"]),
            d["fingerprint"],
            d.get("visibility", "public"),
            tuple(sorted((str(k), int(v)) for k, v in d.get("spellings", {}).items())),
            tuple(d.get("binders", ())),
            int(d.get("parens", 0)),
            d.get("layout", ""),
            tuple(d.get("uses", ())),
        )


@dataclass(frozen=True)
class SourceFile:
    """A Lean file of the closure: its tracked declarations and its scope commands."""

    file: str
    complete: bool
    """Every declaration of the file is tracked (the module's own file): additions count."""
    declarations: tuple[SourceDecl, ...]
    opens: tuple[tuple[int, str, str], ...] = ()
    """(line, command text, namespace) of each `open`/`export`."""
    namespaces: tuple[str, ...] = ()
    variables: tuple[tuple[int, tuple[str, ...], str], ...] = ()
    """(line, names, fingerprint) of each `variable` command."""
    aliases: tuple[tuple[str, str, int], ...] = ()
    """(name, target, line) of each `alias`."""
    open_at_end: tuple[tuple[str, str | None, int], ...] = ()
    """(kind, header, line) of the scopes the file leaves open at its end."""

    @classmethod
    def of_file(
        cls, file: str, lean: LeanFile, tracked: Mapping[str, Sequence[str]], complete: bool
    ) -> "SourceFile":
        """Return the record of a parsed file, keeping the declarations named in `tracked`."""
        return cls(
            file,
            complete,
            tuple(
                SourceDecl.of_decl(d, tracked[d.name])
                for d in lean.declarations
                if d.name in tracked
            ),
            tuple((o.line, o.text, o.namespace) for o in lean.opens),
            lean.namespaces,
            tuple((v.line, v.names, v.fingerprint) for v in lean.variables),
            tuple((a.name, a.target, a.line) for a in lean.aliases),
            tuple((s.kind, s.header, s.line) for s in lean.open_at_end),
        )

    def as_json(self) -> dict[str, Any]:
        """Return the manifest's JSON object for this file."""
        return {
            "complete": self.complete,
            "opens": [{"line": ln, "text": t, "namespace": ns} for ln, t, ns in self.opens],
            "namespaces": list(self.namespaces),
            "variables": [
                {"line": ln, "names": list(nm), "fingerprint": fp} for ln, nm, fp in self.variables
            ],
            "aliases": [{"name": n, "target": t, "line": ln} for n, t, ln in self.aliases],
            "open_at_end": [{"kind": k, "header": h, "line": ln} for k, h, ln in self.open_at_end],
            "declarations": [d.as_json() for d in self.declarations],
        }

    @classmethod
    def from_json(cls, file: str, d: Mapping[str, Any]) -> "SourceFile":
        """Read the manifest's JSON object for a file."""
        return cls(
            file,
            bool(d.get("complete", False)),
            tuple(SourceDecl.from_json(x) for x in d.get("declarations", ())),
            tuple((int(o["line"]), o["text"], o["namespace"]) for o in d.get("opens", ())),
            tuple(d.get("namespaces", ())),
            tuple(
                (int(v["line"]), tuple(v["names"]), v["fingerprint"])
                for v in d.get("variables", ())
            ),
            tuple((a["name"], a["target"], int(a["line"])) for a in d.get("aliases", ())),
            tuple((s["kind"], s["header"], int(s["line"])) for s in d.get("open_at_end", ())),
        )


@dataclass(frozen=True)
class Closure:
    """The closure: its files, the module file, and the names reached outside TorchLean."""

    module: str
    files: dict[str, SourceFile]
    external: tuple[str, ...]

    def roots(self) -> list[str]:
        """Return the module's declarations (the roots of the closure)."""
        src = self.files.get(self.module)
        return [] if src is None else [d.name for d in src.declarations]

    def declaration(self, name: str) -> tuple[str, SourceDecl] | None:
        """Return the file and record of the tracked declaration `name`, or None."""
        for file, src in self.files.items():
            for d in src.declarations:
                if d.name == name:
                    return file, d
        return None

    def as_json(self) -> dict[str, Any]:
        """Return the manifest's `closure` object."""
        return {
            "module": self.module,
            "boundary": "Mathlib and Lean core: names listed in `external`, not fingerprinted",
            "external": list(self.external),
            "files": {f: self.files[f].as_json() for f in sorted(self.files)},
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Closure":
        """Read the manifest's `closure` object."""
        return cls(
            d["module"],
            {f: SourceFile.from_json(f, x) for f, x in d["files"].items()},
            tuple(d.get("external", ())),
        )


def reaching(c: Closure, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Return, for each of `names`, the module declarations whose meaning it reaches.

    A module declaration reaches itself; a helper reaches the module declarations from which a
    chain of `uses` leads to it.
    """
    users: dict[str, set[str]] = {}
    for src in c.files.values():
        for d in src.declarations:
            for u in d.uses:
                users.setdefault(u, set()).add(d.name)
    roots = set(c.roots())
    order = {r: k for k, r in enumerate(c.roots())}
    out: dict[str, tuple[str, ...]] = {}
    for name in names:
        seen = {name}
        work = [name]
        while work:
            cur = work.pop()
            for u in users.get(cur, ()):
                if u not in seen:
                    seen.add(u)
                    work.append(u)
        out[name] = tuple(sorted(seen & roots, key=lambda r: order[r]))
    return out


@cache
def closure() -> Closure | None:
    """Return the closure recorded in `spec/data/manifest.json` (None if it has none)."""
    raw = json.loads(resources.files("spec").joinpath("data/manifest.json").read_text("utf-8"))
    data = raw.get("closure")
    return None if data is None else Closure.from_json(data)


# --------------------------------------------------------------------------------------------
# Building the closure from a checkout
# --------------------------------------------------------------------------------------------


@dataclass
class Index:
    """Every declaration of a checkout: name → (file, declaration); notations by first atom."""

    decls: dict[str, tuple[str, Declaration]]
    notations: dict[str, list[str]]
    files: dict[str, LeanFile]
    errors: list[str]


def index_checkout(root: Path, folders: Sequence[str] = ("NN",)) -> Index:
    """Parse every `.lean` file under each `root/folder`; errors are kept, not raised."""
    decls: dict[str, tuple[str, Declaration]] = {}
    notations: dict[str, list[str]] = {}
    files: dict[str, LeanFile] = {}
    errors: list[str] = []
    exports: dict[str, list[str]] = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.lean")):
            rel = path.relative_to(root).as_posix()
            try:
                lean = parse_file(path)
            except (LeanParseError, OSError, UnicodeDecodeError) as exc:
                errors.append(f"{rel}: {exc}")
                continue
            files[rel] = lean
            for o in lean.opens:
                if o.text.startswith("export") and len(o.names) == 1:
                    for x in o.explicit:  # `export A (x)` in namespace N: `N.x` is `A.x`
                        exports.setdefault(f"{o.namespace}.{x}" if o.namespace else x, []).append(
                            f"{o.names[0]}.{x}"
                        )
            for d in lean.declarations:
                decls.setdefault(d.name, (rel, d))
                if d.kind == "notation":
                    key = _notation_key(d.statement)
                    if key:
                        notations.setdefault(key, []).append(d.name)
    for alias, targets in exports.items():
        for t in targets:
            for cand in (t, *(f"{p}.{t}" for p in _prefixes(alias.rsplit(".", 1)[0]))):
                if cand in decls and alias not in decls:
                    decls[alias] = decls[cand]
    return Index(decls, notations, files, errors)


def _prefixes(namespace: str) -> list[str]:
    """Return the namespace and those enclosing it, innermost first (`A.B`, `A` for `A.B`)."""
    parts = namespace.split(".") if namespace else []
    return [".".join(parts[:k]) for k in range(len(parts), 0, -1)]


def _notation_key(statement: str) -> str:
    """Return the identifier a notation's first atom begins with (`VJP` for `"VJP["`), or ""."""
    m = re.match(r'[^"]*"\s*([^\W\d][\w.]*)', statement)
    return m.group(1) if m else ""


def _candidates(ref: str, d: Declaration) -> list[str]:
    """Return the fully qualified names `ref` may stand for, where `d` uses it."""
    if ref.startswith("_root_."):
        return [ref[len("_root_.") :]]
    parts = d.namespace.split(".") if d.namespace else []
    prefixes = [".".join(parts[:k]) for k in range(len(parts), -1, -1)]
    out = [f"{p}.{ref}" if p else ref for p in prefixes]
    for o in d.opens:
        if o.startswith("_root_."):
            out.append(f"{o[len('_root_.') :]}.{ref}")
            continue
        out.extend(f"{p}.{o}.{ref}" if p else f"{o}.{ref}" for p in prefixes)
    return out


def resolve(ref: str, d: Declaration, index: Index) -> list[str]:
    """Return the declarations of `index` that the name `ref`, used by `d`, may stand for."""
    found = [index.decls[c][1].name for c in _candidates(ref, d) if c in index.decls]
    if found:
        return list(dict.fromkeys(found))  # an `export`ed name stands for its original
    if ref in index.notations:
        return list(index.notations[ref])
    if "." in ref:
        return resolve(ref.rsplit(".", 1)[0], d, index)
    return []


def build(root: Path, module: str, index: Index | None = None, also: Iterable[str] = ()) -> Closure:
    """Return the closure of the declarations of `module` in the checkout at `root`.

    `also` names more declarations to track with their closure (the manifest's building blocks
    that only proofs use); the roots whose meaning a change reaches stay the module's own.
    """
    index = index or index_checkout(root)
    if module not in index.files:
        raise FileNotFoundError(f"{root / module}: the module file is not in the checkout")
    uses: dict[str, list[str]] = {}
    external: set[str] = set()
    work = [d.name for d in index.files[module].declarations]
    work.extend(n for n in also if n in index.decls)
    while work:
        name = work.pop()
        if name in uses:
            continue
        _file, d = index.decls[name]
        targets: list[str] = []
        for ref in d.refs:
            got = [t for t in resolve(ref, d, index) if t != name]
            # a theorem named in a definition's value is a proof: its statement is not the
            # definition's meaning (proof irrelevance)
            got = [t for t in got if index.decls[t][1].kind not in THEOREM_KINDS]
            if got:
                targets.extend(t for t in got if t not in targets)
            elif (
                not resolve(ref, d, index)
                and not _SHORT_LOCAL_RE.fullmatch(ref)
                and ref not in _KEYWORDS
                and ref not in d.local_refs
            ):
                external.add(ref)
        uses[name] = targets
        work.extend(t for t in targets if t not in uses)
    by_file: dict[str, dict[str, list[str]]] = {}
    for name, targets in uses.items():
        by_file.setdefault(index.decls[name][0], {})[name] = targets
    files = {
        f: SourceFile.of_file(f, index.files[f], tracked, complete=(f == module))
        for f, tracked in by_file.items()
    }
    return Closure(module, files, tuple(sorted(external)))


def _write(c: Closure, manifest_path: Path) -> list[str]:
    """Store `c` in the manifest and refresh its declarations' fingerprints and lines."""
    raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    missing: list[str] = []
    for entry in raw["declarations"]:
        got = c.declaration(entry["name"])
        if got is None:
            if not entry["file"].startswith("Mathlib/"):
                missing.append(entry["name"])
            continue
        file, d = got
        entry["file"], entry["line"], entry["fingerprint"] = file, d.line, d.fingerprint
    raw["closure"] = c.as_json()
    manifest_path.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    """Build the closure from a checkout; print a summary, or store it with `--write`."""
    p = argparse.ArgumentParser(
        prog="python -m spec.traceability.closure", description=__doc__.split("\n")[0]
    )
    p.add_argument("checkout", help="a TorchLean checkout at the pinned commit")
    p.add_argument("--module", default="NN/Proofs/Autograd/FDeriv/MlpMse.lean")
    p.add_argument("--write", action="store_true", help="store it in spec/data/manifest.json")
    args = p.parse_args(argv)
    root = Path(args.checkout)
    if not root.is_dir():
        print(f"error: {root} is not a folder; pass a TorchLean checkout", file=sys.stderr)
        return 2
    index = index_checkout(root)
    raw = json.loads(resources.files("spec").joinpath("data/manifest.json").read_text("utf-8"))
    listed = [d["name"] for d in raw["declarations"] if not d["file"].startswith("Mathlib/")]
    try:
        c = build(root, args.module, index, listed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = sum(len(s.declarations) for s in c.files.values())
    print(
        f"closure of {args.module}: {n} declarations in {len(c.files)} files; "
        f"{len(c.external)} names outside TorchLean; {len(index.errors)} files not parsed"
    )
    for f in sorted(c.files):
        print(f"  {f}: {len(c.files[f].declarations)}")
    if args.write:
        path = Path(str(resources.files("spec").joinpath("data/manifest.json")))
        missing = _write(c, path)
        print(f"wrote {path}")
        if missing:
            print("not in the closure: " + ", ".join(missing), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
