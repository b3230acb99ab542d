"""Tests of `spec.traceability.lean_normal`: what Lean's parser identifies gets one fingerprint,
nothing else.

The properties run on `tests/fixtures/lean/checkout/Toy/Grad.lean` (the toy module written for
this project): any random re-spelling of the kinds Lean identifies is benign drift; any random
change of an identifier or an operator inside a statement is flagged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec.traceability.drift import between
from spec.traceability.lean_normal import SPELLINGS
from spec.traceability.lean_source import THEOREM_KINDS, Token, parse, tokenize

GRAD = Path(__file__).parent / "fixtures" / "lean" / "checkout" / "Toy" / "Grad.lean"
TEXT = GRAD.read_text(encoding="utf-8")


def normal(statement: str) -> str:
    """Return the normal form of `theorem t <statement> := rfl`."""
    d = parse(f"theorem t {statement} := rfl\n").get("t")
    assert d is not None
    return d.normal


def same(a: str, b: str) -> bool:
    return normal(a) == normal(b)


# ---------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (": ∀ x : Nat, x = x", ": forall x : Nat, x = x"),
        (": ∃ x, p x", ": exists x, p x"),
        (": (fun x => f x) = g", ": (λ x ↦ f x) = g"),
        (": A → B", ": A -> B"),
        (": a ≤ b ∧ c ≥ d", ": a <= b /\\ c >= d"),
        (": p ↔ q ∨ r", ": p <-> q \\/ r"),
        (": f <| g x = y", ": f $ g x = y"),
        (": (fun x => f x) = g", ": (fun y => f y) = g"),
        (": ∀ x ∈ s, p x", ": ∀ y ∈ s, p y"),
        (": {x | p x} = s", ": {y | p y} = s"),
        (": ∑ i, f i = c", ": ∑ j, f j = c"),
        ("(v : V n) : f v = v", "(w : V n) : f w = w"),
        (": fun x : T => x", ": fun (x : T) => x"),
        (": f (x) = y", ": f x = y"),
        (": ((a + b)) = c", ": (a + b) = c"),
        (": a = (f x)", ": a = f x"),
        (": (a + b = c)", ": a + b = c"),
        (": g (n := (m + 1)) = 0", ": g (n := m + 1) = 0"),
        (": f x\n    = -- why\n  y", ": f x /- c -/ = y"),
    ],
)
def test_what_lean_identifies_has_one_normal_form(a: str, b: str) -> None:
    assert same(a, b), (normal(a), normal(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (": (fun x => f x) = g", ": (fun y => f x) = g"),  # a bound name made free
        (": fun x => fun y => x", ": fun x => fun y => y"),  # which binder
        (": fun x => fun x => x", ": fun x => fun y => x"),  # shadowing
        (": ∀ x ∈ x, p x", ": ∀ y ∈ y, p y"),  # the set is outside the binder's scope
        (": (a + b) * c = d", ": a + b * c = d"),
        (": ∑ i, (f i + g i) = c", ": ∑ i, f i + g i = c"),  # a big operator's body binds tighter
        (": (f x)⁻¹ = y", ": f x⁻¹ = y"),
        (": (x).1 = y", ": x .1 = y"),
        (": (· + 1) = f", ": · + 1 = f"),
        (": f (x) y = z", ": f x = z"),
        (": g (n := m) = 0", ": g (k := m) = 0"),  # a named argument's label is not bound
        (": a ≠ b", ": a != b"),  # `!=` is `bne`, not `≠`
        (": A → B", ": A × B"),
    ],
)
def test_what_lean_tells_apart_keeps_apart(a: str, b: str) -> None:
    assert not same(a, b), normal(a)


def test_normal_form_records_what_it_normalised() -> None:
    d = parse("theorem t : (λ b1 ↦ f b1) = (g) -> h := rfl\n").get("t")
    assert d is not None
    assert dict(d.spellings) == {"λ": 1, "↦": 1, "->": 1}
    assert d.binders == ("b1",)
    assert d.parens == 1
    assert d.normal == ": ( fun §0 => f §0 ) = g → h"


def test_names_after_a_dot_and_pattern_variables_are_not_uses() -> None:
    d = parse("def f (x : T) : Nat :=\n  match x with\n  | .mk a => (g a).size\n").get("f")
    assert d is not None
    assert d.refs == ("T", "Nat", "g", "a")  # not `mk`, `size` (found from types)
    assert "a" in d.local_refs  # bound by the pattern: not a name of another declaration


# ---------------------------------------------------------------------------------------------
# Properties on the toy module
# ---------------------------------------------------------------------------------------------

_STATEMENTS: list[tuple[str, list[Token]]] = []
"""(declaration name, statement tokens) of the toy module, the tokens carrying their offsets."""


def _statements() -> list[tuple[str, list[Token]]]:
    if _STATEMENTS:
        return _STATEMENTS
    toks = tokenize(TEXT)
    decls = parse(TEXT).declarations
    for d in decls:
        if d.kind not in THEOREM_KINDS | {"def", "abbrev"}:
            continue
        start = next(k for k, t in enumerate(toks) if t.line == d.line and t.text == d.kind)
        k = start + 2
        stop = next(m for m in range(k, len(toks)) if toks[m].text == ":=" and toks[m].depth == 0)
        _STATEMENTS.append((d.name, toks[k:stop]))
    return _STATEMENTS


def _apply(edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (offset, length, replacement) edits to the toy module."""
    text = TEXT
    for offset, length, new in sorted(set(edits), reverse=True):
        text = text[:offset] + new + text[offset + length :]
    return text


_INVERSE = {v: k for k, v in SPELLINGS.items() if k not in ("$",)}


def _respellings() -> list[tuple[int, int, str]]:
    """Return every single re-spelling Lean identifies, as an edit of the toy module."""
    out: list[tuple[int, int, str]] = []
    for _name, toks in _statements():
        for k, t in enumerate(toks):
            prev = toks[k - 1] if k else None
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            if t.text in _INVERSE and not (t.text == "→" and TEXT[t.offset + 1] == "L"):
                if t.text == "=>" and not any(x.text == "fun" for x in toks[:k]):
                    continue
                out.append((t.offset, len(t.text), _INVERSE[t.text]))
            if t.text in ("=", "∧", "+", "≤") and prev is not None and nxt is not None:
                out.append((t.offset + len(t.text), 0, " /- c -/\n     "))
            if (
                t.kind == "ident"
                and prev is not None
                and prev.text not in ("fun", "∀", ".")
                and nxt is not None
                and nxt.text not in (":", ":=", ",", "=>", ".")
                and not (prev.text == "(" and nxt.text == ":=")
                and t.text not in ("_", "fun", "λ", "forall", "exists")
                and TEXT[t.offset + len(t.text)] != "."
            ):
                out.append((t.offset, len(t.text), f"({t.text})"))
    for m in re.finditer(r"^lemma ", TEXT, flags=re.M):
        out.append((m.start(), len("lemma"), "theorem"))
    # alpha-renamings of the two lambda/∀ binders, each over its whole scope on its line
    for line_text in ("(fun w : V n => halfSq (f w)) v", "∀ w : V outDim, 0 ≤ loss A c t w"):
        at = TEXT.index(line_text)
        for m in re.finditer(r"\bw\b", line_text):
            out.append((at + m.start(), 1, "wq"))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_respelling_is_benign(data: st.DataObject) -> None:
    edits = _respellings()
    chosen = data.draw(st.lists(st.sampled_from(edits), min_size=1, max_size=12, unique=True))
    # keep the rename of a binder whole: all of its occurrences, or none
    renames = [e for e in edits if e[2] == "wq"]
    chosen = [e for e in chosen if e[2] != "wq"]
    if data.draw(st.booleans()):
        chosen.extend(renames)
    offsets = sorted(chosen)
    if any(a[0] + a[1] > b[0] for a, b in zip(offsets, offsets[1:], strict=False)):
        return  # overlapping edits: not one re-spelling
    text = _apply(chosen)
    report = between(parse(TEXT, "Toy/Grad.lean"), parse(text, "edited.lean"))
    assert report.exit_code == 0, report.format() + "\n" + text
    assert all(f.category in ("respelled", "moved") for f in report.findings), report.format()


_OPERATORS = ["+", "-", "*", "/", "=", "≠", "≤", "<", "•", "∘"]


def _changes() -> list[tuple[str, int, int, list[str]]]:
    """Return (declaration, offset, length, replacements) for each identifier use or operator."""
    out: list[tuple[str, int, int, list[str]]] = []
    for name, toks in _statements():
        colon = next((k for k, t in enumerate(toks) if t.text == ":" and t.depth == 0), None)
        if colon is None:
            continue
        binder_zone = False
        for k, t in enumerate(toks):
            if t.text in ("fun", "∀"):
                binder_zone = True
            elif t.text in ("=>", ","):
                binder_zone = False
            if k <= colon or binder_zone:
                continue
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            if t.kind == "ident" and t.text != "_" and (nxt is None or nxt.text != ":="):
                out.append((name, t.offset, len(t.text), ["zz", "W2", "t", "halfSq", "clip"]))
            elif t.kind == "symbol" and t.text in _OPERATORS:
                out.append((name, t.offset, len(t.text), [o for o in _OPERATORS if o != t.text]))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_change_of_an_identifier_or_operator_in_a_statement_is_flagged(
    data: st.DataObject,
) -> None:
    name, offset, length, choices = data.draw(st.sampled_from(_changes()))
    new = data.draw(st.sampled_from([c for c in choices if c != TEXT[offset : offset + length]]))
    text = _apply([(offset, length, new)])
    report = between(parse(TEXT, "Toy/Grad.lean"), parse(text, "edited.lean"))
    flagged = {f.name for f in report.findings if not f.benign}
    assert name in flagged, report.format() + f"\n{name}: {TEXT[offset : offset + length]} → {new}"


def test_the_properties_have_material() -> None:
    kinds = {e[2] for e in _respellings()}
    assert {"->", "forall", "λ", "↦", "theorem", "wq"} <= kinds
    assert any(e[2].startswith("(") for e in _respellings())
    names = {c[0] for c in _changes()}
    assert {
        "Toy.Grad.clipV_apply",
        "Toy.Grad.halfSq_comp",
        "Toy.Grad.loss_nonneg",
        "Toy.Grad.out",
    } <= names
