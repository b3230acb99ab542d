"""`spec.api`: checking an engine from Python, as a script outside this repository does it (a
subprocess in an empty folder, the repository on `PYTHONPATH` only)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from spec.api import NonConformance, assert_conforms, check_engine
from spec.verdict import Status
from tests.backends import NumpyMlp, TinyErrorW1

ROOT = Path(__file__).resolve().parents[1]


def script(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` with a fresh interpreter in `cwd`, with only the repository on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_script_outside_the_repository(tmp_path: Path) -> None:
    r = script(
        """
        import numpy as np
        from spec.api import NonConformance, assert_conforms, check_engine

        class Engine:
            name = "mine"
            def forward(self, W1, b1, W2, b2, x):
                return W2 @ np.maximum(W1 @ x + b1, 0) + b2
            def loss(self, W1, b1, W2, b2, x, t):
                y = self.forward(W1, b1, W2, b2, x)
                return float(np.sum((y - t) ** 2) / y.size) if y.size else 0.0
            def grads(self, W1, b1, W2, b2, x, t):
                z = W1 @ x + b1
                a = np.maximum(z, 0)
                y = W2 @ a + b2
                g = 2 * (y - t) / y.size if y.size else np.zeros(0)
                d = (W2.T @ g) * (z > 0)
                return {"W1": np.outer(d, x), "b1": d, "W2": np.outer(g, a), "b2": g,
                        "x": W1.T @ d}

        class Wrong(Engine):
            name = "wrong"
            def grads(self, *args):
                g = dict(super().grads(*args))
                g["x"] = -g["x"]
                return g

        run = check_engine(Engine(), examples=10, max_dim=3)
        print("ok", run.ok, len(run.results), sorted({r.status.value for r in run.results}))
        bad = check_engine(Wrong(), examples=10, max_dim=3)
        print("failing", sorted(r.lean_name.rsplit(".", 1)[1] for r in bad.failing))
        try:
            assert_conforms(Wrong(), examples=10, max_dim=3, only=["grad_x_mse"])
        except NonConformance as exc:
            print("raised", str(exc).splitlines()[0][:45])
            print("replay" , "--backend __main__:Wrong" in str(exc))
    """,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "ok True 25 ['holds']"
    assert lines[1] == "failing ['adjoint_fderiv_comp_apply_one', 'grad_x_mse']"
    assert lines[2] == "raised FAIL Proofs.Autograd.grad_x_mse: engine grads"
    assert lines[3] == "replay True"
    # Nothing is written into the current folder (no .hypothesis).
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_run_fields_and_report() -> None:
    run = check_engine(TinyErrorW1(), examples=8, max_dim=3, only=["grad_W1_mse", "mse"])
    assert [r.lean_name for r in run.results] == [
        "Proofs.Autograd.mse",
        "Proofs.Autograd.grad_W1_mse",
    ]
    assert not run.ok and [r.lean_name for r in run.failing] == ["Proofs.Autograd.grad_W1_mse"]
    assert run.by_name()["Proofs.Autograd.mse"].status is Status.HOLDS
    text = run.report()
    assert text.startswith("FAIL Proofs.Autograd.grad_W1_mse: ")
    assert "MlpMse conformance of engine 'tiny-error-W1'" in text
    assert "--backend tests.backends:TinyErrorW1" in text


def test_assert_conforms_returns_the_run_when_everything_holds() -> None:
    run = assert_conforms(NumpyMlp(), examples=3, max_dim=2, only=["grad_b2_mse"])
    assert run.ok and run.results[0].status is Status.HOLDS


def test_assert_conforms_raises_with_the_report() -> None:
    with pytest.raises(NonConformance) as info:
        assert_conforms("tests.backends:TinyErrorW1", examples=8, max_dim=3, only=["grad_W1_mse"])
    assert str(info.value) == info.value.run.report()
    assert "FAILS: Proofs.Autograd.grad_W1_mse" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"examples": 0}, "examples=0: give at least 1"),
        ({"dtype": "float16"}, "dtype='float16': give one of 'float64', 'float32', 'exact'"),
        ({"min_dim": 3, "max_dim": 2}, "min_dim=3, max_dim=2: need 0 <= min_dim <= max_dim"),
        ({"dims": (3, -1, 2)}, "dims=(3, -1, 2): give three sizes >= 0"),
        ({"only": ["grad_W1_mes"]}, "did you mean grad_W1_mse?"),
    ],
)
def test_invalid_arguments_name_the_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_engine(NumpyMlp(), **kwargs)
