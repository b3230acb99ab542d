"""Results remembered by the identity of the arrays they were computed from, and arrays reused.

Every predicate at a point reads the same arrays (`W1`, the probe directions, the perturbed points),
and at a million parameters each pass over them costs about a millisecond: `|W1|`, `W1 x`, the
bounds at a point, the exact step along a probe are computed once and looked up by identity.

A key refers to its objects weakly: an entry whose object is gone is stale and never matches (a
new object with the same id is a miss), and the memo does not keep a point's arrays alive after
its check. (Kept alive, the perturbed points of the last checks would hold tens of megabytes at a
million parameters, and every new check would take its memory fresh from the system, a page
fault per page.) Only the last few entries are kept. `ArrayPool` hands out the moved copies of the
parameters again once nothing refers to them.
"""

import sys
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["IdentityMemo", "ArrayPool"]

V = TypeVar("V")


def _ref(o: object) -> Callable[[], Any]:
    # A weak reference where the type allows one; else the object itself, held.
    try:
        return weakref.ref(o)
    except TypeError:
        return lambda: o


class IdentityMemo(Generic[V]):
    """The last `size` values computed, keyed by the identity of some objects and a plain key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[
            tuple[tuple[int, ...], Hashable], tuple[tuple[Callable[[], Any], ...], V]
        ] = {}

    def get(self, objects: tuple[object, ...], key: Hashable, compute: Callable[[], V]) -> V:
        """Return the value for `objects` (by identity) and `key`, computing it on a miss."""
        ids = (tuple(id(o) for o in objects), key)
        hit = self._entries.get(ids)
        if hit is not None and all(r() is o for r, o in zip(hit[0], objects, strict=True)):
            return hit[1]
        value = compute()
        self._entries.pop(ids, None)
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[ids] = (tuple(_ref(o) for o in objects), value)
        return value


class ArrayPool:
    """Parameter-sized float64 arrays handed out again once nothing else refers to them.

    A check moves its point along each probe, and the moved copies of `W1` and `W2` are the only
    parameter-sized arrays it writes. Taken fresh each time, their memory comes from the system
    page by page (a page fault each, which on some machines costs more than the check's
    arithmetic); here an array whose only reference is the pool's own (CPython's reference
    count: no moved point, view or engine holds it any longer) is handed out again. At most
    `size` arrays are kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._arrays: list[Any] = []

    def take(self, n: int) -> Any:
        """Return a float64 array of `n` entries, uninitialised."""
        for i in range(len(self._arrays)):
            # References: the list's, and getrefcount's argument: nothing else holds it.
            if self._arrays[i].size == n and sys.getrefcount(self._arrays[i]) <= 2:
                return self._arrays[i]
        out = np.empty(n)
        if n >= _POOLED:
            if len(self._arrays) >= self.size:
                self._arrays.pop(0)
            self._arrays.append(out)
        return out

    def clear(self) -> None:
        """Let go of every kept array."""
        self._arrays.clear()

    @property
    def held_bytes(self) -> int:
        """The bytes of the arrays kept (in use or not)."""
        return sum(int(a.nbytes) for a in self._arrays)


_POOLED = 1 << 16
"""Arrays this large are pooled; smaller ones cost little to take fresh."""
