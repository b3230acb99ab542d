"""`JaxBackend`: the two-layer MLP with MSE loss as people write it in JAX, for the checker.

The network is `W2 @ jax.nn.relu(W1 @ x + b1) + b2` in `jax.numpy` and the loss is
`jnp.mean(jnp.square(y - t))`; every derivative comes from JAX itself: `grads` from `jax.grad`,
`jvp` from `jax.jvp` (forward mode, so the `hasFDerivAt_mlp_wrt_*` lemmas are checked on JAX's own
derivative), `relu_vjp` and `linear_input_vjp` from `jax.vjp` of `jax.nn.relu` and of `x ↦ W @ x`,
`mse_grad` from `jax.grad` of the loss. Nothing is special-cased: where JAX departs from the Lean
statements (`jnp.mean` of an empty array is NaN, Lean's `mse` there is 0), the checker reports it.

float64: importing this module runs `jax.config.update("jax_enable_x64", True)`. Without it JAX
silently computes float64 inputs in float32 (it converts them on entry, with a warning at most),
so a "float64" check would in fact check float32 arithmetic against float64 bounds and flag a
correct engine. The flag is process-wide: other JAX code in the same process then also gets
float64 where it asks for it (JAX's defaults for Python scalars and `jnp.array([1.0])` become
float64). `JaxBackend(dtype=np.dtype("float32"))` still computes in float32: its inputs are
converted to float32 arrays, and JAX keeps the dtype of array operands.

Speed: JAX compiles a jitted function for every new input shape; the checker draws
`inDim, hidDim, outDim` up to 8, a few hundred shapes. `jit=True` (the default) compiles each
computation, derivative included, once per shape and reuses it; `jit=False` runs op by op. On the
default run (100 examples per predicate), jit was faster; docs/engines.md gives the figures. XLA
compiles forward, loss, gradients and JVP as one program in about the time the gradient alone
takes, and in half the time of the four apart (on a 2-core machine: 115 to 146 ms, against 90 to
132 ms for the gradient and 244 to 357 ms for the four), so what is computed at the same inputs is
one program:
- up to `FUSED_UP_TO` parameters, `forward`, `loss`, `grads` and `jvp` run one program that returns
  all four (`jax.value_and_grad` of the loss, with the output as its auxiliary value, and
  `jax.jvp` of the network); each method runs it and keeps its part (`forward` with a zero target
  and zero tangents). A larger network gives each method its own program, so that a forward pass
  does not pay for a backward one;
- `z1` and `a1` are one program (`a1` is `jax.nn.relu` of `z1`, in the same program), and so are
  `mse` and `mse_grad` (`jax.value_and_grad`).
The compilations go through JAX's ahead-of-time API (`jax.jit(f).lower(*args).compile()`, cached
per program and input shapes), so they are counted and timed per program (`compile_log`, printed
by `report_notes()`), apart from the time the compiled code runs.
"""

import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float
from numpy.typing import NDArray

from .compile_log import CompileLog
from .model import PARAMS, check_tangents, float_input

# `jax.config.update` is untyped in jax's stubs; its signature is `(name, value) -> None`.
_config_update = cast(Callable[[str, object], None], jax.config.update)
_config_update("jax_enable_x64", True)

__all__ = ["JaxBackend"]

F64 = NDArray[np.float64]
In = NDArray[Any]
"""An input array: float64 by the protocol (shapes are checked at run time in the tests)."""

_DTYPES: tuple[str, ...] = ("float64", "float32", "float16")

FUSED_UP_TO = 1 << 13
"""The most parameters (`W1 b1 W2 b2 x` together) of a network whose `forward`, `loss`, `grads`
and `jvp` run one jitted program. A call through it costs more than through a program of its own
(a forward call, on a 2-core machine: about 70 µs more from 69 to 8,384 parameters, 240 µs more at
65,534), and it saves three compilations of about 50 ms per shape. A run that draws its sizes
makes about 35 forward calls per shape, so there the one program pays many times over; a fixed
size (`--dims`, 100 examples) makes about 2,000 at its one shape, where up to this size the two
ways cost about the same (0.14 s more in calls, 0.15 s less in compiling) and above it the
programs apart cost less."""

Fn = Callable[..., Any]


class _Compiled:
    """A function compiled with `jax.jit` once per input shapes, explicitly (ahead of time), with
    its compilations and calls logged under `method`."""

    def __init__(self, method: str, fn: Fn, log: CompileLog) -> None:
        self.method = method
        self.jitted = jax.jit(fn)
        self.log = log
        self.cache: dict[Hashable, Fn] = {}

    def __call__(self, *args: Any) -> Any:
        leaves, tree = jax.tree_util.tree_flatten(args)
        key = (tree, tuple((leaf.shape, str(leaf.dtype)) for leaf in leaves))
        start = time.perf_counter()
        compiled = self.cache.get(key)
        if compiled is not None:
            out = compiled(*args)
            self.log.ran(self.method, time.perf_counter() - start)
            return out
        compiled = self.jitted.lower(*args).compile()
        self.cache[key] = compiled
        out = compiled(*args)
        self.log.compiled(self.method, time.perf_counter() - start)
        return out


def _device(device: str | None) -> jax.Device | None:
    """Return the JAX device named like `"cpu"`, `"gpu"`, `"cuda:1"` or `"tpu"`; None for None."""
    if device is None:
        return None
    platform, _, index = device.partition(":")
    try:
        i = int(index) if index else 0
    except ValueError:
        raise ValueError(
            f"JaxBackend: device={device!r}: expected PLATFORM or PLATFORM:INDEX, e.g. 'gpu:0'"
        ) from None
    try:
        devices = jax.devices(platform)
    except RuntimeError as exc:
        raise ValueError(
            f"JaxBackend: device={device!r}: this JAX ({jax.__version__}) has no {platform!r} "
            f"devices ({exc}); available: {', '.join(str(d) for d in jax.devices())}"
        ) from exc
    if not 0 <= i < len(devices):
        raise ValueError(
            f"JaxBackend: device={device!r}: there are {len(devices)} {platform!r} devices"
        )
    return devices[i]


class JaxBackend:
    """The MLP and its MSE loss in JAX, with every optional method of the backend protocol.

    - `dtype` (default `np.dtype("float64")`): the float type JAX computes in, `float64`,
      `float32` or `float16`, as a numpy dtype or its name.
    - `device` (default None, JAX's default device): e.g. `"cpu"`, `"gpu"`, `"cuda:1"`, `"tpu"`;
      a device this machine does not have is a `ValueError`.
    - `jit` (default True): compile each method's computation (once per shape) with `jax.jit`.
    - `compile` (default None): `"jit"` (or `"default"`) is `jit=True`, the CLI's `--compile`;
      JAX has no other compiler to choose.

    The activation is the class attribute `activation`, `jax.nn.relu`; a subclass may replace it
    (e.g. by `lambda z: jnp.maximum(z, 0)`) to check another way of writing ReLU.

    Example: `JaxBackend(dtype=np.dtype("float32")).name == "jax-float32"`.
    """

    name: str
    activation: Callable[[jax.Array], jax.Array] = staticmethod(jax.nn.relu)

    def __init__(
        self,
        dtype: Any = "float64",
        device: str | None = None,
        jit: bool = True,
        compile: str | None = None,
    ) -> None:
        if compile not in (None, "default", "jit"):
            raise ValueError(
                f"JaxBackend: compile={compile!r}: JAX compiles with jax.jit only; pass "
                "compile='jit' (what jit=True, the default, does)"
            )
        if compile is not None and not jit:
            raise ValueError(f"JaxBackend: compile={compile!r} and jit=False exclude each other")
        dt = np.dtype(dtype)
        if dt.name not in _DTYPES:
            raise ValueError(
                f"JaxBackend: dtype={dt} is not supported; pass one of {', '.join(_DTYPES)}"
            )
        self.dtype: np.dtype[Any] = dt
        self.device = _device(device)
        self.jit = jit
        self.name = f"jax-{dt.name}" + (
            ""
            if device is None or self.device is None or self.device.platform == "cpu"
            else f"-{device}"
        )
        relu = type(self).activation

        def forward(
            W1: jax.Array, b1: jax.Array, W2: jax.Array, b2: jax.Array, x: jax.Array
        ) -> jax.Array:
            return W2 @ relu(W1 @ x + b1) + b2

        def mse(y: jax.Array, t: jax.Array) -> jax.Array:
            return jnp.mean(jnp.square(y - t))

        def loss(
            W1: jax.Array, b1: jax.Array, W2: jax.Array, b2: jax.Array, x: jax.Array, t: jax.Array
        ) -> jax.Array:
            return mse(forward(W1, b1, W2, b2, x), t)

        def jvp(primals: tuple[jax.Array, ...], tangents: tuple[jax.Array, ...]) -> jax.Array:
            _, dy = jax.jvp(forward, primals, tangents)
            return cast(jax.Array, dy)

        def point(
            W1: jax.Array,
            b1: jax.Array,
            W2: jax.Array,
            b2: jax.Array,
            x: jax.Array,
            t: jax.Array,
            tangents: tuple[jax.Array, ...],
        ) -> tuple[jax.Array, jax.Array, tuple[jax.Array, ...], jax.Array]:
            # Forward, loss, gradients and JVP at one point, as one program (see the module's
            # docstring): the output is the loss's auxiliary value.
            def loss_and_y(*p: jax.Array) -> tuple[jax.Array, jax.Array]:
                y = forward(*p)
                return mse(y, t), y

            (value, y), g = jax.value_and_grad(loss_and_y, argnums=(0, 1, 2, 3, 4), has_aux=True)(
                W1, b1, W2, b2, x
            )
            return y, value, g, jvp((W1, b1, W2, b2, x), tangents)

        def relu_vjp(z: jax.Array, delta: jax.Array) -> jax.Array:
            _, pullback = jax.vjp(relu, z)
            return cast(jax.Array, pullback(delta)[0])

        def linear_input_vjp(W: jax.Array, delta: jax.Array) -> jax.Array:
            # The map is linear, so its VJP does not depend on the point: take it at 0.
            _, pullback = jax.vjp(lambda x: W @ x, jnp.zeros(W.shape[1], W.dtype))
            return cast(jax.Array, pullback(delta)[0])

        def layer(W1: jax.Array, b1: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
            z = W1 @ x + b1
            return z, relu(z)

        self.compile_log: CompileLog | None = (
            CompileLog("jax.jit (ahead of time, once per program and input shapes)")
            if jit
            else None
        )
        log = self.compile_log

        def wrap(program: str, f: Fn) -> Fn:
            return f if log is None else _Compiled(program, f, log)

        self._forward = wrap("forward", forward)
        self._loss = wrap("loss", loss)
        self._grads = wrap("grads", jax.grad(loss, argnums=(0, 1, 2, 3, 4)))
        self._jvp = wrap("jvp", jvp)
        self._point = wrap("forward+loss+grads+jvp", point)
        self._layer = wrap("z1+a1", layer)
        self._mse = wrap("mse+mse_grad", jax.value_and_grad(mse))
        self._relu_vjp = wrap("relu_vjp", relu_vjp)
        self._linear_input_vjp = wrap("linear_input_vjp", linear_input_vjp)
        self._zeros: dict[tuple[int, ...], jax.Array] = {}

    def __repr__(self) -> str:
        dev = "" if self.device is None else f", device={str(self.device)!r}"
        return f"JaxBackend(dtype=np.dtype({self.dtype.name!r}){dev}, jit={self.jit})"

    def report_notes(self) -> list[str]:
        """Return what the report must say about this engine's run: its compilations (jit)."""
        return [] if self.compile_log is None else [self.compile_log.summary()]

    # Conversions.

    def _j(self, *arrays: In) -> tuple[jax.Array, ...]:
        """Return the numpy arrays as JAX arrays of the backend's dtype, on its device."""
        # Rounded to the dtype by numpy (to nearest), then handed to JAX in one transfer (a
        # default run made 26,000 `device_put` calls, one per array, before).
        out: tuple[jax.Array, ...] = jax.device_put(
            tuple(float_input(a, self.name).astype(self.dtype) for a in arrays), self.device
        )
        return out

    @staticmethod
    def _np(a: jax.Array) -> F64:
        out: F64 = np.asarray(jax.device_get(a)).astype(np.float64)
        return out

    def _zero(self, shape: tuple[int, ...]) -> jax.Array:
        """Return zeros of `shape` in the engine's dtype, on its device (made once per shape:
        `jnp.zeros_like` would be one more compiled program per shape)."""
        z = self._zeros.get(shape)
        if z is None:
            (z,) = self._j(np.zeros(shape))
            self._zeros[shape] = z
        return z

    def _fuses(self, params: tuple[jax.Array, ...]) -> bool:
        """Whether the network at `params` (`W1 b1 W2 b2 x`) runs the one program `point`."""
        return self.jit and sum(p.size for p in params) <= FUSED_UP_TO

    def _at(
        self, params: tuple[jax.Array, ...], t: jax.Array | None, tangents: tuple[jax.Array, ...]
    ) -> tuple[jax.Array, jax.Array, tuple[jax.Array, ...], jax.Array]:
        """Run the one program at `params`, with zeros for a missing target."""
        target = self._zero(tuple(params[3].shape)) if t is None else t
        out: tuple[jax.Array, jax.Array, tuple[jax.Array, ...], jax.Array] = self._point(
            *params, target, tangents
        )
        return out

    def _no_tangents(self, params: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
        return tuple(self._zero(tuple(p.shape)) for p in params)

    # The protocol.

    def forward(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
    ) -> Float[F64, " outDim"]:
        """`Proofs.Autograd.mlpVecMat` (def): Return `y = W2 @ relu(W1 @ x + b1) + b2`."""
        params = self._j(W1, b1, W2, b2, x)
        if self._fuses(params):
            return self._np(self._at(params, None, self._no_tangents(params))[0])
        return self._np(self._forward(*params))

    def loss(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
        t: Float[In, " outDim"],
    ) -> float:
        """Return `jnp.mean(jnp.square(y - t))`; NaN when `outDim = 0` (Lean: 0)."""
        *params, target = self._j(W1, b1, W2, b2, x, t)
        p = tuple(params)
        if self._fuses(p):
            return float(self._at(p, target, self._no_tangents(p))[1])
        return float(self._loss(*p, target))

    def grads(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
        t: Float[In, " outDim"],
    ) -> dict[str, F64]:
        """Return `jax.grad` of the loss in each of `W1 b1 W2 b2 x`."""
        *params, target = self._j(W1, b1, W2, b2, x, t)
        p = tuple(params)
        if self._fuses(p):
            out = self._at(p, target, self._no_tangents(p))[2]
        else:
            out = self._grads(*p, target)
        return {k: self._np(v) for k, v in zip(PARAMS, out, strict=True)}

    # The optional methods.

    def z1(
        self, W1: Float[In, "hidDim inDim"], b1: Float[In, " hidDim"], x: Float[In, " inDim"]
    ) -> Float[F64, " hidDim"]:
        """`Proofs.Autograd.z1` (def): Return `W1 @ x + b1`."""
        return self._np(self._layer(*self._j(W1, b1, x))[0])

    def a1(
        self, W1: Float[In, "hidDim inDim"], b1: Float[In, " hidDim"], x: Float[In, " inDim"]
    ) -> Float[F64, " hidDim"]:
        """`Proofs.Autograd.a1` (def): Return `jax.nn.relu(W1 @ x + b1)`."""
        return self._np(self._layer(*self._j(W1, b1, x))[1])

    def mse(self, y: Float[In, " n"], t: Float[In, " n"]) -> float:
        """`Proofs.Autograd.mse` (def): Return `jnp.mean(jnp.square(y - t))` (NaN if n = 0)."""
        return float(self._mse(*self._j(y, t))[0])

    def mse_grad(self, y: Float[In, " n"], t: Float[In, " n"]) -> Float[F64, " n"]:
        """`Proofs.Autograd.mseGrad` (def): Return `jax.grad` of the loss in `y`."""
        return self._np(self._mse(*self._j(y, t))[1])

    def relu_vjp(self, z: Float[In, " n"], delta: Float[In, " n"]) -> Float[F64, " n"]:
        """`Proofs.Autograd.reluDerivCLM` (def): Return `jax.vjp` of the activation at `z` on
        `δ`."""
        return self._np(self._relu_vjp(*self._j(z, delta)))

    def linear_input_vjp(
        self, W: Float[In, "outDim inDim"], delta: Float[In, " outDim"]
    ) -> Float[F64, " inDim"]:
        """`Spec.linearInputDerivSpec` (def): Return `jax.vjp` of `x ↦ W @ x` on `δ`."""
        return self._np(self._linear_input_vjp(*self._j(W, delta)))

    def jvp(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
        tangents: Mapping[str, In],
    ) -> Float[F64, " outDim"]:
        """Return `jax.jvp` of the network at `(W1, b1, W2, b2, x)` along `tangents`.

        A key missing from `tangents` means a zero tangent; an unknown key is a `ValueError`.
        """
        check_tangents(
            tangents, {k: tuple(p.shape) for k, p in zip(PARAMS, (W1, b1, W2, b2, x), strict=True)}
        )
        given = [k for k in PARAMS if k in tangents]
        arrays = self._j(W1, b1, W2, b2, x, *(tangents[k] for k in given))
        primals = arrays[:5]
        along = dict(zip(given, arrays[5:], strict=True))
        tans = tuple(
            along[k] if k in along else self._zero(tuple(p.shape))
            for k, p in zip(PARAMS, primals, strict=True)
        )
        if self._fuses(primals):
            return self._np(self._at(primals, None, tans)[3])
        return self._np(self._jvp(primals, tans))
