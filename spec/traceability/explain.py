"""`python -m spec explain NAME`: everything about one Lean declaration, from the places that
hold it.

The statement and hypotheses come from the manifest, the mirror's location from the registry, what
the predicate checks from its docstring and its subject, and the reasoning (why the check is sound,
how its bounds are derived) from the docs section whose heading names the declaration.
"""

import inspect
import re
from pathlib import Path

from ..registry import LEAN_REPOSITORY, PINNED_COMMIT, Entry, lookup
from .trace import locate, repo_root

__all__ = ["explain", "docs_section"]

_HEADING = re.compile(r"^(#+)\s")


def docs_section(root: Path, name: str) -> tuple[str, str] | None:
    """Return `(page, text)` of the docs section whose heading names `name` in backticks."""
    for page in sorted((root / "docs" / "sections").glob("*.md")):
        lines = page.read_text("utf-8").splitlines()
        for i, line in enumerate(lines):
            m = _HEADING.match(line)
            if m and f"`{name}`" in line:
                depth = len(m.group(1))
                end = i + 1
                while end < len(lines):
                    n = _HEADING.match(lines[end])
                    if n and len(n.group(1)) <= depth:
                        break
                    end += 1
                return page.relative_to(root).as_posix(), "\n".join(lines[i:end]).strip()
    return None


def explain(name: str) -> str:
    """Return the explanation of the Lean declaration `name` (short or fully qualified)."""
    entry: Entry = lookup(name)
    d = entry.decl
    root = repo_root()
    where = f"{d.file}:{d.line}" if d.line else d.file
    url = f"https://github.com/{LEAN_REPOSITORY}/blob/{PINNED_COMMIT}/{d.file}"
    out = [
        f"{d.name} ({d.kind})",
        f"  Lean: {where}  ({url}{f'#L{d.line}' if d.line else ''})",
        f"  section: {d.section}",
        f"  statement: {d.statement}",
        "  hypotheses: " + ("; ".join(d.hypotheses) if d.hypotheses else "none"),
    ]
    obj = locate(entry.obj, root)
    out.append(f"  mirror: {obj.module}.{obj.qualname} ({obj.file}:{obj.line})")
    for check in entry.checks:
        out.append(f"  checked on: {check.subject}")
        doc = inspect.getdoc(check.run) or ""
        if doc:
            out.append("  predicate: " + doc.replace("\n", "\n    "))
    if not entry.checks:
        out.append("  checked on: no predicate of its own; the module's predicates use it")
    section = docs_section(root, d.name)
    if section is not None:
        page, text = section
        out.append(f"  docs: {page}")
        out.append("    " + text.replace("\n", "\n    "))
    out.append("  bounds: every float comparison's bound and its derivation: docs/tolerances.md")
    return "\n".join(out)
