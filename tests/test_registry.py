"""`spec.registry.mirrors`: the traceability rules are enforced where a mirror is written.

`@mirrors(NAME, kind=KIND)` must refuse a name the manifest does not know, a kind other than the
manifest's, a second registration of a name, and a docstring that does not open with the Lean
name; a refused registration leaves the registry as it was. The accepted case is pinned too, so
a registry that refused everything would fail here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import pytest

import spec.registry as R
from spec.registry import REGISTRY, Kind, attach_check, lookup, manifest, mirrors, registered

NAME = "Proofs.Autograd.mseGrad"
"""A registered `def` of the module, used for the refusals that need a known name."""


def _fn(doc: str | None) -> Callable[[], None]:
    def f() -> None:
        pass

    f.__doc__ = doc
    return f


@pytest.fixture
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, R.Entry]:
    """Return a fresh, empty registry in place of `spec.registry.REGISTRY` for one test."""
    fresh: dict[str, R.Entry] = {}
    monkeypatch.setattr(R, "REGISTRY", fresh)
    return fresh


def test_mirrors_registers_a_matching_declaration(empty_registry: dict[str, R.Entry]) -> None:
    f = _fn(f"`{NAME}` (def): Return the gradient of MSE.")
    assert mirrors(NAME, kind="def")(f) is f
    assert list(empty_registry) == [NAME]
    entry = empty_registry[NAME]
    assert entry.obj is f and entry.decl is manifest().declarations[NAME] and entry.checks == []


def test_invalid_mirrors_unknown_name(empty_registry: dict[str, R.Entry]) -> None:
    name = "Proofs.Autograd.mseGradd"
    with pytest.raises(
        LookupError,
        match=r"'Proofs\.Autograd\.mseGradd'.*not a declaration of "
        r"spec/data/manifest\.json",
    ):
        mirrors(name, kind="def")(_fn(f"`{name}` (def): Return nothing."))
    assert empty_registry == {}


@pytest.mark.parametrize("kind", [k for k in get_args(Kind) if k != "def"])
def test_invalid_mirrors_wrong_kind(kind: Kind, empty_registry: dict[str, R.Entry]) -> None:
    with pytest.raises(LookupError, match=rf"manifest says kind 'def', not '{kind}'"):
        mirrors(NAME, kind=kind)(_fn(f"`{NAME}` ({kind}): Return the gradient of MSE."))
    assert empty_registry == {}


def test_invalid_mirrors_every_declaration_with_another_kind(
    empty_registry: dict[str, R.Entry],
) -> None:
    """Every declaration of the manifest refuses every kind but its own."""
    refused = 0
    for name, decl in manifest().declarations.items():
        for kind in get_args(Kind):
            if kind == decl.kind:
                continue
            with pytest.raises(LookupError, match="manifest says kind"):
                mirrors(name, kind=kind)(_fn(f"`{name}` ({kind})"))
            refused += 1
    assert refused == len(manifest().declarations) * (len(get_args(Kind)) - 1)
    assert empty_registry == {}


def test_invalid_mirrors_second_registration() -> None:
    """The real registry already holds `mseGrad`: registering it again is refused, and the first
    mirror stays."""
    before = REGISTRY[NAME]
    with pytest.raises(LookupError, match=r"'Proofs\.Autograd\.mseGrad'\): registered twice"):
        mirrors(NAME, kind="def")(_fn(f"`{NAME}` (def): Return the gradient of MSE."))
    assert REGISTRY[NAME] is before


def test_invalid_mirrors_second_registration_in_a_fresh_registry(
    empty_registry: dict[str, R.Entry],
) -> None:
    first, second = _fn(f"`{NAME}` (def): one."), _fn(f"`{NAME}` (def): two.")
    mirrors(NAME, kind="def")(first)
    with pytest.raises(LookupError, match="registered twice"):
        mirrors(NAME, kind="def")(second)
    assert empty_registry[NAME].obj is first


@pytest.mark.parametrize(
    "doc",
    [
        None,
        "",
        "Return the gradient of MSE.",
        "`mseGrad` (def): the short name is not enough.",
        "Proofs.Autograd.mseGrad (def): without backquotes.",
        "Return the gradient. `Proofs.Autograd.mseGrad` comes too late.",
        "`Proofs.Autograd.mse` (def): another declaration's name.",
    ],
    ids=["none", "empty", "no-name", "short-name", "no-backquotes", "not-first", "other-name"],
)
def test_invalid_mirrors_docstring(doc: str | None, empty_registry: dict[str, R.Entry]) -> None:
    with pytest.raises(
        LookupError, match=r"the docstring must open with `Proofs\.Autograd\.mseGrad`"
    ):
        mirrors(NAME, kind="def")(_fn(doc))
    assert empty_registry == {}


def test_docstring_may_open_after_whitespace(empty_registry: dict[str, R.Entry]) -> None:
    mirrors(NAME, kind="def")(_fn(f"\n    `{NAME}` (def): Return the gradient of MSE."))
    assert NAME in empty_registry


def test_every_registered_mirror_obeys_the_rules() -> None:
    """The registry as loaded: one entry per manifest declaration, each under its own name, with
    the manifest's declaration and a docstring opening with the name."""
    assert set(REGISTRY) == set(manifest().declarations)
    for name, entry in REGISTRY.items():
        assert entry.decl is manifest().declarations[name]
        assert (entry.obj.__doc__ or "").lstrip().startswith(f"`{name}`"), name
    assert [e.decl.name for e in registered()] == list(manifest().declarations)
    lemmas = registered("lemma")
    assert lemmas and all(e.decl.kind == "lemma" for e in lemmas)


def test_lookup_by_short_and_full_name() -> None:
    assert lookup("mseGrad") is lookup(NAME) is REGISTRY[NAME]
    with pytest.raises(KeyError, match="no mirror of a Lean declaration named 'nope'"):
        lookup("nope")


def test_lookup_refuses_an_ambiguous_short_name(monkeypatch: pytest.MonkeyPatch) -> None:
    decls = manifest().declarations
    a, b = decls["Proofs.Autograd.Vec"], decls["Proofs.Autograd.Mat"]
    other = R.LeanDecl(**{**a.__dict__, "name": "Other.Vec"})
    fake = {
        n: R.Entry(decl=d, obj=None)
        for n, d in (("Proofs.Autograd.Vec", a), ("Other.Vec", other), ("Proofs.Autograd.Mat", b))
    }
    monkeypatch.setattr(R, "REGISTRY", fake)
    with pytest.raises(KeyError, match=r"'Vec' is ambiguous: Other\.Vec, Proofs\.Autograd\.Vec"):
        lookup("Vec")
    assert lookup("Mat").decl is b


def test_attach_check_needs_a_registered_mirror(empty_registry: dict[str, R.Entry]) -> None:
    with pytest.raises(
        LookupError, match=r"attach_check\('Proofs\.Autograd\.mseGrad'\): no mirror"
    ):
        attach_check(NAME, object())
    mirrors(NAME, kind="def")(_fn(f"`{NAME}` (def)"))
    check: Any = object()
    attach_check(NAME, check)
    assert empty_registry[NAME].checks == [check]
