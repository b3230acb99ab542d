"""Results remembered by the identity of the arrays they were computed from.

Every predicate at a point reads the same arrays (`W1`, the probe directions, the perturbed points),
and at a million parameters each pass over them costs about a millisecond: `|W1|`, `W1 x`, the
bounds at a point, the exact step along a probe are computed once and looked up by identity. A
key holds its objects, so their ids cannot be reused by new objects while the entry lives; only
the last few entries are kept, so memory stays a small multiple of the point's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["IdentityMemo"]

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    """The last `size` values computed, keyed by the identity of some objects and a plain key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[tuple[int, ...], Hashable], tuple[tuple[object, ...], V]] = {}

    def get(self, objects: tuple[object, ...], key: Hashable, compute: Callable[[], V]) -> V:
        """Return the value for `objects` (by identity) and `key`, computing it on a miss."""
        ids = (tuple(id(o) for o in objects), key)
        hit = self._entries.get(ids)
        if hit is not None and all(a is b for a, b in zip(hit[0], objects, strict=True)):
            return hit[1]
        value = compute()
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[ids] = (objects, value)  # holding the objects keeps their ids from reuse
        return value
