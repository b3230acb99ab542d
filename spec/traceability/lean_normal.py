"""The normal form of a Lean statement: what Lean's parser identifies, identified here too.

Two statements get the same normal form, hence the same fingerprint, when they differ only in

* **spelling**: the ASCII and Unicode forms of one token (`->`/`→`, `forall`/`∀`, `exists`/`∃`,
  `<->`/`↔`, `<=`/`≤`, `>=`/`≥`, `/\\`/`∧`, `\\/`/`∨`, `<-`/`←`, `$`/`<|`), `λ`/`fun` and
  `↦`/`=>` (`SPELLINGS`);
* **bound-variable names** (alpha-equivalence): a name bound by a leading binder of the signature,
  a section `variable`, `fun`/`λ`, `∀`, `∃`, `∃!`, a big operator (`∑`, `∏`, `⋃`, `⋂`, `⨆`, `⨅`),
  `let`/`have` or a set-builder `{x | p x}` becomes `§k`, `k` counting binders in order;
* **redundant parentheses**: `(e)` around one token or one bracketed group, `(e)` that fills a
  whole slot (after `:`, `:=`, `=>` or at the start of a group, and before `,`, `:=`, `;`, `|` or
  the end of the group), `(f a b)` (an application) between infix operators or slot ends, and
  `x : T` written without parentheses in a `fun`/`∀` binder;
* line breaks and comments (the tokens never see them).

What is recorded beside the fingerprint (`NormalForm`) says which of these differ between two
spellings of one statement: the alternative spellings used (`spellings`), the bound names in order
(`binders`) and the parentheses dropped (`parens`).

Limits (each errs towards reporting a change, never towards hiding one): parentheses are dropped
only where no precedence is needed to know they are redundant (`(a + b) + c` keeps them; after a
big operator's `,` they are kept, since its body binds tighter than `+`); a `match` alternative's
pattern variables and a `fun (x) =>` binder are not normalised; a `let` value sees its own name.
A renamed free name (a constant, an auto-bound implicit) is a change.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from .lean_token import Token

__all__ = [
    "SPELLINGS",
    "BINDER_KEYWORDS",
    "NormalForm",
    "normal_form",
]

SPELLINGS: dict[str, str] = {
    "->": "→",
    "<->": "↔",
    "forall": "∀",
    "exists": "∃",
    "λ": "fun",
    "↦": "=>",
    "<=": "≤",
    ">=": "≥",
    "/\\": "∧",
    "\\/": "∨",
    "<-": "←",
    "$": "<|",
}
"""Alternative spelling → the spelling the normal form uses (Lean's parser takes either)."""

_FUN = frozenset({"fun"})
BINDER_KEYWORDS = frozenset({"∀", "∃", "∃!", "∑", "∏", "⋃", "⋂", "⨆", "⨅", "Π", "Σ"})
"""Keywords that bind names up to a `,` (after the spelling map); `fun` binds up to `=>`."""
_BIG_OPERATORS = frozenset({"∑", "∏", "⋃", "⋂", "⨆", "⨅"})
_PREDICATES = frozenset({"∈", "∉", "<", "≤", ">", "≥", "≠", "⊆", "⊂", "⊇", "⊃", "in"})
_SLOT_BEFORE = frozenset({":", ":=", "=>", ","})
_SLOT_AFTER = frozenset({",", ":=", ";", "|"})
_ATOMIC_KINDS = frozenset({"ident", "number", "string", "char"})
_INFIX = frozenset(
    {
        "=",
        "≠",
        "<",
        ">",
        "≤",
        "≥",
        "+",
        "-",
        "*",
        "/",
        "•",
        "∘",
        "∧",
        "∨",
        "→",
        "↔",
        "∈",
        "∉",
        "⊆",
        "⊂",
        "×",
        "^",
        "%",
        "∣",
    }
)
"""Infix operators: each binds less tightly than function application."""
_NOT_ARGUMENTS = frozenset(
    {
        "fun",
        "if",
        "then",
        "else",
        "match",
        "with",
        "by",
        "do",
        "let",
        "have",
        "show",
        "from",
        "at",
        "calc",
        "∀",
        "∃",
        "λ",
        "forall",
        "exists",
    }
)


@dataclass
class _Group:
    """A bracketed group: the opener, its children (tokens and groups) and the closer."""

    open: Token
    children: "list[_Node]"
    close: Token


_Node: TypeAlias = Token | _Group


@dataclass
class NormalForm:
    """The normal form of a statement and what was normalised to reach it."""

    text: str
    spellings: Counter[str] = field(default_factory=Counter)
    """How often each alternative spelling (a key of `SPELLINGS`) was used."""
    binders: list[str] = field(default_factory=list)
    """The bound names, in the order `§0`, `§1`, ... were given."""
    parens: int = 0
    """How many pairs of redundant parentheses were dropped or binder types parenthesised."""
    free: list[str] = field(default_factory=list)
    """The free identifiers, in order of first occurrence: what the declaration refers to.

    Left out: named-argument labels, names after a `.` (`.dim`, `(e).symm`: resolved from a type)
    and names in a match alternative's pattern (pattern variables)."""
    proof_only: set[str] = field(default_factory=set)
    """The free identifiers that occur only inside `by` blocks (tactics, lemmas of proofs)."""
    patterns: set[str] = field(default_factory=set)
    """The identifiers in match patterns (constructors, and pattern variables used later)."""


def _tree(tokens: Iterable[Token]) -> list[_Node]:
    """Return `tokens` as a forest of groups; an unbalanced bracket stays a plain token."""
    cur: list[_Node] = []
    stack: list[tuple[Token, list[_Node]]] = []
    for t in tokens:
        if t.kind == "open":
            stack.append((t, cur))
            cur = []
        elif t.kind == "close" and stack:
            opener, parent = stack.pop()
            parent.append(_Group(opener, cur, t))
            cur = parent
        else:
            cur.append(t)
    while stack:
        opener, parent = stack.pop()
        parent.append(opener)
        parent.extend(cur)
        cur = parent
    return cur


def _word(n: _Node | None) -> str:
    """Return the spelling-normalised text of an identifier or symbol ("" for anything else)."""
    if n is None or isinstance(n, _Group) or n.kind not in ("ident", "symbol"):
        return ""
    return SPELLINGS.get(n.text, n.text)


def _has_cdot(nodes: Sequence[_Node]) -> bool:
    """Tell whether a `·` belongs to these parentheses (is not inside nested parentheses)."""
    for n in nodes:
        if not isinstance(n, _Group):
            if n.text == "·":
                return True
        elif n.open.text != "(" and _has_cdot(n.children):
            return True
    return False


def _adjacent_dot(close: Token, nxt: _Node | None) -> bool:
    """Tell whether `nxt` starts with `.` right after `close` (`(x).1` keeps its parentheses)."""
    if nxt is None:
        return False
    first = nxt.open if isinstance(nxt, _Group) else nxt
    return first.line == close.line and first.col == close.col + 1 and first.text.startswith(".")


class _Emitter:
    """Write the normal form of a forest, renaming bound names and dropping parentheses."""

    def __init__(self, self_names: set[str]) -> None:
        self.out: list[str] = []
        self.env: dict[str, list[int]] = {}
        self.count = 0
        self.form = NormalForm("")
        self.self_names = self_names
        self._free_seen: set[str] = set()
        self.prev: Token | None = None  # the token emitted last
        self.pattern = 0  # > 0 between a `|` and its `=>`: a match pattern
        self.proof = 0  # > 0 after a `by`: a tactic block

    # -- names ---------------------------------------------------------------------------------

    def bind(self, name: str, pushed: list[str]) -> str:
        """Bind `name` to the next index until the sequence that owns `pushed` ends."""
        if name == "_":
            return "_"
        k = self.count
        self.count += 1
        self.env.setdefault(name, []).append(k)
        pushed.append(name)
        self.form.binders.append(name)
        return f"§{k}"

    def unbind(self, pushed: list[str]) -> None:
        """Undo the bindings in `pushed`."""
        for name in reversed(pushed):
            self.env[name].pop()

    def ident(self, text: str) -> str:
        """Return the normal form of a use of the identifier `text`."""
        if text in self.self_names:
            return "§self"
        head, dot, rest = text.partition(".")
        stack = self.env.get(head)
        if head and stack:
            return f"§{stack[-1]}{dot}{rest}"
        if self.pattern:
            self.form.patterns.add(text)
        if text in _NOT_ARGUMENTS:
            return text  # a keyword, not a name
        if text not in self._free_seen and not self.pattern:
            if self.proof:
                if text not in self.form.free:
                    self.form.free.append(text)
                    self.form.proof_only.add(text)
            else:
                self._free_seen.add(text)
                self.form.proof_only.discard(text)
                if text not in self.form.free:
                    self.form.free.append(text)
        return text

    def leaf(self, t: Token) -> None:
        """Emit one token: spelling normalised, a bound name renamed."""
        prev, self.prev = self.prev, t
        if (
            t.kind == "ident"
            and prev is not None
            and prev.text == "."
            and prev.line == t.line
            and prev.col + 1 == t.col
        ):
            self.out.append(t.text)  # `.dim`, `(e).symm`: found from a type, not by name
        elif t.kind in ("ident", "symbol") and t.text in SPELLINGS:
            self.form.spellings[t.text] += 1
            self.out.append(SPELLINGS[t.text])
        elif t.kind == "ident":
            self.out.append(self.ident(t.text))
        else:
            self.out.append(t.text)

    def buffered(self, nodes: Sequence[_Node]) -> list[str]:
        """Return what emitting `nodes` writes, without writing it."""
        start = len(self.out)
        self.seq(nodes)
        got = self.out[start:]
        del self.out[start:]
        return got

    # -- parentheses ---------------------------------------------------------------------------

    def redundant(self, seq: Sequence[_Node], i: int) -> bool:
        """Tell whether the `(` group at `seq[i]` may be dropped without changing the parse."""
        g = seq[i]
        if not isinstance(g, _Group) or g.open.text != "(" or not g.children:
            return False
        inner = g.children
        if any(_word(n) in (",", ":") for n in inner) or _has_cdot(inner):
            return False
        nxt = seq[i + 1] if i + 1 < len(seq) else None
        if _adjacent_dot(g.close, nxt):
            return False
        if len(inner) == 1:
            only = inner[0]
            if isinstance(only, _Group) or only.kind in _ATOMIC_KINDS:
                return True
        prev = seq[i - 1] if i > 0 else None
        if all(
            isinstance(n, _Group) or (n.kind in _ATOMIC_KINDS and n.text not in _NOT_ARGUMENTS)
            for n in inner
        ):
            # an application `f a b` binds tighter than any infix operator around it
            around = {_word(prev), _word(nxt)}
            if (
                around <= _INFIX | _SLOT_BEFORE | _SLOT_AFTER | {""}
                and (prev is None or _word(prev))
                and (nxt is None or _word(nxt))
            ):
                return True
        before = prev is None or _word(prev) in _SLOT_BEFORE
        if _word(prev) == ",":
            # after a big operator's `,` the body is parsed at a precedence: keep them there
            before = not any(_word(n) in _BIG_OPERATORS for n in seq[:i])
        after = nxt is None or _word(nxt) in _SLOT_AFTER
        return before and after

    # -- binders -------------------------------------------------------------------------------

    def binder_names(self, names: Sequence[_Node], pushed: list[str]) -> list[str]:
        """Bind the names of a binder (tokens; a nested group is emitted as it stands)."""
        out: list[str] = []
        for n in names:
            if isinstance(n, _Group):
                start = len(self.out)
                self.group(n)
                out.extend(self.out[start:])
                del self.out[start:]
            elif n.kind == "ident" or n.text == "_":
                out.append(self.bind(n.text, pushed))
            else:
                out.append(_word(n) or n.text)
        return out

    def binder_group(self, g: _Group, pushed: list[str]) -> None:
        """Emit one bracketed binder `(x y : T)`, `{x}`, `[inst : C]`, `⟨a, b⟩`, binding names."""
        ch = g.children
        colon = next((k for k, n in enumerate(ch) if _word(n) == ":"), -1)
        if g.open.text == "⟨":
            body = [
                x
                for n in ch
                for x in (
                    [n] if isinstance(n, _Group) or n.kind == "ident" or n.text == "_" else []
                )
            ]
            names = self.binder_names(body, pushed)
            self.out.extend([g.open.text, " , ".join(names), g.close.text])
            return
        if g.open.text == "[" and colon != 1:
            self.group(g)  # an anonymous instance binder binds nothing
            return
        typ = self.buffered(ch[colon + 1 :]) if colon >= 0 else []
        names = self.binder_names(ch if colon < 0 else ch[:colon], pushed)
        self.out.append(g.open.text)
        self.out.extend(names)
        if colon >= 0:
            self.out.append(":")
            self.out.extend(typ)
        self.out.append(g.close.text)

    def binder_list(self, items: Sequence[_Node], pushed: list[str]) -> None:
        """Emit the binders of a `fun`/`∀`/... (before its `=>`/`,`), binding their names."""
        colon = next((k for k, n in enumerate(items) if _word(n) == ":"), -1)
        pred = next((k for k, n in enumerate(items) if _word(n) in _PREDICATES), -1)
        if colon >= 0 and (pred < 0 or colon < pred):
            names = items[:colon]
            if all(
                not isinstance(n, _Group) and (n.kind == "ident" or n.text == "_") for n in names
            ):
                # `x y : T` written bare: as if written `(x y : T)`
                self.form.parens += 1
                typ = self.buffered(items[colon + 1 :])
                self.out.append("(")
                self.out.extend(self.binder_names(names, pushed))
                self.out.append(":")
                self.out.extend(typ)
                self.out.append(")")
                return
        if pred >= 0:
            # `∀ x ∈ s, p`: `s` is outside the binder's scope
            rest = self.buffered(items[pred:])
            self.out.extend(self.binder_names(items[:pred], pushed))
            self.out.extend(rest)
            return
        for n in items:
            if isinstance(n, _Group):
                self.binder_group(n, pushed)
            else:
                self.out.extend(self.binder_names([n], pushed))

    # -- sequences -----------------------------------------------------------------------------

    def group(self, g: _Group) -> None:
        """Emit a bracketed group that is not dropped."""
        ch = g.children
        bar = next((k for k, n in enumerate(ch) if _word(n) == "|"), -1)
        first = ch[0] if ch else None
        if (
            g.open.text == "{"
            and bar >= 1
            and first is not None
            and not isinstance(first, _Group)
            and first.kind == "ident"
            and "." not in first.text
            and (bar == 1 or _word(ch[1]) == ":" or _word(ch[1]) in _PREDICATES)
        ):
            # set-builder `{x | p x}`, `{x : T | p x}`, `{x ∈ s | p x}`: `x` bound in `p x`
            pushed: list[str] = []
            typ = self.buffered(ch[1:bar])
            self.out.append(g.open.text)
            self.out.append(self.bind(first.text, pushed))
            self.out.extend(typ)
            self.out.append("|")
            self.seq(ch[bar + 1 :])
            self.unbind(pushed)
            self.out.append(g.close.text)
            return
        self.out.append(g.open.text)
        self.seq(ch, opener=g.open.text)
        self.out.append(g.close.text)

    def seq(self, seq: Sequence[_Node], *, leading_binders: bool = False, opener: str = "") -> None:
        """Emit a sequence; a binder's scope runs to the end of the sequence it stands in."""
        pushed: list[str] = []
        pattern, proof = self.pattern, self.proof
        i = 0
        n_items = len(seq)
        leading = leading_binders
        while i < n_items:
            n = seq[i]
            w = _word(n)
            if w == "by":
                self.proof += 1  # the rest of the sequence is a tactic block
            if w == "|" and not pattern:
                self.pattern += 1  # a match alternative's pattern, up to its `=>`
            elif w == "=>" and self.pattern > pattern:
                self.pattern = pattern
            if leading:
                if isinstance(n, _Group) and n.open.text in ("(", "{", "[", "⦃"):
                    self.binder_group(n, pushed)
                    i += 1
                    continue
                leading = False
            if w == "fun" or w in BINDER_KEYWORDS:
                stop = "=>" if w == "fun" else ","
                end = next((k for k in range(i + 1, n_items) if _word(seq[k]) == stop), -1)
                if end > i + 1 and _word(seq[i + 1]) != "|":
                    self.out.append(w)
                    if w != n.text:  # type: ignore[union-attr]
                        self.form.spellings[n.text] += 1  # type: ignore[union-attr]
                    self.binder_list(seq[i + 1 : end], pushed)
                    self.node(seq, end)
                    i = end + 1
                    continue
            if w in ("let", "have") and i + 1 < n_items:
                nxt = seq[i + 1]
                if not isinstance(nxt, _Group) and nxt.kind == "ident":
                    self.out.append(w)
                    self.out.append(self.bind(nxt.text, pushed))
                    i += 2
                    continue
            if (
                not isinstance(n, _Group)
                and n.kind == "ident"
                and i + 1 < n_items
                and _word(seq[i + 1]) == ":="
                and (
                    (i == 0 and opener in ("(", "{"))
                    or _word(seq[i - 1]) == ","
                    or (n.first_on_line and not self.env.get(n.text))
                )
            ):
                # a label: a named argument `(n := e)`, a structure field `{ toFun := f }`
                self.out.append(n.text)
                self.prev = n
                i += 1
                continue
            self.node(seq, i)
            i += 1
        self.unbind(pushed)
        self.pattern, self.proof = pattern, proof

    def node(self, seq: Sequence[_Node], i: int) -> None:
        """Emit `seq[i]`, dropping its parentheses when they are redundant."""
        n = seq[i]
        if not isinstance(n, _Group):
            self.leaf(n)
        elif self.redundant(seq, i):
            self.form.parens += 1
            only = n.children[0]
            if len(n.children) == 1 and isinstance(only, _Group):
                # `((e))`: the inner group stands where the outer stood
                self.node([*seq[:i], only, *seq[i + 1 :]], i)
            else:
                self.seq(n.children)
        else:
            self.group(n)


def normal_form(
    binders: Sequence[Sequence[Token]],
    signature: Sequence[Token],
    value: Sequence[Token] = (),
    self_names: Iterable[str] = (),
) -> NormalForm:
    """Return the normal form of a declaration: its section-variable binders, signature, value.

    `binders` are the section variables the declaration takes (each one bracketed binder, in
    order); `signature` the tokens after the name up to the body; `value` the body of a
    definition (empty for a theorem: proof irrelevance). Occurrences of `self_names` become
    `§self`, so that a rename keeps the fingerprint.
    """
    e = _Emitter(set(self_names))
    forest: list[_Node] = []
    for b in binders:
        forest.extend(_tree(b))
    forest.extend(_tree(signature))
    forest.extend(_tree(value))
    e.seq(forest, leading_binders=True)
    e.form.text = " ".join(e.out)
    return e.form
