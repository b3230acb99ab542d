"""`mypy --strict` on `spec`, `impl` and `tests` is part of the test suite: one command runs
both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_passes_on_spec_impl_and_tests() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "spec", "impl", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


HOOKED_RUN = """
import jaxtyping

with jaxtyping.install_import_hook(["spec", "impl"], "beartype.beartype"):
    from spec.api import check_engine

runs = ({"examples": 3}, {"examples": 2, "dtype": "exact"}, {"examples": 2, "dims": (3, 2, 1)})
for options in runs:
    run = check_engine(None, seed=1, **options)
    bad = [r.lean_name for r in run.results if r.status.value in ("fails", "error")]
    assert not bad, (options, bad)
    print(len(run.results), sum(r.examples for r in run.results))
"""


def test_every_annotation_of_spec_and_impl_holds_at_run_time() -> None:
    """The suite's import hook checks the shapes where they are written (pyproject.toml); this
    run checks every annotation of every module of `spec` and `impl` at run time (beartype,
    through jaxtyping's hook), over a whole conformance check in float64, in exact mode and at
    fixed sizes: a function handed or returning what its signature does not say fails it."""
    proc = subprocess.run(
        [sys.executable, "-c", HOOKED_RUN],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counts = [line.split() for line in proc.stdout.splitlines()]
    assert counts == [["25", "75"], ["25", "50"], ["25", "50"]], proc.stdout
