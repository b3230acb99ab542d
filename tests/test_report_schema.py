"""The `--json` report against its documented schema, `spec/data/report.schema.json`.

The schema is the contract: every field required, no other field allowed, each with its type.
These tests validate reports written by `spec.cli.main` (run in this process, so a mutation of
the CLI's configuration is seen) for a correct engine, a failing one and an exact run; check that
the values in `config` are the ones the run was given and that the results say what was run;
show that the schema itself rejects a report missing any field, carrying an unknown one or
holding a wrong type; and keep docs/reports.md's four tables of fields equal to the schema's
fields and types.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import hypothesis.configuration as hyp_conf
import jsonschema
import pytest

from spec.checks.gradients import survival
from spec.cli import _exact_note, main
from spec.registry import manifest
from spec.runner import Result, module_checks
from spec.strategies import DEFAULT_MARGIN, PROBE_BITS
from spec.verdict import Status

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _, _ in module_checks()]
SCHEMA: dict[str, Any] = json.loads(
    resources.files("spec").joinpath("data/report.schema.json").read_text("utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MLP_CHECKS = 16
"""Checks drawn at MLP points: affineMat, mlpVecMat, mse, adjoint_…, z1, a1, y, 4 hasFDerivAt, 5
grad (`tests/test_conformance.py::test_active_units_are_counted`)."""


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = SCHEMA
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target)


def _object(name: str) -> dict[str, Any]:
    """Return the schema of the report (`report`), of its `config`, of one of its `results` or of
    one of a result's `parts`."""
    return {
        "report": SCHEMA,
        "config": _resolve(SCHEMA["$defs"]["config"]),
        "result": _resolve(SCHEMA["$defs"]["result"]),
        "part": _resolve(SCHEMA["$defs"]["part"]),
    }[name]


def validate(report: Any) -> None:
    """Assert that `report` follows the schema, listing every violation."""
    __tracebackhide__ = True
    errors = sorted(VALIDATOR.iter_errors(report), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return `run(args) -> (exit status, report)`: `python -m spec check ARGS --json …` run in
    this process, from an empty directory; Hypothesis's home directory is restored after."""
    monkeypatch.chdir(tmp_path)
    home = getattr(hyp_conf, "__hypothesis_home_directory")

    def run(args: list[str]) -> tuple[int, dict[str, Any]]:
        path = tmp_path / "report.json"
        code = main(["check", *args, "--json", str(path)])
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return code, data

    yield run
    setattr(hyp_conf, "__hypothesis_home_directory", home)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for name in ("report", "config", "result"):
        obj = _object(name)
        assert obj["additionalProperties"] is False, name
        assert set(obj["required"]) == set(obj["properties"]), name


def test_a_correct_run_follows_the_schema_and_records_its_configuration(run_cli: Any) -> None:
    code, data = run_cli(["--examples", "2", "--max-dim", "3", "--seed", "7", "--margin", "1e-6"])
    assert code == 0
    validate(data)
    assert data["backend"] == "reference"
    assert data["config"] == {
        "examples": 2,
        "seed": 7,
        "dtype": "float64",
        "min_dim": 0,
        "max_dim": 3,
        "margin": "1e-06",
        "probe_bits": None,
        "narrowed": [
            "--margin 1e-06: no unit nearer the kink than that (Lean's hx asks only z1 i ≠ 0)"
        ],
    }
    results = data["results"]
    assert [r["lean_name"] for r in results] == NAMES
    decls = manifest().declarations
    for r in results:
        assert r["kind"] == decls[r["lean_name"]].kind, r
        assert r["status"] == "holds" and r["message"] == "", r
        assert r["holds"] + r["unmet"] == r["examples"] and 1 <= r["examples"] <= 2, r
        assert sum(p["examples"] for p in r["parts"].values()) == r["examples"], r
        assert r["failing_part"] is None, r
        assert r["worst_ratio"] is not None and 0 <= r["worst_ratio"] <= 1, r
        assert r["rational_examples"] == 0, r
        if r["active_examples"] is not None:
            assert sum(r["patterns"].values()) == r["examples"], r
    assert sum(r["active_examples"] is not None for r in results) == MLP_CHECKS
    assert data["seconds"] >= sum(r["seconds"] for r in results) * 0.5


def test_a_failing_run_follows_the_schema(run_cli: Any) -> None:
    code, data = run_cli(
        [
            "--backend",
            "tests.backends:MissingFactor2",
            "--examples",
            "3",
            "--max-dim",
            "3",
            "--only",
            "grad_W1_mse",
            "mseGrad",
            "z1",
        ]
    )
    assert code == 1
    validate(data)
    by_name = {r["lean_name"].removeprefix("Proofs.Autograd."): r for r in data["results"]}
    assert {k: r["status"] for k, r in by_name.items()} == {
        "z1": "holds",
        "mseGrad": "fails",
        "grad_W1_mse": "fails",
    }
    for k in ("mseGrad", "grad_W1_mse"):
        r = by_name[k]
        assert r["worst_ratio"] is None or r["worst_ratio"] > 1, r
        assert r["message"] and r["holds"] < r["examples"], r
    assert data["config"]["seed"] == 0 and data["config"]["margin"] == repr(DEFAULT_MARGIN)


def test_an_exact_run_records_its_mode(run_cli: Any) -> None:
    code, data = run_cli(
        [
            "--exact",
            "--examples",
            "6",
            "--max-dim",
            "3",
            "--only",
            "grad_b1_mse",
            "mse",
            "--margin",
            "1/3",
        ]
    )
    assert code == 0
    validate(data)
    assert data["config"]["dtype"] == "exact" and data["config"]["probe_bits"] == PROBE_BITS
    assert data["config"]["margin"] == "1/3"
    for r in data["results"]:
        assert r["status"] == "holds" and 0 < r["rational_examples"] <= r["examples"], r


NOTE = (
    "exact: engine values compared with zero tolerance (the worst/bound column is the spec's "
    "own float64 values against exact ones)."
)
POINTS = (
    " Points: {} of {} with small-denominator rational entries, the others floats "
    "converted exactly."
)


def test_the_exact_note_says_what_the_run_did(
    run_cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The note an exact run prints under its table gives the counts of the JSON report (of the
    check with the most examples, the first such in the Lean file's order) and the survival
    probability of the probes the run used (`Config.probes`, 2)."""
    capsys.readouterr()
    code, data = run_cli(
        [
            "--exact",
            "--examples",
            "8",
            "--max-dim",
            "3",
            "--only",
            "mse",
            "grad_b1_mse",
            "reluDerivCLM_apply",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    mlp = [r for r in data["results"] if r["active_examples"] is not None]
    assert [r["lean_name"] for r in mlp] == ["Proofs.Autograd.mse", "Proofs.Autograd.grad_b1_mse"]
    r = max(mlp, key=lambda r: r["examples"])
    note = NOTE + POINTS.format(r["rational_examples"], r["examples"])
    i = out.index(note)
    assert out[i + 1] == f"grad_* probes: {survival(PROBE_BITS, 2)}, at each point."
    assert r["rational_examples"] > 0


def test_the_exact_note_of_runs_without_points_or_gradients() -> None:
    """Without a check at MLP points the note claims no points; without a grad_* check, no probe
    probability."""

    def result(name: str, active: int | None, rational: int, examples: int = 5) -> Result:
        return Result(
            name,
            "lemma",
            Status.HOLDS,
            examples,
            0.1,
            "engine",
            active_examples=active,
            rational_examples=rational,
        )

    single = [result("Proofs.Autograd.reluDerivCLM_apply", None, 0)]
    assert _exact_note(single, 2) == NOTE
    mlp = [
        result("Proofs.Autograd.mse", 4, 3),
        result("Proofs.Autograd.z1", 5, 2, examples=6),
        result("Proofs.Autograd.y", 6, 1, examples=6),
    ]
    assert _exact_note(mlp, 2) == NOTE + POINTS.format(2, 6)
    grads = [*single, result("Proofs.Autograd.grad_x_mse", 5, 1)]
    assert _exact_note(grads, 3) == (
        NOTE + POINTS.format(1, 5) + f"\ngrad_* probes: {survival(PROBE_BITS, 3)}, at each point."
    )


def _valid_report() -> dict[str, Any]:
    result = {
        "lean_name": "Proofs.Autograd.mse",
        "kind": "def",
        "status": "holds",
        "examples": 2,
        "holds": 2,
        "unmet": 0,
        "worst_ratio": 0.25,
        "seconds": 0.01,
        "subject": "engine",
        "message": "",
        "active_examples": 1,
        "patterns": {"all-on": 1, "mixed": 1},
        "rational_examples": 0,
        "failing_part": None,
        "hint": "",
        "parts": {
            "interior": {
                "status": "holds",
                "examples": 2,
                "holds": 2,
                "unmet": 0,
                "fails": 0,
                "errors": 0,
                "worst_ratio": 0.25,
                "message": "",
            }
        },
    }
    config = {
        "examples": 2,
        "seed": 0,
        "dtype": "float64",
        "min_dim": 1,
        "max_dim": 3,
        "margin": "8.673617379884035e-19",
        "probe_bits": None,
        "narrowed": ["--min-dim 1: no empty layers (Lean's sizes may be 0)"],
    }
    return {"backend": "reference", "config": config, "seconds": 0.5, "results": [result]}


def _at(report: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "report": report,
        "config": report["config"],
        "result": report["results"][0],
        "part": report["results"][0]["parts"]["interior"],
    }[where]
    return out


FIELDS = [
    (where, key)
    for where in ("report", "config", "result", "part")
    for key in _object(where)["properties"]
]


def test_the_hand_written_report_is_valid() -> None:
    validate(_valid_report())


@pytest.mark.parametrize(("where", "key"), FIELDS, ids=[f"{w}.{k}" for w, k in FIELDS])
def test_invalid_report_missing_a_field(where: str, key: str) -> None:
    report = _valid_report()
    del _at(report, where)[key]
    assert not VALIDATOR.is_valid(report)


@pytest.mark.parametrize("where", ["report", "config", "result", "part"])
def test_invalid_report_with_an_unknown_field(where: str) -> None:
    report = _valid_report()
    _at(report, where)["surprise"] = 1
    assert not VALIDATOR.is_valid(report)


WRONG_TYPES: list[tuple[str, str, Any]] = [
    ("report", "backend", 3),
    ("report", "seconds", "1"),
    ("report", "results", {}),
    ("config", "examples", 0),
    ("config", "examples", 2.5),
    ("config", "seed", "0"),
    ("config", "dtype", "float16"),
    ("config", "margin", 1e-12),
    ("config", "probe_bits", "32"),
    ("config", "min_dim", -1),
    ("result", "kind", "axiom"),
    ("result", "status", "passes"),
    ("result", "examples", -1),
    ("result", "worst_ratio", "inf"),
    ("result", "worst_ratio", -1.0),
    ("result", "subject", ""),
    ("result", "message", None),
    ("result", "active_examples", 1.5),
    ("result", "holds", True),
    ("result", "patterns", {"some-on": 1}),
    ("result", "patterns", {"mixed": -1}),
    ("result", "rational_examples", None),
    ("result", "lean_name", "not a name"),
    ("config", "narrowed", "none"),
    ("config", "narrowed", [""]),
    ("result", "failing_part", "middle"),
    ("result", "parts", {"middle": {}}),
    ("part", "status", "passes"),
    ("part", "fails", -1),
    ("part", "message", None),
]


@pytest.mark.parametrize(
    ("where", "key", "value"), WRONG_TYPES, ids=[f"{w}.{k}={v!r}" for w, k, v in WRONG_TYPES]
)
def test_invalid_report_with_a_wrong_type(where: str, key: str, value: Any) -> None:
    report = copy.deepcopy(_valid_report())
    _at(report, where)[key] = value
    assert not VALIDATOR.is_valid(report)


# --- docs/reports.md documents exactly the schema ----------------------------------------------

_ROW = re.compile(r"^\| `(?P<key>[a-z_]+)` \| (?P<type>[^|]+?) \| (?P<meaning>[^|]+) \|$")
_TABLES = {
    "report field": "report",
    "config field": "config",
    "result field": "result",
    "part field": "part",
}


def documented() -> dict[str, dict[str, str]]:
    """Return the fields of the four tables of docs/reports.md's JSON section, with the type each
    row gives."""
    text = (ROOT / "docs" / "reports.md").read_text("utf-8")
    section = text.split("\n## JSON\n", 1)[1].split("\n## ", 1)[0]
    out: dict[str, dict[str, str]] = {}
    current: str | None = None
    for line in section.splitlines():
        head = re.match(r"^\| (report field|config field|result field|part field) \|", line)
        if head:
            current = _TABLES[head.group(1)]
            out[current] = {}
            continue
        m = _ROW.match(line)
        if m and current is not None:
            out[current][m.group("key")] = m.group("type")
        elif not line.startswith("|"):
            current = None
    return out


def schema_type(node: dict[str, Any]) -> str:
    """Return a field's type as the docs write it: `integer or null`, `string: a, b`, …"""
    node = _resolve(node)
    if "enum" in node:
        values = [v for v in node["enum"] if v is not None]
        return ("string or null: " if None in node["enum"] else "string: ") + ", ".join(values)
    kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
    return " or ".join(kinds)


def test_docs_document_exactly_the_schema() -> None:
    docs = documented()
    assert set(docs) == {"report", "config", "result", "part"}
    for where, rows in docs.items():
        props = _object(where)["properties"]
        assert list(rows) == list(props), (where, set(rows) ^ set(props))
        for key, text in rows.items():
            assert text == schema_type(props[key]), (where, key, text)


def test_the_schema_ships_with_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert '"data/*"' in pyproject
    assert (ROOT / "spec" / "data" / "report.schema.json").is_file()
