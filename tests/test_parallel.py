"""Parallel and sharded runs: `--workers`, `--shard K/N` and `--database DIR`
(spec.runner.run_all)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impl import ReferenceBackend
from spec.checks.base import Config
from spec.runner import Result, module_checks, run_all, select
from spec.verdict import Status
from tests import backends as B
from tests.test_cli import cli

SMALL = Config(max_dim=4)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 25, 30])
def test_shards_partition_the_checks(n: int) -> None:
    """The N shards are disjoint and together run every check exactly once, in a fixed order."""
    shards = [select(shard=(k, n)) for k in range(1, n + 1)]
    flat = sorted(i for s in shards for i in s)
    assert flat == list(range(len(module_checks())))
    assert shards == [select(shard=(k, n)) for k in range(1, n + 1)]  # deterministic


def test_shards_apply_after_only() -> None:
    only = ["grad_W1_mse", "grad_b1_mse", "mse"]
    both = select(only, (1, 2)) + select(only, (2, 2))
    assert sorted(both) == select(only)


def _outcome(r: Result) -> dict[str, Any]:
    # Everything a report shows of a result but the time it took.
    out = r.as_json()
    del out["seconds"]
    out["counterexample"] = None if r.counterexample is None else r.counterexample.describe()
    return out


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_give_the_serial_results(workers: int) -> None:
    """This process draws the examples and checks batches of them here or in the other processes,
    each with its own engine; merged, their outcomes are the serial run's: the same counts in
    every part, the same worst ratios, the same first failure of each part and the same shrunk
    counterexample."""
    names = [
        "grad_W1_mse",
        "hasFDerivAt_mlp_wrt_x",
        "grad_b1_mse",
        "mse",
        "reluDerivCLM_apply",
        "reluDerivCLM_inner",
    ]
    for engine in (ReferenceBackend, B.NoReluMask):
        serial = run_all(engine(), SMALL, 20, 3, names)
        parallel = run_all(engine(), SMALL, 20, 3, names, workers=workers, backend_factory=engine)
        assert [_outcome(r) for r in parallel] == [_outcome(r) for r in serial]
    assert any(r.status is Status.FAILS for r in serial)  # the wrong engine was caught


def test_workers_report_a_wrong_engine() -> None:
    factory = functools.partial(B.MissingFactor2)
    results = run_all(
        factory(), SMALL, 10, 0, ["grad_b2_mse", "grad_W2_mse"], workers=2, backend_factory=factory
    )
    assert [r.status for r in results] == [Status.FAILS, Status.FAILS]
    assert all(r.counterexample is not None for r in results)


def test_workers_need_a_factory() -> None:
    with pytest.raises(ValueError, match="backend_factory"):
        run_all(ReferenceBackend(), SMALL, 5, 0, ["mse", "mseGrad"], workers=2)


def test_database_replays_a_failure_under_another_seed(tmp_path: Path) -> None:
    """A failure found once is stored in the database and replayed by a later run, even with
    another seed and too few examples to draw it: that run fails with the saved (shrunk)
    counterexample, where the same run without the database holds."""
    db = str(tmp_path / "db")
    engine = B.HidDimOneNoMask()
    only = ["grad_b1_mse"]
    first = run_all(engine, SMALL, 200, 11, only, database=db)[0]
    assert first.status is Status.FAILS and first.counterexample is not None
    assert any(Path(db).rglob("*")), "the failure was not saved"
    fresh = run_all(engine, SMALL, 1, 12, only)[0]
    replay = run_all(engine, SMALL, 1, 12, only, database=db)[0]
    assert fresh.status is Status.HOLDS and fresh.examples == 1
    assert replay.status is Status.FAILS and replay.counterexample is not None
    assert replay.failing_part == first.failing_part
    saved, again = first.counterexample.witness, replay.counterexample.witness
    assert saved.keys() == again.keys()
    assert all(np.array_equal(saved[k], again[k]) for k in saved)
    assert replay.examples == 2 == sum(p.examples for p in replay.parts.values())


def test_an_engine_a_worker_cannot_build_is_checked_here_with_a_warning() -> None:
    """A worker process that raises instead of checking its batch (here: building the engine)
    leaves the batch to this process, with one warning saying so: the run is complete, and its
    results are the serial run's."""
    names = ["grad_W1_mse", "z1", "reluDerivCLM_apply"]
    serial = run_all(B.UnbuildableInWorkers(), SMALL, 12, 0, names)
    with pytest.warns(RuntimeWarning, match="a worker process could not check a batch") as seen:
        parallel = run_all(
            B.UnbuildableInWorkers(),
            SMALL,
            12,
            0,
            names,
            workers=2,
            backend_factory=B.UnbuildableInWorkers,
        )
    assert len(seen) == 1
    assert "RuntimeError: this engine is built in the main process only" in str(seen[0].message)
    assert [_outcome(r) for r in parallel] == [_outcome(r) for r in serial]
    assert all(r.status is Status.HOLDS and r.examples == 12 for r in parallel)


def test_a_worker_process_that_dies_is_reported_not_a_crash() -> None:
    """An engine that ends its worker process (a crash, as a fatal signal or running out of memory
    would) leaves the checks of that worker's examples erring with what to do, and the run still
    reports every check: those surveyed in this process are counted as usual."""
    names = ["grad_W1_mse", "z1", "reluDerivCLM_apply"]
    results = run_all(
        B.ExitsInWorkers(), SMALL, 10, 0, names, workers=2, backend_factory=B.ExitsInWorkers
    )
    by_name = {r.lean_name.rsplit(".", 1)[-1]: r for r in results}
    assert sorted(by_name) == sorted(names)
    lost = [r for r in results if r.status is Status.ERROR]
    assert lost, "no check lost its worker"
    for r in lost:
        assert "a worker process ended abruptly" in r.message
        assert "rerun with --workers 1" in r.message
    # This process checked batches of the MLP's points itself (those the worker process was not
    # handed, and every one after it died): those examples were counted.
    assert 0 < by_name["z1"].examples < 10


@pytest.mark.parametrize("seed", ["4", "5"])
def test_cli_workers_check_the_examples_the_serial_run_checks(tmp_path: Path, seed: str) -> None:
    """Run as a user runs it. The command line imports more of this project's modules than a
    worker process does, and Hypothesis mixes the literals of the loaded local modules into its
    draws: a worker that drew its own examples met others than the serial run (at these seeds,
    points of other activation patterns). Every example is drawn in the process that runs the
    command and only checked elsewhere: the reports are equal but for their timings."""
    reports = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        args = ["check", "--seed", seed, "--workers", workers, "--json", str(out)]
        r = cli(args, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        results = json.loads(out.read_text())["results"]
        for res in results:
            del res["seconds"]
        reports.append(results)
    serial, parallel = reports
    assert [r["examples"] for r in serial] == [100] * len(serial)
    assert parallel == serial
