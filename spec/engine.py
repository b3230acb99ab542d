"""The engine protocol: what an engine must provide to be checked, and how one is loaded.

The protocol is structural: a plug-in imports nothing from this project. An engine is any object
with

- `name: str`
- `forward(W1, b1, W2, b2, x) -> y`
- `loss(W1, b1, W2, b2, x, t) -> float`, the MSE of `forward(...)` against `t`
- `grads(W1, b1, W2, b2, x, t) -> Mapping[str, array]`, its reverse-mode gradient of `loss`, with
  keys `"W1" "b1" "W2" "b2" "x"`

taking read-only float64 arrays `W1 (hid, in)`, `b1 (hid,)`, `W2 (out, hid)`, `b2 (out,)`,
`x (in,)`, `t (out,)`. Optional methods let more lemmas run on the engine rather than on the spec
alone:

- `z1(W1, b1, x)` and `a1(W1, b1, x)`: the hidden pre-activation and activation
- `mse(y, t) -> float` and `mse_grad(y, t) -> array`: the loss and its gradient in `y`
- `relu_vjp(z, delta) -> array`: the ReLU backward rule, `relu'(z) ⊙ delta`
- `linear_input_vjp(W, delta) -> array`: the linear layer's input gradient, `Wᵀ delta`
- `jvp(W1, b1, W2, b2, x, tangents) -> array`: the forward-mode derivative of `forward` along
  `tangents`, a mapping from argument names to tangent arrays that holds only the arguments being
  varied (the checker passes one key at a time, e.g. `{"W1": dW1}`: read them with
  `tangents.get(k)` and treat an absent key as a zero tangent)

`--backend MODULE:ATTR` may name a class or a function returning the engine; if it accepts a
`dtype` keyword argument, it is called with `dtype=numpy.dtype("float32")` (or float64) from
`--dtype`, so one class serves both formats.
"""

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .types import F64

__all__ = ["Backend", "BackendError", "OPTIONAL_METHODS", "load_backend", "accepts_dtype"]

OPTIONAL_METHODS: tuple[str, ...] = (
    "z1",
    "a1",
    "mse",
    "mse_grad",
    "relu_vjp",
    "linear_input_vjp",
    "jvp",
)


@runtime_checkable
class Backend(Protocol):
    """A backprop engine for the two-layer MLP with MSE loss (see the module docstring)."""

    name: str

    def forward(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64) -> Any: ...

    def loss(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Any: ...

    def grads(self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, t: F64) -> Mapping[str, Any]: ...


class BackendError(Exception):
    """The engine under test misbehaved: it raised, or returned a wrong shape, a NaN or an inf."""


BUILTIN_BACKENDS: dict[str, str] = {
    "reference": "impl.model:ReferenceBackend",
    "torch": "impl.torch_backend:TorchBackend",
    "jax": "impl.jax_backend:JaxBackend",
}
"""Engines named by a short name; each class takes `dtype` (and `device`) keyword arguments."""

COMPILING: tuple[str, ...] = ("torch", "jax")
"""The built-in engines that take `compile` (`--compile MODE`)."""


def load_backend(
    spec: str | None, dtype: str = "float64", device: str | None = None, compile: str | None = None
) -> Backend:
    """Return the engine named by `spec`: a built-in name (`reference`, `torch`, `jax`), built for
    `dtype` (and `device`, and `compile`: a mode of `COMPILING` engines), or `MODULE:ATTR` naming an
    engine object or a zero-argument callable. None means the built-in reference engine."""
    import importlib

    name = "reference" if spec is None else spec
    if compile is not None and name not in COMPILING:
        raise ValueError(
            f"--compile applies to --backend {' and '.join(COMPILING)}; "
            f"{name!r} cannot be compiled by this checker"
        )
    if name in BUILTIN_BACKENDS:
        module_name, _, attr = BUILTIN_BACKENDS[name].partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except ImportError as exc:
            raise ValueError(
                f"--backend {name}: cannot import it ({exc}); install the extra: "
                f"python3 -m pip install -e '.[{name}]'"
            ) from exc
        kwargs: dict[str, Any] = {"dtype": np.dtype(dtype)}
        if device is not None:
            kwargs["device"] = device
        if compile is not None:
            kwargs["compile"] = compile
        try:
            engine: Backend = cls(**kwargs)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"--backend {name}: {exc}") from exc
        return engine
    if device is not None:
        raise ValueError(
            f"--device applies to the built-in engines "
            f"({', '.join(BUILTIN_BACKENDS)}), not to {spec!r}"
        )
    assert spec is not None
    module_name, sep, attr = spec.partition(":")
    if not sep and "." in spec:
        module_part, _, last = spec.rpartition(".")
        raise ValueError(
            f"--backend {spec!r}: expected MODULE:ATTR, e.g. mypkg.engine:Engine "
            f"(did you mean {module_part}:{last}?)"
        )
    if not sep:
        import difflib

        close = difflib.get_close_matches(spec, list(BUILTIN_BACKENDS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ValueError(
            f"--backend {spec!r}: no built-in engine of that name; {hint}the built-in engines are "
            f"{', '.join(BUILTIN_BACKENDS)}; for your own, give MODULE:ATTR, e.g. "
            "mypkg.engine:Engine"
        )
    if not module_name or not attr:
        raise ValueError(f"--backend {spec!r}: expected MODULE:ATTR, e.g. mypkg.engine:Engine")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(
            f"--backend {spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); "
            "is it on PYTHONPATH?"
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(
                f"--backend {spec!r}: {module_name!r} has no attribute {attr!r}; give MODULE:ATTR "
                "naming an engine object or a zero-argument callable (a class) that returns one"
            )
        obj = getattr(obj, part)
    # A class is a zero-argument callable too (and would pass the structural check unbound). One
    # that accepts a `dtype` keyword is handed the run's format, as the built-in engines are.
    if isinstance(obj, type) or (not isinstance(obj, Backend) and callable(obj)):
        kwargs = {"dtype": np.dtype(dtype)} if accepts_dtype(obj) else {}
        try:
            obj = obj(**kwargs)
        except Exception as exc:  # noqa: BLE001
            call = f"{attr}(dtype={dtype!r})" if kwargs else f"{attr}()"
            raise ValueError(
                f"--backend {spec!r}: calling {call} raised {type(exc).__name__}: {exc}"
            ) from exc
    if not isinstance(obj, Backend):
        missing = [m for m in ("name", "forward", "loss", "grads") if not hasattr(obj, m)]
        raise ValueError(
            f"--backend {spec!r}: {type(obj).__name__} is not a backend; it lacks "
            f"{', '.join(missing)} (see `spec.engine` for the protocol)"
        )
    return obj


def accepts_dtype(factory: Callable[..., Any]) -> bool:
    """Return whether `factory` (an engine class or a function returning an engine) takes a
    `dtype` keyword argument, by which `load_backend` hands it the run's format (`--dtype`)."""
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "dtype" in params and params["dtype"].kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
