"""A Lean 4 source reader: the declarations of a `.lean` file, their statements and fingerprints.

This is not Lean's parser. It reads enough of Lean 4's surface syntax to list a file's
declarations the way the traceability and drift checks need them:

* the fully qualified name (`namespace` / `section` / `end` resolved, `_root_.` honoured),
* the kind (`def`, `lemma`, `theorem`, `abbrev`, `instance`, `structure`, `class`, `inductive`,
  `axiom`, `opaque`, `notation`), the line of the keyword, modifiers, attributes, doc comment,
* the statement: the signature after the name, up to the `:=`, `where` or line-leading `|` at
  bracket depth 0 that begins the body (a `:=` inside brackets, as in `(n := m)`, does not count),
* the section `variable` binders the declaration uses, added as Lean adds them,
* a fingerprint (`fingerprint`) that survives reformatting, comments, proof edits, renames and
  whatever else Lean's parser identifies (`spec.traceability.lean_normal`), and changes when the
  statement changes,
* the names the statement uses (`refs`, for `spec.traceability.closure`), and the file's scope
  commands: `open`/`export`, namespaces, `variable`s, aliases, and the scopes left open at its end.

One pass over the text makes the tokens (comments, nested block comments and strings handled
there); a second pass over the tokens cuts them into commands; a third walks the commands with a
scope stack. Each pass is linear in the size of the file. Malformed input raises `LeanParseError`
(with the line) and nothing else.

Command boundaries: declaration and scope keywords (`def`, `lemma`, `end`, `variable`, ...) start a
command wherever they stand at bracket depth 0, since Lean reserves them for commands; `open`,
`set_option`, `attribute`, `export`, `import`, `module` and `#...` also occur inside proofs, so they
start a command only in column 0. A doc comment, `@[...]` or a modifier (`private`,
`noncomputable`, ...) starts a command only when the chain it begins ends in a command keyword.

The fingerprint is the first 16 hex digits of the sha256 of the normal form
(`spec.traceability.lean_normal.normal_form`) of: the section variables the declaration takes (one
binder per name, in the order declared), the signature, and, for every kind but `theorem` and
`lemma`, the body. A definition's value is part of what it states (a mirror computes it), and two
definitions of the same type, like MlpMse's `z1` and `a1` (`: Vec hidDim`), differ only there; a
proof is not (proof irrelevance). Comments and doc comments are dropped, the declaration's own name
(as written and fully qualified) is replaced by a placeholder. Attributes, modifiers and the kind
keyword are left out, so `lemma` ↔ `theorem` and `def` ↔ `abbrev` keep the fingerprint;
`spec.traceability.drift` treats the first pair as one kind and reports the second as a kind change.

Limits. Nothing is elaborated: notations and macros are not expanded, `open` does not resolve names,
auto-bound implicits are not added, and a section variable counts as used when its name occurs (so a
bound name in the statement that shadows a variable over-approximates). A `|` ends a signature only
when it leads its line, so a statement line that begins with `|x|` (absolute value) would be cut
there, as would a `match` at bracket depth 0 in a signature; a `:=` after `let`/`have` at depth 0 in
a signature is skipped. Anonymous instances are named `«instance <8 hex digits of the fingerprint>»`
(Lean's generated names need elaboration); notation names are built from their atoms as Lean does
(`«termVJP[_,_]»`); private names are not mangled. Errors detected (text Lean rejects): unterminated
comment, string or «name»; unbalanced brackets; an `end` that closes nothing or the wrong scope; a
declaration without a name or without a body; a name declared twice (aliases included); a file that
ends inside a term or a proof (after `by`, `:=`, an operator, ...) or inside a `calc` whose last
step has no `:= proof`. A scope left open at the end is not an error here (Lean accepts it);
`spec.traceability.drift` compares it with the recorded file. Other malformed text (a garbled term)
is accepted as it stands.
"""

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .lean_normal import SPELLINGS, normal_form
from .lean_token import Token

__all__ = [
    "LeanParseError",
    "Token",
    "Declaration",
    "LeanFile",
    "tokenize",
    "normalize",
    "parse",
    "parse_file",
    "THEOREM_KINDS",
    "FINGERPRINT_LENGTH",
]

FINGERPRINT_LENGTH = 16
"""Hex digits of sha256 kept in a fingerprint."""

THEOREM_KINDS = frozenset({"theorem", "lemma"})
"""Kinds whose body is a proof: it is left out of the fingerprint (proof irrelevance).

For every other kind (`def`, `abbrev`, `instance`, `structure`, `inductive`, ...) the body is the
definition's value, which a mirror computes, so it is part of the fingerprint.
"""


class LeanParseError(ValueError):
    """The Lean text is malformed or truncated: `line` is 1-based, `path` the file if known."""

    def __init__(self, line: int, message: str, path: str | None = None) -> None:
        self.line = line
        self.message = message
        self.path = path
        super().__init__(f"{path or '<lean text>'}:{line}: {message}")

    def with_path(self, path: str) -> "LeanParseError":
        """Return the same error, naming `path` as the file."""
        return LeanParseError(self.line, self.message, path)


# --------------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------------

# Lean 4's identifier characters (Lean's `isLetterLike`, `isSubScriptAlnum`, ASCII `isAlpha`).
_LETTER_LIKE = (
    "\u03b1-\u03ba\u03bc-\u03c9"  # lower Greek without λ
    "\u0391-\u039f\u03a1\u03a2\u03a4-\u03a9"  # upper Greek without Π, Σ
    "\u03ca-\u03fb\u1f00-\u1ffe\u2100-\u214f\U0001d49c-\U0001d59f"
)
_ID_FIRST = "A-Za-z_" + _LETTER_LIKE
_ID_REST = _ID_FIRST + "0-9'!?\u2080-\u2089\u2090-\u209c\u1d62-\u1d6a"
_ATOM = f"(?:[{_ID_FIRST}][{_ID_REST}]*|«[^»]*»)"
_IDENT_RE = re.compile(f"{_ATOM}(?:\\.{_ATOM})*")
_NUMBER_RE = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
)
_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_RAW_STRING_RE = re.compile(r'r(#*)"')
_CHAR_RE = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|[^\n])|[^\\'\n])'")
_SPACE_RE = re.compile(r"[^\S\n]+")
_COMMENT_MARK_RE = re.compile(r"/-|-/")
_MULTI_SYMBOLS = (
    ":=",
    "::",
    "=>",
    "<|>",
    "<|",
    "|>.",
    "|>",
    "||",
    "..",
    "<->",
    "->",
    "<-",
    "<=",
    ">=",
    "/\\",
    "\\/",
    "<;>",
)
_OPENERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄", "⟦": "⟧", "⟪": "⟫"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


def tokenize(text: str) -> list[Token]:
    """Return the tokens of `text`; comments are dropped except doc comments (kind `doc`).

    Raise `LeanParseError` on an unterminated comment, string or «name», and on unbalanced
    brackets (a closer with no opener, a closer of the wrong kind, an opener never closed).
    """
    toks: list[Token] = []
    stack: list[tuple[str, int]] = []  # open brackets: (char, line)
    n = len(text)
    pos = 0
    line = 1
    line_start = 0
    last_line = 0  # line of the previous token, to compute `first_on_line`

    def add(kind: str, tok_text: str, tok_line: int, col: int, depth: int) -> None:
        nonlocal last_line
        toks.append(
            Token(
                kind,
                tok_text,
                tok_line,
                col,
                tok_line != last_line,
                depth,
                line_start + col if tok_line == line else -1,
            )
        )
        last_line = tok_line

    while pos < n:
        c = text[pos]
        if c == "\n":
            line += 1
            pos += 1
            line_start = pos
            continue
        if c.isspace():
            m = _SPACE_RE.match(text, pos)
            pos = m.end() if m else pos + 1
            continue
        if c == "-" and text.startswith("--", pos):
            end = text.find("\n", pos)
            pos = n if end < 0 else end
            continue
        if c == "/" and text.startswith("/-", pos):
            start, start_line, col = pos, line, pos - line_start
            is_doc = text.startswith("/--", pos) and not text.startswith("/--/", pos)
            is_mod = text.startswith("/-!", pos)
            depth = 1
            scan = pos + 2
            while depth:
                m = _COMMENT_MARK_RE.search(text, scan)
                if m is None:
                    raise LeanParseError(
                        start_line, "unterminated comment: `/-` opened here has no closing `-/`"
                    )
                depth += 1 if m.group() == "/-" else -1
                scan = m.end()
            newlines = text.count("\n", start, scan)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", start, scan) + 1
            pos = scan
            if is_doc and not is_mod:
                add("doc", text[start + 3 : scan - 2].strip(), start_line, col, len(stack))
                last_line = line  # a token after it on its last line does not lead that line
            continue
        col = pos - line_start
        if c == '"' or (c == "r" and _RAW_STRING_RE.match(text, pos)):
            if c == '"':
                m = _STRING_RE.match(text, pos)
                end = m.end() if m else -1
            else:
                rm = _RAW_STRING_RE.match(text, pos)
                assert rm is not None
                close = '"' + rm.group(1)
                found = text.find(close, rm.end())
                end = -1 if found < 0 else found + len(close)
            if end < 0:
                raise LeanParseError(line, 'unterminated string literal: add the closing `"`')
            s = text[pos:end]
            add("string", s, line, col, len(stack))
            newlines = s.count("\n")
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, end) + 1
                last_line = line
            pos = end
            continue
        if c == "«" or _IDENT_RE.match(text, pos):
            m = _IDENT_RE.match(text, pos)
            if m is None:
                raise LeanParseError(line, "unterminated «name»: add the closing `»`")
            s = m.group()
            add("ident", s, line, col, len(stack))
            newlines = s.count("\n")
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, m.end()) + 1
                last_line = line
            pos = m.end()
            continue
        if c.isdigit() and c.isascii():
            m = _NUMBER_RE.match(text, pos)
            end = m.end() if m else pos + 1
            add("number", text[pos:end], line, col, len(stack))
            pos = end
            continue
        if c == "'":
            m = _CHAR_RE.match(text, pos)
            if m is not None:
                add("char", m.group(), line, col, len(stack))
                pos = m.end()
                continue
        if c in _OPENERS:
            add("open", c, line, col, len(stack))
            stack.append((c, line))
            pos += 1
            continue
        if c in _CLOSERS:
            if not stack:
                raise LeanParseError(line, f"unbalanced `{c}`: no open `{_CLOSERS[c]}` to close")
            opener, open_line = stack.pop()
            if _OPENERS[opener] != c:
                raise LeanParseError(
                    line,
                    f"mismatched `{c}`: the innermost open bracket is `{opener}` from line "
                    f"{open_line}, closed by `{_OPENERS[opener]}`",
                )
            add("close", c, line, col, len(stack))
            pos += 1
            continue
        for sym in _MULTI_SYMBOLS:
            if text.startswith(sym, pos):
                add("symbol", sym, line, col, len(stack))
                pos += len(sym)
                break
        else:
            add("symbol", c, line, col, len(stack))
            pos += 1
    if stack:
        opener, open_line = stack[-1]
        raise LeanParseError(
            open_line,
            f"unclosed `{opener}`: no matching `{_OPENERS[opener]}` before the end of the file "
            "(truncated file?)",
        )
    return toks


def normalize(text: str) -> str:
    """Return `text` as its tokens joined by single spaces: whitespace and comments do not count."""
    return " ".join(t.text for t in tokenize(text) if t.kind != "doc")


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

_DECL_KEYWORDS = frozenset(
    {
        "def",
        "theorem",
        "lemma",
        "abbrev",
        "instance",
        "structure",
        "class",
        "inductive",
        "axiom",
        "opaque",
        "example",
    }
)
_NOTATION_KEYWORDS = frozenset({"notation", "infix", "infixl", "infixr", "prefix", "postfix"})
_OTHER_KEYWORDS = frozenset(
    {
        "namespace",
        "section",
        "end",
        "mutual",
        "variable",
        "universe",
        "include",
        "omit",
        "deriving",
        "macro",
        "macro_rules",
        "syntax",
        "elab",
        "elab_rules",
        "declare_syntax_cat",
        "initialize",
        "builtin_initialize",
        "add_decl_doc",
        "alias",
    }
)
_UNAMBIGUOUS = _DECL_KEYWORDS | _NOTATION_KEYWORDS | _OTHER_KEYWORDS
# Also used inside proofs and terms (`open Foo in`, `set_option ... in`): commands in column 0 only.
_COLUMN0 = frozenset(
    {"open", "set_option", "attribute", "export", "import", "module", "run_cmd", "#"}
)
_MODIFIERS = frozenset(
    {"private", "protected", "noncomputable", "partial", "unsafe", "nonrec", "public", "meta"}
)
_SCOPE_MODIFIERS = frozenset({"scoped", "local"})
_NAMED_KINDS = frozenset(
    {"def", "theorem", "lemma", "abbrev", "structure", "class", "inductive", "axiom", "opaque"}
)
_NEEDS_BODY = frozenset({"def", "theorem", "lemma", "abbrev", "instance"})


def _word(t: Token) -> str:
    """Return the keyword-comparable text of `t` ("" for strings, docs and the like)."""
    return t.text if t.kind in ("ident", "symbol") else ""


def _partners(toks: Sequence[Token]) -> list[int]:
    """Return, for each opener, the index of its closer (and -1 for every other token)."""
    out = [-1] * len(toks)
    stack: list[int] = []
    for i, t in enumerate(toks):
        if t.kind == "open":
            stack.append(i)
        elif t.kind == "close" and stack:
            out[stack.pop()] = i
    return out


def _chain_ends(toks: Sequence[Token], partner: Sequence[int]) -> list[int]:
    """For each index, return where a chain of `@[..]`, modifiers and `scoped[..]` from it ends.

    Computed right to left so that the whole table costs one pass.
    """
    n = len(toks)
    end = list(range(n + 1))
    for i in range(n - 1, -1, -1):
        t = toks[i]
        w = _word(t)
        nxt = toks[i + 1] if i + 1 < n else None
        if w == "@" and nxt is not None and nxt.text == "[" and nxt.kind == "open":
            close = partner[i + 1]
            end[i] = end[close + 1] if close >= 0 else i
        elif w in _MODIFIERS:
            end[i] = end[i + 1]
        elif w in _SCOPE_MODIFIERS:
            if nxt is not None and nxt.kind == "open" and nxt.text == "[" and partner[i + 1] >= 0:
                end[i] = end[partner[i + 1] + 1]
            else:
                end[i] = end[i + 1]
    return end


def _is_keyword(toks: Sequence[Token], i: int) -> bool:
    """Tell whether token `i` is a command keyword (in any column)."""
    if i >= len(toks):
        return False
    w = _word(toks[i])
    return w in _UNAMBIGUOUS or w in _COLUMN0


def _command_starts(toks: Sequence[Token], partner: Sequence[int]) -> list[int]:
    """Return the indices of the tokens that begin a command."""
    ends = _chain_ends(toks, partner)
    starts: list[int] = []
    inside_chain_until = -1
    prev_word = ""
    for i, t in enumerate(toks):
        if t.depth != 0 or i < inside_chain_until:
            prev_word = _word(t)
            continue
        w = _word(t)
        start = False
        if t.kind == "doc":
            j = ends[i + 1] if i + 1 < len(toks) else i + 1
            start = _is_keyword(toks, j)
            if start:
                inside_chain_until = j + 1
        elif w == "@" or w in _MODIFIERS or w in _SCOPE_MODIFIERS:
            j = ends[i]
            start = j > i and _is_keyword(toks, j)
            if start:
                inside_chain_until = j + 1
        elif w in _UNAMBIGUOUS:
            start = not (w == "instance" and prev_word == "deriving")
        elif w in _COLUMN0:
            start = t.col == 0
        if start:
            starts.append(i)
        prev_word = w
    return starts


# --------------------------------------------------------------------------------------------
# Declarations, variables and scopes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """One declaration of a Lean file, with the facts the traceability and drift checks use."""

    name: str
    """Fully qualified name (namespaces resolved; `_root_.` removed)."""
    kind: str
    line: int
    """Line of the keyword (`def`, `lemma`, ...), 1-based."""
    end_line: int
    statement: str
    """The signature after the name, tokens joined by single spaces; no body, no comments."""
    variables: tuple[str, ...]
    """The section `variable` binders the declaration takes, in order, one binder per name."""
    modifiers: tuple[str, ...]
    attributes: tuple[str, ...]
    doc: str | None
    fingerprint: str
    """sha256 prefix of the statement's normal form (`spec.traceability.lean_normal`)."""
    body_hash: str
    """sha256 prefix of the normalised body (the proof of a theorem, the value of a definition)."""
    namespace: str = ""
    """The namespace the declaration stands in."""
    opens: tuple[str, ...] = ()
    """The namespaces opened where the declaration stands (`open` commands in scope), in order."""
    spellings: tuple[tuple[str, int], ...] = ()
    """The alternative spellings the statement uses, with counts (`lean_normal.SPELLINGS`)."""
    binders: tuple[str, ...] = ()
    """The statement's bound names, in order (what alpha-equivalence renames)."""
    parens: int = 0
    """Redundant parentheses the normal form dropped (or binder types it parenthesised)."""
    layout: str = ""
    """sha256 prefix of the statement's source text as written (line breaks, comments)."""
    refs: tuple[str, ...] = ()
    """The names the statement (and a definition's value) uses, unresolved (`NormalForm.free`)."""
    local_refs: frozenset[str] = frozenset()
    """Those of `refs` used only inside `by` blocks, or bound by a match pattern."""
    normal: str = ""
    """The statement's normal form, whose hash is `fingerprint`."""

    @property
    def visibility(self) -> str:
        """Return `private`, `protected` or `public`."""
        for m in ("private", "protected"):
            if m in self.modifiers:
                return m
        return "public"

    @property
    def short_name(self) -> str:
        """Return the last component of the name (a «guillemet» component may hold dots)."""
        return _components(self.name)[-1]

    @property
    def full_statement(self) -> str:
        """Return the statement with the section variables it uses prepended, as Lean sees it."""
        return " ".join((*self.variables, self.statement)).strip()


@dataclass(frozen=True)
class LeanFile:
    """The declarations of one parsed Lean file, in file order."""

    path: str | None
    declarations: tuple[Declaration, ...]
    lines: int
    opens: "tuple[OpenCommand, ...]" = ()
    namespaces: tuple[str, ...] = ()
    """Every namespace the file enters, fully qualified, in order of first entry."""
    variables: "tuple[VariableCommand, ...]" = ()
    aliases: "tuple[Alias, ...]" = ()
    open_at_end: "tuple[OpenScope, ...]" = ()
    """The scopes still open at the end of the file, outermost first."""

    def get(self, name: str) -> Declaration | None:
        """Return the declaration with fully qualified `name`, or None."""
        for d in self.declarations:
            if d.name == name:
                return d
        return None

    def names(self) -> list[str]:
        return [d.name for d in self.declarations]


@dataclass(frozen=True)
class OpenCommand:
    """An `open` or `export` command: its line, its text (tokens), the namespace it stands in."""

    line: int
    text: str
    namespace: str
    names: tuple[str, ...]
    """The namespaces it opens (for `open A (x)` and `open A hiding x`, `A`)."""
    only_next: bool = False
    """`open ... in`: it applies to the next command only."""
    explicit: tuple[str, ...] = ()
    """The names listed in parentheses (`open A (x y)`, `export A (x y)`)."""


@dataclass(frozen=True)
class VariableCommand:
    """A `variable` command: its line, the names it binds, and a hash of its normal form."""

    line: int
    names: tuple[str, ...]
    fingerprint: str


@dataclass(frozen=True)
class Alias:
    """An `alias` command: the fully qualified new name, its target as written, the line."""

    name: str
    target: str
    line: int


@dataclass(frozen=True)
class OpenScope:
    """A `namespace` or `section` (or `mutual`) open at some point: kind, header, line."""

    kind: str
    header: str | None
    line: int


@dataclass
class _Var:
    name: str | None  # None: an anonymous instance binder `[C α]`
    text: str
    deps: frozenset[str]


@dataclass
class _Scope:
    kind: str  # "namespace", "section", "mutual", or "file" for the bottom scope
    header: str | None
    line: int
    prefix: str  # the namespace inside this scope
    n_vars: int  # how many variables were visible when the scope opened
    n_opens: int = 0  # how many `open`s were in force when the scope opened
    undo: list[tuple[str, str, int]] = field(default_factory=list)


class _Context:
    """The open scopes while the commands are walked: namespace, visible variables, includes.

    Every update is logged in the innermost scope and undone when it closes, so that each
    declaration costs time in proportion to what it mentions, not to everything in scope.
    """

    def __init__(self) -> None:
        self.scopes = [_Scope("file", None, 0, "", 0)]
        self.vars: list[_Var] = []
        self.last: dict[str, int] = {}  # variable name -> index of its latest binder
        self.by_dep: dict[str, list[int]] = {}  # name -> instance binders whose type mentions it
        self.included: dict[str, int] = {}  # `include`d names -> how many scopes include them
        self.opens: list[str] = []  # namespaces opened, in order

    @property
    def namespace(self) -> str:
        return self.scopes[-1].prefix

    def open(self, kind: str, header: str | None, line: int) -> None:
        prefix = self.namespace
        if kind == "namespace" and header:
            prefix = f"{prefix}.{header}" if prefix else header
        self.scopes.append(_Scope(kind, header, line, prefix, len(self.vars), len(self.opens)))

    def close(self) -> None:
        scope = self.scopes.pop()
        for what, key, value in reversed(scope.undo):
            table = self.last if what == "last" else self.included
            if what == "dep":
                self.by_dep[key].pop()
            elif value < 0:
                del table[key]
            else:
                table[key] = value
        del self.vars[scope.n_vars :]
        del self.opens[scope.n_opens :]

    def add(self, var: _Var) -> None:
        index = len(self.vars)
        self.vars.append(var)
        log = self.scopes[-1].undo
        if var.name is not None:
            log.append(("last", var.name, self.last.get(var.name, -1)))
            self.last[var.name] = index
        else:
            for d in var.deps:
                self.by_dep.setdefault(d, []).append(index)
                log.append(("dep", d, 0))

    def include(self, names: Iterable[str], on: bool) -> None:
        log = self.scopes[-1].undo
        for name in names:
            before = self.included.get(name, -1)
            if on:
                log.append(("included", name, before))
                self.included[name] = max(before, 0) + 1
            elif before >= 0:
                log.append(("included", name, before))
                del self.included[name]

    def used(self, mentioned: set[str], own_binders: set[str]) -> tuple[str, ...]:
        """Return the texts of the variables a declaration takes, as Lean decides it.

        A named variable is taken when the declaration mentions it (and does not rebind the
        name), when an `include` names it, or when the type of a taken variable mentions it.
        An instance binder is taken when every variable its type mentions is taken (and it
        mentions one).
        """
        last = self.last
        taken: set[str] = set()
        work = [nm for nm in mentioned if nm in last and nm not in own_binders]
        work.extend(nm for nm in self.included if nm in last)
        while work:
            nm = work.pop()
            if nm in taken:
                continue
            taken.add(nm)
            work.extend(d for d in self.vars[last[nm]].deps if d in last and d not in taken)
        chosen = {last[nm] for nm in taken}
        for nm in taken:
            for k in self.by_dep.get(nm, ()):
                deps = {d for d in self.vars[k].deps if d in last}
                if deps <= taken:
                    chosen.add(k)
        return tuple(self.vars[k].text for k in sorted(chosen))


_COMPONENT_RE = re.compile(r"«[^»]*»|[^.«]+")


def _components(name: str) -> list[str]:
    """Return the components of a dotted name; a «guillemet» component may contain dots."""
    return _COMPONENT_RE.findall(name)


def _canon(seq: Sequence[Token], self_names: set[str]) -> str:
    """Return the tokens of `seq` joined by spaces, the declaration's own name replaced."""
    return " ".join("§self" if t.text in self_names else t.text for t in seq)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def _first_components(toks: Iterable[Token]) -> set[str]:
    """Return the first components of the identifiers in `toks`, skipping named arguments."""
    out: set[str] = set()
    prev: Token | None = None
    seq = list(toks)
    for k, t in enumerate(seq):
        if t.kind == "ident":
            named_arg = (
                prev is not None
                and prev.text == "("
                and k + 1 < len(seq)
                and seq[k + 1].text == ":="
            )
            if not named_arg:
                out.add(_components(t.text)[0])
        prev = t
    return out


def _binder_groups(
    toks: Sequence[Token], partner: Sequence[int], lo: int, hi: int, leading_only: bool
) -> Iterator[tuple[str, list[str], list[Token]]]:
    """Yield the binder groups in toks[lo:hi] as (opener, names, type tokens).

    With `leading_only`, stop at the first token that is not a binder group (the `:` of a
    signature). Only (), {}, [] and ⦃⦄ groups are binders; `{{ }}` counts as `{ }`.
    """
    i = lo
    while i < hi:
        t = toks[i]
        close = partner[i] if t.kind == "open" else -1
        if t.kind != "open" or t.text not in "({[⦃" or close < 0 or close >= hi:
            if leading_only:
                return
            i += 1
            continue
        inner = list(toks[i + 1 : close])
        depth = t.depth + 1
        if t.text == "{" and len(inner) >= 2 and inner[0].text == "{" and inner[-1].text == "}":
            inner = inner[1:-1]
            depth += 1
        colon = next((k for k, x in enumerate(inner) if x.text == ":" and x.depth == depth), -1)
        if t.text == "[":
            if colon == 1 and inner[0].kind == "ident":
                yield "[", [inner[0].text], inner[2:]
            else:
                yield "[", [], inner
        else:
            head = inner if colon < 0 else inner[:colon]
            names = [x.text for x in head if x.kind == "ident" or x.text == "_"]
            rest = [] if colon < 0 else inner[colon + 1 :]
            default = next(
                (k for k, x in enumerate(rest) if x.text == ":=" and x.depth == depth), -1
            )
            if default >= 0:
                rest = rest[:default]
            yield t.text, names, rest
        i = close + 1


def _parse_variables(toks: Sequence[Token], partner: Sequence[int], lo: int, hi: int) -> list[_Var]:
    """Return the binders of a `variable` command, one `_Var` per name."""
    out: list[_Var] = []
    for opener, names, typ in _binder_groups(toks, partner, lo, hi, leading_only=False):
        closer = _OPENERS[opener]
        typ_text = " ".join(x.text for x in typ if x.kind != "doc")
        deps = frozenset(_first_components(typ))
        if opener == "[":
            label = f"{names[0]} : " if names else ""
            out.append(_Var(names[0] if names else None, f"[{label}{typ_text}]", deps))
            continue
        for nm in names:
            text = f"{opener}{nm} : {typ_text}{closer}" if typ else f"{opener}{nm}{closer}"
            out.append(_Var(nm, text, deps))
    return out


def _notation_name(toks: Sequence[Token], lo: int, hi: int, kind: str) -> str:
    """Return Lean's automatic name for a notation command, e.g. `termVJP[_,_]`."""
    j = lo
    if j < hi and toks[j].text == ":":  # precedence `notation:65`
        j += 2
    if j < hi and toks[j].text == "(" and j + 2 < hi and toks[j + 1].text == "name":
        k = j + 3
        if k < hi and toks[k].kind == "ident":
            return toks[k].text
    parts: list[str] = []
    while j < hi and toks[j].text != "=>":
        t = toks[j]
        if t.depth == toks[lo - 1].depth:
            if t.kind == "string":
                parts.append(t.text[1:-1].strip())
            elif t.kind == "ident":
                parts.append("_")
            elif t.text == ":":
                j += 1  # skip the precedence after `x:max`
        j += 1
    atoms = "".join(parts)
    if kind in ("infix", "infixl", "infixr"):
        atoms = f"_{atoms}_"
    elif kind == "prefix":
        atoms = f"{atoms}_"
    elif kind == "postfix":
        atoms = f"_{atoms}"
    return f"«term{atoms}»"


def parse(text: str, path: str | None = None) -> LeanFile:
    """Return the declarations of the Lean 4 source `text`.

    Raise `LeanParseError` (naming `path` if given) on malformed or truncated text: an
    unterminated comment or string, unbalanced brackets, an `end` that does not match the open
    `namespace`/`section`, a declaration without a name or without a body.
    """
    try:
        return _parse(text, path)
    except LeanParseError as exc:
        if path is None:
            raise
        raise exc.with_path(path) from None


def parse_file(path: str | Path) -> LeanFile:
    """Read and parse the Lean file at `path` (UTF-8); `OSError`/`UnicodeDecodeError` propagate."""
    p = Path(path)
    return parse(p.read_text(encoding="utf-8"), str(path))


def _parse(text: str, path: str | None) -> LeanFile:
    toks = tokenize(text)
    partner = _partners(toks)
    starts = _command_starts(toks, partner)
    ends = _chain_ends(toks, partner)
    ctx = _Context()
    decls: list[Declaration] = []
    n_lines = text.count("\n") + 1
    seen: dict[str, int] = {}  # fully qualified name -> line of its declaration
    opens: list[OpenCommand] = []
    namespaces: list[str] = []
    variables: list[VariableCommand] = []
    aliases: list[Alias] = []
    open_in: list[str] = []  # `open X in`: opens for the next command only

    def declare(name: str, line: int) -> None:
        first = seen.get(name)
        if first is not None:
            raise LeanParseError(
                line,
                f"`{name}` is declared twice (lines {first} and {line}): Lean rejects the file "
                '("has already been declared"); remove or rename one of the copies',
            )
        seen[name] = line

    bounds = list(zip(starts, [*starts[1:], len(toks)], strict=False))
    for lo, hi in bounds:
        # Prefix: doc comment, attributes, modifiers.
        i = lo
        doc: str | None = None
        if toks[i].kind == "doc":
            doc = toks[i].text
            i += 1
        kw_index = ends[i] if i < len(toks) else i
        attributes: list[str] = []
        modifiers: list[str] = []
        j = i
        while j < kw_index:
            t = toks[j]
            if t.text == "@" and j + 1 < kw_index and partner[j + 1] >= 0:
                close = partner[j + 1]
                group = toks[j + 2 : close]
                cur: list[str] = []
                for x in group:
                    if x.text == "," and x.depth == t.depth + 1:
                        attributes.append(" ".join(cur))
                        cur = []
                    else:
                        cur.append(x.text)
                if cur:
                    attributes.append(" ".join(cur))
                j = close + 1
            elif t.text in _SCOPE_MODIFIERS and j + 1 < kw_index and toks[j + 1].text == "[":
                close = partner[j + 1]
                modifiers.append(t.text + "[" + " ".join(x.text for x in toks[j + 2 : close]) + "]")
                j = close + 1
            else:
                modifiers.append(t.text)
                j += 1
        kw = toks[kw_index]
        word = _word(kw)
        after = kw_index + 1
        for_next, open_in = open_in, []

        if word == "namespace":
            if after >= hi or toks[after].kind != "ident":
                raise LeanParseError(kw.line, "`namespace` without a name: write `namespace Name`")
            for comp in _components(toks[after].text):
                ctx.open("namespace", comp, kw.line)
                if ctx.namespace not in namespaces:
                    namespaces.append(ctx.namespace)
            continue
        if word == "section":
            if after < hi and toks[after].kind == "ident" and toks[after].line == kw.line:
                for comp in _components(toks[after].text):
                    ctx.open("section", comp, kw.line)
            else:
                ctx.open("section", None, kw.line)
            continue
        if word == "mutual":
            ctx.open("mutual", None, kw.line)
            continue
        if word == "end":
            named = after < hi and toks[after].kind == "ident" and toks[after].line == kw.line
            comps: list[str | None] = [*_components(toks[after].text)] if named else [None]
            for want in reversed(comps):
                if len(ctx.scopes) == 1:
                    raise LeanParseError(
                        kw.line,
                        f"`end{' ' + toks[after].text if named else ''}` closes nothing: no "
                        "`namespace`, `section` or `mutual` is open here",
                    )
                top = ctx.scopes[-1]
                if top.header != want:
                    opened = (
                        f"`{top.kind} {top.header}`" if top.header else f"anonymous `{top.kind}`"
                    )
                    wanted = f"`end {top.header}`" if top.header else "`end`"
                    got = f"`end {toks[after].text}`" if named else "`end`"
                    raise LeanParseError(
                        kw.line,
                        f"{got} does not match the innermost open scope, {opened} from line "
                        f"{top.line}; close it with {wanted}",
                    )
                ctx.close()
            continue
        if word == "variable":
            parsed = _parse_variables(toks, partner, after, hi)
            for var in parsed:
                ctx.add(var)
            variables.append(
                VariableCommand(
                    kw.line,
                    tuple(v.name for v in parsed if v.name is not None),
                    _hash(_spelled(toks[after:hi])),
                )
            )
            continue
        if word in ("open", "export"):
            names: list[str] = []
            explicit = tuple(
                t.text for t in toks[after:hi] if t.depth == kw.depth + 1 and t.kind == "ident"
            )
            for t in toks[after:hi]:
                if t.depth != kw.depth or t.text in ("hiding", "renaming", "in"):
                    if t.text in ("hiding", "renaming"):
                        break
                    continue
                if t.kind == "ident" and t.text != "scoped":
                    names.append(t.text)
            only_next = hi > after and toks[hi - 1].text == "in"
            opens.append(
                OpenCommand(
                    kw.line,
                    _spelled(toks[kw_index:hi]),
                    ctx.namespace,
                    tuple(names),
                    only_next,
                    explicit,
                )
            )
            if only_next:
                open_in = names
            elif word == "open":
                ctx.opens.extend(names)
            continue
        if word == "alias":
            j = after
            new: list[str] = []
            if j < hi and toks[j].text == "⟨":
                close = partner[j]
                new = [t.text for t in toks[j + 1 : close] if t.kind == "ident"]
                j = close + 1
            elif j < hi and toks[j].kind == "ident":
                new = [toks[j].text]
                j += 1
            target = " ".join(t.text for t in toks[j + 1 : hi]) if j < hi else ""
            for nm in new:
                fq_alias = (
                    nm[len("_root_.") :]
                    if nm.startswith("_root_.")
                    else f"{ctx.namespace}.{nm}"
                    if ctx.namespace
                    else nm
                )
                declare(fq_alias, kw.line)
                aliases.append(Alias(fq_alias, target, kw.line))
            continue
        if word in ("include", "omit"):
            ctx.include((t.text for t in toks[after:hi] if t.kind == "ident"), word == "include")
            continue
        if word in _NOTATION_KEYWORDS:
            prefix = ctx.namespace
            short = _notation_name(toks, after, hi, word)
            sig = [t for t in toks[after:hi] if t.kind != "doc"]
            stmt = " ".join(t.text for t in sig)
            decls.append(
                Declaration(
                    name=f"{prefix}.{short}" if prefix else short,
                    kind="notation",
                    line=kw.line,
                    end_line=toks[hi - 1].line,
                    statement=stmt,
                    variables=(),
                    modifiers=tuple(modifiers),
                    attributes=tuple(attributes),
                    doc=doc,
                    fingerprint=_hash("notation\u241e" + _spelled(sig)),
                    body_hash=_hash(""),
                    namespace=prefix,
                    opens=(*ctx.opens, *for_next),
                    refs=_notation_refs(sig),
                )
            )
            continue
        if word not in _DECL_KEYWORDS or word == "example":
            continue

        kind = word
        k = after
        if kind == "class" and k < hi and toks[k].text in ("inductive", "abbrev"):
            k += 1
        written: str | None = None
        if kind == "instance":
            if k < hi and toks[k].text == "(" and k + 1 < hi and toks[k + 1].text == "priority":
                k = partner[k] + 1
            if k < hi and toks[k].kind == "ident":
                written = toks[k].text
                k += 1
        else:
            if k >= hi or toks[k].kind != "ident":
                raise LeanParseError(kw.line, f"`{kind}` without a name: write `{kind} Name ...`")
            written = toks[k].text
            k += 1

        # Signature: up to `:=` / `where` / line-leading `|` at depth 0.
        sig_end = hi
        pending_let = 0
        for m in range(k, hi):
            t = toks[m]
            if t.depth != 0 or t.kind not in ("ident", "symbol"):
                continue
            if t.text in ("let", "have"):
                pending_let += 1
            elif t.text == ":=":
                if pending_let:
                    pending_let -= 1
                    continue
                sig_end = m
                break
            elif t.text == "where" or (t.text == "|" and t.first_on_line):
                sig_end = m
                break
        if sig_end == hi and kind in _NEEDS_BODY:
            raise LeanParseError(
                kw.line,
                f"`{kind} {written or ''}` has no body (`:=`, `where` or `|`) before "
                f"{'the next command' if hi < len(toks) else 'the end of the file'}: the "
                "declaration is incomplete (truncated file?)",
            )
        sig = [t for t in toks[k:sig_end] if t.kind != "doc"]
        body = [t for t in toks[sig_end:hi] if t.kind != "doc"]

        prefix = ctx.namespace
        if written is None:
            fq = ""
        elif written.startswith("_root_."):
            fq = written[len("_root_.") :]
        else:
            fq = f"{prefix}.{written}" if prefix else written

        own_binders: set[str] = set()
        for _opener, bound, _typ in _binder_groups(toks, partner, k, sig_end, leading_only=True):
            own_binders.update(bound)
        scanned = sig if kind in THEOREM_KINDS else sig + body
        used = ctx.used(_first_components(scanned), own_binders)

        self_names = {written, fq} if written else set()
        form = normal_form(
            [tokenize(v) for v in used], sig, () if kind in THEOREM_KINDS else body, self_names
        )
        fingerprint = _hash(form.text)
        if written is None:  # anonymous instance: Lean invents a name; ours is stable
            anonymous = f"«instance {fingerprint[:8]}»"
            fq = f"{prefix}.{anonymous}" if prefix else anonymous
        else:
            declare(fq, kw.line)
        stop = toks[sig_end].offset if sig_end < len(toks) else len(text)
        layout = text[kw.offset : stop].rstrip() if kw.offset >= 0 and stop >= 0 else ""
        decls.append(
            Declaration(
                name=fq,
                kind=kind,
                line=kw.line,
                end_line=toks[hi - 1].line,
                statement=" ".join(t.text for t in sig),
                variables=used,
                modifiers=tuple(modifiers),
                attributes=tuple(attributes),
                doc=doc,
                fingerprint=fingerprint,
                body_hash=_hash(_canon(body, self_names)),
                namespace=prefix,
                opens=(*ctx.opens, *for_next),
                spellings=tuple(sorted(form.spellings.items())),
                binders=tuple(form.binders),
                parens=form.parens,
                layout=_hash(layout),
                refs=tuple(form.free),
                local_refs=frozenset(form.proof_only | form.patterns),
                normal=form.text,
            )
        )
    _check_tail(toks, decls)
    return LeanFile(
        path,
        tuple(decls),
        n_lines,
        tuple(opens),
        tuple(namespaces),
        tuple(variables),
        tuple(aliases),
        tuple(OpenScope(sc.kind, sc.header, sc.line) for sc in ctx.scopes[1:]),
    )


_DANGLING = frozenset(
    {
        "by",
        ":=",
        "=>",
        "↦",
        ",",
        "calc",
        "from",
        "fun",
        "λ",
        "·",
        ".",
        "<;>",
        "|",
        "with",
        "at",
        "←",
        "<-",
        "then",
        "else",
        "do",
        "<|",
        "$",
        "+",
        "-",
        "*",
        "/",
        "=",
        "≠",
        "≤",
        "<",
        "≥",
        ">",
        "<=",
        ">=",
        "∧",
        "∨",
        "→",
        "->",
        "↔",
        "<->",
        "∘",
        "•",
        ":",
        "::",
        "^",
        "∑",
        "∏",
        "∀",
        "∃",
        "show",
        "have",
        "let",
        "using",
        "exact",
        "apply",
        "refine",
        "rw",
        "rwa",
        "intro",
        "obtain",
        "suffices",
        "if",
        "match",
        "and",
        "&&",
        "||",
    }
)
"""Tokens after which a term or a tactic must go on: a file may not end with one."""


def _check_tail(toks: Sequence[Token], decls: Sequence[Declaration]) -> None:
    """Raise `LeanParseError` when the file ends inside a proof or a term (a truncated file).

    Two signs, both of text Lean rejects ("unexpected end of input"): the last token needs
    something after it (`by`, `:=`, an operator, ...), or the last `calc` ends with a step that
    has no `:=` justification.
    """
    last = next((t for t in reversed(toks) if t.kind != "doc"), None)
    if last is None or not decls or decls[-1].end_line < last.line:
        return
    owner = decls[-1]
    where = f"`{owner.name}` (line {owner.line})"
    if last.kind in ("ident", "symbol") and last.text in _DANGLING:
        raise LeanParseError(
            last.line,
            f"the file ends after `{last.text}`: {where} is cut off there, and Lean rejects it "
            "(unexpected end of input); restore the rest of the file (truncated file?)",
        )
    calc = next((k for k in range(len(toks) - 1, -1, -1) if toks[k].text == "calc"), -1)
    if calc < 0 or toks[calc].line < owner.line:
        return
    steps = [k for k in range(calc + 1, len(toks)) if toks[k].first_on_line and toks[k].text == "_"]
    step = steps[-1] if steps else calc  # without `_` steps, the first step needs its proof
    if not any(t.text == ":=" and t.depth == toks[step].depth for t in toks[step:]):
        raise LeanParseError(
            toks[step].line,
            f"the last `calc` step of {where} has no `:= proof`: the file is cut off inside the "
            "`calc`, and Lean rejects it; restore the rest of the file (truncated file?)",
        )


def _notation_refs(sig: Sequence[Token]) -> tuple[str, ...]:
    """Return the names a notation's expansion (after `=>`) uses, its own parameters excluded."""
    arrow = next((k for k, t in enumerate(sig) if t.text == "=>" and t.depth == sig[0].depth), -1)
    if arrow < 0:
        return ()
    params = {t.text for t in sig[:arrow] if t.kind == "ident"}
    out: list[str] = []
    for t in sig[arrow + 1 :]:
        if t.kind == "ident" and t.text not in params and t.text not in out:
            out.append(t.text)
    return tuple(out)


def _spelled(toks: Iterable[Token]) -> str:
    """Return the tokens joined by spaces, each alternative spelling replaced (`SPELLINGS`)."""
    return " ".join(SPELLINGS.get(t.text, t.text) for t in toks if t.kind != "doc")
