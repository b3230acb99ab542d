"""Tests of `spec.traceability.trace`: the table on the real registry, and each `--check` problem on
a small synthetic registry, manifest and repository (a temporary directory with `tests/` and
`docs/`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import spec.registry as registry
import spec.traceability.trace as trace
from spec.registry import REGISTRY, Entry, LeanDecl, Manifest, manifest
from spec.traceability.trace import (
    build_rows,
    problems,
    render_markdown,
    repo_root,
    scan_docs,
    scan_tests,
)

FIXTURES = Path(__file__).parent / "fixtures" / "lean"
TOY_FILE = "Toy/Grad.lean"


def decl(name: str, kind: str, line: int, file: str = "NN/Toy.lean") -> LeanDecl:
    return LeanDecl(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        file=file,
        line=line,
        section="s",
        hypotheses=(),
        statement="s",
        in_module=True,
        fingerprint=None,
    )


MSE_GRAD = decl("Proofs.Autograd.mseGrad", "def", 10)
GRAD_W1 = decl("Proofs.Autograd.grad_W1_mse", "lemma", 20)
HAS_MSE = decl("Proofs.Autograd.hasFDerivAt_mse", "theorem", 30)
DECLS = [MSE_GRAD, GRAD_W1, HAS_MSE]


def mseGrad() -> None:
    """`Proofs.Autograd.mseGrad` (def): a stand-in mirror."""


def grad_W1_mse() -> None:
    """`Proofs.Autograd.grad_W1_mse` (lemma): a stand-in mirror."""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point `python -m spec trace` at a synthetic registry, manifest and repository."""
    fake = Manifest(
        "lean-dojo/TorchLean", registry.PINNED_COMMIT, "NN/Toy.lean", {d.name: d for d in DECLS}
    )
    monkeypatch.setattr(registry, "manifest", lambda: fake)
    monkeypatch.setattr(
        registry,
        "REGISTRY",
        {
            MSE_GRAD.name: Entry(MSE_GRAD, mseGrad),
            GRAD_W1.name: Entry(GRAD_W1, grad_W1_mse),
        },
    )
    monkeypatch.setattr(trace, "repo_root", lambda: tmp_path)
    write(tmp_path, "tests/test_grads.py", "def test_grad_W1_mse() -> None:\n    pass\n")
    write(tmp_path, "docs/gradients.md", "The gradient `grad_W1_mse` uses `mseGrad y t`.\n")
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = trace.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------------
# The real registry
# ---------------------------------------------------------------------------------------------


def test_rows_cover_every_manifest_declaration_of_the_real_registry() -> None:
    decls = list(manifest().declarations.values())
    rows = build_rows(REGISTRY, decls, repo_root())
    assert [r.lean_name for r in rows] == [d.name for d in decls]
    for r in rows:
        if r.lean_name in REGISTRY:
            assert r.python is not None
            assert r.python.module.startswith("spec")
            assert r.python.file is not None and r.python.file.startswith("spec/")
            assert isinstance(r.python.line, int)
        assert all(t.startswith("tests/test_") for t in r.tests)
        assert all(p.startswith("docs/") and p != trace.DOCS_PAGE for p in r.docs)


def test_table_prints_every_manifest_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["Lean", "name", "kind", "Lean", "file:line"]
    for name in manifest().declarations:
        assert any(line.startswith(name + " ") for line in lines[2:]), name


def test_check_on_the_real_repository_prints_known_problems_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["--check"], capsys)
    prefixes = (
        "missing mirror: ",
        "unknown Lean name: ",
        "kind mismatch: ",
        "untested ",
        "unknown Lean name in docs: ",
        "missing docs: ",
        "stale docs: ",
        "trace --check: OK",
    )
    assert all(line.startswith(prefixes) for line in out.splitlines()), out
    assert code == (0 if out.startswith("trace --check: OK") else 1)


# ---------------------------------------------------------------------------------------------
# --check, one problem at a time
# ---------------------------------------------------------------------------------------------


def test_check_reports_each_problem_in_one_line(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--check"], capsys)
    assert code == 1
    assert out.splitlines() == [
        "missing mirror: Proofs.Autograd.hasFDerivAt_mse (theorem, NN/Toy.lean:30) has no mirror "
        "in spec.registry.REGISTRY; add one to its banner module in spec/mirror, its docstring "
        "opening with `Proofs.Autograd.hasFDerivAt_mse` (theorem)",
        "untested theorem: Proofs.Autograd.hasFDerivAt_mse has no test; name one "
        "test_hasFDerivAt_mse in tests/ or mention Proofs.Autograd.hasFDerivAt_mse in a test",
        "missing docs: docs/traceability.md does not exist; generate it with "
        "python -m spec trace --write-docs",
    ]
    assert err == "trace --check: 3 problem(s)\n"


def test_check_is_ok_once_mirrored_tested_and_documented(
    world: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.REGISTRY[HAS_MSE.name] = Entry(HAS_MSE, mseGrad)
    write(
        world,
        "tests/test_mse.py",
        'def test_derivative() -> None:\n    assert "Proofs.Autograd.hasFDerivAt_mse"\n',
    )
    assert run(["--write-docs"], capsys)[:2] == (0, "wrote docs/traceability.md (3 declarations)\n")
    code, out, _ = run(["--check"], capsys)
    assert (code, out) == (0, "trace --check: OK (3 declarations, 3 mirrors)\n")
    page = (world / "docs" / "traceability.md").read_text(encoding="utf-8")
    assert "| `Proofs.Autograd.grad_W1_mse` | lemma | [NN/Toy.lean:20](https://github.com/" in page
    assert "`tests/test_grads.py::test_grad_W1_mse`" in page and "[gradients](gradients.md)" in page
    write(world, "docs/traceability.md", page.replace("lemma", "theorem", 1))
    code, out, _ = run(["--check"], capsys)
    assert (code, out) == (
        1,
        "stale docs: docs/traceability.md differs from what the registry "
        "generates; regenerate it with python -m spec trace --write-docs\n",
    )


def test_check_flags_a_registry_name_the_manifest_lacks_and_a_kind_mismatch(world: Path) -> None:
    stray = decl("Proofs.Autograd.grad_W3_mse", "lemma", 1)
    wrong_kind = decl(MSE_GRAD.name, "abbrev", 10)
    reg = {
        **registry.REGISTRY,
        stray.name: Entry(stray, grad_W1_mse),
        MSE_GRAD.name: Entry(wrong_kind, mseGrad),
    }
    found = problems(reg, DECLS, world)
    assert (
        "unknown Lean name: the registry mirrors 'Proofs.Autograd.grad_W3_mse', which "
        "spec/data/manifest.json does not list; fix the name in the mirror's docstring or add the "
        "declaration to the manifest"
    ) in found
    assert (
        "kind mismatch: the registry has Proofs.Autograd.mseGrad as a abbrev, the manifest as "
        "a def; make the kind in the mirror's docstring match the manifest"
    ) in found


def test_check_flags_lean_names_in_docs_that_the_manifest_lacks(world: Path) -> None:
    write(
        world,
        "docs/notes.md",
        "\n".join(
            [
                "Known: `Proofs.Autograd.mseGrad`, namespace `Proofs.Autograd`, `VJP[mse t, y]`.",
                "Unknown dotted: `Proofs.Autograd.grad_W3_mse` and `Spec.dot_mat_linear_adjoint`.",
                "Unknown shape: `hasFDerivAt_mlp` and `grad_W1_sse`.",
                "Code words: `numpy.allclose`, `grad_fn`, `W1`, `python -m spec trace`, `Specs.x`.",
                "```",
                "`Proofs.Autograd.inside_a_fence` is code, not prose",
                "```",
            ]
        )
        + "\n",
    )
    found = [p for p in problems(registry.REGISTRY, DECLS, world) if "in docs" in p]
    tail = "which spec/data/manifest.json does not list; correct the name or add it to the manifest"
    assert found == [
        f"unknown Lean name in docs: docs/notes.md:2 names `Proofs.Autograd.grad_W3_mse`, {tail}",
        f"unknown Lean name in docs: docs/notes.md:2 names `Spec.dot_mat_linear_adjoint`, {tail}",
        f"unknown Lean name in docs: docs/notes.md:3 names `hasFDerivAt_mlp`, {tail}",
        f"unknown Lean name in docs: docs/notes.md:3 names `grad_W1_sse`, {tail}",
    ]


# ---------------------------------------------------------------------------------------------
# How tests and docs are found
# ---------------------------------------------------------------------------------------------


def test_scan_tests_by_name_word_and_by_fully_qualified_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tests/test_a.py",
        "\n".join(
            [
                'NAMES = ["Proofs.Autograd.hasFDerivAt_mse"]',
                "def test_grad_W1_mse_holds() -> None: ...",
                "def test_invalid_mseGrad_wrong_scale() -> None: ...",
                "class TestMore:",
                "    @staticmethod",
                "    def test_uses_the_name() -> None:",
                '        assert "Proofs.Autograd.mseGrad"',
                "def helper_grad_W1_mse() -> None: ...",
            ]
        )
        + "\n",
    )
    write(
        tmp_path,
        "tests/test_b.py",
        "\n".join(
            [
                # a module-level table of short names: credits the file
                'TABLE = {"grad_W1_mse": 1}',
                '@pytest.mark.parametrize("short", ["mseGrad", "not_a_name"])',
                "def test_holds(short: str) -> None: ...",
                'def test_other() -> None: assert "a mseGrad in prose" != "hasFDerivAt_mse_x"',
            ]
        )
        + "\n",
    )
    write(tmp_path, "tests/test_trace.py", "def test_grad_W1_mse() -> None: ...\n")  # meta: skipped
    write(tmp_path, "tests/test_broken.py", "def test_(:\n")  # unparsable: skipped
    got = scan_tests(tmp_path, DECLS)
    assert got == {
        "Proofs.Autograd.mseGrad": [
            "tests/test_a.py::test_invalid_mseGrad_wrong_scale",
            "tests/test_a.py::TestMore::test_uses_the_name",
            "tests/test_b.py::test_holds",
        ],
        "Proofs.Autograd.grad_W1_mse": [
            "tests/test_a.py::test_grad_W1_mse_holds",
            "tests/test_b.py",
        ],
        "Proofs.Autograd.hasFDerivAt_mse": ["tests/test_a.py"],
    }


def test_a_short_name_inside_a_longer_one_is_not_credited(tmp_path: Path) -> None:
    mse = decl("Proofs.Autograd.mse", "def", 5)
    write(
        tmp_path,
        "tests/test_b.py",
        "def test_grad_W1_mse() -> None: ...\ndef test_mse_and_grad_W1_mse() -> None: ...\n",
    )
    got = scan_tests(tmp_path, [mse, GRAD_W1])
    assert got["Proofs.Autograd.mse"] == ["tests/test_b.py::test_mse_and_grad_W1_mse"]
    assert got["Proofs.Autograd.grad_W1_mse"] == [
        "tests/test_b.py::test_grad_W1_mse",
        "tests/test_b.py::test_mse_and_grad_W1_mse",
    ]


def test_scan_docs_by_leading_name_of_a_code_span(tmp_path: Path) -> None:
    write(tmp_path, "docs/a.md", "See `mseGrad y t` and `VJP[Proofs.Autograd.hasFDerivAt_mse]`.\n")
    write(tmp_path, "docs/b.md", "Not `the mseGrad`.\n```\n`grad_W1_mse`\n```\n")
    write(tmp_path, "docs/traceability.md", "`grad_W1_mse`\n")  # generated: never a source
    assert scan_docs(tmp_path, DECLS) == {
        "Proofs.Autograd.mseGrad": ["docs/a.md"],
        "Proofs.Autograd.grad_W1_mse": [],
        "Proofs.Autograd.hasFDerivAt_mse": ["docs/a.md"],
    }


def test_markdown_marks_mathlib_and_unmirrored_rows() -> None:
    mathlib = decl("innerSL", "def", 0, "Mathlib/Analysis/Basic.lean")
    rows = build_rows({}, [mathlib], Path("/nonexistent"))
    page = render_markdown(rows)
    assert "| `innerSL` | def | `Mathlib/Analysis/Basic.lean` (Mathlib) | — | — | — |" in page


# ---------------------------------------------------------------------------------------------
# --lean-source, --results, --json
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def toy_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manifest listing base.lean's declarations under `Toy/Grad.lean`."""
    from spec.traceability.lean_source import parse_file

    base = parse_file(FIXTURES / "base.lean")
    decls = {
        d.name: LeanDecl(
            name=d.name,
            kind=d.kind,  # type: ignore[arg-type]
            file=TOY_FILE,
            line=d.line,
            section="toy",
            hypotheses=(),
            statement=d.statement,
            in_module=True,
            fingerprint=d.fingerprint,
        )
        for d in base.declarations
    }
    monkeypatch.setattr(registry, "manifest", lambda: Manifest("r", "c", TOY_FILE, decls))
    monkeypatch.setattr(trace, "_closure", lambda: None)  # a manifest without a closure
    monkeypatch.setattr(trace, "repo_root", lambda: tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("fixture", "code", "summary"),
    [
        ("base.lean", 0, "no drift"),
        ("comments.lean", 0, "no drift"),
        ("proof_moved.lean", 0, "12 moved: only benign changes"),  # no proofs in a manifest
        ("rename.lean", 1, "1 renamed: drift that needs attention"),
        ("theorem.lean", 0, "1 respelled: only benign changes"),  # `lemma` is `theorem`
        ("statement.lean", 1, "1 statement changed: drift that needs attention"),
    ],
)
def test_lean_source_drift_exit_codes(
    toy_world: Path, capsys: pytest.CaptureFixture[str], fixture: str, code: int, summary: str
) -> None:
    path = str(FIXTURES / fixture)
    got, out, _ = run(["--lean-source", path, "--lean-file", TOY_FILE], capsys)
    assert got == code
    lines = out.splitlines()
    assert lines[0] == (
        f"drift of {path} against {TOY_FILE} (every declaration: 12 listed, 12 parsed)"
    )
    assert lines[1] == summary


def test_lean_source_json(toy_world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--lean-source", str(FIXTURES / "rename.lean"), "--json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["exit_code"] == 1 and data["lean_file"] == TOY_FILE
    assert data["note"] == (
        "no manifest file is named 'rename.lean': compared with Toy/Grad.lean; "
        "pass --lean-file to choose another"
    )
    assert [f["category"] for f in data["findings"]] == ["renamed"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--lean-source", "{missing}"],
            "error: cannot read Lean file {missing}: No such file or directory",
        ),
        (
            ["--lean-source", "{bad}"],
            "error: cannot parse {bad}:98: unclosed `(`: no matching `)` before the end of the "
            "file (truncated file?)",
        ),
        (
            ["--lean-source", "{good}", "--lean-file", "No/Such.lean"],
            "error: --lean-file: lean_file 'No/Such.lean' is not a file of the manifest; choose "
            "one of: Toy/Grad.lean",
        ),
        (["--results", "{missing}"], "error: cannot read results {missing}: "),
    ],
)
def test_unreadable_inputs_exit_2_with_one_line(
    toy_world: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    paths = {
        "missing": str(toy_world / "nope.lean"),
        "bad": str(FIXTURES / "truncated_proof.lean"),
        "good": str(FIXTURES / "base.lean"),
    }
    code, out, err = run([a.format(**paths) for a in argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith(message.format(**paths)) and err.count("\n") == 1


def test_results_add_a_status_column(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = world / "results.json"
    results.write_text(
        json.dumps(
            {
                "backend": "ref",
                "results": [
                    {
                        "lean_name": GRAD_W1.name,
                        "status": "holds",
                        "examples": 100,
                        "worst_ratio": 0.1,
                        "seconds": 0.5,
                        "subject": "grad",
                        "message": "",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    code, out, _ = run(["--results", str(results)], capsys)
    assert code == 0
    header, _rule, *rows = out.splitlines()
    assert header.endswith("status")
    by_name = {row.split()[0]: row for row in rows}
    assert by_name[GRAD_W1.name].endswith("holds (100)")
    assert by_name[MSE_GRAD.name].endswith("not run")
    code, out, _ = run(["--results", str(results), "--json"], capsys)
    data: list[dict[str, Any]] = json.loads(out)
    assert [r["status"] for r in data] == ["not run", "holds (100)", "not run"]
    assert data[0]["python"]["qualname"] == "mseGrad" and data[2]["python"] is None


def test_main_is_callable_with_the_arguments_after_trace(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main: Callable[[list[str]], int] = trace.main
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    capsys.readouterr()
    # A leading `--` (as in `python -m spec trace -- --check`) is dropped.
    assert run(["--", "--check"], capsys)[:2] == run(["--check"], capsys)[:2]
