"""`pytest_mlpmse`: the conformance suite as pytest items, run in temporary projects through
`pytester`, as a framework author's test suite would run it."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from spec.api import check_engine
from spec.runner import module_checks
from tests.backends import TinyErrorW1

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _, _ in module_checks()]
# Installed, the package registers the plugin (entry point `mlpmse`); from a clone, load it by name.
INSTALLED = bool(entry_points(group="pytest11", name="mlpmse"))
PLUGIN = ([] if INSTALLED else ["-p", "pytest_mlpmse"]) + ["-p", "no:randomly"]
FAST = ["--mlpmse-examples", "10", "--mlpmse-max-dim", "3"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Return an empty project folder, with this repository importable (`tests.backends`, the
    example engine under `docs.examples`)."""
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return pytester


def outcomes(result: pytest.RunResult) -> dict[str, set[str]]:
    """Return the Lean names of the items by outcome, from the `-rA` summary lines."""
    out: dict[str, set[str]] = {"PASSED": set(), "FAILED": set(), "SKIPPED": set()}
    for line in result.outlines:
        for word in out:
            if line.startswith(word + " mlpmse::"):
                out[word].add(line.split("::", 1)[1].split(" ", 1)[0])
    return out


def test_collects_one_item_per_lean_declaration(project: pytest.Pytester) -> None:
    r = project.runpytest(
        *PLUGIN, "--mlpmse-engine", "docs.examples.my_engine:MyEngine", "--collect-only", "-q"
    )
    ids = [ln for ln in r.outlines if ln.startswith("mlpmse::")]
    assert ids == [f"mlpmse::{name}" for name in NAMES]
    assert len(ids) == 25


def test_nothing_is_collected_unless_asked(project: pytest.Pytester) -> None:
    project.makepyfile(test_mine="def test_one():\n    assert True\n")
    r = project.runpytest(*PLUGIN, "-q")
    r.assert_outcomes(passed=1)
    assert "mlpmse" not in r.stdout.str()


def test_example_engine_passes(project: pytest.Pytester) -> None:
    r = project.runpytest(*PLUGIN, "--mlpmse-engine", "docs.examples.my_engine:MyEngine", *FAST)
    r.assert_outcomes(passed=25)


def test_wrong_engine_fails_exactly_what_the_cli_fails(project: pytest.Pytester) -> None:
    r = project.runpytest(*PLUGIN, "--mlpmse-engine", "tests.backends:TinyErrorW1", *FAST, "-rA")
    expected = {x.lean_name for x in check_engine(TinyErrorW1(), examples=10, max_dim=3).failing}
    assert expected == {
        "Proofs.Autograd.grad_W1_mse",
        "Proofs.Autograd.adjoint_fderiv_comp_apply_one",
    }
    assert outcomes(r)["FAILED"] == expected
    r.assert_outcomes(passed=25 - len(expected), failed=len(expected))
    # The failure opens with the CLI's headline, without a traceback of the checker.
    text = r.stdout.str()
    assert "FAIL Proofs.Autograd.grad_W1_mse: engine grads['W1']" in text
    assert "replay: python -m spec check --backend tests.backends:TinyErrorW1" in text
    assert "spec/runner.py" not in text


def test_k_selects_by_lean_name_and_x_stops(project: pytest.Pytester) -> None:
    r = project.runpytest(
        *PLUGIN, "--mlpmse-engine", "tests.backends:TinyErrorW1", *FAST, "-k", "grad_W1", "-rA"
    )
    assert outcomes(r)["FAILED"] == {"Proofs.Autograd.grad_W1_mse"}
    r.assert_outcomes(failed=1, deselected=24)
    r = project.runpytest(*PLUGIN, "--mlpmse-engine", "tests.backends:TinyErrorW1", *FAST, "-x")
    r.assert_outcomes(failed=1, passed=NAMES.index("Proofs.Autograd.adjoint_fderiv_comp_apply_one"))


def test_last_failed_reruns_the_failures(project: pytest.Pytester) -> None:
    args = [*PLUGIN, "-p", "cacheprovider", "--mlpmse-engine", "tests.backends:TinyErrorW1", *FAST]
    project.runpytest(*args)
    r = project.runpytest(*args, "--lf")
    r.assert_outcomes(failed=2, deselected=23)


def test_junit_has_one_testcase_per_lean_name(project: pytest.Pytester) -> None:
    r = project.runpytest(
        *PLUGIN, "--mlpmse-engine", "tests.backends:TinyErrorW1", *FAST, "--junitxml", "out.xml"
    )
    r.assert_outcomes(passed=23, failed=2)
    import xml.etree.ElementTree as ET

    cases = ET.parse(project.path / "out.xml").getroot().iter("testcase")
    by_name = {c.get("name"): c.find("failure") is not None for c in cases}
    assert set(by_name) == set(NAMES)
    assert {n for n, failed in by_name.items() if failed} == {
        "Proofs.Autograd.grad_W1_mse",
        "Proofs.Autograd.adjoint_fderiv_comp_apply_one",
    }


def test_xdist_runs_the_items(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    r = project.runpytest_subprocess(
        *PLUGIN, "--mlpmse-engine", "tests.backends:TinyErrorW1", *FAST, "-n", "2"
    )
    r.assert_outcomes(passed=23, failed=2)


def test_engine_from_a_conftest_fixture(project: pytest.Pytester) -> None:
    project.makeconftest("""
        import pytest
        from docs.examples.my_engine import MyEngine

        class Wrong(MyEngine):
            name = "wrong-b2"

            def grads(self, *args):
                g = dict(super().grads(*args))
                g["b2"] = g["b2"] * 3.0
                return g

        @pytest.fixture(scope="session")
        def mlpmse_engine():
            return Wrong()
    """)
    r = project.runpytest(*PLUGIN, "--mlpmse", *FAST, "-rA")
    failed = outcomes(r)["FAILED"]
    assert "Proofs.Autograd.grad_b2_mse" in failed
    assert "Proofs.Autograd.grad_W1_mse" not in failed
    assert "engine 'wrong-b2'" in r.stdout.str()


def test_ini_values_configure_the_run(project: pytest.Pytester) -> None:
    project.makeini("""
        [pytest]
        mlpmse_engine = tests.backends:TinyErrorW1
        mlpmse_examples = 7
        mlpmse_max_dim = 2
    """)
    r = project.runpytest(*PLUGIN, "-k", "grad_W1_mse", "-rA")
    r.assert_outcomes(failed=1, deselected=24)
    assert "mlpmse: engine tests.backends:TinyErrorW1, examples 7" in r.stdout.str()
    assert "--examples 7" in r.stdout.str() and "--max-dim 2" in r.stdout.str()


def test_invalid_engine_name_stops_the_session(project: pytest.Pytester) -> None:
    r = project.runpytest(*PLUGIN, "--mlpmse-engine", "torhc")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    err = [ln for ln in r.errlines if ln.strip()]
    assert len(err) == 1, err
    assert "--mlpmse-engine 'torhc'" in err[0] and "did you mean torch?" in err[0]
    assert "reference, torch, jax" in err[0]


def test_invalid_options_name_the_option(project: pytest.Pytester) -> None:
    r = project.runpytest(*PLUGIN, "--mlpmse-engine", "reference", "--mlpmse-examples", "0")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert "--mlpmse-examples 0: give at least 1" in r.stderr.str()
    r = project.runpytest(*PLUGIN, "--mlpmse-engine", "reference", "--mlpmse-dtype", "f16")
    assert "--mlpmse-dtype 'f16': give one of float64, float32, exact" in r.stderr.str()


def test_plugin_is_registered_as_an_entry_point() -> None:
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert data["project"]["entry-points"]["pytest11"] == {"mlpmse": "pytest_mlpmse"}
