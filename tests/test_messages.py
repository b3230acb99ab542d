"""The text of the reports, so that good messages cannot silently rot.

Each test builds one input by hand (small dyadic numbers, so every float64 value below is exact),
runs one predicate through its guarded check (as the runner does), and matches the key parts of
the report: the Lean name, the quantity, the worst index, actual and expected, the error, the
bound and how it was derived; or the method, the shapes, the index and count of NaNs, the
exception; or `hx fails` and the kinked unit. The `load_backend` errors say what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from spec.engine import Backend, BackendError, load_backend
from spec.examples import PARAMS, MlpExample, MlpPoint
from spec.numerics.tolerance import forward_bounds, grad_bounds
from spec.runner import module_checks
from spec.subject import Subject
from spec.verdict import Status, Verdict
from tests import backends as B

CHECKS = {name.rsplit(".", 1)[-1]: check for name, _, check in module_checks()}


def _arr(*rows: Any) -> Any:
    return np.array(rows, dtype=np.float64)


# z1 = W1 x + b1 = [0.5, -0.75, 1.25]: one unit off, no kink.
POINT = MlpPoint(
    W1=_arr([1.0, 2.0], [-1.0, 0.5], [0.25, -2.0]),
    b1=_arr(1.5, 0.75, -1.0),
    W2=_arr([1.0, -2.0, 0.5], [0.25, 1.0, -1.0]),
    b2=_arr(0.5, -0.25),
    x=_arr(1.0, -1.0),
    t=_arr(1.0, 2.0),
)
PROBE = {k: np.full(POINT.get(k).shape, 0.5) for k in PARAMS}
EXAMPLE = MlpExample(POINT, (PROBE,), "mixed")


def verdict(short: str, backend: Backend, ex: Any = EXAMPLE) -> Verdict:
    """Return the verdict of the guarded check of `short` on one example."""
    return CHECKS[short].run(ex, Subject(backend))


def _closed_form_dW1(p: MlpPoint) -> Any:
    # outer(relu'(z1) ⊙ W2ᵀ (2/n)(y − t), x), in plain numpy: exact here (dyadic, few bits).
    z1 = p.W1 @ p.x + p.b1
    a1 = np.maximum(z1, 0.0)
    g = (2.0 / p.t.shape[0]) * (p.W2 @ a1 + p.b2 - p.t)
    return np.outer((z1 > 0) * (p.W2.T @ g), p.x)


def test_failing_verdict_names_statement_quantity_index_values_and_bound() -> None:
    engine = B.TinyErrorW1()
    v = verdict("grad_W1_mse", engine)
    assert v.status is Status.FAILS
    want = _closed_form_dW1(POINT)
    got = engine.grads(*POINT.args(), POINT.t)["W1"]
    i, j = np.unravel_index(int(np.argmax(np.abs(want))), want.shape)
    assert got[i, j] != want[i, j] and np.sum(got != want) == 1
    gb = grad_bounds(POINT, forward_bounds(POINT))
    bound = gb.bound["W1"][i, j]  # the engine is held to Δ of the exact value
    err = abs(got[i, j] - want[i, j])
    assert err > bound  # the report's claim is true
    ulps = err / np.spacing(abs(want[i, j]))
    text = v.describe()
    assert text.startswith("Proofs.Autograd.grad_W1_mse [")
    assert ": fails: engine grads['W1'] vs the statement's right side differs" in text
    worst = text.split("\n  worst: ", 1)[1]
    assert worst.startswith(f"engine grads['W1'] vs the statement's right side[{i}, {j}]: ")
    assert f"actual {float(got[i, j])!r}, expected {float(want[i, j])!r}" in worst
    assert f"error {err:.3g} ({ulps:.3g} ulp) EXCEEDS bound {bound:.3g}" in worst
    assert f"(ratio {err / bound:.3g}; 1 of {want.size} entries fail" in worst
    assert f"bound: {gb.derivation['W1']})" in worst
    assert "u·|grad b1||x|" in worst
    # The witness is the input, for replay.
    assert set(v.witness) == {*PARAMS, "t"}
    np.testing.assert_array_equal(v.witness["W1"], POINT.W1)


def test_holding_verdict_has_no_worst_line() -> None:
    v = verdict("grad_W1_mse", B.NumpyMlp())
    assert v.status is Status.HOLDS
    assert v.describe() == f"Proofs.Autograd.grad_W1_mse [{v.subject}]: holds"
    assert v.worst is not None and v.worst.ok and "within bound" in v.worst.describe()


def test_shape_error_names_method_and_both_shapes() -> None:
    v = verdict("mlpVecMat", B.WrongOutputShape())
    assert v.status is Status.ERROR
    assert v.message == "wrong-output-shape.forward returned shape (2, 1); expected (2,)"
    assert v.describe().startswith("Proofs.Autograd.mlpVecMat [engine wrong-output-shape]: error: ")


def test_nan_names_method_index_and_count() -> None:
    v = verdict("grad_W1_mse", B.NaNInGrads())
    assert v.status is Status.ERROR
    hid, n_in = POINT.W1.shape
    assert "nan-in-grads.grads['W1'] returned a non-finite value nan" in v.message
    assert f"at index ({hid - 1}, 0)" in v.message
    assert f"({n_in} of {hid * n_in} entries)" in v.message


def test_engine_exception_names_method_and_exception() -> None:
    v = verdict("grad_b2_mse", B.RaisesInGrads())
    assert v.status is Status.ERROR
    assert v.message == f"raises-in-grads.grads raised RuntimeError: {B.RaisesInGrads.MESSAGE}"


def test_engine_writing_into_its_inputs_is_told_to_copy_them() -> None:
    before = {k: v.copy() for k, v in POINT.arrays().items()}
    v = verdict("grad_W1_mse", B.WritesIntoInputs())
    assert v.status is Status.ERROR
    assert v.message.startswith("writes-into-inputs.grads raised ValueError")
    assert "read-only" in v.message and "copy an input before changing it" in v.message
    assert all(np.array_equal(POINT.get(k), before[k]) for k in before), "the point was changed"


def test_engine_writing_through_shared_memory_is_an_error_not_a_verdict() -> None:
    from spec.checks.base import Config
    from spec.checks.point import check_point
    from spec.runner import run_check

    ex = MlpExample(
        MlpPoint.of({k: v.copy() for k, v in POINT.arrays().items()}), (PROBE,), "mixed"
    )
    verdicts = check_point(B.WritesThroughTorch(), ex, Config(dims=POINT.dims))
    assert verdicts and all(v.status is Status.ERROR for v in verdicts)
    assert "wrote into its input arrays" in verdicts[0].message
    name, kind, check = next(c for c in module_checks() if c[0].endswith("grad_W1_mse"))
    r = run_check(name, kind, check, B.WritesThroughTorch(), Config(max_dim=3), 10, 0)
    assert r.status is Status.ERROR and "copy an input before changing it" in r.message


def test_wrong_type_names_method_type_and_expected_keys() -> None:
    v = verdict("grad_b2_mse", B.GradsAsList())
    assert v.status is Status.ERROR
    assert "grads-as-list.grads returned list; expected a mapping" in v.message
    assert "W1, b1, W2, b2, x" in v.message


def test_kink_message_says_hx_fails_and_names_the_unit() -> None:
    # z1 = [3.5, 0]: unit 1 sits exactly on the kink.
    p = MlpPoint(
        W1=_arr([1.0, 2.0], [1.0, -1.0]),
        b1=_arr(0.5, 0.0),
        W2=_arr([1.0, 1.0]),
        b2=_arr(0.0),
        x=_arr(1.0, 1.0),
        t=_arr(1.0),
    )
    ex = MlpExample(p, ({k: np.full(p.get(k).shape, 0.5) for k in PARAMS},), "kinked")
    for short in ("grad_W1_mse", "hasFDerivAt_mlp_wrt_x"):
        v = verdict(short, B.NumpyMlp(), ex)
        assert v.status is Status.UNMET
        assert v.message.startswith("hx fails: z1 W1 b1 x 1 = 0 exactly")
        assert v.describe().startswith(f"Proofs.Autograd.{short} [")
        assert ": unmet: hx fails" in v.describe()


class _ZeroesGradsInLoss(B.NumpyMlp):
    """Keeps the gradient arrays it returned and zeroes them at its next loss, as an engine that
    returns `param.grad` and calls `zero_grad()` before each forward pass would."""

    name = "zeroes-grads-in-loss"

    def __init__(self) -> None:
        self.kept: list[Any] = []

    def grads(self, W1: Any, b1: Any, W2: Any, b2: Any, x: Any, t: Any) -> Any:
        out = super().grads(W1, b1, W2, b2, x, t)
        self.kept = list(out.values())
        return out

    def loss(self, W1: Any, b1: Any, W2: Any, b2: Any, x: Any, t: Any) -> Any:
        for g in self.kept:
            g[...] = 0.0
        return super().loss(W1, b1, W2, b2, x, t)


def _wide_example(n: int = 64) -> MlpExample:
    # A point whose W1 has n² ≥ 4096 entries (results that large are watched, not copied), with
    # z1 = ±1/2 exactly far from the kink.
    rng = np.random.default_rng(7)
    W1 = np.round(rng.standard_normal((n, n)) * 8) / 64
    x = np.round(rng.standard_normal(n) * 8) / 8
    b1 = np.where(np.arange(n) % 2 == 0, 0.5, -0.5) - W1 @ x
    W2 = np.round(rng.standard_normal((3, n)) * 8) / 64
    p = MlpPoint(W1=W1, b1=b1, W2=W2, b2=np.zeros(3), x=x, t=np.ones(3))
    dirs = {k: np.round(rng.standard_normal(p.get(k).shape) * 8) / 8 for k in PARAMS}
    return MlpExample(p, (dirs,), "mixed")


def test_engine_changing_an_array_it_returned_is_an_error_not_a_verdict() -> None:
    from spec.checks.base import Config
    from spec.checks.point import check_point

    ex = _wide_example()
    clean = check_point(B.NumpyMlp(), ex, Config(dims=ex.point.dims))
    assert clean and all(v.status is Status.HOLDS for v in clean)
    verdicts = check_point(_ZeroesGradsInLoss(), _wide_example(), Config(dims=ex.point.dims))
    assert verdicts and all(v.status is Status.ERROR for v in verdicts)
    assert "changed an array it had returned earlier" in verdicts[0].message


def test_rounding_doubt_message_names_the_unit_and_its_bound() -> None:
    # z1 = (1 + 2^-52) − 1 = 2^-52, not 0, but within the float64 rounding bound of z1.
    p = MlpPoint(
        W1=_arr([1.0]),
        b1=_arr(-1.0),
        W2=_arr([1.0]),
        b2=_arr(0.0),
        x=_arr(1.0 + 2.0**-52),
        t=_arr(0.0),
    )
    ex = MlpExample(p, ({k: np.full(p.get(k).shape, 0.5) for k in PARAMS},), "mixed")
    fb = forward_bounds(p)
    assert fb.kink_doubt[0]
    v = verdict("grad_b1_mse", B.NumpyMlp(), ex)
    assert v.status is Status.UNMET
    assert v.message.startswith(
        f"z1 0 = {2.0**-52:.3g} is within twice its float64 rounding "
        f"bound {fb.d_z1[0]:.3g} of the kink"
    )


def test_doubt_reaches_twice_the_rounding_bound() -> None:
    # ẑ1 = 3·2^-52 lies between Δz1 ≈ 4u and 2Δz1: the exact z1 is within Δz1 of ẑ1 and an
    # engine's value within Δz1 of the exact one, so an engine may still land on the other side.
    p = MlpPoint(
        W1=_arr([1.0]),
        b1=_arr(-1.0),
        W2=_arr([1.0]),
        b2=_arr(0.0),
        x=_arr(1.0 + 3 * 2.0**-52),
        t=_arr(0.0),
    )
    fb = forward_bounds(p)
    assert fb.d_z1[0] < fb.z1[0] <= 2 * fb.d_z1[0]
    assert fb.kink_doubt[0] and fb.d_a1[0] == fb.d_z1[0]


# --- load_backend ----------------------------------------------------------------------------


def test_load_backend_missing_module_says_check_pythonpath() -> None:
    with pytest.raises(ValueError) as info:
        load_backend("nomodule:X")
    msg = str(info.value)
    assert msg.startswith("--backend 'nomodule:X': cannot import 'nomodule' (ModuleNotFoundError")
    assert "is it on PYTHONPATH?" in msg


def test_load_backend_missing_attribute_names_module_and_attribute() -> None:
    with pytest.raises(ValueError) as info:
        load_backend("spec:nothing")
    assert str(info.value).startswith("--backend 'spec:nothing': 'spec' has no attribute 'nothing'")


def test_load_backend_missing_attribute_says_what_to_do() -> None:
    with pytest.raises(ValueError) as info:
        load_backend("spec:nothing")
    assert "MODULE:ATTR" in str(info.value)


def test_load_backend_non_backend_lists_missing_methods_and_protocol() -> None:
    with pytest.raises(ValueError) as info:
        load_backend("spec.engine:OPTIONAL_METHODS")
    msg = str(info.value)
    assert "tuple is not a backend; it lacks name, forward, loss, grads" in msg
    assert "see `spec.engine` for the protocol" in msg


def test_load_backend_partial_backend_lists_only_what_is_missing() -> None:
    class NoGrads:
        name = "no-grads"

        def forward(self, *a: Any) -> Any:
            return None

        def loss(self, *a: Any) -> Any:
            return None

    import sys
    import types

    mod = types.ModuleType("_partial_engine")
    mod.NoGrads = NoGrads  # type: ignore[attr-defined]
    sys.modules["_partial_engine"] = mod
    try:
        with pytest.raises(ValueError) as info:
            load_backend("_partial_engine:NoGrads")
    finally:
        del sys.modules["_partial_engine"]
    assert "NoGrads is not a backend; it lacks grads (" in str(info.value)


def test_load_backend_malformed_spec_gives_the_form_and_an_example() -> None:
    with pytest.raises(ValueError) as info:
        load_backend("tests.backends.NumpyMlp")
    msg = str(info.value)
    assert msg.startswith("--backend 'tests.backends.NumpyMlp': ")
    assert "expected MODULE:ATTR, e.g. mypkg.engine:Engine" in msg


def test_load_backend_accepts_a_class_and_an_instance() -> None:
    assert isinstance(load_backend("tests.backends:FsumSums"), B.FsumSums)
    assert load_backend(None).name == "reference"


@pytest.mark.parametrize("shape", [(3,), (1000, 77), (1 << 16, 3)])
def test_watched_results_get_the_plain_fingerprint(shape: tuple[int, ...]) -> None:
    from spec.subject import as_checked_array, fingerprint

    a = np.random.default_rng(1).standard_normal(shape)
    watch: list[Any] = []
    out = as_checked_array(a, shape, "engine.grads['W1']", watch=watch)
    assert out is a and watch == [(a, fingerprint(a))]
    a.reshape(-1)[-1] = np.inf
    with pytest.raises(BackendError, match=r"non-finite value inf at index"):
        as_checked_array(a, shape, "engine.grads['W1']", watch=[])


def test_a_probe_with_no_step_inside_the_region_is_named_not_silently_dropped() -> None:
    # z1 0 = 2.5 Δz1: outside the doubt band, but every exact step in x along −1 would leave the
    # region (steps that small are not exact at x = ±1): the statements still hold on what was
    # compared, and say what was not.
    from spec.checks.base import Config
    from spec.checks.point import check_point

    W1 = _arr([1.0, 1.0], [1.0, 0.0])
    x = _arr(1.0, -1.0)
    base = MlpPoint(W1=W1, b1=_arr(0.0, 0.5), W2=_arr([1.0, 1.0]), b2=_arr(0.0), x=x, t=_arr(0.25))
    dz = float(forward_bounds(base).d_z1[0])
    p = MlpPoint(W1=W1, b1=_arr(2.5 * dz, 0.5), W2=base.W2, b2=base.b2, x=x, t=base.t)
    ex = MlpExample(p, ({k: -np.ones(p.get(k).shape) for k in PARAMS},), "mixed")
    verdicts = {
        v.lean_name.rsplit(".", 1)[-1]: v
        for v in check_point(B.NumpyMlp(), ex, Config(dims=p.dims))
    }
    rem, cd = verdicts["hasFDerivAt_mlp_wrt_x"], verdicts["grad_x_mse"]
    assert rem.status is Status.HOLDS and cd.status is Status.HOLDS
    assert rem.message.startswith("the engine's forward remainder was not compared along probe 0")
    assert cd.message.startswith("the difference of the engine's loss was not compared")
    assert verdicts["grad_b1_mse"].message == ""  # b1 has a step: compared, nothing to say


def test_a_step_that_underflows_to_zero_is_skipped_not_a_crash() -> None:
    from spec.checks.base import Config
    from spec.checks.point import check_point

    p = MlpPoint(
        W1=_arr([0.0]), b1=_arr(1e-310), W2=_arr([1.0]), b2=_arr(0.0), x=_arr(0.0), t=_arr(0.0)
    )
    dirs = {k: np.ones(p.get(k).shape) for k in PARAMS}
    dirs["b1"] = _arr(1e30)  # the no-kink radius 1e-340 along it is below every float step
    verdicts = check_point(B.NumpyMlp(), MlpExample(p, (dirs,), "all-on"), Config(dims=p.dims))
    b1 = next(v for v in verdicts if v.lean_name.endswith("hasFDerivAt_mlp_wrt_b1"))
    assert b1.status is Status.HOLDS and "not compared along probe 0" in b1.message


def test_steps_in_the_output_layer_are_compared_at_a_kink() -> None:
    # z1 0 = 0 exactly: the first layer sits on a kink, and W2 and b2 have no `hx`. A step in W2
    # or b2 leaves z1 as it is, so the engine's remainder and loss difference are compared there
    # too (no step is too long), where a step in W1, b1 or x is not taken at all.
    from spec.checks.base import Config
    from spec.checks.point import check_point

    p = MlpPoint(
        W1=_arr([1.0, -1.0], [1.0, 1.0]),
        b1=_arr(0.0, 0.5),
        W2=_arr([1.0, -2.0]),
        b2=_arr(0.25),
        x=_arr(1.0, 1.0),
        t=_arr(0.5),
    )
    assert float(forward_bounds(p).z1[0]) == 0.0
    ex = MlpExample(p, ({k: np.ones(p.get(k).shape) for k in PARAMS},), "kinked")
    verdicts = {
        v.lean_name.rsplit(".", 1)[-1]: v
        for v in check_point(B.NumpyMlp(), ex, Config(dims=p.dims))
    }
    for name, compared in (
        ("hasFDerivAt_mlp_wrt_W2", "engine remainder"),
        ("grad_W2_mse", "engine (L(p + s h)"),
        ("grad_b2_mse", "engine (L(p + s h)"),
    ):
        v = verdicts[name]
        assert v.status is Status.HOLDS and "not compared" not in v.message, (name, v.message)
        assert any(c.what.left.startswith(compared) for c in v.comparisons), name
    assert verdicts["grad_W1_mse"].status is Status.UNMET  # hx fails: nothing is compared
