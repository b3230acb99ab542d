"""The PyTorch engine `impl.torch_backend.TorchBackend` under the conformance suite.

- It holds on all 25 predicates, in float64 and in float32, across several seeds: no false alarm.
- The one divergence from the Lean module, `nn.MSELoss` on an empty output (NaN, where Lean's
  `Proofs.Autograd.mse` is 0), is reported as an `error` verdict with its message, not a crash.
- Each deliberately wrong engine of `tests.torch_mutants` is caught, by the predicates named here.
- The engine leaves global state alone and does not write into its inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from impl.torch_backend import TorchBackend
from spec.checks.base import Config
from spec.engine import OPTIONAL_METHODS, load_backend
from spec.runner import Result, module_checks, run_all
from spec.subject import Subject
from spec.verdict import Status
from tests import torch_mutants as M

EMPTY_OUTPUT = Config(dims=(2, 3, 0), min_dim=0, max_dim=1)
"""Every MLP point with `outDim = 0`, the lemmas about single maps at sizes 0 and 1: where the
engine's loss departs from Lean's `mse` (NaN, or no compiled backward, against 0)."""

SEEDS = (0, 1, 2)
EXAMPLES = 5
"""Examples per predicate and seed: 25 predicates x 3 seeds x 5 examples per dtype (the CLI runs
of docs/engines.md cover 20 seeds x 100 examples; here the runtime type checks of the test
configuration make each call several times slower)."""

# PyTorch 2.13 loads its forward-mode decompositions with `torch.jit.script` on the first
# `torch.func.jvp`, which warns that `torch.jit.script` is deprecated: PyTorch's internals, not
# ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

F64 = NDArray[np.float64]

ALL = [name.rsplit(".", 1)[-1] for name, _, _ in module_checks()]


def _summary(results: list[Result]) -> str:
    return "; ".join(
        f"{r.lean_name}: {r.status.value} {r.message}"
        for r in results
        if r.status is not Status.HOLDS
    )


Args = tuple[F64, F64, F64, F64, F64, F64]


def _args(rng: np.random.Generator, n_in: int, n_hid: int, n_out: int) -> Args:
    """Return `(W1, b1, W2, b2, x, t)` with standard normal entries."""
    W1, b1, W2, b2, x, t = (
        rng.standard_normal(s)
        for s in ((n_hid, n_in), (n_hid,), (n_out, n_hid), (n_out,), (n_in,), (n_out,))
    )
    return W1, b1, W2, b2, x, t


# --- The real engine holds ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_holds_on_every_predicate(dtype: str, seed: int) -> None:
    """On non-empty networks every statement holds; at empty layers torch's NaN loss is the
    divergence `test_empty_output_mse_is_nan_and_reported_as_error` pins."""
    engine = TorchBackend(dtype=np.dtype(dtype))
    results = run_all(engine, Config(dtype=dtype, min_dim=1), EXAMPLES, seed)
    assert [r.lean_name.rsplit(".", 1)[-1] for r in results] == ALL
    assert all(r.status is Status.HOLDS for r in results), _summary(results)
    assert all(r.holds > 0 for r in results)


def test_every_optional_method_runs_on_the_engine() -> None:
    subject = Subject(TorchBackend())
    assert all(subject.has(m) for m in OPTIONAL_METHODS)


def test_built_in_name_and_options() -> None:
    assert load_backend("torch").name == "torch-float64"
    assert load_backend("torch", "float32").name == "torch-float32"
    assert load_backend("torch", "float64", "cpu").name == "torch-float64"
    with pytest.raises(ValueError, match="dtype=int32 is not supported"):
        TorchBackend(dtype=np.dtype("int32"))
    with pytest.raises(ValueError, match="is not a torch device"):
        TorchBackend(device="nonsense")
    if torch.cuda.is_available():
        assert TorchBackend(device="cuda").name == "torch-float64-cuda"
    else:
        no_gpu = r"device='cuda', but this PyTorch .* sees no CUDA GPU"
        with pytest.raises(ValueError, match=no_gpu):
            TorchBackend(device="cuda")
        with pytest.raises(ValueError, match="--backend torch: .*sees no CUDA GPU"):
            load_backend("torch", "float64", "cuda")


def test_float32_computes_in_float32() -> None:
    # 1 + 2^-30 is 1 in float32: the engine rounds its inputs and computes in the format.
    e32, e64 = TorchBackend(dtype=np.dtype("float32")), TorchBackend()
    z = np.array([1.0 + 2.0**-30]), np.array([1.0])
    assert e32.mse(*z) == 0.0
    assert e64.mse(*z) == 2.0**-60


# --- Divergences from the Lean module, reported ------------------------------------------------


def test_relu_backward_at_zero_is_lean_convention() -> None:
    # `Activation.Math.reluDerivSpec 0 = 0`; PyTorch's threshold_backward also gives 0 at 0.
    got = TorchBackend().relu_vjp(np.array([0.0, -0.0, 1.0, -1.0]), np.ones(4))
    assert got.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_empty_output_mse_is_nan_and_reported_as_error() -> None:
    e = TorchBackend()
    W1, b1, W2, b2, x, t = _args(np.random.default_rng(0), 2, 3, 0)
    assert np.isnan(e.loss(W1, b1, W2, b2, x, t))  # Lean: mse t y = 0 when n = 0
    assert np.isnan(e.mse(np.zeros(0), np.zeros(0)))
    assert e.mse_grad(np.zeros(0), np.zeros(0)).shape == (0,)  # the empty vector, as in Lean
    grads = e.grads(W1, b1, W2, b2, x, t)
    assert all(np.all(g == 0) for g in grads.values())  # every gradient is 0, as in Lean

    results = {
        r.lean_name.rsplit(".", 1)[-1]: r
        for r in run_all(
            e,
            EMPTY_OUTPUT,
            30,
            0,
            ["mse", "hasFDerivAt_mse", "mseGrad", "grad_b2_mse", "mseGrad_eq_adjoint_fderiv"],
        )
    }
    for name in ("mse", "hasFDerivAt_mse", "grad_b2_mse"):
        r = results[name]
        assert r.status is Status.ERROR, (name, r.status, r.message)
        assert r.message == "torch-float64.loss returned nan; expected a finite number"
        assert r.counterexample is not None
        # Only at empty layers: every other part of the domain holds.
        assert r.failing_part == "empty"
        assert all(v.status is Status.HOLDS for p, v in r.parts.items() if p != "empty"), r
    # The derivative side agrees with Lean at n = 0: the gradient is the empty vector.
    assert results["mseGrad"].status is Status.HOLDS
    assert results["mseGrad_eq_adjoint_fderiv"].status is Status.HOLDS


# --- Wrong engines are caught ------------------------------------------------------------------

SMALL = Config(max_dim=4)
SQUARE = Config(min_dim=3, max_dim=3)
"""`LinearBackwardNotTransposed` returns `W g` for the input gradient, which has the right shape
only when `W` is square: every dimension 3."""

CAUGHT: list[tuple[type[TorchBackend], Config, list[str], list[str]]] = [
    # (engine, config, predicates that must fail, predicates that must still hold). The full
    # list of predicates that catch each engine is in docs/engines.md.
    (
        M.UnmaskedReluBackward,
        SMALL,
        ["reluDerivCLM_apply", "grad_b1_mse", "grad_W1_mse"],
        ["grad_W2_mse", "hasFDerivAt_mlp_wrt_b1"],
    ),
    (M.DoubledReluBackward, SMALL, ["reluDerivCLM_adjoint_apply", "grad_x_mse"], ["grad_b2_mse"]),
    (
        M.MseBackwardNoFactor2,
        SMALL,
        ["mseGrad", "mseGrad_eq_adjoint_fderiv", "grad_W2_mse"],
        ["mse"],
    ),
    (M.SumReductionMse, SMALL, ["mse", "hasFDerivAt_mse", "grad_b2_mse"], ["mlpVecMat"]),
    (
        M.LinearBackwardNotTransposed,
        SQUARE,
        ["toVecE_linear_input_deriv_spec_eq_adjoint", "grad_b1_mse", "grad_x_mse"],
        ["grad_W2_mse", "hasFDerivAt_mlp_wrt_x"],
    ),
]


@pytest.mark.parametrize(
    ("engine", "cfg", "fail", "hold"), CAUGHT, ids=[c[0].__name__ for c in CAUGHT]
)
def test_invalid_torch_engine_is_caught(
    engine: type[TorchBackend], cfg: Config, fail: list[str], hold: list[str]
) -> None:
    results = {
        r.lean_name.rsplit(".", 1)[-1]: r for r in run_all(engine(), cfg, 10, 1729, fail + hold)
    }
    for name in fail:
        r = results[name]
        assert r.status is Status.FAILS, (name, r.status, r.message)
        assert r.counterexample is not None and r.worst_ratio > 1
    for name in hold:
        assert results[name].status is Status.HOLDS, (name, results[name].message)


def test_invalid_linear_backward_on_non_square_layers_is_an_error() -> None:
    # Off the square case autograd itself rejects the wrong gradient's shape: an `error` verdict.
    results = run_all(
        M.LinearBackwardNotTransposed(),
        Config(min_dim=2, max_dim=2),
        5,
        0,
        ["mseGrad_eq_adjoint_fderiv"],
    )
    (r,) = results
    assert r.status is Status.ERROR
    assert r.message.startswith("torch-float64.grads raised RuntimeError")


# --- State -------------------------------------------------------------------------------------


def test_leaves_global_state_and_inputs_alone() -> None:
    e = TorchBackend()
    args = _args(np.random.default_rng(1), 3, 4, 2)
    W1, b1, W2, b2, x, _ = args
    before = [a.copy() for a in args]
    rng_state = torch.random.get_rng_state()
    with torch.no_grad():  # the caller's grad mode does not switch the gradients off
        g = e.grads(*args)
    assert not np.all(g["W1"] == 0) or not np.all(g["x"] == 0)
    y = e.forward(W1, b1, W2, b2, x)
    dy = e.jvp(W1, b1, W2, b2, x, {"x": np.ones(3)})
    assert y.dtype == dy.dtype == np.float64
    assert torch.equal(rng_state, torch.random.get_rng_state())
    assert torch.is_grad_enabled()
    assert all(np.array_equal(a, b) for a, b in zip(args, before, strict=True))
    assert e.grads(*args)["W1"].tolist() == g["W1"].tolist()  # the same on a second call
