"""The registry: every mirror, keyed by the fully qualified Lean name it stands for.

The Lean side (kind, file, line, hypotheses, statement) is data, kept once in `data/manifest.json`;
`mirrors(NAME, KIND)` attaches a Python object to a manifest entry and refuses names the manifest
does not know, so a typo cannot register a mirror of nothing. `bind(module)` registers every
mirror a module lists in `__all__`, read from the docstring each opens with (`` `NAME` (KIND): ``),
so the mirror modules themselves import nothing from here.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Any, Literal, TypeVar, get_args

Kind = Literal["def", "lemma", "theorem", "abbrev", "instance", "structure", "notation"]
_KINDS = get_args(Kind)

__all__ = [
    "Kind",
    "LeanDecl",
    "Entry",
    "REGISTRY",
    "manifest",
    "mirrors",
    "bind",
    "lookup",
    "MODULE_FILE",
    "PINNED_COMMIT",
    "LEAN_REPOSITORY",
]


@dataclass(frozen=True)
class LeanDecl:
    """One Lean declaration as the manifest records it."""

    name: str
    kind: Kind
    file: str
    line: int | None
    section: str
    hypotheses: tuple[str, ...]
    statement: str
    in_module: bool
    fingerprint: str | None = None

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass
class Entry:
    """A registered mirror: the Lean declaration, the Python object, and its executable checks."""

    decl: LeanDecl
    obj: Any
    checks: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Manifest:
    repository: str
    commit: str
    module: str
    declarations: dict[str, LeanDecl]


@cache
def manifest() -> Manifest:
    """Return the manifest of the Lean side, read once from the package data."""
    raw = json.loads(resources.files("spec").joinpath("data/manifest.json").read_text("utf-8"))
    decls: dict[str, LeanDecl] = {}
    for d in raw["declarations"]:
        decls[d["name"]] = LeanDecl(
            name=d["name"],
            kind=d["kind"],
            file=d["file"],
            line=d["line"],
            section=d["section"],
            hypotheses=tuple(d["hypotheses"]),
            statement=d["statement"],
            in_module=bool(d["in_module"]),
            fingerprint=d.get("fingerprint"),
        )
    return Manifest(raw["repository"], raw["commit"], raw["module"], decls)


MODULE_FILE = "NN/Proofs/Autograd/FDeriv/MlpMse.lean"
PINNED_COMMIT = "411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c"
LEAN_REPOSITORY = "lean-dojo/TorchLean"

REGISTRY: dict[str, Entry] = {}

T = TypeVar("T")


def lookup(name: str) -> Entry:
    """Return the entry for a fully qualified or short Lean name, or raise `KeyError` saying why."""
    if name in REGISTRY:
        return REGISTRY[name]
    matches = [e for e in REGISTRY.values() if e.decl.short_name == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        import difflib

        known = sorted({e.decl.short_name for e in REGISTRY.values()} | set(REGISTRY))
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise KeyError(
            f"no mirror of a Lean declaration named {name!r}{hint}; "
            "`python -m spec trace` lists them"
        )
    names = ", ".join(sorted(e.decl.name for e in matches))
    raise KeyError(f"{name!r} is ambiguous: {names}; give the fully qualified name")


def mirrors(name: str, kind: Kind) -> Callable[[T], T]:
    """Register the decorated object as the mirror of the Lean declaration `name`.

    The kind must match the manifest's, the docstring must open with the Lean name, and a name may
    be registered once: these are the traceability rules, enforced where the mirror is written.
    """

    def register(obj: T) -> T:
        decl = manifest().declarations.get(name)
        if decl is None:
            raise LookupError(f"@mirrors({name!r}): not a declaration of spec/data/manifest.json")
        if decl.kind != kind:
            raise LookupError(f"@mirrors({name!r}): manifest says kind {decl.kind!r}, not {kind!r}")
        if name in REGISTRY:
            raise LookupError(f"@mirrors({name!r}): registered twice")
        doc = (getattr(obj, "__doc__", None) or "").lstrip()
        if not doc.startswith(f"`{name}`"):
            raise LookupError(f"@mirrors({name!r}): the docstring must open with `{name}`")
        REGISTRY[name] = Entry(decl=decl, obj=obj)
        return obj

    return register


_HEADER = re.compile(r"\s*`([^`]+)` \((\w+)\)")


def bind(module: ModuleType, *, every: bool = True) -> list[str]:
    """Register each object in `module.__all__` whose docstring opens with `` `NAME` (KIND) `` as
    the mirror of `NAME`, and return the names registered, in the module's order.

    With `every` (the banner modules and the building blocks), an object without that opening is
    refused: a mirror module holds Lean-named declarations and nothing else. The object's own name
    must be the Lean name's last component, so the Python name reads as the Lean one.
    """
    names: list[str] = []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        m = _HEADER.match(getattr(obj, "__doc__", None) or "")
        if m is None:
            if every:
                raise LookupError(
                    f"{module.__name__}.{attr}: a mirror module lists only Lean "
                    "declarations; open its docstring with `NAME` (KIND)"
                )
            continue
        name, kind = m.group(1), m.group(2)
        if name.rsplit(".", 1)[-1] != attr:
            raise LookupError(
                f"{module.__name__}.{attr}: mirrors {name!r}; name it "
                f"{name.rsplit('.', 1)[-1]!r}, as Lean does"
            )
        if kind not in _KINDS:
            raise LookupError(f"{module.__name__}.{attr}: unknown kind {kind!r} in its docstring")
        mirrors(name, kind)(obj)  # type: ignore[arg-type]
        names.append(name)
    return names


def attach_check(name: str, check: Any) -> None:
    """Attach an executable check to the registered mirror of `name`."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise LookupError(f"attach_check({name!r}): no mirror registered under that name")
    entry.checks.append(check)


def registered(kind: Kind | None = None) -> list[Entry]:
    """Return the entries in manifest order, optionally only those of one kind."""
    order = list(manifest().declarations)
    out = sorted(REGISTRY.values(), key=lambda e: order.index(e.decl.name))
    return [e for e in out if kind is None or e.decl.kind == kind]
