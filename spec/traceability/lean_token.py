"""The token of the Lean lexer (`spec.traceability.lean_source`), apart so that the normal form
(`spec.traceability.lean_normal`) can read tokens without importing the lexer that uses it."""

from dataclasses import dataclass

__all__ = ["Token"]


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: `kind` is ident, number, string, char, symbol, open, close or doc."""

    kind: str
    text: str
    line: int
    col: int
    first_on_line: bool
    depth: int
    """Bracket depth outside the token: an opener and its closer have the same depth."""
    offset: int = -1
    """Index of the token's first character in the text."""
