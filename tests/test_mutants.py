"""Every predicate is shown to fail on something, and never to fail on a correct engine.

`MUTANTS` maps each Lean name of `spec.runner.module_checks()` to the wrong engines (or, for the
spec-only predicates, the wrong mirrors) it must catch; `test_invalid` runs each pair with a fixed
seed and expects `fails` (or `error`, for engines that misbehave). `test_holds` and
`test_holds_across_seeds` run the reference engine and every correct variant of `tests.backends`
on all predicates and expect no `fails` and no `error`.

The checks of one engine run together (`spec.runner.run_all`, which draws each domain's examples
once for all its checks; `tests/test_together.py` shows each check's result is the one it gets
alone), once per engine and configuration: each test reads its own Lean name's result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spec.checks.conversion
import spec.mirror.building_blocks
import spec.mirror.conversion
from impl import ReferenceBackend
from spec.checks.base import Check, Config
from spec.engine import Backend
from spec.runner import Result, module_checks, run_all, run_check
from spec.types import Mat, Real, Tensor
from spec.verdict import Status
from tests import backends as B

CHECKS: dict[str, tuple[str, str, Check]] = {
    name.rsplit(".", 1)[-1]: (name, kind, check) for name, kind, check in module_checks()
}
"""Every module check by short Lean name: `(full name, kind, check)`."""

CFG = Config(max_dim=4)
EXAMPLES = 40
SEED = 1729


def run(
    short: str,
    backend: Backend,
    cfg: Config = CFG,
    examples: int = EXAMPLES,
    seed_value: int = SEED,
) -> Result:
    """Run the check of the Lean declaration `short` on `backend`."""
    name, kind, check = CHECKS[short]
    return run_check(name, kind, check, backend, cfg, examples, seed_value)


_RESULTS: dict[tuple[Any, ...], dict[str, Result]] = {}


def run_engine(
    key: str,
    shorts: list[str],
    backend: Callable[[], Backend],
    cfg: Config = CFG,
    examples: int = EXAMPLES,
    seed_value: int = SEED,
) -> dict[str, Result]:
    """Run the checks `shorts` on the engine `backend()` together, once per `key` (an engine or
    mutant id) and configuration in this process; return the results by short Lean name."""
    memo = (key, tuple(shorts), cfg, examples, seed_value)
    if memo not in _RESULTS:
        results = run_all(backend(), cfg, examples, seed_value, [CHECKS[s][0] for s in shorts])
        _RESULTS[memo] = {r.lean_name.rsplit(".", 1)[-1]: r for r in results}
    return _RESULTS[memo]


# --- Wrong mirrors, for the predicates whose subject is the spec itself ----------------------


def _get2_transposed(W: Tensor, i: int, j: int) -> Real:
    # `W[j][i]` on square tensors; on others (where that would index out of range) the rows
    # in reverse order, so the shape stays right and only the values are wrong.
    m, n = W.shape
    row = W.data[j] if m == n else W.data[m - 1 - i]
    return row[i] if m == n else row[j]


def _toMatE_reshaped(W: Tensor) -> Mat:
    # The classic layout bug: the transpose reshaped back to (m, n) instead of read by get2.
    m, n = W.shape
    return Mat(np.ascontiguousarray(W.data.T).reshape(m, n))


Patch = Callable[[pytest.MonkeyPatch], None]


def _patch_both(name: str, value: object) -> Patch:
    # The mirror module defines the name; the check module imports it: a wrong mirror is wrong
    # wherever it is read.
    def patch(mp: pytest.MonkeyPatch) -> None:
        mp.setattr(spec.mirror.conversion, name, value)
        mp.setattr(spec.checks.conversion, name, value)

    return patch


MIRROR_PATCHES: dict[str, Patch] = {
    # `toMatE` reads its entries in the wrong layout.
    "mirror-toMatE-reshaped": _patch_both("toMatE", _toMatE_reshaped),
    # `toMatE`'s `Spec.get2` is transposed, `tensorToMatrix`'s (in the building blocks) is not.
    "mirror-conversion-get2-transposed": _patch_both("get2", _get2_transposed),
    # `tensorToMatrix`'s `Spec.get2` is transposed, `toMatE`'s is not.
    "mirror-core-get2-transposed": lambda mp: mp.setattr(
        spec.mirror.building_blocks, "get2", _get2_transposed
    ),
}


@dataclass(frozen=True)
class Mutant:
    """A wrong engine, or the reference engine under a wrong mirror of the spec."""

    id: str
    engine: Callable[[], Backend]
    patch: Patch | None = None
    expect: frozenset[Status] = frozenset({Status.FAILS})


def _mutants() -> dict[str, Mutant]:
    out: dict[str, Mutant] = {}
    for cls in B.WRONG:
        expect = {Status.FAILS}
        if cls in B.ERRORING:
            expect = {Status.ERROR}
        if cls is B.OuterSwappedRaw:  # a shape error when inDim ≠ hidDim, wrong values otherwise
            expect = {Status.FAILS, Status.ERROR}
        out[cls.__name__] = Mutant(cls.__name__, cls, None, frozenset(expect))
    for key, patch in MIRROR_PATCHES.items():
        out[key] = Mutant(key, ReferenceBackend, patch)
    return out


ALL_MUTANTS = _mutants()

MUTANTS: dict[str, list[str]] = {
    "toMatE": ["mirror-toMatE-reshaped"],
    "toMatrix_toMatE": [
        "mirror-toMatE-reshaped",
        "mirror-conversion-get2-transposed",
        "mirror-core-get2-transposed",
    ],
    "reluDerivCLM_apply": [
        "ReluVjpHalfAtZero",
        "ReluVjpOneAtZero",
        "ReluVjpMaskFromDelta",
        "LeakyRelu",
    ],
    "reluDerivCLM_inner": ["ReluVjpMaskFromDelta"],
    "reluDerivCLM_adjoint_apply": ["ReluVjpHalfAtZero", "ReluVjpOneAtZero", "ReluVjpMaskFromDelta"],
    "toVecE_linear_input_deriv_spec_eq_adjoint": [
        "LinearInputVjpNotTransposed",
        "mirror-core-get2-transposed",
    ],
    "affineMat": ["MissingBias1"],
    "mlpVecMat": ["LeakyRelu", "MissingBias1", "WrongOutputShape"],
    "mse": ["SumNotMean", "LeakyRelu", "WrongOutputShape"],
    "mseGrad": ["MissingFactor2", "SumNotMean", "OutDimOneNoFactor2"],
    "hasFDerivAt_mse": ["SumNotMean"],
    "mseGrad_eq_adjoint_fderiv": [
        "MissingFactor2",
        "SumNotMean",
        "OutDimOneNoFactor2",
        "RaisesInGrads",
        "GradsAsList",
    ],
    "adjoint_fderiv_comp_apply_one": ["MissingFactor2", "TinyErrorX", "NaNInGrads"],
    "z1": ["MissingBias1"],
    "a1": ["MissingBias1", "LeakyRelu"],
    "y": ["LeakyRelu", "MissingBias1", "WrongOutputShape"],
    "hasFDerivAt_mlp_wrt_W2": ["LeakyRelu", "JvpIgnoresRelu", "WrongOutputShape"],
    "grad_W2_mse": ["MissingFactor2", "SumNotMean", "OutDimOneNoFactor2", "GradsAsList"],
    "grad_b2_mse": ["MissingFactor2", "SumNotMean", "OutDimOneNoFactor2", "RaisesInGrads"],
    "hasFDerivAt_mlp_wrt_b1": ["LeakyRelu", "JvpIgnoresRelu"],
    "grad_b1_mse": [
        "NoReluMask",
        "MaskFromW1x",
        "MaskFromOtherUnit",
        "W2NotTransposed",
        "HidDimOneNoMask",
    ],
    "hasFDerivAt_mlp_wrt_x": ["MissingBias1", "JvpIgnoresRelu"],
    "grad_x_mse": ["MaskFromW1x", "HidDimOneNoMask", "TinyErrorX"],
    "hasFDerivAt_mlp_wrt_W1": ["LeakyRelu", "JvpIgnoresRelu"],
    "grad_W1_mse": [
        "OuterSwappedReshaped",
        "OuterSwappedRaw",
        "TinyErrorW1",
        "NaNInGrads",
        "WritesIntoInputs",
    ],
}
"""Short Lean name → the wrong engines or mirrors its predicate must catch."""

PAIRS = [(short, m) for short, ms in MUTANTS.items() for m in ms]
CAUGHT_BY: dict[str, list[str]] = {
    m: [short for short, ms in MUTANTS.items() if m in ms] for m in {m for _, m in PAIRS}
}
"""Mutant id → the short Lean names that must catch it."""


def test_every_predicate_has_a_mutant() -> None:
    """A predicate never shown to fail is not yet evidence: the table covers every module check."""
    names = [name.rsplit(".", 1)[-1] for name, _, _ in module_checks()]
    assert len(names) == 25
    missing = [n for n in names if not MUTANTS.get(n)]
    extra = sorted(set(MUTANTS) - set(names))
    assert not missing, f"predicates without a wrong engine that they catch: {missing}"
    assert not extra, f"the table names predicates that are not module checks: {extra}"


def test_every_mutant_is_used() -> None:
    """Every wrong engine and wrong mirror is expected to be caught by some predicate."""
    used = {m for ms in MUTANTS.values() for m in ms}
    assert sorted(set(ALL_MUTANTS) - used) == []
    assert sorted(used - set(ALL_MUTANTS)) == []


@pytest.mark.parametrize(("short", "mutant_id"), PAIRS, ids=[f"{s}-{m}" for s, m in PAIRS])
def test_invalid(short: str, mutant_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The predicate of `short` reports the wrong engine (or mirror) `mutant_id`."""
    mutant = ALL_MUTANTS[mutant_id]
    if mutant.patch is not None:
        mutant.patch(monkeypatch)  # the mutant's results are computed under its patch
    r = run_engine(mutant_id, sorted(CAUGHT_BY[mutant_id]), mutant.engine)[short]
    assert r.status in mutant.expect, (
        f"{short} on {mutant_id}: {r.status.value} after {r.examples} examples (seed {SEED}); "
        f"expected {'/'.join(s.value for s in mutant.expect)}. {r.message}"
    )
    assert r.counterexample is not None
    assert r.counterexample.lean_name == CHECKS[short][0]
    assert r.counterexample.status is r.status
    assert r.message


def test_toMatE_check_is_blind_to_a_wrong_get2(monkeypatch: pytest.MonkeyPatch) -> None:
    """`toMatE` is defined by `Spec.get2`, so its check reads both sides through the same `get2`:
    a wrong `get2` is caught by `toMatrix_toMatE` (different read paths), not by `toMatE`."""
    MIRROR_PATCHES["mirror-conversion-get2-transposed"](monkeypatch)
    assert run("toMatE", ReferenceBackend()).status is Status.HOLDS
    assert run("toMatrix_toMatE", ReferenceBackend()).status is Status.FAILS


EPSILON_PAIRS = [("grad_b1_mse", "MaskEpsilon"), ("mlpVecMat", "ReluEpsilon")]
EPSILON_EXAMPLES = 40


@pytest.mark.parametrize(
    ("short", "mutant_id"), EPSILON_PAIRS, ids=[f"{s}-{m}" for s, m in EPSILON_PAIRS]
)
def test_invalid_epsilon_mask_with_small_margin(short: str, mutant_id: str) -> None:
    """A ReLU mask `z1 > 1e-3` is wrong where `0 < z1 ≤ 1e-3`; with margin 2^-30, the near-kink
    points still put units there, and the predicates catch them."""
    r = run(short, getattr(B, mutant_id)(), Config(max_dim=2, margin=2.0**-30), EPSILON_EXAMPLES)
    assert r.status is Status.FAILS, f"{short} on {mutant_id}: {r.status.value}: {r.message}"


@pytest.mark.parametrize(
    ("short", "mutant_id"), EPSILON_PAIRS, ids=[f"{s}-{m}" for s, m in EPSILON_PAIRS]
)
def test_invalid_epsilon_mask_with_default_margin(short: str, mutant_id: str) -> None:
    """The same run with the default margin (only the margin differs) catches them too."""
    r = run(short, getattr(B, mutant_id)(), Config(max_dim=2), EPSILON_EXAMPLES)
    assert r.status is Status.FAILS, f"{short} on {mutant_id}: {r.status.value}"


def _central_difference(engine: B.MinimalMlp, args: list[Any], t: Any, k: int) -> Any:
    out = np.zeros_like(args[k])
    for idx in np.ndindex(args[k].shape):
        h = 2.0**-20
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[k][idx] += h
        minus[k][idx] -= h
        lp = engine.loss(plus[0], plus[1], plus[2], plus[3], plus[4], t)
        lm = engine.loss(minus[0], minus[1], minus[2], minus[3], minus[4], t)
        out[idx] = (lp - lm) / (2 * h)
    return out


@pytest.mark.parametrize("cls", [B.LeakyRelu, B.MissingBias1], ids=lambda c: c.__name__)
def test_wrong_forward_is_self_consistent(cls: type[B.MinimalMlp]) -> None:
    """The wrong-forward engines differentiate their own function correctly: only a comparison
    with Lean's function can catch them, which `test_invalid` shows the predicates make."""
    rng = np.random.default_rng(7)
    W1, b1, W2, b2, x, t = (rng.normal(size=s) for s in [(3, 2), (3,), (2, 3), (2,), (2,), (2,)])
    args = [W1, b1, W2, b2, x]
    engine = cls()
    grads = engine.grads(W1, b1, W2, b2, x, t)
    for k, key in enumerate(("W1", "b1", "W2", "b2", "x")):
        fd = _central_difference(engine, args, t, k)
        np.testing.assert_allclose(grads[key], fd, rtol=1e-6, atol=1e-8, err_msg=key)


# --- Correct engines: never flagged --------------------------------------------------------

CORRECT: dict[str, Callable[[], Backend]] = {"reference": ReferenceBackend}
CORRECT.update({cls.name: cls for cls in B.CORRECT})
HOLD_PAIRS = [(short, e) for e in CORRECT for short in CHECKS]
HOLD_EXAMPLES = 2


def _fault(r: Result, engine: str, seed_value: int) -> str | None:
    if r.status not in (Status.FAILS, Status.ERROR):
        return None
    report = r.counterexample.describe() if r.counterexample else r.message
    return (
        f"correct engine {engine} flagged by {r.lean_name} (seed {seed_value}): "
        f"{r.status.value}: {report}"
    )


@pytest.mark.parametrize(("short", "engine"), HOLD_PAIRS, ids=[f"{s}-{e}" for s, e in HOLD_PAIRS])
def test_holds(short: str, engine: str) -> None:
    """The predicate of `short` holds on the correct engine `engine` (max_dim 4, a few examples,
    under the suite's shape hook; the 20-seed sweep below draws many more). Examples at exact kinks
    leave the `hx` lemmas unmet; every other example is compared, and holds."""
    r = run_engine(engine, list(CHECKS), CORRECT[engine], examples=HOLD_EXAMPLES)[short]
    assert _fault(r, engine, SEED) is None, _fault(r, engine, SEED)
    assert r.status is Status.HOLDS
    assert r.holds > 0 and r.holds + r.unmet == r.examples
    assert {p for p, v in r.parts.items() if v.unmet} <= {"kink"}


SWEEP_SEEDS = range(20)
SWEEP_SKIP = {B.MinimalMlp.name, B.NumpyMlp.name}
"""The plain numpy bases: `test_holds` checks them; every variant below overrides one of their
steps, so the sweep spends its time on the variants."""
SWEEP_EXAMPLES = 3
SWEEP_CFG = Config(max_dim=6)
ROOT = Path(__file__).resolve().parents[1]


def sweep(engines: list[str]) -> dict[str, Any]:
    """Run every module check on each engine under each of the 20 seeds; return the faults."""
    runs, faults = 0, []
    for engine in engines:
        backend = CORRECT[engine]()
        for seed_value in SWEEP_SEEDS:
            for r in run_all(backend, SWEEP_CFG, SWEEP_EXAMPLES, seed_value):
                runs += 1
                fault = _fault(r, engine, seed_value)
                if fault is not None:
                    faults.append(fault)
    return {"engines": engines, "runs": runs, "faults": faults}


def _sweep_child() -> None:
    """Entry point of a sweep child process: engines on argv, the result as JSON on stdout."""
    print(json.dumps(sweep(sys.argv[1:])))


def test_holds_across_seeds(tmp_path: Path) -> None:
    """Every predicate holds on the reference engine and every correct variant under 20 seeds
    (3 examples each, max_dim 6): 9 engines × 25 predicates × 20 seeds = 4500 runs.

    The sweep runs in two child interpreters, in parallel, without pytest's jaxtyping import hook:
    it tests the error bounds against engines, not shapes, which the suite checks under the hook
    (tests/test_typing.py runs a whole check with it on every module).
    """
    names = [e for e in CORRECT if e not in SWEEP_SKIP]
    halves = [names[0::2], names[1::2]]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    code = "from tests.test_mutants import _sweep_child; _sweep_child()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *half],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in halves
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    reports = [json.loads(out) for out, _ in outs]
    assert sorted(e for rep in reports for e in rep["engines"]) == sorted(names)
    assert sum(rep["runs"] for rep in reports) == len(names) * len(SWEEP_SEEDS) * len(CHECKS)
    faults = [f for rep in reports for f in rep["faults"]]
    assert not faults, "\n".join(faults)
