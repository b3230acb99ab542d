"""A rounding-error bound as one object: its value and the derivation it was computed from.

Every bound a check compares with is built in `spec.numerics`, by the function that does its
arithmetic, with the derivation text formatted from the same sizes and unit roundoff; a check
passes the object on to `spec.verdict.compare` and writes no bound of its own.
"""

from dataclasses import dataclass
from typing import Any

__all__ = ["Bound", "EXACTLY"]


@dataclass(frozen=True)
class Bound:
    """`|computed − exact| ≤ value`, entrywise, for any correct computation; `derivation` says how
    the value follows from the sizes and the unit roundoff (or why it is 0)."""

    value: Any
    """A float64 array (or a float) of the compared shape, or an `OuterSum`."""
    derivation: str

    @staticmethod
    def zero(why: str) -> "Bound":
        """Return the bound 0 of a comparison that must be exact, saying why it must."""
        return Bound(0.0, why)


EXACTLY = "exact rational arithmetic, bound 0"
"""The derivation of `compare_exact`'s bound."""
