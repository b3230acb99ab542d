"""The compiled PyTorch engine, `TorchBackend(compile=...)`, under the conformance suite.

- Compiled with `aot_eager` (AOTAutograd's forward and backward graphs, run by eager kernels) it
  holds on all 25 predicates in float64 and float32; compiled with Inductor (generated C++
  kernels) it holds on the gradient lemmas.
- Compilations are counted per method: at one shape each function compiles exactly once, and
  later statements and runs reuse it.
- A wrong custom backward inside the compiled graph is caught; a custom function Dynamo cannot
  trace is an `error` verdict saying so; an empty output is reported, not a crash.
- The float32 matmul precision (TF32, bfloat16) is recorded and stated.
- On a GPU, the compiled engine holds in float64, and TF32 is stated; without one these skip.

Kept small for CI (a 2-core machine): fixed network sizes, sizes up to 3 for the rows about single
maps, a few examples, `aot_eager` except in one Inductor test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from impl.torch_backend import IEEE, TorchBackend, compile_backends, matmul_precision
from spec.checks.base import Config
from spec.cli import main
from spec.engine import load_backend
from spec.runner import Result, module_checks, run_all
from spec.verdict import Status
from tests import torch_mutants as M

EMPTY_OUTPUT = Config(dims=(2, 3, 0), min_dim=0, max_dim=1)
"""Every MLP point with `outDim = 0`, the lemmas about single maps at sizes 0 and 1: where the
engine's loss departs from Lean's `mse` (NaN, or no compiled backward, against 0)."""

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]

ALL = [name.rsplit(".", 1)[-1] for name, _, _ in module_checks()]
DIMS = (3, 4, 2)
"""The network's sizes in these tests: one shape, so the network's functions compile once."""
SMALL = Config(dims=DIMS, max_dim=3)
"""The rows about single maps (ReLU, the linear layer, mse) draw sizes 1 to 3."""
MLP_METHODS = ("forward", "z1", "a1", "jvp")
"""Methods the checker calls at the network's points only (`loss` and `grads` are also called by
rows about `mse` at points of their own)."""
GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU in this machine")


def _summary(results: list[Result]) -> str:
    return "; ".join(
        f"{r.lean_name}: {r.status.value} {r.message}"
        for r in results
        if r.status is not Status.HOLDS
    )


def _by_name(results: list[Result]) -> dict[str, Result]:
    return {r.lean_name.rsplit(".", 1)[-1]: r for r in results}


@pytest.fixture
def fresh() -> None:
    """Drop all compiled code (`torch.compiler.reset()`): torch.compile caches it per Python
    function for the whole process, so an engine would otherwise reuse, and not count, what an
    engine of an earlier test compiled."""
    torch.compiler.reset()


@pytest.fixture
def float32_precision() -> Iterator[None]:
    """Restore `torch.get_float32_matmul_precision()` after the test."""
    before = torch.get_float32_matmul_precision()
    yield
    torch.set_float32_matmul_precision(before)


# --- The compiled engine holds -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_holds_on_every_predicate(dtype: str, fresh: None) -> None:
    engine = TorchBackend(dtype=dtype, compile="aot_eager")
    # The single-map lemmas keep drawing sizes: from 1, since compiled MSELoss cannot compile
    # its backward at n = 0 (`test_empty_output_is_reported_not_a_crash` pins it).
    results = run_all(engine, Config(dims=DIMS, min_dim=1, max_dim=3, dtype=dtype), 5, 0)
    assert [r.lean_name.rsplit(".", 1)[-1] for r in results] == ALL
    assert all(r.status is Status.HOLDS for r in results), _summary(results)
    log = engine.compile_log
    assert log is not None
    # Every method ran compiled code, and the network's functions compiled once, at DIMS.
    assert set(log.methods) == {
        "forward",
        "loss",
        "grads",
        "z1",
        "a1",
        "mse",
        "mse_grad",
        "relu_vjp",
        "linear_input_vjp",
        "jvp",
    }
    assert {m: log.methods[m].compilations for m in MLP_METHODS} == dict.fromkeys(MLP_METHODS, 1)
    assert all(m.calls > 0 for m in log.methods.values())


def test_compilations_are_reused_across_statements_and_runs(fresh: None) -> None:
    engine = TorchBackend(compile="aot_eager")
    names = ["mlpVecMat", "y", "hasFDerivAt_mlp_wrt_x", "grad_W1_mse", "grad_x_mse"]
    run_all(engine, SMALL, 3, 1, names)
    log = engine.compile_log
    assert log is not None
    before = {k: m.compilations for k, m in log.methods.items()}
    assert before == {"forward": 1, "jvp": 1, "loss": 1, "grads": 1}  # one shape: once each
    calls = sum(m.calls for m in log.methods.values())
    results = run_all(engine, SMALL, 3, 2, names)  # other points, the same shape: no compilation
    assert all(r.status is Status.HOLDS for r in results), _summary(results)
    assert {k: m.compilations for k, m in log.methods.items()} == before
    assert sum(m.calls for m in log.methods.values()) > calls
    assert "compilation(s) in" in log.summary()


def test_compiled_values_are_the_eager_values_at_one_point() -> None:
    # aot_eager runs the same ATen kernels as eager PyTorch, so the results agree to the bit here.
    rng = np.random.default_rng(0)
    W1, b1, W2, b2, x, t = (
        rng.standard_normal(s) for s in ((4, 3), (4,), (2, 4), (2,), (3,), (2,))
    )
    compiled, eager = TorchBackend(compile="aot_eager"), TorchBackend()
    assert compiled.loss(W1, b1, W2, b2, x, t) == eager.loss(W1, b1, W2, b2, x, t)
    got, want = compiled.grads(W1, b1, W2, b2, x, t), eager.grads(W1, b1, W2, b2, x, t)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-15, atol=0, err_msg=k)


def test_inductor_holds_on_the_gradient_lemmas(fresh: None) -> None:
    # Inductor's generated kernels, forward and backward: the one test that pays its compile time.
    engine = TorchBackend(compile="inductor")
    names = ["mlpVecMat", "grad_W1_mse", "grad_b1_mse", "grad_x_mse"]
    results = run_all(engine, Config(dims=DIMS), 5, 0, names)
    assert all(r.status is Status.HOLDS for r in results), _summary(results)
    log = engine.compile_log
    assert log is not None and engine.name == "torch-float64-inductor"
    assert {k: m.compilations for k, m in log.methods.items()} == {
        "forward": 1,
        "loss": 1,
        "grads": 1,
    }


# --- Wrong compiled engines are caught ---------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "fail"),
    [
        (M.UnmaskedReluBackwardOnly, ["reluDerivCLM_apply", "grad_b1_mse", "grad_W1_mse"]),
        (M.MseBackwardNoFactor2, ["mseGrad", "grad_W2_mse", "grad_x_mse"]),
    ],
    ids=["UnmaskedReluBackwardOnly", "MseBackwardNoFactor2"],
)
def test_invalid_custom_backward_inside_compiled_graph_is_caught(
    engine: type[TorchBackend], fail: list[str]
) -> None:
    e = engine(compile="aot_eager")
    results = _by_name(run_all(e, SMALL, 10, 1729, [*fail, "grad_b2_mse"]))
    for name in fail:
        r = results[name]
        assert r.status is Status.FAILS, (name, r.status, r.message)
        assert r.counterexample is not None and r.worst_ratio > 1
    # The bug is in the backward rule of one block only: the rows not through it hold.
    if engine is M.UnmaskedReluBackwardOnly:
        assert results["grad_b2_mse"].status is Status.HOLDS
    assert e.compile_log is not None and e.compile_log.methods["grads"].compilations >= 1


def test_invalid_untraceable_custom_function_is_an_error_naming_the_compile() -> None:
    # `_UnmaskedRelu` has a forward-mode rule, which Dynamo cannot trace with fullgraph=True:
    # the engine raises (never a silent fallback to eager code), and the row says why.
    (r,) = run_all(M.UnmaskedReluBackward(compile="aot_eager"), SMALL, 3, 0, ["grad_b1_mse"])
    assert r.status is Status.ERROR
    assert r.message.startswith(
        "torch-float64-aot_eager.grads raised RuntimeError: the call that compiles grads "
        "(torch.compile, backend 'aot_eager') raised Unsupported: Unsupported custom jvp"
    )


def test_empty_output_is_reported_not_a_crash() -> None:
    # Compiled MSELoss at n = 0: AOTAutograd's decomposition of its backward divides by numel()
    # at trace time, so compiling `grads` fails; eager PyTorch returns a NaN loss there. Both are
    # departures from Lean (mse = 0 at n = 0), reported as `error` rows.
    e = TorchBackend(compile="aot_eager")
    results = _by_name(
        run_all(e, EMPTY_OUTPUT, 6, 0, ["mse", "grad_b2_mse", "mseGrad_eq_adjoint_fderiv"])
    )
    assert results["mse"].status is Status.ERROR
    assert results["mse"].message == (
        "torch-float64-aot_eager.loss returned nan; expected a finite number"
    )
    grad = results["grad_b2_mse"]
    assert grad.status is Status.ERROR
    assert "ZeroDivisionError: float division by zero" in grad.message, grad.message
    assert results["mseGrad_eq_adjoint_fderiv"].status is Status.ERROR
    # The failed compilations are counted, apart from the ones that worked.
    log = e.compile_log
    assert log is not None and log.methods["grads"].failed >= 1
    assert " failed one(s) in " in log.summary()


# --- Options, names and messages ---------------------------------------------------------------


def test_invalid_compile_options_are_refused() -> None:
    assert {"inductor", "aot_eager"} <= set(compile_backends())
    assert TorchBackend(compile="default").compile == "inductor"
    assert load_backend("torch", "float64", None, "aot_eager").name == "torch-float64-aot_eager"
    with pytest.raises(ValueError, match=r"compile='bogus' is not a torch.compile backend"):
        TorchBackend(compile="bogus")
    with pytest.raises(
        ValueError,
        match=r"--compile applies to --backend torch and jax; "
        r"'reference' cannot be compiled",
    ):
        load_backend("reference", "float64", None, "default")
    assert "compile='aot_eager', dynamic=True" in repr(TorchBackend(compile="aot_eager"))


def test_cli_refuses_compile_for_an_engine_that_cannot_compile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--backend", "reference", "--compile"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: --compile applies to --backend torch and jax; 'reference' cannot be "
        "compiled by this checker"
    )
    assert "\n" not in err


def test_cli_reports_compile_time_apart(capsys: pytest.CaptureFixture[str], fresh: None) -> None:
    code = main(
        [
            "check",
            "--backend",
            "torch",
            "--compile",
            "aot_eager",
            "--dims",
            "2,3,2",
            "--examples",
            "2",
            "--only",
            "grad_W1_mse",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "MlpMse conformance of engine 'torch-float64-aot_eager'" in out
    # One shape: `grads` and `loss` (the row also differences the loss) compile once each.
    assert re.search(
        r"\ntorch.compile \(backend 'aot_eager', dynamic=True, fullgraph=True\): "
        r"2 compilation\(s\) in \d+\.\ds; \d+ call\(s\) of compiled code in "
        r"\d+\.\ds\n  compilations per method: grads 1 \(\d+\.\ds\), "
        r"loss 1 \(\d+\.\ds\)\n",
        out,
    ), out


# --- Reduced-precision float32 matmuls (TF32, bfloat16) ----------------------------------------


def test_float32_matmul_precision_is_recorded_and_stated(float32_precision: None) -> None:
    torch.set_float32_matmul_precision("highest")
    e = TorchBackend(dtype="float32")
    assert e.name == "torch-float32"
    e.mse(np.ones(2), np.zeros(2))
    assert e.matmul_precisions == {IEEE}
    assert e.report_notes()[-1].startswith("float32 matmuls: IEEE float32 arithmetic")
    # "medium" allows bfloat16 for float32 matmuls on the CPU (oneDNN), "high" TF32: the engine
    # says so in its name and its notes, and records a change during the run.
    torch.set_float32_matmul_precision("medium")
    assert matmul_precision(torch.device("cpu")) == "bf16"
    assert TorchBackend(dtype="float32").name == "torch-float32-bf16"
    e.mse(np.ones(2), np.zeros(2))
    assert e.matmul_precisions == {IEEE, "bf16"}
    note = e.report_notes()[-1]
    assert note.startswith(
        "float32 matmuls: bf16 and ieee allowed "
        "(torch.backends.mkldnn.matmul.fp32_precision) during this run: not "
        "float32 arithmetic"
    ), note
    # float64 is not affected: no note, no suffix.
    assert TorchBackend().name == "torch-float64" and TorchBackend().report_notes() == []


# --- On a GPU (skipped without one) ------------------------------------------------------------


@GPU
def test_cuda_compiled_holds_in_float64() -> None:
    e = TorchBackend(device="cuda", compile="inductor")
    results = run_all(e, Config(dims=DIMS), 5, 0, ["mlpVecMat", "grad_W1_mse", "grad_x_mse"])
    assert all(r.status is Status.HOLDS for r in results), _summary(results)


@GPU
def test_cuda_tf32_is_stated(float32_precision: None) -> None:
    torch.set_float32_matmul_precision("high")  # TF32 for float32 matmuls on CUDA
    e = TorchBackend(dtype="float32", device="cuda")
    assert e.name == "torch-float32-cuda-tf32"
    e.forward(np.ones((2, 2)), np.ones(2), np.ones((1, 2)), np.ones(1), np.ones(2))
    assert "tf32 allowed (torch.backends.cuda.matmul.fp32_precision)" in e.report_notes()[-1]
