"""`spec.mirror`: the mirror reads as the spec.

Each banner module of MlpMse.lean holds only Lean-named definitions and statements, in the Lean
file's order, imports only the carrier types and the mirror's own building blocks, and every name
it lists is registered under the Lean declaration its docstring opens with.
"""

import ast
import inspect
from pathlib import Path
from types import ModuleType

import pytest

import spec.mirror
from spec.mirror import BANNERS, BLOCKS
from spec.registry import REGISTRY, manifest

ALLOWED_IMPORTS = {"spec.types", "spec.rational", "numpy", "collections.abc", "typing"}
"""What a mirror module may import besides the mirror's own modules: the carrier types and the
number types (exact rationals), and numpy, which holds the entries."""


def _imports(module: ModuleType) -> set[str]:
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    package = module.__name__.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                out.add(f"{base}.{node.module}" if node.module else base)
            else:
                out.add(str(node.module))
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


@pytest.mark.parametrize("module", [*BANNERS, *BLOCKS], ids=lambda m: m.__name__)
def test_mirror_imports_only_types_and_building_blocks(module: ModuleType) -> None:
    imports = _imports(module)
    assert imports, "the module imports something (the types at least)"
    outside = {m for m in imports if not m.startswith("spec.mirror") and m not in ALLOWED_IMPORTS}
    assert outside == set(), f"{module.__name__} imports {sorted(outside)}"


def test_the_banners_follow_the_lean_file() -> None:
    """The banner modules list the module's 25 declarations, each once, in the Lean file's order,
    and nothing else; each is the registered mirror of its name."""
    in_module = [d.name for d in manifest().declarations.values() if d.in_module]
    listed = []
    for module in BANNERS:
        for attr in module.__all__:
            obj = getattr(module, attr)
            entry = next(e for e in REGISTRY.values() if e.obj is obj)
            assert entry.decl.in_module, f"{module.__name__}.{attr} is not of MlpMse.lean"
            assert entry.decl.short_name == attr
            listed.append(entry.decl.name)
    assert listed == in_module
    sections = [manifest().declarations[n].section for n in listed]
    # One module per banner: the section changes exactly where the module does.
    per_module = [m.__all__ for m in BANNERS]
    bounds = [sum(len(a) for a in per_module[:i]) for i in range(len(per_module))]
    assert [sections[b] for b in bounds] == list(dict.fromkeys(sections))


def test_mirror_source_holds_only_its_declarations() -> None:
    """Top-level functions and classes of a banner module are exactly the names it lists."""
    for module in BANNERS:
        tree = ast.parse(Path(inspect.getfile(module)).read_text())
        defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert defined == list(module.__all__), module.__name__


def test_a_mirror_module_listing_an_unnamed_object_is_refused() -> None:
    from spec.registry import bind

    fake = ModuleType("spec.mirror.fake")

    def helper() -> None:
        """A helper, not a Lean declaration."""

    fake.helper = helper  # type: ignore[attr-defined]
    fake.__all__ = ["helper"]  # type: ignore[attr-defined]
    with pytest.raises(LookupError, match="lists only Lean declarations"):
        bind(fake)


def test_a_mirror_named_unlike_its_lean_name_is_refused() -> None:
    from spec.registry import bind

    fake = ModuleType("spec.mirror.fake")

    def mse_gradient() -> None:
        """`Proofs.Autograd.mseGrad` (def): named otherwise in Python."""

    fake.mse_gradient = mse_gradient  # type: ignore[attr-defined]
    fake.__all__ = ["mse_gradient"]  # type: ignore[attr-defined]
    with pytest.raises(LookupError, match="name it 'mseGrad', as Lean does"):
        bind(fake)


def test_the_package_lists_its_banners() -> None:
    assert spec.mirror.BANNERS == BANNERS and len(BANNERS) == 5


def test_a_check_named_unlike_its_lean_name_is_refused() -> None:
    from spec.checks.base import check
    from spec.checks.domains import vectors

    def check_mse_gradient(ex: object, subject: object) -> None:
        pass

    with pytest.raises(LookupError, match="name the predicate check_mseGrad"):
        check("Proofs.Autograd.mseGrad", vectors, "x")(check_mse_gradient)  # type: ignore[arg-type]
