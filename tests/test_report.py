"""Reports: the headline, the counterexample in the statement's terms, JUnit XML, Markdown, and the
progress bar. Every test reads results of real runs (`spec.runner.run_all`) of engines from
`tests.backends`, so the reports are checked on what a user sees."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from spec.checks.base import Config
from spec.registry import manifest
from spec.reporting.progress import progress
from spec.reporting.report import (
    junit_xml,
    markdown,
    render_counterexample,
    render_headline,
    replay_command,
    write_junit,
    write_markdown,
)
from spec.runner import Result, module_checks, run_all
from spec.strategies import DEFAULT_MARGIN
from spec.verdict import Status
from tests.backends import F64, MinimalMlp, MissingFactor2, RaisesInGrads, TinyErrorW1

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _, _ in module_checks()]
SEED, EXAMPLES, MAX_DIM = 3, 5, 3


class MinimalMissingFactor2(MinimalMlp):
    """`MissingFactor2` without the optional methods: with the float reference, the lemmas about
    `z1`, `a1` and `affineMat` have nothing to compare and answer `unmet`."""

    name = "minimal-missing-factor-2"

    def mse_gradient(self, y: F64, t: F64) -> F64:
        return self.inv_n(y.shape[0]) * (y - t)


def config(backend: str, **extra: Any) -> dict[str, object]:
    return {
        "backend": backend,
        "seed": SEED,
        "examples": EXAMPLES,
        "dtype": "float64",
        "min_dim": 0,
        "max_dim": MAX_DIM,
        "margin": DEFAULT_MARGIN,
        **extra,
    }


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    set_hypothesis_home_dir(str(tmp_path_factory.mktemp("hypothesis")))
    yield


def run(engine: Any, **cfg: Any) -> list[Result]:
    return run_all(engine, Config(max_dim=MAX_DIM, **cfg), EXAMPLES, SEED)


@pytest.fixture(scope="module")
def wrong() -> list[Result]:
    """A run with fails (the gradient lemmas) and unmet (z1, a1, affineMat) results."""
    return run(MinimalMissingFactor2(), exact_reference=False)


@pytest.fixture(scope="module")
def erring() -> list[Result]:
    return run(RaisesInGrads())


@pytest.fixture(scope="module")
def tiny() -> list[Result]:
    return run(TinyErrorW1())


def by_name(results: list[Result]) -> dict[str, Result]:
    return {r.lean_name: r for r in results}


# --- JUnit -------------------------------------------------------------------------------------

# The common JUnit schema (Jenkins/Ant junit-10.xsd, as GitLab, GitHub actions and Jenkins read
# it): allowed attributes and children of each element, and the attributes that are required.
SCHEMA: dict[str, tuple[set[str], set[str], set[str]]] = {
    # element: (allowed attributes, required attributes, allowed children)
    "testsuites": (
        {"name", "tests", "failures", "errors", "skipped", "disabled", "time"},
        set(),
        {"testsuite"},
    ),
    "testsuite": (
        {
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "disabled",
            "time",
            "timestamp",
            "hostname",
            "id",
            "package",
        },
        {"name", "tests"},
        {"properties", "testcase", "system-out", "system-err"},
    ),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
    "testcase": (
        {"name", "classname", "time", "assertions", "status"},
        {"name", "classname"},
        {"skipped", "error", "failure", "system-out", "system-err"},
    ),
    "failure": ({"message", "type"}, {"message"}, set()),
    "error": ({"message", "type"}, {"message"}, set()),
    "skipped": ({"message"}, set(), set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}


def validate_junit(el: ET.Element) -> None:
    """Assert that `el` and everything under it follows `SCHEMA`, and that `properties` comes
    before the test cases and a test case has at most one outcome element."""
    allowed, required, children = SCHEMA[el.tag]
    assert set(el.attrib) <= allowed, (el.tag, set(el.attrib) - allowed)
    assert required <= set(el.attrib), (el.tag, required - set(el.attrib))
    for key in ("tests", "failures", "errors", "skipped"):
        if key in el.attrib:
            assert el.attrib[key].isdigit(), (el.tag, key, el.attrib[key])
    if "time" in el.attrib:
        assert float(el.attrib["time"]) >= 0
    tags = [c.tag for c in el]
    assert set(tags) <= children, (el.tag, set(tags) - children)
    if el.tag == "testsuite" and "properties" in tags:
        assert tags.index("properties") == 0
    if el.tag == "testcase":
        assert sum(t in ("failure", "error", "skipped") for t in tags) <= 1
    for c in el:
        validate_junit(c)


def parse(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    validate_junit(root)
    return root


def outcome(case: ET.Element) -> str:
    for tag, status in (("failure", "fails"), ("error", "error"), ("skipped", "unmet")):
        if case.find(tag) is not None:
            return status
    return "holds"


def test_junit_one_testcase_per_lean_name_with_failures_and_skips(
    wrong: list[Result], tmp_path: Path
) -> None:
    path = tmp_path / "report.xml"
    write_junit(str(path), "minimal-missing-factor-2", wrong, config("tests.test_report:X"))
    root = parse(path.read_text("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 25 == len(NAMES)
    assert [f"{c.get('classname')}.{c.get('name')}" for c in cases] == NAMES
    assert {c.get("classname") for c in cases} == {"Proofs.Autograd"}
    results = by_name(wrong)
    got = {f"{c.get('classname')}.{c.get('name')}": outcome(c) for c in cases}
    assert got == {n: r.status.value for n, r in results.items()}
    # The run has all three kinds: the mirror of a wrong engine fails, and unmet is a skip.
    assert {"fails", "unmet", "holds"} <= set(got.values())
    assert {n for n, s in got.items() if s == "unmet"} == {
        "Proofs.Autograd.affineMat",
        "Proofs.Autograd.z1",
        "Proofs.Autograd.a1",
    }
    assert "Proofs.Autograd.grad_W1_mse" in {n for n, s in got.items() if s == "fails"}
    counts = {s: list(got.values()).count(s) for s in ("fails", "unmet", "error")}
    assert suite.get("tests") == "25"
    assert suite.get("failures") == str(counts["fails"])
    assert suite.get("skipped") == str(counts["unmet"])
    errors = [(r.lean_name, r.message) for r in wrong if r.status is Status.ERROR]
    assert suite.get("errors") == "0", errors
    for c in cases:
        seconds = results[f"{c.get('classname')}.{c.get('name')}"].seconds
        assert float(c.get("time", "-1")) == pytest.approx(seconds, abs=1e-3)
        fail = c.find("failure")
        if fail is not None:
            r = results[f"{c.get('classname')}.{c.get('name')}"]
            assert r.counterexample is not None and r.counterexample.worst is not None
            assert fail.get("message") == r.counterexample.worst.describe()
            assert "\n" not in (fail.get("message") or "\n")
            text = fail.text or ""
            assert text.startswith(f"FAILS: {r.lean_name}\n  statement: ")
            assert f"replay: {replay_command(r.lean_name, config('tests.test_report:X'))}" in text
        skip = c.find("skipped")
        if skip is not None:
            assert (skip.get("message") or "").startswith("unmet: ")
            assert "nothing to check" in (skip.get("message") or "") or "hypothesis" in (
                skip.get("message") or ""
            )


def test_junit_properties_carry_the_config(wrong: list[Result]) -> None:
    root = parse(junit_xml("minimal-missing-factor-2", wrong, config("B", dims=None)))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["engine"] == "minimal-missing-factor-2" and props["backend"] == "B"
    assert props["seed"] == str(SEED) and props["examples"] == str(EXAMPLES)
    assert props["max_dim"] == str(MAX_DIM) and props["dtype"] == "float64"
    assert props["lean_module"] == "NN/Proofs/Autograd/FDeriv/MlpMse.lean"
    assert len(props["lean_commit"] or "") == 40
    assert "dims" not in props  # None is left out


def test_junit_engine_errors_are_error_elements(erring: list[Result]) -> None:
    root = parse(junit_xml("raises-in-grads", erring, config("tests.backends:RaisesInGrads")))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 25
    errors = {c.get("name"): c.find("error") for c in cases if c.find("error") is not None}
    assert {"grad_W1_mse", "grad_b2_mse", "mseGrad_eq_adjoint_fderiv"} <= set(errors)
    for el in errors.values():
        assert el is not None
        assert el.get("type") == "engine error"
        assert RaisesInGrads.MESSAGE in (el.get("message") or "")
        replay = "replay: python -m spec check --backend tests.backends:RaisesInGrads"
        assert replay in (el.text or "")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("errors") == str(len(errors))


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_has_a_section_per_lean_name(wrong: list[Result], tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    write_markdown(str(path), "minimal-missing-factor-2", wrong, config("X"))
    text = path.read_text("utf-8")
    sections = re.findall(r"^## (\S+)$", text, flags=re.M)
    assert sections == NAMES
    results = by_name(wrong)
    for name in NAMES:
        body = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        decl = manifest().declarations[name]
        assert f"- **statement:** `{decl.statement}`" in body
        hyps = "; ".join(f"`{h}`" for h in decl.hypotheses) or "none"
        assert f"- **hypotheses:** {hyps}" in body
        assert f"- **verdict:** {results[name].status.value}" in body
        assert f"examples {results[name].examples}, holds {results[name].holds}, " in body
        if results[name].status is Status.FAILS:
            assert "- **worst entry:** " in body
            assert f"```text\nFAILS: {name}\n" in body and "  replay: python -m spec" in body
        else:
            assert "```" not in body
    # The summary table links every name to its section.
    for name in NAMES:
        anchor = name.lower().replace(".", "")
        assert f"(#{anchor})" in text


def test_markdown_opens_with_the_headline(tiny: list[Result]) -> None:
    text = markdown("tiny-error-W1", tiny, config("tests.backends:TinyErrorW1"))
    head = render_headline(tiny)
    assert text.startswith(
        "# MlpMse conformance of engine `tiny-error-W1`\n\n```text\n" + "\n".join(head) + "\n```\n"
    )


# --- the headline ------------------------------------------------------------------------------


def worst_failure(results: list[Result]) -> Result:
    fails = [r for r in results if r.status is Status.FAILS]
    assert fails
    return max(fails, key=lambda r: r.counterexample.worst_ratio if r.counterexample else 0.0)


def test_headline_names_the_statement_and_the_worst_entry(tiny: list[Result]) -> None:
    lines = render_headline(tiny)
    assert 1 <= len(lines) <= 3
    r = worst_failure(tiny)
    assert r.counterexample is not None
    w = r.counterexample.worst
    assert w is not None and w.index is not None
    idx = "[" + ", ".join(map(str, w.index)) + "]"
    assert lines[0].startswith(f"FAIL {r.lean_name}: ")
    assert f"{idx} = {w.actual!r}" in lines[0] and f" {w.expected!r}, error " in lines[0]
    assert re.search(r"error \S+ > bound \S+ \(\S+× the bound\)", lines[0])
    assert lines[1] == f"  statement: {manifest().declarations[r.lean_name].statement}"
    failing = [x for x in tiny if x.status is Status.FAILS]
    assert len(failing) == 2
    other = next(x for x in failing if x is not r)
    assert lines[2] == f"… and 1 more failing declaration: {other.lean_name.rsplit('.', 1)[1]}"


def test_headline_counts_the_rest(wrong: list[Result], erring: list[Result]) -> None:
    lines = render_headline(wrong)
    fails = [r for r in wrong if r.status is Status.FAILS]
    more = f"… and {len(fails) - 1} more failing declarations: "
    assert len(lines) == 3 and lines[2].startswith(more)
    err = render_headline(erring)
    assert err[0].startswith("ERROR Proofs.Autograd.") and RaisesInGrads.MESSAGE in err[0]
    assert "engine or checker errors" in err[2]


def test_headline_is_empty_when_everything_holds() -> None:
    results = run_all(MinimalMlp(), Config(max_dim=2), 2, 0, only=["mse", "grad_b2_mse"])
    assert [r.status for r in results] == [Status.HOLDS, Status.HOLDS]
    assert render_headline(results) == []


# --- the counterexample ------------------------------------------------------------------------


def test_counterexample_is_in_the_statements_terms(tiny: list[Result]) -> None:
    r = by_name(tiny)["Proofs.Autograd.grad_W1_mse"]
    v = r.counterexample
    assert v is not None and v.worst is not None and v.worst.index is not None
    replay = "python -m spec check --backend tests.backends:TinyErrorW1 --only grad_W1_mse"
    text = render_counterexample(r, replay)
    lines = text.splitlines()
    decl = manifest().declarations[r.lean_name]
    assert lines[0] == f"FAILS: {r.lean_name}"
    assert lines[1] == f"  statement: {decl.statement}"
    assert lines[2] == f"  worst: {v.worst.describe()}"
    # the minimal dimensions, as Lean names them
    W1 = np.asarray(v.witness["W1"])
    assert (
        f"  dimensions: inDim = {W1.shape[1]}, hidDim = {W1.shape[0]}, "
        f"outDim = {np.asarray(v.witness['b2']).shape[0]}"
    ) in text
    # the arrays, compactly, under their Lean names
    for k in ("W1", "b1", "W2", "b2", "x", "t"):
        assert re.search(rf"^    {k} = \[", text, flags=re.M), k
    assert "hx : ∀ i : Fin hidDim, (z1 W1 b1 x) i ≠ 0" in text and "hx holds here" in text
    # the statement with the numbers substituted, and both sides
    i, j = v.worst.index
    assert (
        "(fderiv (W1 ↦ mse t (mlpVecMat W1 b1 W2 b2 x)) W1)† 1 = "
        f"outer (R_z1 ((matCLM W2)† (mseGrad y t))) x, at "
        f"[{i}, {j}]: the engine gives {v.worst.actual!r}, the right side is "
        f"{v.worst.expected!r}"
    ) in text
    assert f"right side at [{i}, {j}] = δ[{i}] · x[{j}] = " in text
    assert f"    left:  engine grads['W1']         = {v.worst.actual!r}" in text
    assert f"    right: the statement's right side = {v.worst.expected!r}" in text
    # the error, the bound with its derivation and the ULPs, and the replay command
    assert v.worst.bound is not None and v.worst.ulps is not None
    assert f"> bound {v.worst.bound:.3g}: " in text and f"({v.worst.ulps:.2g} ulp)" in text
    assert f"  bound: {v.worst.derivation}  (" in text
    assert lines[-1] == f"  replay: {replay}"


def test_counterexample_of_a_vector_lemma(wrong: list[Result]) -> None:
    # mseGrad's witness is (y, t): the dimension is n, and the values are y − t and mseGrad y t.
    results = run(MissingFactor2())
    r = by_name(results)["Proofs.Autograd.mseGrad"]
    text = render_counterexample(r, "replay-here")
    assert "  dimensions: n = " in text and "    y = [" in text and "    t = [" in text
    assert "mseGrad y t = (2/" in text and "engine mse_grad(y, t)" in text


def test_replay_command_replays_the_failure(tmp_path: Path) -> None:
    cfg = config("tests.backends:TinyErrorW1")
    cmd = shlex.split(replay_command("Proofs.Autograd.grad_W1_mse", cfg))
    assert cmd[:4] == ["python", "-m", "spec", "check"]
    assert cmd[cmd.index("--only") + 1] == "Proofs.Autograd.grad_W1_mse"
    assert "--margin" not in cmd  # the default is not repeated
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, *cmd[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "grad_W1_mse" in out.stdout and "fails" in out.stdout


def test_replay_command_options() -> None:
    cmd = replay_command(
        "N",
        {
            "backend": None,
            "seed": 1,
            "examples": 7,
            "dtype": "exact",
            "dims": (3, 4, 5),
            "reference": "float",
            "margin": 0.5,
            "device": "cuda",
            "min_dim": 0,
            "max_dim": 2,
        },
    )
    assert cmd == (
        "python -m spec check --device cuda --seed 1 --examples 7 --exact --dims 3,4,5 "
        "--reference float --min-dim 0 --max-dim 2 --margin 0.5 --only N"
    )


# --- progress ----------------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_not_a_terminal(tiny: list[Result]) -> None:
    for enabled in (None, False):
        out = io.StringIO()  # not a TTY, like a CI log
        with progress(len(tiny), enabled, file=out) as advance:
            for r in tiny:
                advance(r)
        assert out.getvalue() == ""


def test_progress_draws_on_a_terminal(tiny: list[Result]) -> None:
    out = FakeTTY()
    with progress(len(tiny), file=out) as advance:
        for r in tiny:
            advance(r)
    text = out.getvalue()
    assert "checking" in text and f"{len(tiny)}/{len(tiny)}" in text
    assert "failing" in text  # TinyErrorW1 fails two declarations
