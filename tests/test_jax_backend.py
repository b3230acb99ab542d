"""The JAX engine `impl.jax_backend.JaxBackend` under the conformance suite.

- It holds on all 25 predicates, in float64 and in float32, across several seeds: no false alarm.
- Its divergence from the Lean module, `jnp.mean` of an empty output (NaN, where Lean's
  `Proofs.Autograd.mse` is 0), is reported as an `error` verdict with its message, not a crash.
- `jax.nn.relu` has derivative 0 at 0, Lean's `Activation.Math.reluDerivSpec`; ReLU written as
  `jnp.maximum(z, 0)` has 0.5 there, and `reluDerivCLM_apply` reports it, while the gradient
  lemmas (which exclude kinks) hold for it.

JAX compiles each function once per input shape, so the engines are shared by the whole module
(their compiled functions are reused) and the dimensions are kept small.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from impl import jax_backend
from impl.jax_backend import JaxBackend
from impl.model import PARAMS
from spec.checks.base import Config
from spec.engine import OPTIONAL_METHODS, load_backend
from spec.runner import Result, module_checks, run_all
from spec.subject import Subject
from spec.verdict import Status

EMPTY_OUTPUT = Config(dims=(2, 3, 0), min_dim=0, max_dim=1)
"""Every MLP point with `outDim = 0`, the lemmas about single maps at sizes 0 and 1: where the
engine's loss departs from Lean's `mse` (NaN, or no compiled backward, against 0)."""

SEEDS = (0, 1, 2)
EXAMPLES = 5
"""Examples per predicate and seed: 25 predicates x 3 seeds x 5 examples per dtype."""
MAX_DIM = 3
"""Every shape is compiled once per function: dimensions up to 3 keep that to 27 shapes."""

ENGINES = {"float64": JaxBackend(), "float32": JaxBackend(dtype=np.dtype("float32"))}

ALL = [name.rsplit(".", 1)[-1] for name, _, _ in module_checks()]


def _summary(results: list[Result]) -> str:
    return "; ".join(
        f"{r.lean_name}: {r.status.value} {r.message}"
        for r in results
        if r.status is not Status.HOLDS
    )


def _by_name(results: list[Result]) -> dict[str, Result]:
    return {r.lean_name.rsplit(".", 1)[-1]: r for r in results}


# --- The real engine holds ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_holds_on_every_predicate(dtype: str, seed: int) -> None:
    """On non-empty networks (`min_dim=1`) every statement holds on JAX; at empty layers its
    NaN loss is the divergence `test_divergence_at_empty_layers` pins."""
    results = run_all(
        ENGINES[dtype], Config(dtype=dtype, min_dim=1, max_dim=MAX_DIM), EXAMPLES, seed
    )
    assert [r.lean_name.rsplit(".", 1)[-1] for r in results] == ALL
    assert all(r.status is Status.HOLDS for r in results), _summary(results)
    assert all(r.holds > 0 for r in results)


def test_every_optional_method_runs_on_the_engine() -> None:
    subject = Subject(ENGINES["float64"])
    assert all(subject.has(m) for m in OPTIONAL_METHODS)


def test_built_in_name_and_options() -> None:
    # jax_enable_x64, set when impl.jax_backend is imported
    assert jnp.zeros(1).dtype == jnp.float64
    assert load_backend("jax").name == "jax-float64"
    assert load_backend("jax", "float32").name == "jax-float32"
    assert load_backend("jax", "float64", "cpu").name == "jax-float64"
    assert JaxBackend(jit=False).name == "jax-float64"
    with pytest.raises(ValueError, match="dtype=int32 is not supported"):
        JaxBackend(dtype=np.dtype("int32"))
    with pytest.raises(ValueError, match="expected PLATFORM or PLATFORM:INDEX"):
        JaxBackend(device="cpu:first")
    with pytest.raises(ValueError, match="there are 1 'cpu' devices"):
        JaxBackend(device=f"cpu:{len(jax.devices('cpu'))}")
    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(ValueError, match="--backend jax: .*has no 'gpu' devices"):
            load_backend("jax", "float64", "gpu")


def test_float64_and_float32_compute_in_their_format() -> None:
    # 1 + 2^-30 is 1 in float32: the float32 engine rounds its inputs and computes in the format;
    # the float64 engine keeps it (without jax_enable_x64 it would silently compute in float32).
    z = np.array([1.0 + 2.0**-30]), np.array([1.0])
    assert ENGINES["float32"].mse(*z) == 0.0
    assert ENGINES["float64"].mse(*z) == 2.0**-60


def test_jit_and_eager_agree() -> None:
    rng = np.random.default_rng(3)
    shapes = ((3, 2), (3,), (2, 3), (2,), (2,), (2,))
    W1, b1, W2, b2, x, t = (rng.standard_normal(s) for s in shapes)
    jitted, eager = ENGINES["float64"], JaxBackend(jit=False)
    for k, g in jitted.grads(W1, b1, W2, b2, x, t).items():
        assert np.allclose(g, eager.grads(W1, b1, W2, b2, x, t)[k], rtol=1e-14, atol=0), k
    tangents = {"W1": np.ones((3, 2))}
    assert np.allclose(
        jitted.jvp(W1, b1, W2, b2, x, tangents),
        eager.jvp(W1, b1, W2, b2, x, tangents),
        rtol=1e-14,
        atol=0,
    )


def test_each_program_compiles_once_per_shape() -> None:
    # A small network's forward, loss, grads and jvp are one jitted program, z1 and a1 another,
    # each compiled ahead of time once per input shapes and reused: the compile log counts exactly
    # that.
    e = JaxBackend()
    rng = np.random.default_rng(5)
    W1, b1, W2, b2, x, t = (
        rng.standard_normal(s) for s in ((3, 2), (3,), (2, 3), (2,), (2,), (2,))
    )
    for _ in range(2):
        e.forward(W1, b1, W2, b2, x)
        e.grads(W1, b1, W2, b2, x, t)
        e.a1(W1, b1, x)
        e.z1(W1, b1, x)
        e.jvp(W1, b1, W2, b2, x, {"x": np.ones(2)})
    e.loss(W1[:, :1], b1, W2, b2, x[:1], t)  # a new shape: one more compilation
    log = e.compile_log
    assert log is not None
    assert {k: (m.compilations, m.calls) for k, m in log.methods.items()} == {
        "forward+loss+grads+jvp": (2, 5),
        "z1+a1": (1, 3),
    }
    assert e.report_notes() == [log.summary()]
    assert log.summary().startswith(
        "jax.jit (ahead of time, once per program and input shapes): 3 compilation(s) in "
    )
    assert JaxBackend(jit=False).report_notes() == []


def test_a_large_network_compiles_each_method_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    # Above FUSED_UP_TO parameters a forward call must not pay for a backward pass: each method
    # has its own program, and its values are those of the one program.
    rng = np.random.default_rng(6)
    W1, b1, W2, b2, x, t = (
        rng.standard_normal(s) for s in ((3, 2), (3,), (2, 3), (2,), (2,), (2,))
    )
    fused = JaxBackend()
    monkeypatch.setattr(jax_backend, "FUSED_UP_TO", 18)  # this network has 19 parameters
    apart = JaxBackend()
    tangents = {"W2": np.ones((2, 3)), "b1": rng.standard_normal(3)}
    for e in (fused, apart):
        e.forward(W1, b1, W2, b2, x)
    assert np.array_equal(fused.forward(W1, b1, W2, b2, x), apart.forward(W1, b1, W2, b2, x))
    assert fused.loss(W1, b1, W2, b2, x, t) == apart.loss(W1, b1, W2, b2, x, t)
    g, h = fused.grads(W1, b1, W2, b2, x, t), apart.grads(W1, b1, W2, b2, x, t)
    assert all(np.array_equal(g[k], h[k]) for k in PARAMS)
    assert np.array_equal(
        fused.jvp(W1, b1, W2, b2, x, tangents), apart.jvp(W1, b1, W2, b2, x, tangents)
    )
    log = apart.compile_log
    assert log is not None
    assert {k: (m.compilations, m.calls) for k, m in log.methods.items()} == {
        "forward": (1, 1),
        "loss": (1, 0),
        "grads": (1, 0),
        "jvp": (1, 0),
    }


def test_compile_option() -> None:
    assert load_backend("jax", "float64", None, "jit").name == "jax-float64"
    assert JaxBackend(compile="default").jit
    with pytest.raises(ValueError, match=r"compile='inductor': JAX compiles with jax.jit only"):
        JaxBackend(compile="inductor")
    with pytest.raises(ValueError, match=r"compile='jit' and jit=False exclude each other"):
        JaxBackend(compile="jit", jit=False)


# --- Divergences from the Lean module, reported ------------------------------------------------


def test_relu_backward_at_zero_is_lean_convention() -> None:
    # jax.nn.relu is a custom_jvp with derivative 0 at 0 (jax-ml/jax#2342), Lean's convention.
    got = ENGINES["float64"].relu_vjp(np.array([0.0, -0.0, 1.0, -1.0]), np.ones(4))
    assert got.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_empty_output_mse_is_nan_and_reported_as_error() -> None:
    e = ENGINES["float64"]
    assert np.isnan(e.mse(np.zeros(0), np.zeros(0)))  # Lean: mse t y = 0 when n = 0
    assert e.mse_grad(np.zeros(0), np.zeros(0)).shape == (0,)  # the empty vector, as in Lean
    results = _by_name(
        run_all(
            e,
            EMPTY_OUTPUT,
            30,
            0,
            ["mse", "hasFDerivAt_mse", "mseGrad", "grad_b2_mse", "mseGrad_eq_adjoint_fderiv"],
        )
    )
    for name in ("mse", "hasFDerivAt_mse", "grad_b2_mse"):
        r = results[name]
        assert r.status is Status.ERROR, (name, r.status, r.message)
        assert r.message == "jax-float64.loss returned nan; expected a finite number"
        assert r.counterexample is not None
        # Only at empty layers: every other part of the domain holds.
        assert r.failing_part == "empty"
        assert all(v.status is Status.HOLDS for p, v in r.parts.items() if p != "empty"), r
    assert results["mseGrad"].status is Status.HOLDS
    assert results["mseGrad_eq_adjoint_fderiv"].status is Status.HOLDS


class MaximumRelu(JaxBackend):
    """JaxBackend with ReLU written `jnp.maximum(z, 0)`, whose derivative at 0 is 0.5.

    Usable as `--backend tests.test_jax_backend:MaximumRelu`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.name = "jax-maximum-relu"

    @staticmethod
    def activation(z: jax.Array) -> jax.Array:
        return jnp.maximum(z, 0)


def test_maximum_relu_half_at_zero_is_reported_by_reluDerivCLM_apply() -> None:
    engine = MaximumRelu()
    assert engine.relu_vjp(np.array([0.0, 2.0, -2.0]), np.ones(3)).tolist() == [0.5, 1.0, 0.0]
    results = _by_name(
        run_all(
            engine,
            Config(min_dim=1, max_dim=MAX_DIM),
            10,
            0,
            [
                "reluDerivCLM_apply",
                "reluDerivCLM_adjoint_apply",
                "grad_b1_mse",
                "hasFDerivAt_mlp_wrt_x",
            ],
        )
    )
    for name in ("reluDerivCLM_apply", "reluDerivCLM_adjoint_apply"):
        r = results[name]
        assert r.status is Status.FAILS, (name, r.status)
        worst = r.counterexample.worst if r.counterexample else None
        assert worst is not None
        assert worst.actual == 0.5 and worst.expected == 0.0, worst.describe()
    # Away from kinks, where the gradient lemmas assume `hx`, it is correct (on non-empty
    # networks: at empty layers its loss is NaN, `test_empty_output_mse_is_nan_and_reported...`).
    assert results["grad_b1_mse"].status is Status.HOLDS
    assert results["hasFDerivAt_mlp_wrt_x"].status is Status.HOLDS
