"""Tests of `spec.traceability.lean_source`: declarations, statements, section variables,
fingerprints, errors.

The Lean files under `tests/fixtures/lean/` are written for this project (`base.lean` in the style
of MlpMse.lean, the others are variants of it); none is TorchLean source.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec.traceability.lean_source import (
    FINGERPRINT_LENGTH,
    LeanFile,
    LeanParseError,
    normalize,
    parse,
    parse_file,
    tokenize,
)

FIXTURES = Path(__file__).parent / "fixtures" / "lean"
BASE = (FIXTURES / "base.lean").read_text(encoding="utf-8")

# (name, kind, line) of base.lean, in file order.
BASE_DECLS = [
    ("Toy.Grad.V", "abbrev", 32),
    ("Toy.Grad.scaleV", "def", 35),
    ("Toy.Grad.scaleV_apply", "lemma", 38),
    ("Toy.Grad.halfSq", "def", 45),
    ("Toy.Grad.halfSq_grad", "theorem", 49),
    ("Toy.Grad.tag", "def", 55),
    ("Toy.Grad.out", "def", 70),
    ("Toy.Grad.pair", "def", 74),
    ("Toy.Grad.loss", "def", 78),
    ("Toy.Grad.lossGrad", "def", 82),
    ("Toy.Grad.lossGrad_eq", "lemma", 85),
    ("Toy.Grad.hasFDerivAt_loss", "lemma", 93),
]

# The fingerprints of base.lean. If the normalisation changes on purpose, these change, and so
# must the fingerprints in spec/data/manifest.json: recompute them from the pinned Lean files.
BASE_FINGERPRINTS = {
    "Toy.Grad.V": "851044f952e2be5b",
    "Toy.Grad.scaleV": "83691c38c8a7e113",
    "Toy.Grad.scaleV_apply": "5a45ac4de0cf9463",
    "Toy.Grad.halfSq": "079bf4d726198915",
    "Toy.Grad.halfSq_grad": "ff23304ded6da2ac",
    "Toy.Grad.tag": "975755976e911914",
    "Toy.Grad.out": "26aac5ea530c4c72",
    "Toy.Grad.pair": "3ce770d334192954",
    "Toy.Grad.loss": "2babd8cc754f4f7d",
    "Toy.Grad.lossGrad": "d2b70c44340469dd",
    "Toy.Grad.lossGrad_eq": "d53ec5dff8ec15b6",
    "Toy.Grad.hasFDerivAt_loss": "9b9161bd9c8eaa14",
}

MODEL_VARS = (
    "{outDim : Nat}",
    "(A : V outDim → L [ ℝ ] V outDim)",
    "(c : V outDim)",
    "(t : V outDim)",
    "[Fact ( 0 < outDim )]",
)


def base() -> LeanFile:
    return parse_file(FIXTURES / "base.lean")


def fp(text: str, name: str) -> str:
    decl = parse(text).get(name)
    assert decl is not None, f"{name} not parsed from {text!r}"
    return decl.fingerprint


# ---------------------------------------------------------------------------------------------
# Declarations of the base fixture
# ---------------------------------------------------------------------------------------------


def test_parse_base_names_kinds_lines() -> None:
    f = base()
    assert [(d.name, d.kind, d.line) for d in f.declarations] == BASE_DECLS
    assert f.path == str(FIXTURES / "base.lean")
    assert f.lines == BASE.count("\n") + 1


def test_parse_base_fingerprints_are_pinned_and_stable() -> None:
    first, second = base(), parse(BASE)
    assert {d.name: d.fingerprint for d in first.declarations} == BASE_FINGERPRINTS
    assert [d.fingerprint for d in first.declarations] == [
        d.fingerprint for d in second.declarations
    ]
    hex_digits = re.compile(f"[0-9a-f]{{{FINGERPRINT_LENGTH}}}")
    assert all(hex_digits.fullmatch(v) for v in BASE_FINGERPRINTS.values())


def test_statement_is_the_signature_without_name_or_proof() -> None:
    f = base()
    grad = f.get("Toy.Grad.halfSq_grad")
    assert grad is not None
    assert grad.statement == (
        "{ n : Nat } ( v : V n ) : HasFDerivAt ( halfSq ( n := n ) ) ( innerSL ℝ v ) v"
    )
    assert grad.end_line == 52
    # `:=` inside binders (a default value, named arguments) does not end the statement.
    loss_grad = f.get("Toy.Grad.lossGrad")
    assert loss_grad is not None
    assert loss_grad.statement == "( w : V outDim ) ( scale : ℝ := 1 ) : V outDim"
    has = f.get("Toy.Grad.hasFDerivAt_loss")
    assert has is not None
    assert has.statement.startswith(
        "( w : V outDim ) : HasFDerivAt ( loss ( outDim := outDim ) A c t )"
    )
    assert "simpa" not in has.statement and "hout" not in has.statement


def test_section_variables_are_the_ones_used_as_lean_adds_them() -> None:
    f = base()
    got = {d.short_name: d.variables for d in f.declarations}
    for name in ("V", "scaleV", "scaleV_apply", "halfSq", "halfSq_grad", "tag"):
        assert got[name] == (), name
    # A definition takes what its value mentions; `out` does not mention `t`.
    assert got["out"] == (
        "{outDim : Nat}",
        "(A : V outDim → L [ ℝ ] V outDim)",
        "(c : V outDim)",
        "[Fact ( 0 < outDim )]",
    )
    assert got["pair"] == (
        "{inDim : Nat}",
        "{outDim : Nat}",
        "(c : V outDim)",
        "(u : V inDim)",
        "[Fact ( 0 < outDim )]",
    )
    for name in ("loss", "lossGrad", "lossGrad_eq", "hasFDerivAt_loss"):
        assert got[name] == MODEL_VARS, name
    lemma = f.get("Toy.Grad.lossGrad_eq")
    assert lemma is not None
    assert lemma.full_statement == " ".join(MODEL_VARS) + " ( w : V outDim ) : " + (
        "lossGrad A c t w = out A c w - t"
    )


def test_modifiers_attributes_and_doc_comments() -> None:
    f = base()
    simp = f.get("Toy.Grad.scaleV_apply")
    assert simp is not None and simp.attributes == ("simp",) and simp.doc is None
    half = f.get("Toy.Grad.halfSq")
    assert half is not None and half.doc == "The squared norm, halved: `halfSq v = ‖v‖² / 2`."
    text = (
        "namespace N\n"
        "/-- Doc. -/\n@[simp, reducible] private noncomputable def f (x : Nat) : Nat := x\n"
        "protected theorem g : True := trivial\n"
        "end N\n"
    )
    g = parse(text)
    d = g.get("N.f")
    assert d is not None
    assert (d.kind, d.line, d.doc) == ("def", 3, "Doc.")
    assert d.attributes == ("simp", "reducible")
    assert d.modifiers == ("private", "noncomputable")
    e = g.get("N.g")
    assert e is not None and e.modifiers == ("protected",)


def test_string_with_comment_markers_is_not_a_comment() -> None:
    tag = base().get("Toy.Grad.tag")
    assert tag is not None
    assert tag.statement == ": String"
    toks = [t.text for t in tokenize('def s := "a -- b /- c" -- real\n')]
    assert toks == ["def", "s", ":=", '"a -- b /- c"']


def test_comments_in_odd_places_change_no_fingerprint() -> None:
    odd = parse_file(FIXTURES / "comments.lean")
    assert {d.name: d.fingerprint for d in odd.declarations} == BASE_FINGERPRINTS
    model = odd.get("Toy.Grad.out")
    assert model is not None and model.doc == (
        "Model output at `w` (doc comments are not part of the statement)."
    )


def test_unicode_identifiers() -> None:
    f = parse_file(FIXTURES / "unicode.lean")
    assert f.names() == [
        "«Toy Space».Ωmega.δscale",
        "«Toy Space».Ωmega.«pick one»",
        "«Toy Space».Ωmega.ℓ₂_nonneg",
        "«Toy Space».Ωmega.xᵢ'",
        "«Toy Space».Ωmega.«v1.2»",
    ]
    pick = f.get("«Toy Space».Ωmega.«pick one»")
    assert pick is not None and pick.variables == ("{α₁ : Type}", "[Inhabited α₁]")
    scale = f.get("«Toy Space».Ωmega.δscale")
    assert scale is not None and scale.statement == "( δ : ℝ ) : ℝ"
    assert [d.short_name for d in f.declarations] == [
        "δscale",
        "«pick one»",
        "ℓ₂_nonneg",
        "xᵢ'",
        "«v1.2»",
    ]


# ---------------------------------------------------------------------------------------------
# Scopes, kinds and statement boundaries
# ---------------------------------------------------------------------------------------------


def test_scopes_namespace_section_noncomputable_public() -> None:
    text = (
        "@[expose] public section\n"
        "namespace A.B\n"
        "noncomputable section\n"
        "def f : Nat := 1\n"
        "section Named\n"
        "def g : Nat := 2\n"
        "end Named\n"
        "end\n"
        "end B\n"
        "def h : Nat := 3\n"
        "def _root_.top : Nat := 4\n"
        "end A\n"
        "def k : Nat := 5\n"
    )
    assert parse(text).names() == ["A.B.f", "A.B.g", "A.h", "top", "k"]


def test_kinds_and_body_terminators() -> None:
    text = (
        "namespace K\n"
        "structure P (α : Type) where\n  x : α\n  y : α\nderiving Repr\n"
        "inductive T : Type where\n  | a : T\n  | b : T\n"
        "class C (α : Type) where\n  op : α → α\n"
        "instance : C Nat where\n  op := id\n"
        "instance (priority := 100) instNamed : C Int := ⟨id⟩\n"
        "def pm : Nat → Nat\n  | 0 => 1\n  | n + 1 => n\n"
        "theorem lt (n : Nat) : let m := n + 1; n < m := Nat.lt_succ_self n\n"
        "axiom ax : 1 = 1\n"
        "opaque op : Nat\n"
        "example : True := trivial\n"
        "end K\n"
    )
    f = parse(text)
    kinds = [(d.name, d.kind) for d in f.declarations]
    anon = [n for n, k in kinds if k == "instance" and "«instance" in n]
    assert len(anon) == 1
    assert kinds == [
        ("K.P", "structure"),
        ("K.T", "inductive"),
        ("K.C", "class"),
        (anon[0], "instance"),
        ("K.instNamed", "instance"),
        ("K.pm", "def"),
        ("K.lt", "theorem"),
        ("K.ax", "axiom"),
        ("K.op", "opaque"),
    ]
    statements = {d.short_name: d.statement for d in f.declarations}
    assert statements["P"] == "( α : Type )"
    assert statements["T"] == ": Type"
    assert statements["pm"] == ": Nat → Nat"
    assert statements["lt"] == "( n : Nat ) : let m := n + 1 ; n < m"
    assert statements["instNamed"] == ": C Int"


def test_notation_commands_get_lean_style_names() -> None:
    text = (
        "namespace N\n"
        'scoped[N] notation "J[" f ", " x "]" => jac f x\n'
        'infixl:65 " +ᵥ " => vadd\n'
        "end N\n"
    )
    f = parse(text)
    assert [(d.name, d.kind) for d in f.declarations] == [
        ("N.«termJ[_,_]»", "notation"),
        ("N.«term_+ᵥ_»", "notation"),
    ]


def test_open_and_set_option_inside_a_proof_do_not_cut_it() -> None:
    text = (
        "theorem t : True := by\n"
        "  open Classical in\n"
        "  set_option maxHeartbeats 1000 in\n"
        "  trivial\n"
        "theorem u : True := trivial\n"
    )
    f = parse(text)
    assert f.names() == ["t", "u"]
    t = f.get("t")
    assert t is not None and t.end_line == 4


def test_variable_shadowed_by_own_binder_is_not_taken() -> None:
    text = (
        "section\nvariable {α : Type} [Inhabited α] (n : Nat)\n"
        "def f {α : Type} (x : α) : α := x\n"
        "def g : Nat := n\n"
        "theorem h : n = n := rfl\n"
        "theorem k : True := by exact (rfl : n = n) ▸ trivial\n"
        "end\n"
    )
    f = parse(text)
    got = {d.name: d.variables for d in f.declarations}
    assert got == {"f": (), "g": ("(n : Nat)",), "h": ("(n : Nat)",), "k": ()}


def test_include_and_instance_binder_dependencies() -> None:
    text = (
        "section\nvariable {E : Type} [Add E] (e : E) (m : Nat)\ninclude m\n"
        "theorem a : True := trivial\n"
        "theorem b (x : E) : x = x := rfl\n"
        "end\n"
    )
    f = parse(text)
    got = {d.name: d.variables for d in f.declarations}
    assert got == {"a": ("(m : Nat)",), "b": ("{E : Type}", "[Add E]", "(m : Nat)")}


# ---------------------------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------------------------

LEMMA = "theorem foo (a b : Nat) : a + b = b + a := by\n  omega\n"


def test_fingerprint_ignores_whitespace_comments_and_proof() -> None:
    ref = fp(LEMMA, "foo")
    spaced = "theorem foo\n    (a   b : Nat) :\n  a + b =\n    b + a := by omega\n"
    commented = (
        "/-- Doc. -/\ntheorem foo (a /- x -/ b : Nat) : -- why\n"
        "  a + b = b + a := by\n  simp [Nat.add_comm]\n"
    )
    assert fp(spaced, "foo") == ref
    assert fp(commented, "foo") == ref
    assert fp("@[simp] " + LEMMA, "foo") == ref


def test_fingerprint_excludes_own_name_and_kind_within_a_family() -> None:
    ref = fp(LEMMA, "foo")
    assert fp(LEMMA.replace("foo", "bar"), "bar") == ref
    assert fp(LEMMA.replace("theorem", "lemma"), "foo") == ref
    assert fp("def f (n : Nat) : Nat := n", "f") == fp("abbrev g (n : Nat) : Nat := n", "g")
    rec = "def up : Nat → Nat\n  | 0 => 0\n  | n + 1 => up n\n"
    assert fp(rec, "up") == fp(rec.replace("up", "down"), "down")


def test_fingerprint_changes_with_the_statement() -> None:
    ref = fp(LEMMA, "foo")
    assert fp(LEMMA.replace("b + a", "a + b"), "foo") != ref
    assert fp(LEMMA.replace("(a b : Nat)", "{a b : Nat}"), "foo") != ref
    assert fp(LEMMA.replace("Nat", "Int"), "foo") != ref


def test_fingerprint_of_a_definition_covers_its_value() -> None:
    # A definition's value is what its mirror computes: editing it is not a proof-only change.
    assert fp("def f (n : Nat) : Nat := 2 * n", "f") != fp("def f (n : Nat) : Nat := 3 * n", "f")


def test_fingerprint_follows_section_variables() -> None:
    f = base()
    g = parse_file(FIXTURES / "variable.lean")
    changed = {
        d.name
        for d in f.declarations
        if g.get(d.name) is None
        or g.get(d.name) != d
        and g.get(d.name).fingerprint != d.fingerprint  # type: ignore[union-attr]
    }
    assert changed == {
        "Toy.Grad.loss",
        "Toy.Grad.lossGrad",
        "Toy.Grad.lossGrad_eq",
        "Toy.Grad.hasFDerivAt_loss",
    }


def test_normalize_collapses_whitespace_and_drops_comments() -> None:
    assert normalize("f  (x :=\n 1) -- c\n /- d /- e -/ -/ ⟨a,b⟩") == "f ( x := 1 ) ⟨ a , b ⟩"


# ---------------------------------------------------------------------------------------------
# Malformed and truncated input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "line", "message"),
    [
        ("truncated_proof.lean", 98, "unclosed `(`: no matching `)` before the end of the file"),
        (
            "truncated_comment.lean",
            81,
            "unterminated comment: `/-` opened here has no closing `-/`",
        ),
        (
            "end_mismatch.lean",
            104,
            "`end Gradient` does not match the innermost open scope, "
            "`namespace Grad` from line 21; close it with `end Grad`",
        ),
    ],
)
def test_invalid_fixture_raises_with_line(fixture: str, line: int, message: str) -> None:
    path = FIXTURES / fixture
    with pytest.raises(LeanParseError) as info:
        parse_file(path)
    assert info.value.line == line
    assert info.value.path == str(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("def f := 1\n/- open /- nested -/ still open\n", 2, "unterminated comment"),
        ('def s : String := "abc\n', 1, "unterminated string literal"),
        ("def «abc : Nat := 1\n", 1, "unterminated «name»"),
        ("def f := (1 + 2]\n", 1, "mismatched `]`: the innermost open bracket is `(` from line 1"),
        ("def f := 1)\n", 1, "unbalanced `)`: no open `(` to close"),
        ("def f := (1 +\n\n", 1, "unclosed `(`"),
        (
            "namespace A\nsection\nend A\n",
            3,
            "`end A` does not match the innermost open scope, "
            "anonymous `section` from line 2; close it with `end`",
        ),
        ("namespace A\nend\n", 2, "`end` does not match the innermost open scope, `namespace A`"),
        ("end\n", 1, "`end` closes nothing"),
        ("namespace A.B\nend A.B\nend A\n", 3, "`end A` closes nothing"),
        ("namespace\n", 1, "`namespace` without a name"),
        ("theorem : True := trivial\n", 1, "`theorem` without a name"),
        ("lemma cut (n : Nat) :\n    n = n\n", 1, "`lemma cut` has no body"),
        ("def cut : Nat\ndef next : Nat := 1\n", 1, "before the next command"),
        (
            "namespace A\ndef f : Nat := 1\nend A\nnamespace A\ndef f : Nat := 2\nend A\n",
            5,
            "`A.f` is declared twice (lines 2 and 5): Lean rejects the file",
        ),
        ("def g : Nat := 1\nalias g := f\n", 2, "`g` is declared twice (lines 1 and 2)"),
        ("theorem t : True := by\n", 1, "the file ends after `by`: `t` (line 1) is cut off"),
        ("def f : Nat := 1 +\n  ", 1, "the file ends after `+`"),
        (
            "theorem t : a = c := by\n  calc a = b := h\n    _ = c\n",
            3,
            "the last `calc` step of `t` (line 1) has no `:= proof`",
        ),
        ("theorem t : a = b := by\n  calc a\n", 2, "the last `calc` step of `t` (line 1)"),
    ],
)
def test_invalid_text_raises_with_line(text: str, line: int, message: str) -> None:
    with pytest.raises(LeanParseError) as info:
        parse(text)
    assert info.value.line == line
    assert message in info.value.message
    assert str(info.value).startswith(f"<lean text>:{line}: ")


def test_namespace_left_open_at_end_of_file_is_allowed() -> None:
    # Lean accepts it; `spec.traceability.drift` compares the scopes left open with the recorded
    # file's.
    f = parse("namespace A\nsection\ndef f : Nat := 1\n")
    assert f.names() == ["A.f"]
    assert [(s.kind, s.header, s.line) for s in f.open_at_end] == [
        ("namespace", "A", 1),
        ("section", None, 2),
    ]


def test_complete_calc_and_private_copies_in_other_namespaces_are_accepted() -> None:
    text = (
        "namespace A\nprivate def f : Nat := 1\nend A\nnamespace B\ndef f : Nat := 2\nend B\n"
        "theorem t : a = c := by\n  calc a = b := h1\n    _ = c := h2\n"
    )
    assert parse(text).names() == ["A.f", "B.f", "t"]


def test_scope_commands_are_recorded() -> None:
    text = (
        "namespace N\nopen Foo Bar\nopen scoped Baz\nexport Q (x y)\n"
        "variable (a b : Nat) [Fact (0 < a)]\nalias ⟨mp, mpr⟩ := iff\nend N\n"
    )
    f = parse(text)
    assert [(o.text, o.namespace, o.names, o.explicit) for o in f.opens] == [
        ("open Foo Bar", "N", ("Foo", "Bar"), ()),
        ("open scoped Baz", "N", ("Baz",), ()),
        ("export Q ( x y )", "N", ("Q",), ("x", "y")),
    ]
    assert [(v.line, v.names) for v in f.variables] == [(5, ("a", "b"))]
    assert [(a.name, a.target) for a in f.aliases] == [("N.mp", "iff"), ("N.mpr", "iff")]
    assert f.namespaces == ("N",) and f.open_at_end == ()


# ---------------------------------------------------------------------------------------------
# Properties: any text parses or raises LeanParseError, nothing else
# ---------------------------------------------------------------------------------------------

MARKERS = [
    "/-",
    "-/",
    "/--",
    "/-!",
    "--",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "⟨",
    "⟩",
    "«",
    "»",
    '"',
    "'",
    ":=",
    ":",
    "|",
    "\n",
    " ",
    "end",
    "end Grad",
    "end Toy",
    "namespace X",
    "section",
    "section S",
    "variable (z : Nat)",
    "def",
    "lemma",
    "theorem q :",
    "where",
    "@[simp]",
    "private",
    "let",
    "noncomputable section",
    "instance",
    "_root_.",
    ".",
    "δ",
    "₁",
    "\\",
]


def _parses_or_raises(text: str) -> None:
    try:
        f = parse(text)
    except LeanParseError as exc:
        assert 1 <= exc.line <= text.count("\n") + 1
        return
    for d in f.declarations:
        assert 1 <= d.line <= d.end_line <= f.lines
        assert len(d.fingerprint) == FINGERPRINT_LENGTH


@st.composite
def mutations_of_base(draw: st.DrawFn) -> str:
    text = BASE
    if draw(st.booleans()):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, len(text)))
        text = text[i:j]
    for _ in range(draw(st.integers(0, 6))):
        k = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:k] + draw(st.sampled_from(MARKERS)) + text[k:]
        else:
            text = text[:k] + text[k + draw(st.integers(0, 40)) :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_parses_or_raises_lean_parse_error(text: str) -> None:
    _parses_or_raises(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(MARKERS + ["a", "b1", "Nat", "x", "0", "=>", "→"]), max_size=60))
def test_any_token_soup_parses_or_raises_lean_parse_error(parts: list[str]) -> None:
    _parses_or_raises(" ".join(parts))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations_of_base())
def test_any_mutation_of_base_parses_or_raises_lean_parse_error(text: str) -> None:
    _parses_or_raises(text)
