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

Arguments arrive as float64 numpy arrays (the protocol of `spec.backend`); they are converted to
the backend's dtype and device, and results come back as float64 numpy arrays (or a Python float),
holding the engine's values exactly.

State: each call builds its own modules and tensors. The layers are constructed on the `meta`
device, so constructing them neither allocates nor draws from PyTorch's global random generator,
and their parameters are then replaced by the caller's `W1 b1 W2 b2`. Gradients are computed under
`torch.enable_grad()`, so a caller's `torch.no_grad()` does not change them. The user's thread
count and float32 matmul precision are left alone (`torch.set_float32_matmul_precision("high")`
allows TF32 on GPUs, which is not float32 arithmetic and is reported against the float32 bounds).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float
from numpy.typing import NDArray
from torch import Tensor, nn
from torch.func import functional_call
from torch.func import jvp as torch_jvp

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


def _linear(
    in_features: int, out_features: int, dtype: torch.dtype, cls: type[nn.Linear] = nn.Linear,
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

    Example: `TorchBackend(dtype=np.dtype("float32"), device="cuda").name == "torch-float32-cuda"`.

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

    def __init__(self, dtype: Any = np.dtype("float64"), device: str = "cpu") -> None:
        dt = np.dtype(dtype)
        if dt.name not in _DTYPES:
            raise ValueError(
                f"TorchBackend: dtype={dt} is not supported; pass one of {', '.join(_DTYPES)}"
            )
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"TorchBackend: device={device!r} is not a torch device: {exc}") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"TorchBackend: device={device!r}, but this PyTorch ({torch.__version__}) sees no "
                "CUDA GPU (torch.cuda.is_available() is False); use device='cpu'"
            )
        try:
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError) as exc:
            raise ValueError(
                f"TorchBackend: device={device!r} cannot be used here: {exc}"
            ) from exc
        self.dtype: np.dtype[Any] = dt
        self.torch_dtype: torch.dtype = _DTYPES[dt.name]
        self.device: torch.device = dev
        self.name = f"torch-{dt.name}" + ("" if dev.type == "cpu" else f"-{device}")
        self._mse = self.make_loss()

    def __repr__(self) -> str:
        return f"TorchBackend(dtype=np.dtype({self.dtype.name!r}), device={str(self.device)!r})"

    # Conversions.

    def _t(self, a: In) -> Tensor:
        """Return the numpy array as a tensor of the backend's dtype, on its device."""
        arr = float_input(a, self.name)
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

    @staticmethod
    def _np(t: Tensor) -> F64:
        out: F64 = t.detach().cpu().numpy().astype(np.float64, copy=False)
        return out

    def _net(self, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> TorchMlp:
        """Return the network with its layers' `.weight`/`.bias` set to `W1 b1 W2 b2`."""
        net = self._module(W1.shape[1], W1.shape[0], W2.shape[0])
        _set(net.l1, W1, b1)
        _set(net.l2, W2, b2)
        return net

    def _module(self, in_dim: int, hid_dim: int, out_dim: int) -> TorchMlp:
        relu = type(self).relu  # the plain function, not bound to the instance
        return TorchMlp(in_dim, hid_dim, out_dim, self.torch_dtype, self.linear, relu)

    def _layer(self, W: Tensor, b: Tensor | None) -> nn.Linear:
        layer = _linear(W.shape[1], W.shape[0], self.torch_dtype, self.linear, b is not None)
        _set(layer, W, b)
        return layer

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
        with torch.no_grad():
            net = self._net(self._t(W1), self._t(b1), self._t(W2), self._t(b2))
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
        with torch.no_grad():
            net = self._net(self._t(W1), self._t(b1), self._t(W2), self._t(b2))
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
        `requires_grad`. A leaf autograd leaves at `None` (unreached: an empty layer) has gradient 0.
        """
        with torch.enable_grad():
            net = self._net(self._t(W1), self._t(b1), self._t(W2), self._t(b2))
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
        with torch.no_grad():
            return self._np(self._layer(self._t(W1), self._t(b1))(self._t(x)))

    def a1(
        self, W1: Float[In, "hidDim inDim"], b1: Float[In, " hidDim"], x: Float[In, " inDim"]
    ) -> Float[F64, " hidDim"]:
        """`Proofs.Autograd.a1` (def): Return `relu` of the first layer's output."""
        with torch.no_grad():
            return self._np(self.relu(self._layer(self._t(W1), self._t(b1))(self._t(x))))

    def mse(self, y: Float[In, " n"], t: Float[In, " n"]) -> float:
        """`Proofs.Autograd.mse` (def): Return `MSELoss(reduction="mean")(y, t)` (NaN if n = 0)."""
        with torch.no_grad():
            return float(self._mse(self._t(y), self._t(t)).item())

    def mse_grad(self, y: Float[In, " n"], t: Float[In, " n"]) -> Float[F64, " n"]:
        """`Proofs.Autograd.mseGrad` (def): Return the autograd gradient of `MSELoss` in `y`."""
        with torch.enable_grad():
            yt = self._t(y).requires_grad_(True)
            (g,) = torch.autograd.grad(self._mse(yt, self._t(t)), yt)
            return self._np(g)

    def relu_vjp(self, z: Float[In, " n"], delta: Float[In, " n"]) -> Float[F64, " n"]:
        """`Proofs.Autograd.reluDerivCLM` (def): Return autograd's VJP of `F.relu` at `z` on `δ`."""
        with torch.enable_grad():
            zt = self._t(z).requires_grad_(True)
            (g,) = torch.autograd.grad(self.relu(zt), zt, grad_outputs=self._t(delta))
            return self._np(g)

    def linear_input_vjp(
        self, W: Float[In, "outDim inDim"], delta: Float[In, " outDim"]
    ) -> Float[F64, " inDim"]:
        """`Spec.linearInputDerivSpec` (def): Return autograd's VJP of `nn.Linear` (no bias, weight
        `W`), i.e. of `F.linear(·, W)`, in its input, on `δ`."""
        with torch.enable_grad():
            layer = self._layer(self._t(W), None)
            # The map is linear, so its VJP does not depend on the point: take it at 0.
            xt = torch.zeros(W.shape[1], dtype=self.torch_dtype, device=self.device,
                             requires_grad=True)
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
