"""`python -m spec check` where a new user stumbles: bad report paths, unknown names, sizes,
files written unasked, dtypes, error rows, progress of long runs. Each message is asserted."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from spec.api import check_engine
from spec.reporting.progress import progress
from spec.runner import Result, dtype_hint
from spec.types import F64
from spec.verdict import Comparison, Quantity, Status
from tests.test_cli import cli

ENGINES = '''
import numpy as np
from docs.examples.my_engine import MyEngine
from tests.backends import NumpyMlp


class Returns32(NumpyMlp):
    """Right formulas, float32 results."""

    name = "returns-32"

    def grads(self, *args):
        return {k: np.asarray(v, dtype=np.float32) for k, v in super().grads(*args).items()}


class Computes32(MyEngine):
    """Right formulas computed in float32 (numpy keeps float32 operands), returned as float64."""

    name = "computes-32"

    def grads(self, *args):
        low = [np.asarray(a, dtype=np.float32) for a in args]
        return {k: np.asarray(v, dtype=np.float64) for k, v in super().grads(*low).items()}


class Formats(NumpyMlp):
    """An engine class taking the run's format."""

    def __init__(self, dtype=np.dtype("float64")):
        super().__init__()
        self.name = f"formats-{np.dtype(dtype).name}"
'''


@pytest.fixture
def engines(tmp_path: Path) -> Path:
    """Return a folder holding `engines.py` (the engines above), for `extra_path`."""
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "engines.py").write_text(ENGINES, "utf-8")
    return folder


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    """Return the single stderr line of a run refused (exit 2) before any check."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == "", "nothing may run before the error"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    ("flag", "make", "path", "says"),
    [
        ("--json", None, "no/such/dir/r.json", "folder no/such/dir does not exist"),
        ("--junit", None, "no/such/dir/r.xml", "folder no/such/dir does not exist"),
        ("--markdown", None, "no/such/dir/r.md", "folder no/such/dir does not exist"),
        ("--json", "dir", "out", "is a folder; give a file path"),
        ("--markdown", "dir", "out", "is a folder; give a file path"),
        ("--plots", "file", "out", "is a file; give a folder"),
    ],
)
def test_invalid_report_path_exits_2_before_the_run(
    tmp_path: Path, flag: str, make: str | None, path: str, says: str
) -> None:
    if make == "dir":
        (tmp_path / path).mkdir()
    elif make == "file":
        (tmp_path / path).write_text("x", "utf-8")
    r = cli(["check", flag, path, "--examples", "2", "--only", "mse"], tmp_path)
    line = one_line_error(r)
    assert line.startswith(f"error: {flag} {path}: {says}")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--backend", "nosuchname"],
            "no built-in engine of that name; the built-in engines are "
            "reference, torch, jax; for your own, give MODULE:ATTR",
        ),
        (["--backend", "torhc"], "did you mean torch?"),
        (
            ["--only", "grad_W1_mes"],
            "--only grad_W1_mes: no mirror of a Lean declaration named "
            "'grad_W1_mes' (did you mean grad_W1_mse or ",
        ),
        (["--dims", "3,-1,2"], "--dims '3,-1,2': sizes must be >= 0"),
    ],
)
def test_invalid_names_and_sizes_say_what_to_give(
    tmp_path: Path, args: list[str], says: str
) -> None:
    assert says in one_line_error(cli(["check", *args, "--examples", "2"], tmp_path))


def test_workers_write_nothing_into_the_current_folder(tmp_path: Path) -> None:
    # A failure is shrunk: that is when Hypothesis reaches for its cache folder.
    r = cli(
        [
            "check",
            "--backend",
            "tests.backends:TinyErrorW1",
            "--workers",
            "2",
            "--examples",
            "20",
            "--max-dim",
            "3",
            "--only",
            "grad_W1_mse",
            "grad_b2_mse",
        ],
        tmp_path,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILS: Proofs.Autograd.grad_W1_mse" in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_markdown_names_the_default_engine(tmp_path: Path) -> None:
    r = cli(
        ["check", "--examples", "2", "--max-dim", "2", "--only", "mse", "--markdown", "r.md"],
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "r.md").read_text("utf-8")
    assert "`backend` = `reference`" in text and "`backend` = `None`" not in text


def test_float32_results_in_a_float64_run_are_named(tmp_path: Path, engines: Path) -> None:
    r = cli(
        ["check", "--backend", "engines:Returns32", "--examples", "10", "--only", "grad_W1_mse"],
        tmp_path,
        extra_path=engines,
    )
    assert r.returncode == 1
    head = r.stdout.splitlines()[0]
    assert head.startswith("FAIL Proofs.Autograd.grad_W1_mse: ")
    assert "dtype: the engine returned float32 values in a float64 run" in head
    assert "--dtype float32" in head
    assert "  dtype: the engine returned float32 values" in r.stdout


def test_float32_arithmetic_in_a_float64_run_is_named(tmp_path: Path, engines: Path) -> None:
    r = cli(
        ["check", "--backend", "engines:Computes32", "--examples", "10", "--only", "grad_W1_mse"],
        tmp_path,
        extra_path=engines,
    )
    assert r.returncode == 1
    head = r.stdout.splitlines()[0]
    assert "is a float32 number" in head and "check it with --dtype float32" in head


def test_no_dtype_hint_for_a_wrong_float64_engine(tmp_path: Path) -> None:
    r = cli(
        [
            "check",
            "--backend",
            "tests.backends:TinyErrorW1",
            "--examples",
            "10",
            "--only",
            "grad_W1_mse",
        ],
        tmp_path,
    )
    assert r.returncode == 1 and "dtype:" not in r.stdout


def test_dtype_hint_rules() -> None:
    def worst(actual: float, expected: float, ratio: float) -> Comparison:
        return Comparison(
            Quantity("q"),
            False,
            ratio,
            (0,),
            actual,
            expected,
            abs(actual - expected),
            1e-14,
            1,
            1,
            "d",
        )

    assert "returned float32" in dtype_hint({"float64", "float32"}, None)
    assert "torch.bfloat16" in dtype_hint({"torch.bfloat16"}, None)
    assert dtype_hint({"float64"}, worst(16.0, 16.000000000326203, 2.6e4)).startswith(
        "the engine's value 16.0 is a float32 number"
    )
    # Not a float32 number, or an exact value that is one, or beyond float32's rounding: no hint.
    assert dtype_hint({"float64"}, worst(-8.000000008, -8.0, 5.6e5)) == ""
    assert dtype_hint({"float64"}, worst(16.0, 17.0, 1e14)) == ""
    assert dtype_hint({"float64"}, worst(16.0, 16.000000000326203, 1e12)) == ""


def test_dtype_reaches_a_module_attr_class(tmp_path: Path, engines: Path) -> None:
    for dtype in ("float64", "float32"):
        r = cli(
            [
                "check",
                "--backend",
                "engines:Formats",
                "--dtype",
                dtype,
                "--examples",
                "2",
                "--max-dim",
                "2",
                "--only",
                "mse",
            ],
            tmp_path,
            extra_path=engines,
        )
        assert r.returncode == 0, r.stderr
        assert f"MlpMse conformance of engine 'formats-{dtype}'" in r.stdout


def test_jvp_gets_one_tangent_at_a_time() -> None:
    from tests.backends import NumpyMlp

    seen: set[tuple[str, ...]] = set()

    class OneKey(NumpyMlp):
        name = "one-key"

        def jvp(
            self, W1: F64, b1: F64, W2: F64, b2: F64, x: F64, tangents: Mapping[str, F64]
        ) -> Any:
            seen.add(tuple(sorted(tangents)))
            return super().jvp(W1, b1, W2, b2, x, tangents)

    run = check_engine(
        OneKey(), examples=4, max_dim=2, only=["hasFDerivAt_mlp_wrt_W1", "hasFDerivAt_mlp_wrt_x"]
    )
    assert run.ok
    # As the protocol text says: a mapping holding only the argument varied.
    assert seen and all(len(keys) == 1 for keys in seen)
    assert seen <= {("W1",), ("x",)}


def test_error_rows_show_inputs_shapes_and_no_ratio(tmp_path: Path) -> None:
    r = cli(
        [
            "check",
            "--backend",
            "tests.backends:WrongOutputShape",
            "--examples",
            "6",
            "--max-dim",
            "3",
            "--only",
            "mlpVecMat",
            "grad_W1_mse",
        ],
        tmp_path,
    )
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith(
        "ERROR Proofs.Autograd.mlpVecMat: wrong-output-shape.forward returned shape"
    )
    assert lines[2] == "… and 1 more declaration with engine or checker errors: grad_W1_mse"
    row = next(ln for ln in lines if ln.startswith("mlpVecMat "))
    assert " - " in row and "0.00e+00" not in row
    block = r.stdout.split("ERROR: Proofs.Autograd.mlpVecMat", 1)[1]
    assert "  inputs:\n    W1 = " in block
    assert "  shapes handed to the engine: W1 (" in block


def test_fail_line_has_both_sides_with_equals(tmp_path: Path) -> None:
    r = cli(
        [
            "check",
            "--backend",
            "tests.backends:ReluVjpHalfAtZero",
            "--examples",
            "20",
            "--only",
            "reluDerivCLM_apply",
        ],
        tmp_path,
    )
    assert r.returncode == 1
    head = r.stdout.splitlines()[0]
    assert head.startswith("FAIL Proofs.Autograd.reluDerivCLM_apply: ")
    left, _, rest = head.partition(" = ")
    assert ", " in rest and " = " in rest.split(", ", 1)[1], head


class NotATerminal(io.StringIO):
    def isatty(self) -> bool:
        return False


def result(name: str, status: Status) -> Result:
    return Result(f"Proofs.Autograd.{name}", "lemma", status, 1, 0.0, "spec")


def test_progress_lines_off_a_terminal_give_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    # The lines `advance` writes, alone: with an interval this short the timer thread would also
    # write whenever it gets the lock (a loaded machine lets it in between two advances); the
    # timer has its own test below.
    import spec.reporting.progress as P

    monkeypatch.setattr(P._Lines, "_tick", lambda self: None)
    out = NotATerminal()
    with progress(4, file=out, interval=1e-9) as advance:
        advance(result("mse", Status.HOLDS))
        advance(result("grad_W1_mse", Status.FAILS))
        advance(result("grad_x_mse", Status.HOLDS))
        advance(result("grad_b1_mse", Status.HOLDS))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # none after the last check: the report follows at once
    assert lines[0] == "checking: 1/4 done, 0s taken, about 0s left at this pace (last: mse)"
    assert lines[1].startswith("checking: 2/4 done, 1 failing, ")


def test_a_long_check_gets_lines_while_it_runs() -> None:
    import time

    out = NotATerminal()
    with progress(3, file=out, interval=0.2) as advance:
        time.sleep(0.7)  # the first check is slow: the timer speaks meanwhile
        advance(result("mse", Status.HOLDS))
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert lines[0].startswith("checking: 0/3 done, 0s taken") and "left" not in lines[0]


def test_short_runs_write_nothing_off_a_terminal() -> None:
    out = NotATerminal()
    with progress(2, file=out) as advance:
        advance(result("mse", Status.HOLDS))
        advance(result("grad_W1_mse", Status.FAILS))
    assert out.getvalue() == ""
