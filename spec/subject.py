"""The guarded subject: an engine under check, each call converted and checked.

A `Subject` hands the engine read-only copies of a point's arrays in its format, checks what comes
back (shape, NaN, inf, exactness) and turns a misbehaving engine into a `BackendError` naming the
method and what was wrong; while one point's checks run together it memoizes what they share.
"""

import math
from collections.abc import Callable, Hashable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .engine import Backend, BackendError
from .examples import PARAMS, MlpPoint
from .numerics.blocks import BLOCK
from .numerics.tolerance import EXACT, FLOAT64, Precision
from .rational import fraction_array
from .types import F64, Arr, Real

__all__ = ["Subject", "as_exact_array", "as_checked_array", "fingerprint", "same_fingerprint"]


class Subject:
    """The engine under test, every call guarded: what it returns is checked before it is used.

    Exceptions raised by the engine, outputs of the wrong shape, and non-finite values become a
    `BackendError` naming the method and what was wrong, so a broken engine is a reported failure,
    never a crash of the checker.
    """

    def __init__(
        self, backend: Backend, prec: Precision = FLOAT64, exact_reference: bool = True
    ) -> None:
        self.backend = backend
        self.prec = prec
        """The format the engine computes in; the float bounds are derived for it. With `EXACT`,
        the engine is handed exact rationals and must return exact rationals."""
        self.exact_reference = exact_reference or prec is EXACT
        """Whether the engine's values are compared with the spec's exact values (the error then
        measured exactly, within the engine's bound Δ), or with its float64 values (within 2Δ,
        for sizes where exact rationals cost too much)."""
        self.name = str(getattr(backend, "name", type(backend).__name__))
        self.step_scales: tuple[int, ...] | None = None
        """The remainders of the `hasFDerivAt_*` lemmas are checked at steps s·2^-k for these k
        (s the largest power of two inside half the no-kink radius); None: `STEP_SCALES`."""
        self.memo: dict[tuple[Any, ...], tuple[tuple[object, ...], Any]] | None = None
        """When a dict, `forward`, `loss`, `grads` and `hidden` at the same `MlpPoint` object (and
        whatever else goes through `reuse`) are computed once (used by
        `spec.checks.point.check_point`, where every predicate asks at one point)."""
        self.outputs: list[tuple[NDArray[Any], Any]] | None = None
        """When a list (one point's check, with `memo`), float64 results of at least `_WATCHED`
        entries are kept as the engine returned them, not copied, and fingerprinted here, so that
        `outputs_unchanged` tells at the end whether the engine changed one afterwards (an engine
        that reuses its output buffers); at a million entries the copies cost more than that."""
        self.returned: set[str] = set()
        """The dtypes of what the engine returned (`float32`, `torch.float32`, …), to name the
        format when a float64 run fails by float32-sized errors."""

    def _memoized(self, method: str, p: MlpPoint, compute: Callable[[], Any]) -> Any:
        return self.reuse((p,), (method,), compute)

    def reuse(
        self, objects: tuple[object, ...], what: tuple[Hashable, ...], compute: Callable[[], Any]
    ) -> Any:
        """Return `compute()`, computed once per `what` (a tuple naming the quantity, e.g.
        `("jvp", "W1")`) and identity of `objects` while `memo` is a dict (one point's check);
        every time otherwise."""
        if self.memo is None:
            return compute()
        key = (what, *(id(o) for o in objects))
        hit = self.memo.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], objects, strict=True)):
            return hit[1]
        value = compute()
        self.memo[key] = (objects, value)  # holding the objects keeps their ids from being reused
        return value

    def has(self, method: str) -> bool:
        """Return whether the engine provides the optional `method`."""
        return callable(getattr(self.backend, method, None))

    def _call(self, method: str, *args: Any) -> Any:
        fn: Callable[..., Any] | None = getattr(self.backend, method, None)
        if not callable(fn):
            raise BackendError(f"{self.name}.{method}: the engine has no method {method!r}")
        if self.prec is not EXACT and any(_is_exact_array(a) for a in args):
            raise ValueError(
                f"exact rationals cannot be handed to {self.name}, which computes in "
                f"{self.prec.name}; rational examples are for exact engines (--exact)"
            )
        # The engine gets read-only views: one that writes into its inputs would corrupt the
        # point every later check reads, and views cost nothing where copies of a million-entry
        # matrix cost as much as a product with it. (A write through memory shared some other
        # way, e.g. `torch.from_numpy`, is caught by the runner comparing the example after.)
        inputs = [_as_input(a, self.prec is EXACT) for a in args]
        try:
            out = fn(*inputs)
            for value in out.values() if isinstance(out, Mapping) else (out,):
                kind = getattr(value, "dtype", None)
                if kind is not None:
                    self.returned.add(str(kind))
            return out
        except Exception as exc:  # noqa: BLE001 - any engine failure is reported, not raised
            hint = ""
            if isinstance(exc, ValueError) and "read-only" in str(exc):
                hint = (
                    " (the engine writes into an input array, which the checker hands out "
                    "read-only so that the point stays intact: copy an input before "
                    "changing it)"
                )
            raise BackendError(
                f"{self.name}.{method} raised {type(exc).__name__}: {exc}{hint}"
            ) from exc

    def array(self, method: str, shape: tuple[int, ...], *args: Any) -> Arr:
        """Call `method`, and return its result as a finite float64 array of the given shape (an
        array of exact rationals when the engine runs exactly)."""
        what = f"{self.name}.{method}"
        out = self._call(method, *args)
        if self.prec is EXACT:
            return as_exact_array(out, shape, what)
        return self._checked(out, shape, what)

    def _checked(self, value: Any, shape: tuple[int, ...], what: str) -> F64:
        watch = self.outputs is not None and math.prod(shape) >= _WATCHED
        return as_checked_array(value, shape, what, watch=self.outputs if watch else None)

    def outputs_unchanged(self) -> bool:
        """Return whether every result kept uncopied (`outputs`) still matches its fingerprint."""
        return all(same_fingerprint(fingerprint(a), f) for a, f in self.outputs or ())

    def scalar(self, method: str, *args: Any) -> Real:
        """Call `method`, and return its result as a finite float (a `Fraction` when exact)."""
        out = self._call(method, *args)
        if self.prec is EXACT:
            return as_exact_array(out, (), f"{self.name}.{method}").reshape(-1)[0]
        arr = _to_numpy(out, f"{self.name}.{method}")
        if arr.size != 1:
            raise BackendError(
                f"{self.name}.{method} returned shape {arr.shape}; expected a scalar"
            )
        value = float(arr.reshape(()))
        if not math.isfinite(value):
            raise BackendError(f"{self.name}.{method} returned {value}; expected a finite number")
        return value

    # The protocol's calls on an `MlpPoint`.

    def inputs(self, p: MlpPoint, *names: str) -> list[Arr]:
        """Return the arrays `names` of `p` as the engine is handed them: the exact values of a
        rational point (an exact engine only: `_call` refuses them to a float one), else the
        float64 arrays."""
        return [p.value(k) for k in names]

    def forward(self, p: MlpPoint) -> Arr:
        out: Arr = self._memoized(
            "forward", p, lambda: self.array("forward", p.b2.shape, *self.inputs(p, *PARAMS))
        )
        return out

    def hidden(self, method: str, p: MlpPoint) -> Arr:
        """Return the engine's `z1` or `a1` (`method`) at `p`, once per point while memoized."""
        out: Arr = self._memoized(
            method, p, lambda: self.array(method, p.b1.shape, *self.inputs(p, "W1", "b1", "x"))
        )
        return out

    def loss(self, p: MlpPoint) -> Real:
        out: Real = self._memoized(
            "loss", p, lambda: self.scalar("loss", *self.inputs(p, *PARAMS, "t"))
        )
        return out

    def grads(self, p: MlpPoint) -> dict[str, Arr]:
        out: dict[str, Arr] = self._memoized("grads", p, lambda: self._grads(p))
        return out

    def _grads(self, p: MlpPoint) -> dict[str, Arr]:
        out = self._call("grads", *self.inputs(p, *PARAMS, "t"))
        if not isinstance(out, Mapping):
            raise BackendError(
                f"{self.name}.grads returned {type(out).__name__}; expected a mapping with keys "
                f"{', '.join(PARAMS)}"
            )
        missing = [k for k in PARAMS if k not in out]
        if missing:
            raise BackendError(f"{self.name}.grads: missing key(s) {', '.join(missing)}")
        check = as_exact_array if self.prec is EXACT else self._checked
        return {k: check(out[k], p.get(k).shape, f"{self.name}.grads[{k!r}]") for k in PARAMS}


def _to_numpy(value: Any, what: str) -> NDArray[Any]:
    # Accept anything with `__array__` or `.numpy()` (torch tensors on the CPU, jax arrays).
    try:
        if hasattr(value, "detach"):
            value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        raise BackendError(f"{what} returned {type(value).__name__}, not an array: {exc}") from exc
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise BackendError(f"{what} returned entries of dtype {arr.dtype}; expected real numbers")
    return arr


def _is_exact_array(a: Any) -> bool:
    if isinstance(a, Mapping):
        return any(_is_exact_array(v) for v in a.values())
    return isinstance(a, np.ndarray) and a.dtype == object


def _as_input(a: Any, exact: bool) -> Any:
    if not isinstance(a, np.ndarray):
        if isinstance(a, Mapping):
            return {k: _as_input(v, exact) for k, v in a.items()}
        return a
    if not exact or a.dtype == object:
        view = a.view()
        view.flags.writeable = False
        return view
    return fraction_array(a)


def as_exact_array(value: Any, shape: tuple[int, ...], what: str) -> Arr:
    """Return `value` as an array of exact rationals of `shape`, or raise `BackendError`: in exact
    mode an engine must not round, so a float in its output is an error."""
    arr = (
        np.asarray(value, dtype=object)
        if not isinstance(value, (Fraction, int))
        else np.array(value, dtype=object)
    )
    if arr.shape != shape:
        raise BackendError(f"{what} returned shape {arr.shape}; expected {shape}")
    out = np.empty(shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, Fraction):
            out[idx] = v
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out[idx] = Fraction(int(v))
        else:
            raise BackendError(
                f"{what} returned {type(v).__name__} {v!r} at index {idx} in exact mode; an exact "
                "engine returns fractions.Fraction (or int) entries"
            )
    return out


def as_checked_array(
    value: Any,
    shape: tuple[int, ...],
    what: str,
    watch: list[tuple[NDArray[Any], Any]] | None = None,
) -> F64:
    """Return `value` as a float64 array of `shape` (a copy the engine cannot change), or raise
    `BackendError` saying what is wrong. With a `watch` list, a float64 array comes back as it is,
    and it and its `fingerprint` (taken in the same pass as the finiteness test) are appended."""
    arr = _to_numpy(value, what)
    if arr.shape != shape:
        raise BackendError(f"{what} returned shape {arr.shape}; expected {shape}")
    out = arr.astype(np.float64, copy=watch is None)
    # A finite sum means finite entries (an inf or NaN entry makes the sum one): one pass, no
    # array allocated; only a non-finite sum (or an overflowing one) looks entry by entry.
    total = _sum_and_fingerprint(out, watch) if watch is not None else float(np.sum(out))
    if out.size and not math.isfinite(total):
        bad = ~np.isfinite(out)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise BackendError(
                f"{what} returned a non-finite value {out[idx]} at index {idx} "
                f"({int(bad.sum())} of {out.size} entries)"
            )
    return out


def _sum_and_fingerprint(a: F64, watch: list[tuple[NDArray[Any], Any]]) -> float:
    # The float sum (for the finiteness test) and the `fingerprint`, a block at a time: the words
    # are summed while the block is in cache, so the array is read from memory once.
    if not (a.flags.c_contiguous and a.size):
        watch.append((a, fingerprint(a)))
        return float(np.sum(a))
    flat = a.reshape(-1)
    words = flat.view(np.uint64)
    total, acc = 0.0, 0
    for i in range(0, flat.size, BLOCK):
        total += float(np.add.reduce(flat[i : i + BLOCK]))
        acc += int(np.add.reduce(words[i : i + BLOCK], dtype=np.uint64))
    watch.append((a, acc % 2**64))  # the sum of the words modulo 2^64, as `fingerprint`
    return total


def fingerprint(a: NDArray[Any]) -> Any:
    """Return what tells whether `a` changed: for a contiguous float64 array, the sum of its 64-bit
    words modulo 2^64 (any change of one word changes it, and so does any change but one whose
    word differences cancel exactly; a copy of a million-entry W1 would cost more); for anything
    else (exact rationals, small), a copy."""
    if a.dtype == np.float64 and a.flags.c_contiguous:
        words = a.reshape(-1).view(np.uint64)
        return int(np.add.reduce(words, dtype=np.uint64)) if words.size else 0
    return a.copy()


def same_fingerprint(x: Any, y: Any) -> bool:
    """Return whether two `fingerprint`s match."""
    return bool(np.array_equal(x, y)) if isinstance(x, np.ndarray) else bool(x == y)


_WATCHED = 1 << 12
"""Results this large are watched (`Subject.outputs`) rather than copied."""
