"""`python -m spec check`, run as a user runs it: a subprocess, from an empty directory, with the
repository on `PYTHONPATH` (so this works from a clean clone, without installing anything)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from spec.registry import manifest
from spec.runner import module_checks
from tests.test_report_schema import SCHEMA, validate

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _, _ in module_checks()]
RESULT_KEYS = set(SCHEMA["$defs"]["result"]["required"])
"""Every field of a result, as the schema `spec/data/report.schema.json` (and docs/reports.md)
has them."""
STATUSES = set(SCHEMA["$defs"]["result"]["properties"]["status"]["enum"])


def cli(
    args: list[str], cwd: Path, *, extra_path: Path | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run `python -m spec ARGS` in `cwd` with the repository (and `extra_path`) on PYTHONPATH."""
    env = dict(os.environ)
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    return subprocess.run(
        [sys.executable, "-m", "spec", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def counterexamples(stdout: str) -> dict[str, str]:
    """Return the printed counterexample blocks by Lean name."""
    out: dict[str, str] = {}
    for block in stdout.split("\n\n"):
        block = block.strip("\n")
        for head in ("FAILS: ", "ERROR: "):
            if block.startswith(head):
                out[block.splitlines()[0].removeprefix(head)] = block
    return out


def replay_command(block: str) -> list[str]:
    """Return the block's `replay:` command, with `python` replaced by this interpreter."""
    lines = [ln.strip() for ln in block.splitlines() if ln.strip().startswith("replay: ")]
    assert len(lines) == 1, block
    cmd = shlex.split(lines[0].removeprefix("replay: "))
    assert cmd[:3] == ["python", "-m", "spec"], cmd
    return cmd[3:]


def test_reference_engine_exits_0(tmp_path: Path) -> None:
    r = cli(["check", "--examples", "3", "--max-dim", "4"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MlpMse conformance of engine 'reference'" in r.stdout
    assert "25 holds, 0 fails, 0 unmet, 0 error" in r.stdout
    assert "replay:" not in r.stdout
    assert list(tmp_path.iterdir()) == []


WRONG = "tests.backends:MissingFactor2"
WRONG_ARGS = ["check", "--backend", WRONG, "--examples", "5", "--max-dim", "3", "--seed", "3"]
# MissingFactor2 computes a correct loss and forward, and a gradient half the right size.
MUST_FAIL = {
    "mseGrad",
    "mseGrad_eq_adjoint_fderiv",
    "adjoint_fderiv_comp_apply_one",
    "grad_W2_mse",
    "grad_b2_mse",
    "grad_b1_mse",
    "grad_x_mse",
    "grad_W1_mse",
}


@pytest.fixture(scope="module")
def wrong_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("wrong")
    return cli(WRONG_ARGS, cwd), cwd


def test_wrong_engine_exits_1_with_counterexamples(
    wrong_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    r, _ = wrong_run
    assert r.returncode == 1, r.stdout + r.stderr
    blocks = counterexamples(r.stdout)
    assert {n.removeprefix("Proofs.Autograd.") for n in blocks} == MUST_FAIL
    for name, block in blocks.items():
        statement = manifest().declarations[name].statement
        assert block.startswith(f"FAILS: {name}\n  statement: {statement}")
        assert "\n  worst: " in block and " EXCEEDS bound " in block
        assert "--backend " + WRONG in block and f"--only {name}" in block
    # The table's row for a failing name says so.
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("grad_W1_mse "))
    assert row.split()[1] == "fails"


def test_replay_reproduces_the_failure(
    wrong_run: tuple[subprocess.CompletedProcess[str], Path],
    tmp_path: Path,
) -> None:
    r, _ = wrong_run
    blocks = counterexamples(r.stdout)
    for name in ("Proofs.Autograd.grad_W1_mse", "Proofs.Autograd.mseGrad"):
        again = cli(replay_command(blocks[name]), tmp_path)
        assert again.returncode == 1, again.stdout + again.stderr
        assert counterexamples(again.stdout) == {name: blocks[name]}


def test_failing_run_writes_nothing_into_cwd(
    wrong_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, cwd = wrong_run
    assert sorted(p.name for p in cwd.iterdir()) == []


def test_engine_from_a_module_outside_the_repository(tmp_path: Path) -> None:
    plugin, run = tmp_path / "plugin", tmp_path / "run"
    plugin.mkdir()
    run.mkdir()
    (plugin / "my_engine.py").write_text(
        "import numpy as np\n\n"
        "class SumLoss:\n"
        "    name = 'sum-loss'\n"
        "    def forward(self, W1, b1, W2, b2, x):\n"
        "        return W2 @ np.maximum(W1 @ x + b1, 0) + b2\n"
        "    def loss(self, W1, b1, W2, b2, x, t):\n"
        "        r = self.forward(W1, b1, W2, b2, x) - t\n"
        "        return float(r @ r)  # a sum, not Lean's mean\n"
        "    def grads(self, W1, b1, W2, b2, x, t):\n"
        "        raise NotImplementedError('no backward')\n",
        "utf-8",
    )
    r = cli(
        [
            "check",
            "--backend",
            "my_engine:SumLoss",
            "--examples",
            "10",
            "--max-dim",
            "3",
            "--only",
            "mse",
            "mlpVecMat",
            "grad_b2_mse",
        ],
        run,
        extra_path=plugin,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    rows = {
        ln.split()[0]: ln.split()[1]
        for ln in r.stdout.splitlines()
        if ln.split() and ln.split()[0] in ("mse", "mlpVecMat", "grad_b2_mse")
    }
    assert rows == {"mse": "fails", "mlpVecMat": "holds", "grad_b2_mse": "error"}
    assert "sum-loss.grads raised NotImplementedError: no backward" in r.stdout


def test_json_report_schema(tmp_path: Path) -> None:
    r = cli(["check", "--examples", "2", "--max-dim", "3", "--json", "report.json"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    data = json.loads((tmp_path / "report.json").read_text("utf-8"))
    validate(data)
    assert data["backend"] == "reference"
    assert data["config"] == {
        "examples": 2,
        "seed": 0,
        "dtype": "float64",
        "min_dim": 0,
        "max_dim": 3,
        "margin": repr(2.0**-60),
        "probe_bits": None,
        "narrowed": [],
    }
    results = data["results"]
    assert [x["lean_name"] for x in results] == NAMES
    for x in results:
        assert set(x) == RESULT_KEYS, x
        assert x["kind"] == manifest().declarations[x["lean_name"]].kind
        assert x["status"] in STATUSES and x["status"] == "holds"
        assert isinstance(x["examples"], int) and 1 <= x["examples"] <= 2
        assert x["worst_ratio"] is None or (
            isinstance(x["worst_ratio"], float) and 0 <= x["worst_ratio"] <= 1
        )
        assert isinstance(x["seconds"], (int, float)) and x["seconds"] >= 0
        assert isinstance(x["subject"], str) and x["subject"]
        assert isinstance(x["message"], str)


def test_json_report_of_a_failure(tmp_path: Path) -> None:
    r = cli(
        WRONG_ARGS[:1]
        + [
            "--backend",
            "tests.backends:NaNInGrads",
            "--examples",
            "3",
            "--max-dim",
            "3",
            "--only",
            "grad_W1_mse",
            "mseGrad",
            "--json",
            str(tmp_path / "r.json"),
        ],
        tmp_path,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    validate(data)
    by_name = {x["lean_name"].removeprefix("Proofs.Autograd."): x for x in data["results"]}
    assert set(by_name) == {"grad_W1_mse", "mseGrad"}
    assert by_name["mseGrad"]["status"] == "holds"
    assert by_name["grad_W1_mse"]["status"] == "error"
    assert "grads['W1'] returned a non-finite value nan" in by_name["grad_W1_mse"]["message"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--examples", "0"], "--examples 0"),
        (["--only", "no_such_lemma"], "no_such_lemma"),
        (["--backend", "nomodule:X"], "nomodule"),
        (["--backend", "spec:nothing"], "nothing"),
        (["--min-dim", "3", "--max-dim", "2"], "--min-dim 3 --max-dim 2"),
        (["--margin", "-1"], "--margin"),
    ],
    ids=["examples-0", "unknown-only", "no-module", "no-attribute", "dims", "margin"],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], fragment: str, tmp_path: Path) -> None:
    r = cli(["check", *args], tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err, err
    assert err.startswith("error: ") and fragment in err
    assert list(tmp_path.iterdir()) == []


def test_only_a_name_without_a_check_is_an_error(tmp_path: Path) -> None:
    r = cli(["check", "--only", "outer"], tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
