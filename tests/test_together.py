"""Checks on one domain run together (spec.runner.run_together): each example is drawn and built
once for all of them, and each Lean name keeps its own verdict, counterexample and shrinking."""

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from impl import ReferenceBackend
from spec.checks.base import Check, Config
from spec.runner import Result, module_checks, run_check, run_together, runs, select
from spec.subject import Subject
from spec.verdict import Status, Verdict
from tests import backends as B

SMALL = Config(max_dim=4)
EXAMPLES = 12
SEED = 5


def _entries(names: list[str]) -> list[tuple[str, str, Check]]:
    checks = module_checks()
    return [checks[i] for i in select(names)]


def _mlp_names() -> list[str]:
    return [n for n, _k, c in module_checks() if getattr(c.strategy, "shared", False)]


def _summary(r: Result) -> tuple[Any, ...]:
    parts = {name: (p.status, p.examples, p.holds, p.unmet, p.fails) for name, p in r.parts.items()}
    return (r.lean_name, r.status, r.examples, r.holds, r.unmet, r.patterns, parts)


def test_together_gives_the_results_of_each_check_alone() -> None:
    """Every check on the MLP's points reaches, run together, the verdicts it reaches alone: the
    same examples, the same parts, the same counts."""
    entries = _entries(_mlp_names())
    assert len(entries) > 10
    together = run_together(entries, ReferenceBackend(), SMALL, EXAMPLES, SEED)
    alone = [run_check(*e, ReferenceBackend(), SMALL, EXAMPLES, SEED) for e in entries]
    assert [_summary(r) for r in together] == [_summary(r) for r in alone]
    assert all(r.examples == EXAMPLES for r in together)


class _CountingEngine(B.NumpyMlp):
    """The reference numpy engine, counting its calls of `forward`, `loss` and `grads`."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def forward(self, W1: Any, b1: Any, W2: Any, b2: Any, x: Any) -> Any:
        self.calls["forward"] += 1
        return super().forward(W1, b1, W2, b2, x)

    def loss(self, W1: Any, b1: Any, W2: Any, b2: Any, x: Any, t: Any) -> Any:
        self.calls["loss"] += 1
        return super().loss(W1, b1, W2, b2, x, t)

    def grads(self, W1: Any, b1: Any, W2: Any, b2: Any, x: Any, t: Any) -> Any:
        self.calls["grads"] += 1
        return super().grads(W1, b1, W2, b2, x, t)


def test_together_the_engine_computes_each_point_once() -> None:
    """Run together, the checks share what the engine computes at a point: its gradients at the
    drawn point are asked for once per example, where alone each gradient check asks again."""
    names = ["grad_W1_mse", "grad_b1_mse", "grad_W2_mse", "grad_b2_mse", "grad_x_mse"]
    shared = _CountingEngine()
    run_together(_entries(names), shared, SMALL, EXAMPLES, SEED)
    alone = _CountingEngine()
    checked = [run_check(*e, alone, SMALL, EXAMPLES, SEED) for e in _entries(names)]
    # Alone, every check asks at every example whose hypothesis holds.
    assert alone.calls["grads"] == sum(r.examples - r.unmet for r in checked)
    assert shared.calls["grads"] == EXAMPLES
    assert sum(shared.calls.values()) < sum(alone.calls.values())


def test_together_a_failure_shrinks_for_its_own_check() -> None:
    """An engine whose backward pass forgets the ReLU mask fails the gradient of b1 with a
    counterexample of that Lean name, the one it finds alone; the checks of the forward pass and
    of W2's gradient, run beside it, still hold."""
    names = ["grad_b1_mse", "z1", "grad_W2_mse", "hasFDerivAt_mlp_wrt_b1"]
    results = {
        r.lean_name.rsplit(".", 1)[-1]: r
        for r in run_together(_entries(names), B.NoReluMask(), SMALL, EXAMPLES, SEED)
    }
    bad = results["grad_b1_mse"]
    assert bad.status is Status.FAILS
    assert bad.counterexample is not None and bad.counterexample.lean_name == bad.lean_name
    assert bad.failing_part is not None
    assert results["z1"].status is Status.HOLDS
    assert results["grad_W2_mse"].status is Status.HOLDS
    alone = run_check(*_entries(["grad_b1_mse"])[0], B.NoReluMask(), SMALL, EXAMPLES, SEED)
    assert alone.counterexample is not None
    assert bad.counterexample.witness.keys() == alone.counterexample.witness.keys()
    assert bad.failing_part == alone.failing_part


def test_together_a_checker_bug_stops_only_its_own_check() -> None:
    """A predicate that raises is reported as a checker error; the checks drawn with it run on."""
    (entry,) = _entries(["grad_W2_mse"])
    name, kind, check = entry

    def broken(ex: Any, subject: Subject) -> Verdict:
        raise ZeroDivisionError("a bug in the predicate")

    bad = (name, kind, replace(check, run=broken))
    first, second = run_together([bad, entry], ReferenceBackend(), SMALL, EXAMPLES, SEED)
    assert first.status is Status.ERROR and "checker error ZeroDivisionError" in first.message
    assert second.status is Status.HOLDS and second.examples == EXAMPLES


def test_together_an_engine_writing_into_its_inputs_spoils_every_check_there() -> None:
    """When the engine changes the point during one check (through memory it shares with it), no
    check at that point holds, not even those that ran before the write."""
    names = ["z1", "grad_W1_mse", "y"]
    results = run_together(_entries(names), B.WritesThroughTorch(), SMALL, EXAMPLES, SEED)
    for r in results:
        assert r.status is Status.ERROR, r.lean_name
        assert "wrote into its input arrays" in r.message


def test_together_refuses_checks_of_different_domains() -> None:
    with pytest.raises(ValueError, match="different domains"):
        run_together(
            _entries(["grad_W1_mse", "reluDerivCLM_apply"]), ReferenceBackend(), SMALL, 2, 0
        )


def test_runs_keep_each_domain_together_and_cover_every_check() -> None:
    """`runs` groups the checks by domain, one run each, every check in exactly one, in the Lean
    file's order within a run."""
    indices = select()
    out = runs(indices)
    assert sorted(i for run in out for i in run) == indices
    checks = module_checks()
    for run in out:
        assert len({id(checks[i][2].strategy) for i in run}) == 1
        assert run == sorted(run)
    assert len(out) == len({id(checks[i][2].strategy) for i in indices})
