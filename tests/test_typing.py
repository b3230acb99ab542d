"""`mypy --strict` on `spec`, `impl` and `tests` is part of the test suite: one command runs
both."""

from __future__ import annotations

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
