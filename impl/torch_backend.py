"""`TorchBackend`: the two-layer MLP with MSE loss as people write it in PyTorch, for the checker.

The network is `torch.nn.Linear → torch.nn.functional.relu → torch.nn.Linear` and the loss is
`torch.nn.MSELoss(reduction="mean")`; every derivative comes from PyTorch itself: `grads` from
`loss.backward()`, `jvp` from `torch.func.jvp` (forward mode, so the `hasFDerivAt_mlp_wrt_*` lemmas
are checked on PyTorch's own derivative), `relu_vjp`, `linear_input_vjp` and `mse_grad` from
`torch.autograd.grad` on `F.relu`, `F.linear` and `MSELoss`. Nothing here restates a formula the
checker tests, and nothing is special-cased: where PyTorch departs from the Lean statements (its
`MSELoss` on an empty tensor is NaN, Lean's `mse` there is 0), the checker reports it.

Layout: `nn.Linear.weight` has shape `(out_features, in_features)` and the layer computes
`x @ weight.T + bias`, i.e. `weight · x + bias` for a vector `x`: `W1 (hidDim, inDim)` is the
weight of the first layer as it is, with no transpose.

Arguments arrive as float64 numpy arrays (the protocol of `spec.engine`); they are converted to
the backend's dtype and device, and results come back as float64 numpy arrays (or a Python float),
holding the engine's values exactly.

State: each call builds its own modules and tensors. The layers are constructed on the `meta`
device, so constructing them neither allocates nor draws from PyTorch's global random generator,
and their parameters are then replaced by the caller's `W1 b1 W2 b2`. Gradients are computed under
`torch.enable_grad()`, so a caller's `torch.no_grad()` does not change them. The user's thread
count and float32 matmul precision are left alone.

Reduced-precision float32 matmuls: `torch.set_float32_matmul_precision("high")` (or
`torch.backends.cuda.matmul.fp32_precision = "tf32"`) lets cuBLAS, and oneDNN on CPUs that have
it, multiply float32 matrices in TF32 (10 explicit mantissa bits); `"medium"` allows bfloat16 on
the CPU. That is not float32 arithmetic, and the checker's float32 bounds do not cover it. The
engine reads the setting of its device at every call (`matmul_precisions`), puts it in its name
when it is not IEEE float32 (`torch-float32-cuda-tf32`), and says in `report_notes()` what the
verdicts then mean, so a failure caused by TF32 is neither hidden nor mistaken for a wrong
derivative.

Compiled: `TorchBackend(compile="inductor")` (or `"aot_eager"`, any name of
`torch.compiler.list_backends(exclude_tags=())`) runs the same network through `torch.compile`:
the forward, the loss and every function whose derivative is taken are compiled with
`fullgraph=True` (a graph break is an error, never a silent fallback to eager code), and the
backward passes are AOTAutograd's compiled backward graphs. Sizes are dynamic by default
(`dynamic=True`): one compilation serves every size at least 2, and PyTorch specialises sizes 0
and 1, so a function compiles at most 3^k times for k independent sizes. Compilations are counted
and timed per method (`compile_log`, printed by `report_notes()`); the recompile limit is raised
and made a hard error for the engine's calls, so no call runs eagerly behind the report's back.
"""

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast, no_type_check

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float
from numpy.typing import NDArray
from torch import Tensor, nn
from torch.func import functional_call
from torch.func import jvp as torch_jvp

from .compile_log import CompileLog
from .model import PARAMS, check_tangents, float_input

__all__ = ["TorchBackend", "TorchMlp"]

F64 = NDArray[np.float64]
In = NDArray[Any]
"""An input array: float64 by the protocol (shapes are checked at run time in the tests)."""

_DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
}

# The parameter names of `TorchMlp`, in the order of `PARAMS[:4]`.
_MODULE_PARAMS: tuple[str, ...] = ("l1.weight", "l1.bias", "l2.weight", "l2.bias")

T = TypeVar("T")

RECOMPILE_LIMIT = 1024
"""The engine's calls run with `torch.compiler.config.recompile_limit` raised to this (PyTorch's
default, 8, is reached by a default run: 8 size classes for a function of three sizes drawn from
1 to 8, 27 with size 0, one per shape with `dynamic=False`) and with
`fail_on_recompile_limit_hit`, so that passing it is an error rather than eager code."""

_RECOMPILE = "Detected recompile when torch.compile stance is 'fail_on_recompile'"
"""The start of the `RuntimeError` that `torch.compiler.set_stance("fail_on_recompile")` raises."""

IEEE = "ieee"
"""`matmul_precision` of float32 matmuls computed in float32 arithmetic."""


def matmul_precision(device: torch.device) -> str:
    """Return how float32 matmuls may run on `device`: `"ieee"` (float32 arithmetic), `"tf32"` or
    `"bf16"`, as `torch.backends.cuda.matmul.fp32_precision` (CUDA) or
    `torch.backends.mkldnn.matmul.fp32_precision` (CPU) say; `"unknown"` if they cannot be read."""
    try:
        if device.type == "cuda":
            value = str(torch.backends.cuda.matmul.fp32_precision)
        else:
            # `torch.backends.mkldnn.matmul` is missing from torch's stubs.
            value = str(getattr(torch.backends.mkldnn, "matmul").fp32_precision)  # noqa: B009
    except (AttributeError, RuntimeError):
        return "unknown"
    return IEEE if value in ("none", IEEE) else value


def _headline(exc: BaseException) -> str:
    """Return the first line of `exc`'s message, with the next one when it ends with a colon
    (`BackendCompilerFailed: backend='inductor' raised:` / `ZeroDivisionError: ...`)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else ""


def _patch_config(**changes: object) -> contextlib.AbstractContextManager[None]:
    """Return `torch.compiler.config.patch(**changes)`, a context manager (untyped in torch)."""
    patch = cast(
        Callable[..., contextlib.AbstractContextManager[None]],
        getattr(torch.compiler.config, "patch"),  # noqa: B009
    )
    return patch(**changes)


def compile_backends() -> list[str]:
    """Return the names `TorchBackend(compile=...)` accepts: every `torch.compile` backend."""
    names: list[str] = torch.compiler.list_backends(exclude_tags=())
    return names


def _linear(
    in_features: int,
    out_features: int,
    dtype: torch.dtype,
    cls: type[nn.Linear] = nn.Linear,
    bias: bool = True,
) -> nn.Linear:
    """Return a `cls(in_features, out_features)` on the meta device (no memory, no draw from the
    global random generator); its parameters are replaced before use."""
    if in_features and out_features:
        return cls(in_features, out_features, bias=bias, dtype=dtype, device="meta")
    # nn.Linear's initialiser warns that initialising a zero-element weight is a no-op.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors is a no-op")
        return cls(in_features, out_features, bias=bias, dtype=dtype, device="meta")


def _set(layer: nn.Linear, weight: Tensor, bias: Tensor | None) -> None:
    """Replace the layer's parameters by `weight (out, in)` and `bias (out,)`."""
    layer.weight = nn.Parameter(weight)
    if bias is not None:
        layer.bias = nn.Parameter(bias)


class TorchMlp(nn.Module):
    """`Linear(inDim, hidDim) → relu → Linear(hidDim, outDim)`, built on the meta device.

    - `linear` (default `nn.Linear`): the layer class; `relu` (default `F.relu`): the activation.
    """

    def __init__(
        self,
        in_dim: int,
        hid_dim: int,
        out_dim: int,
        dtype: torch.dtype,
        linear: type[nn.Linear] = nn.Linear,
        relu: Callable[[Tensor], Tensor] = F.relu,
    ) -> None:
        super().__init__()
        self.l1 = _linear(in_dim, hid_dim, dtype, linear)
        self.l2 = _linear(hid_dim, out_dim, dtype, linear)
        self.relu = relu

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.l2(self.relu(self.l1(x)))
        return out


class TorchBackend:
    """The MLP and its MSE loss in PyTorch, with every optional method of the backend protocol.

    - `dtype` (default `np.dtype("float64")`): the float type PyTorch computes in, `float64`,
      `float32` or `float16`, as a numpy dtype or its name.
    - `device` (default `"cpu"`): a torch device string, e.g. `"cuda"` or `"cuda:1"`; a device this
      machine does not have is a `ValueError`.
    - `compile` (default None: eager PyTorch): a `torch.compile` backend, `"inductor"` (also
      `"default"`) or `"aot_eager"` (any of `compile_backends()`): the network, the loss and
      their backward graphs run compiled.
    - `dynamic` (default True): `torch.compile`'s `dynamic`; False compiles once per shape.

    Example: `TorchBackend(dtype=np.dtype("float32"), device="cuda").name == "torch-float32-cuda"`;
    `TorchBackend(compile="inductor").name == "torch-float64-inductor"`.

    The building blocks are class attributes, so that a subclass can swap one for its own (as the
    deliberately wrong engines of `tests/torch_mutants.py` do): `linear` (`nn.Linear`), `relu`
    (`F.relu`) and `make_loss()` (`nn.MSELoss(reduction="mean")`).
    """

    name: str
    linear: type[nn.Linear] = nn.Linear
    relu: Callable[[Tensor], Tensor] = staticmethod(F.relu)

    def make_loss(self) -> nn.Module:
        """Return the loss module, called as `loss(y, t)`: `nn.MSELoss(reduction="mean")`."""
        return nn.MSELoss(reduction="mean")

    def __init__(
        self,
        dtype: Any = "float64",
        device: str = "cpu",
        compile: str | None = None,
        dynamic: bool | None = True,
    ) -> None:
        if compile == "default":
            compile = "inductor"
        if compile is not None and compile not in compile_backends():
            raise ValueError(
                f"TorchBackend: compile={compile!r} is not a torch.compile backend; pass one of "
                "inductor (the default), aot_eager, eager"
            )
        dt = np.dtype(dtype)
        if dt.name not in _DTYPES:
            raise ValueError(
                f"TorchBackend: dtype={dt} is not supported; pass one of {', '.join(_DTYPES)}"
            )
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"TorchBackend: device={device!r} is not a torch device: {exc}"
            ) from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"TorchBackend: device={device!r}, but this PyTorch ({torch.__version__}) sees no "
                "CUDA GPU (torch.cuda.is_available() is False); use device='cpu'"
            )
        try:
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError) as exc:
            raise ValueError(f"TorchBackend: device={device!r} cannot be used here: {exc}") from exc
        self.dtype: np.dtype[Any] = dt
        self.torch_dtype: torch.dtype = _DTYPES[dt.name]
        self.device: torch.device = dev
        self.name = f"torch-{dt.name}" + ("" if dev.type == "cpu" else f"-{device}")
        precision = matmul_precision(dev)
        if dt.name == "float32" and precision != IEEE:
            self.name += f"-{precision}"
        if compile is not None:
            self.name += f"-{compile}"
        self.matmul_precisions: set[str] = set()
        """How float32 matmuls could run (`matmul_precision`) at the engine's calls so far."""
        self._mse = self.make_loss()
        self.compile = compile
        self.dynamic = dynamic
        self.compile_log: CompileLog | None = None
        """Compilations and compiled calls per method (compiled engines only)."""
        self._fns: dict[str, Callable[..., Any]] = {}
        self._networks: dict[tuple[int, int, int], TorchMlp] = {}
        if compile is not None:
            self.compile_log = CompileLog(
                f"torch.compile (backend {compile!r}, dynamic={dynamic}, fullgraph=True)"
            )
            self._fns = self._compiled_functions(compile, dynamic)

    def __repr__(self) -> str:
        extra = (
            "" if self.compile is None else f", compile={self.compile!r}, dynamic={self.dynamic}"
        )
        return (
            f"TorchBackend(dtype=np.dtype({self.dtype.name!r}), device={str(self.device)!r}{extra})"
        )

    def report_notes(self) -> list[str]:
        """Return what the report must say about this engine's run: its compilations and how
        float32 matmuls ran (TF32 or bfloat16 allowed is not float32 arithmetic)."""
        notes = [] if self.compile_log is None else [self.compile_log.summary()]
        if self.dtype.name != "float32":
            return notes
        seen = sorted(self.matmul_precisions) or [matmul_precision(self.device)]
        where = "cuda" if self.device.type == "cuda" else "mkldnn"
        setting = f"torch.backends.{where}.matmul.fp32_precision"
        if seen == [IEEE]:
            notes.append(
                f"float32 matmuls: IEEE float32 arithmetic at every call ({setting}, "
                "TF32 off), the arithmetic the float32 bounds are derived for"
            )
        else:
            notes.append(
                f"float32 matmuls: {' and '.join(seen)} allowed ({setting}) during this run: not "
                "float32 arithmetic, and outside the float32 bounds; a row that fails here may "
                "fail for that rounding, not for a wrong derivative. Check float32 arithmetic with "
                "torch.set_float32_matmul_precision('highest')"
            )
        return notes

    # Conversions.

    def _t(self, a: In) -> Tensor:
        """Return the numpy array as a tensor of the backend's dtype, on its device."""
        arr = float_input(a, self.name)
        self.matmul_precisions.add(matmul_precision(self.device))
        if arr.flags.writeable:
            # A copy, never a view of a caller's array it may change; float64 → float32 rounds
            # to nearest.
            return torch.tensor(arr, dtype=self.torch_dtype, device=self.device)
        # A read-only array (the checker hands out read-only views of points nobody writes to)
        # is shared, not copied: copies of a million-entry W1 would cost more than the products
        # with it. This engine never writes into an input tensor; `.to` copies only where the
        # dtype or the device differ.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            shared = torch.from_numpy(np.ascontiguousarray(arr))
        return shared.to(dtype=self.torch_dtype, device=self.device)

    def _ts(self, *arrays: In) -> list[Tensor]:
        """Return the numpy arrays as tensors (`_t`)."""
        return [self._t(a) for a in arrays]

    @staticmethod
    def _np(t: Tensor) -> F64:
        out: F64 = t.detach().cpu().numpy().astype(np.float64, copy=False)
        return out

    @contextlib.contextmanager
    def _net(self, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Iterator[TorchMlp]:
        """Yield the network with its layers' `.weight`/`.bias` set to `W1 b1 W2 b2`, and give
        them back afterwards: the network is kept (`_module`), never the point's tensors, which
        may share memory with the checker's arrays."""
        net = self._module(W1.shape[1], W1.shape[0], W2.shape[0])
        rest = (net.l1.weight, net.l1.bias, net.l2.weight, net.l2.bias)
        _set(net.l1, W1, b1)
        _set(net.l2, W2, b2)
        try:
            yield net
        finally:
            net.l1.weight, net.l1.bias, net.l2.weight, net.l2.bias = rest

    def _module(self, in_dim: int, hid_dim: int, out_dim: int) -> TorchMlp:
        """Return the network of these sizes on the meta device, built once per sizes (building
        an `nn.Module` costs about half a forward pass at small sizes)."""
        key = (in_dim, hid_dim, out_dim)
        net = self._networks.get(key)
        if net is None:
            net = self._networks[key] = self._build(in_dim, hid_dim, out_dim)
        return net

    def _build(self, in_dim: int, hid_dim: int, out_dim: int) -> TorchMlp:
        relu = type(self).relu  # the plain function, not bound to the instance
        return TorchMlp(in_dim, hid_dim, out_dim, self.torch_dtype, self.linear, relu)

    def _layer(self, W: Tensor, b: Tensor | None) -> nn.Linear:
        layer = _linear(W.shape[1], W.shape[0], self.torch_dtype, self.linear, b is not None)
        _set(layer, W, b)
        return layer

    # Compiled functions (`compile=...`).

    @no_type_check  # keeps the test suite's runtime type checker out of the traced functions
    def _compiled_functions(
        self, backend: str, dynamic: bool | None
    ) -> dict[str, Callable[..., Any]]:
        """Return the functions of tensors the compiled engine calls, each `torch.compile`d.

        They take the parameters as arguments and put them into the layers of a `TorchMlp` built
        once on the meta device (`torch.func.functional_call`), so one compiled graph serves every
        call, and the engine's building blocks (`linear`, `relu`, `make_loss`) are the ones
        traced.
        """
        net = self._build(1, 1, 1)
        layer = _linear(1, 1, self.torch_dtype, self.linear, bias=False)
        relu = type(self).relu
        mse = self._mse

        def z1(W1: Tensor, b1: Tensor, x: Tensor) -> Tensor:
            out: Tensor = functional_call(net.l1, {"weight": W1, "bias": b1}, (x,))
            return out

        def a1(W1: Tensor, b1: Tensor, x: Tensor) -> Tensor:
            return relu(z1(W1, b1, x))

        def forward(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, x: Tensor) -> Tensor:
            # `TorchMlp.forward`, layer by layer.
            out: Tensor = functional_call(net.l2, {"weight": W2, "bias": b2}, (a1(W1, b1, x),))
            return out

        def loss(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, x: Tensor, t: Tensor) -> Tensor:
            out: Tensor = mse(forward(W1, b1, W2, b2, x), t)
            return out

        def mse_of(y: Tensor, t: Tensor) -> Tensor:
            out: Tensor = mse(y, t)
            return out

        def linear_of(W: Tensor, x: Tensor) -> Tensor:
            out: Tensor = functional_call(layer, {"weight": W}, (x,))
            return out

        def jvp(
            W1: Tensor,
            b1: Tensor,
            W2: Tensor,
            b2: Tensor,
            x: Tensor,
            dW1: Tensor,
            db1: Tensor,
            dW2: Tensor,
            db2: Tensor,
            dx: Tensor,
        ) -> Tensor:
            out = torch_jvp(forward, (W1, b1, W2, b2, x), (dW1, db1, dW2, db2, dx))
            dy: Tensor = out[1]
            return dy

        fns: dict[str, Callable[..., Any]] = {
            "forward": forward,
            "loss": loss,
            "z1": z1,
            "a1": a1,
            "mse": mse_of,
            "relu": relu,
            "linear": linear_of,
            "jvp": jvp,
        }
        return {
            k: torch.compile(f, backend=backend, dynamic=dynamic, fullgraph=True)
            for k, f in fns.items()
        }

    def _run(self, method: str, thunk: Callable[[], T]) -> T:
        """Return `thunk()`, which calls compiled functions, logging whether it compiled.

        The call is first made under `torch.compiler.set_stance("fail_on_recompile")`: it runs
        if compiled code fits, and raises before running anything if it would compile. Then it
        is made again, compiling, and timed as compile time. The backward graph AOTAutograd
        compiles at a function's first backward pass falls in that second call too.
        """
        log = self.compile_log
        assert log is not None
        with _patch_config(recompile_limit=RECOMPILE_LIMIT, fail_on_recompile_limit_hit=True):
            start = time.perf_counter()
            try:
                with torch.compiler.set_stance("fail_on_recompile"):
                    out = thunk()
            except RuntimeError as exc:
                if not str(exc).startswith(_RECOMPILE):
                    raise
            else:
                log.ran(method, time.perf_counter() - start)
                return out
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    # AOTAutograd traces backward graphs in anomaly mode, which warns with the
                    # forward's stack before a failure that the engine raises, one line long.
                    warnings.filterwarnings("ignore", message="Error detected in ")
                    out = thunk()
            except Exception as exc:
                log.failed(method, time.perf_counter() - start)
                raise RuntimeError(
                    f"the call that compiles {method} (torch.compile, backend {self.compile!r}) "
                    f"raised {type(exc).__name__}: {_headline(exc)}"
                ) from exc
            log.compiled(method, time.perf_counter() - start)
            return out

    def _grad_of(
        self,
        method: str,
        fn: str,
        args: list[Tensor],
        wrt: list[int],
        grad_output: Tensor | None = None,
    ) -> list[Tensor]:
        """Return the gradients of the compiled function `fn` at `args` in the arguments `wrt`
        (on `grad_output`), by `torch.autograd.grad` through its compiled backward graph; an
        argument the graph does not reach has gradient 0."""

        def thunk() -> list[Tensor]:
            with torch.enable_grad():
                leaves = [a.detach().requires_grad_(i in wrt) for i, a in enumerate(args)]
                out = self._fns[fn](*leaves)
                gs = torch.autograd.grad(
                    out, [leaves[i] for i in wrt], grad_outputs=grad_output, allow_unused=True
                )
                return [
                    g if g is not None else torch.zeros_like(leaves[i])
                    for g, i in zip(gs, wrt, strict=True)
                ]

        return self._run(method, thunk)

    def _value_of(self, method: str, fn: str, args: list[Tensor]) -> Tensor:
        """Return the compiled function `fn` at `args`, without autograd."""

        def thunk() -> Tensor:
            with torch.no_grad():
                out: Tensor = self._fns[fn](*args)
                return out

        return self._run(method, thunk)

    # The protocol.

    def forward(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
    ) -> Float[F64, " outDim"]:
        """`Proofs.Autograd.mlpVecMat` (def): Return `y = W2 · relu(W1 x + b1) + b2`."""
        if self._fns:
            return self._np(self._value_of("forward", "forward", self._ts(W1, b1, W2, b2, x)))
        with torch.no_grad(), self._net(*self._ts(W1, b1, W2, b2)) as net:
            return self._np(net(self._t(x)))

    def loss(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
        t: Float[In, " outDim"],
    ) -> float:
        """Return `MSELoss(reduction="mean")(net(x), t)`; NaN when `outDim = 0` (Lean: 0)."""
        if self._fns:
            return float(self._value_of("loss", "loss", self._ts(W1, b1, W2, b2, x, t)).item())
        with torch.no_grad(), self._net(*self._ts(W1, b1, W2, b2)) as net:
            return float(self._mse(net(self._t(x)), self._t(t)).item())

    def grads(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
        t: Float[In, " outDim"],
    ) -> dict[str, F64]:
        """Return the gradients of the loss in `W1 b1 W2 b2 x`, from `loss.backward()`.

        The four parameters are the layers' `.weight.grad`/`.bias.grad`; `x` is a leaf with
        `requires_grad`. A leaf autograd leaves at `None` (unreached: an empty layer) has gradient
        0. Compiled: `torch.autograd.grad` of the compiled loss, through its compiled backward
        graph.
        """
        if self._fns:
            gs = self._grad_of("grads", "loss", self._ts(W1, b1, W2, b2, x, t), [0, 1, 2, 3, 4])
            return {k: self._np(g) for k, g in zip(PARAMS, gs, strict=True)}
        with torch.enable_grad(), self._net(*self._ts(W1, b1, W2, b2)) as net:
            xt = self._t(x).requires_grad_(True)
            loss = self._mse(net(xt), self._t(t))
            loss.backward()
            leaves = (net.l1.weight, net.l1.bias, net.l2.weight, net.l2.bias, xt)
            return {
                k: self._np(v.grad if v.grad is not None else torch.zeros_like(v))
                for k, v in zip(PARAMS, leaves, strict=True)
            }

    # The optional methods.

    def z1(
        self, W1: Float[In, "hidDim inDim"], b1: Float[In, " hidDim"], x: Float[In, " inDim"]
    ) -> Float[F64, " hidDim"]:
        """`Proofs.Autograd.z1` (def): Return the first `nn.Linear`'s output `W1 x + b1`."""
        if self._fns:
            return self._np(self._value_of("z1", "z1", self._ts(W1, b1, x)))
        with torch.no_grad():
            return self._np(self._layer(self._t(W1), self._t(b1))(self._t(x)))

    def a1(
        self, W1: Float[In, "hidDim inDim"], b1: Float[In, " hidDim"], x: Float[In, " inDim"]
    ) -> Float[F64, " hidDim"]:
        """`Proofs.Autograd.a1` (def): Return `relu` of the first layer's output."""
        if self._fns:
            return self._np(self._value_of("a1", "a1", self._ts(W1, b1, x)))
        with torch.no_grad():
            return self._np(self.relu(self._layer(self._t(W1), self._t(b1))(self._t(x))))

    def mse(self, y: Float[In, " n"], t: Float[In, " n"]) -> float:
        """`Proofs.Autograd.mse` (def): Return `MSELoss(reduction="mean")(y, t)` (NaN if n = 0)."""
        if self._fns:
            return float(self._value_of("mse", "mse", self._ts(y, t)).item())
        with torch.no_grad():
            return float(self._mse(self._t(y), self._t(t)).item())

    def mse_grad(self, y: Float[In, " n"], t: Float[In, " n"]) -> Float[F64, " n"]:
        """`Proofs.Autograd.mseGrad` (def): Return the autograd gradient of `MSELoss` in `y`."""
        if self._fns:
            return self._np(self._grad_of("mse_grad", "mse", self._ts(y, t), [0])[0])
        with torch.enable_grad():
            yt = self._t(y).requires_grad_(True)
            (g,) = torch.autograd.grad(self._mse(yt, self._t(t)), yt)
            return self._np(g)

    def relu_vjp(self, z: Float[In, " n"], delta: Float[In, " n"]) -> Float[F64, " n"]:
        """`Proofs.Autograd.reluDerivCLM` (def): Return autograd's VJP of `F.relu` at `z` on `δ`."""
        if self._fns:
            zt, dt = self._ts(z, delta)
            return self._np(self._grad_of("relu_vjp", "relu", [zt], [0], dt)[0])
        with torch.enable_grad():
            zt = self._t(z).requires_grad_(True)
            (g,) = torch.autograd.grad(self.relu(zt), zt, grad_outputs=self._t(delta))
            return self._np(g)

    def linear_input_vjp(
        self, W: Float[In, "outDim inDim"], delta: Float[In, " outDim"]
    ) -> Float[F64, " inDim"]:
        """`Spec.linearInputDerivSpec` (def): Return autograd's VJP of `nn.Linear` (no bias, weight
        `W`), i.e. of `F.linear(·, W)`, in its input, on `δ`."""
        if self._fns:
            Wt, dt = self._ts(W, delta)
            x0 = torch.zeros(Wt.shape[1], dtype=self.torch_dtype, device=self.device)
            return self._np(self._grad_of("linear_input_vjp", "linear", [Wt, x0], [1], dt)[0])
        with torch.enable_grad():
            layer = self._layer(self._t(W), None)
            # The map is linear, so its VJP does not depend on the point: take it at 0.
            xt = torch.zeros(
                W.shape[1], dtype=self.torch_dtype, device=self.device, requires_grad=True
            )
            (g,) = torch.autograd.grad(layer(xt), xt, grad_outputs=self._t(delta))
            return self._np(g)

    def jvp(
        self,
        W1: Float[In, "hidDim inDim"],
        b1: Float[In, " hidDim"],
        W2: Float[In, "outDim hidDim"],
        b2: Float[In, " outDim"],
        x: Float[In, " inDim"],
        tangents: Mapping[str, In],
    ) -> Float[F64, " outDim"]:
        """Return `torch.func.jvp` of the network at `(W1, b1, W2, b2, x)` along `tangents`.

        A key missing from `tangents` means a zero tangent; an unknown key is a `ValueError`.
        """
        primals = [self._t(a) for a in (W1, b1, W2, b2, x)]
        check_tangents(tangents, {k: tuple(p.shape) for k, p in zip(PARAMS, primals, strict=True)})
        # Differentiate in the arguments that have a tangent only: a zero tangent contributes
        # nothing, and materialising one the size of W1 costs more than the product with it.
        if self._fns:
            # Compiled: every tangent is passed (zeros where missing), so one graph serves all.
            tans_all = [
                self._t(tangents[k]) if k in tangents else torch.zeros_like(p)
                for k, p in zip(PARAMS, primals, strict=True)
            ]
            return self._np(self._value_of("jvp", "jvp", [*primals, *tans_all]))
        moving = [i for i, k in enumerate(PARAMS) if k in tangents]
        if not moving:
            return np.zeros(primals[3].shape[0])
        net = self._module(primals[0].shape[1], primals[0].shape[0], primals[2].shape[0])

        def f(*values: Tensor) -> Tensor:
            args = list(primals)
            for i, v in zip(moving, values, strict=True):
                args[i] = v
            params = dict(zip(_MODULE_PARAMS, args[:4], strict=True))
            out: Tensor = functional_call(net, params, (args[4],))
            return out

        tans = tuple(self._t(tangents[PARAMS[i]]) for i in moving)
        out = torch_jvp(f, tuple(primals[i] for i in moving), tans)  # (f(primals), f'(tans))
        dy: Tensor = out[1]
        return self._np(dy)
