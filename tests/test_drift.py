"""Tests of `spec.traceability.drift`: each kind of change between Lean versions lands in its exact
category.

The variants in `tests/fixtures/lean/` each make one kind of change to `base.lean`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from spec.registry import MODULE_FILE, LeanDecl, manifest
from spec.traceability.drift import (
    BENIGN,
    DriftReport,
    Finding,
    Record,
    against_manifest,
    between,
    compare,
    manifest_file_for,
)
from spec.traceability.lean_source import LeanFile, parse_file

FIXTURES = Path(__file__).parent / "fixtures" / "lean"
TOY_FILE = "Toy/Grad.lean"
AFTER_LINES = [
    "Toy.Grad.V",
    "Toy.Grad.scaleV",
    "Toy.Grad.scaleV_apply",
    "Toy.Grad.halfSq",
    "Toy.Grad.halfSq_grad",
    "Toy.Grad.tag",
    "Toy.Grad.out",
    "Toy.Grad.pair",
    "Toy.Grad.loss",
    "Toy.Grad.lossGrad",
    "Toy.Grad.lossGrad_eq",
    "Toy.Grad.hasFDerivAt_loss",
]


def lean(name: str) -> LeanFile:
    return parse_file(FIXTURES / name)


def drift(variant: str) -> DriftReport:
    return between(lean("base.lean"), lean(variant), TOY_FILE)


def categories(report: DriftReport) -> list[tuple[str, str, str | None]]:
    return [(f.category, f.name, f.new_name) for f in report.findings]


def toy_manifest(in_module: bool = True) -> list[LeanDecl]:
    """Return manifest entries for base.lean, as `spec/data/manifest.json` would hold them."""
    return [
        LeanDecl(
            name=d.name,
            kind=d.kind,  # type: ignore[arg-type]
            file=TOY_FILE,
            line=d.line,
            section="toy",
            hypotheses=(),
            statement=d.statement,
            in_module=in_module,
            fingerprint=d.fingerprint,
        )
        for d in lean("base.lean").declarations
    ]


# ---------------------------------------------------------------------------------------------
# Two versions of a file
# ---------------------------------------------------------------------------------------------


def test_identical_files_have_no_drift() -> None:
    report = drift("base.lean")
    assert report.findings == [] and report.exit_code == 0
    assert report.format().endswith("\nno drift")


def test_rename_is_renamed() -> None:
    report = drift("rename.lean")
    assert categories(report) == [("renamed", "Toy.Grad.lossGrad_eq", "Toy.Grad.lossGrad_spec")]
    assert report.exit_code == 1


def test_lemma_to_theorem_is_one_kind_respelled() -> None:
    # Mathlib's `lemma` is `theorem`: Lean makes the same declaration of both.
    report = drift("theorem.lean")
    assert categories(report) == [("respelled", "Toy.Grad.lossGrad_eq", None)]
    (f,) = report.findings
    assert (f.old_kind, f.new_kind) == ("lemma", "theorem")
    assert f.detail == "`lemma` → `theorem`"
    assert report.exit_code == 0


def test_def_to_abbrev_is_kind_changed() -> None:
    report = drift("abbrev.lean")
    assert categories(report) == [("kind_changed", "Toy.Grad.scaleV", None)]
    assert (report.findings[0].old_kind, report.findings[0].new_kind) == ("def", "abbrev")


def test_statement_edit_is_statement_changed() -> None:
    report = drift("statement.lean")
    assert categories(report) == [("statement_changed", "Toy.Grad.halfSq_grad", None)]
    f = report.findings[0]
    assert f.old_fingerprint != f.new_fingerprint
    assert report.exit_code == 1


def test_proof_edit_and_moved_lines_are_benign() -> None:
    report = drift("proof_moved.lean")
    moved = [(f.name, f.old_line, f.new_line) for f in report.by_category("moved")]
    # A 4-line module doc first, then 2 more lines in scaleV's signature, 1 more in a proof.
    shifts = [4, 4] + [6] * 9 + [7]
    assert moved == [
        (name, line, line + k)
        for name, line, k in zip(
            AFTER_LINES, [32, 35, 38, 45, 49, 55, 70, 74, 78, 82, 85, 93], shifts, strict=True
        )
    ]
    assert [f.name for f in report.by_category("proof_changed")] == ["Toy.Grad.lossGrad_eq"]
    # scaleV's signature now spans three lines: the same statement, written otherwise
    assert [(f.name, f.detail) for f in report.by_category("respelled")] == [
        ("Toy.Grad.scaleV", "line breaks, spacing or comments")
    ]
    assert {f.category for f in report.findings} == {"moved", "proof_changed", "respelled"}
    assert report.exit_code == 0
    assert "only benign changes" in report.format()


def test_section_variable_change_changes_the_statements_that_use_it() -> None:
    report = drift("variable.lean")
    assert categories(report) == [
        ("statement_changed", "Toy.Grad.loss", None),
        ("statement_changed", "Toy.Grad.lossGrad", None),
        ("statement_changed", "Toy.Grad.lossGrad_eq", None),
        ("statement_changed", "Toy.Grad.hasFDerivAt_loss", None),
        ("scope_changed", "variable", None),
    ]
    assert report.findings[-1].detail == "`variable` binding u, t (line 66) was changed"


def test_comments_in_odd_places_are_benign_layout() -> None:
    report = drift("comments.lean")
    assert [(f.category, f.name, f.detail) for f in report.findings] == [
        ("respelled", "Toy.Grad.lossGrad", "line breaks, spacing or comments"),
        ("respelled", "Toy.Grad.hasFDerivAt_loss", "line breaks, spacing or comments"),
    ]
    assert report.exit_code == 0


# ---------------------------------------------------------------------------------------------
# The comparison itself
# ---------------------------------------------------------------------------------------------


def test_compare_added_removed_and_rename_with_kind_change() -> None:
    old = [Record("a", "lemma", 1, "f1"), Record("b", "def", 5, "f2"), Record("c", "def", 9, "f3")]
    new = [
        Record("a", "lemma", 1, "f1"),
        Record("b2", "abbrev", 5, "f2"),
        Record("d", "def", 12, "f4"),
    ]
    got = [(f.category, f.name, f.new_name) for f in compare(old, new)]
    assert got == [
        ("removed", "c", None),
        ("renamed", "b", "b2"),
        ("kind_changed", "b2", None),
        ("added", "d", None),
    ]
    partial = [(f.category, f.name) for f in compare(old, new, complete=False)]
    assert ("added", "d") not in partial and ("renamed", "b") in partial


def test_compare_rename_prefers_the_first_candidate_by_line() -> None:
    old = [Record("x", "lemma", 3, "same")]
    new = [Record("y2", "lemma", 20, "same"), Record("y1", "lemma", 10, "same")]
    got = [(f.category, f.name, f.new_name) for f in compare(old, new)]
    assert got == [("renamed", "x", "y1"), ("added", "y2", None)]


def test_compare_without_fingerprint_is_unverified_and_benign() -> None:
    (f,) = compare([Record("a", "def", 1, None)], [Record("a", "def", 1, "f1")])
    assert f.category == "unverified" and f.benign
    assert "unverified" in BENIGN and "statement_changed" not in BENIGN


def test_every_finding_message_says_what_to_do() -> None:
    samples = [
        Finding("added", "n", new_kind="def", new_line=3),
        Finding("removed", "n", old_kind="def", old_line=3),
        Finding("renamed", "n", new_name="m", old_kind="def", new_kind="def"),
        Finding("statement_changed", "n", old_kind="def", old_fingerprint="a", new_fingerprint="b"),
        Finding("kind_changed", "n", old_kind="lemma", new_kind="theorem"),
    ]
    for f in samples:
        msg = f.message()
        assert msg.startswith(f.category.replace("_", " ")), msg
        assert re.search(r"; (add|retire|rename|re-read|update)", msg), msg
    assert Finding("moved", "n", old_kind="def", old_line=1, new_line=2).message() == (
        "moved (benign): def n from line 1 to line 2"
    )


# ---------------------------------------------------------------------------------------------
# Against the manifest
# ---------------------------------------------------------------------------------------------


def test_against_a_complete_listing() -> None:
    listing = toy_manifest()
    listing[3] = replace(listing[3], line=40)  # halfSq listed at another line: moved
    listing[4] = replace(listing[4], fingerprint="0" * 16)  # halfSq_grad: statement changed
    listing.append(replace(listing[0], name="Toy.Grad.gone", line=1))  # not in the file: removed
    listing = [d for d in listing if d.name != "Toy.Grad.tag"]  # tag is in the file: added
    report = against_manifest(lean("base.lean"), listing, TOY_FILE)
    assert report.complete and report.listed == 12 and report.parsed == 12
    assert categories(report) == [
        ("removed", "Toy.Grad.gone", None),
        ("statement_changed", "Toy.Grad.halfSq_grad", None),
        ("added", "Toy.Grad.tag", None),
        ("moved", "Toy.Grad.halfSq", None),
    ]
    assert report.exit_code == 1


def test_against_a_partial_listing_reports_no_additions() -> None:
    listing = [d for d in toy_manifest(in_module=False) if d.kind == "def"]
    report = against_manifest(lean("rename.lean"), listing, TOY_FILE)
    assert not report.complete
    assert report.findings == [] and report.exit_code == 0
    with pytest.raises(ValueError, match="choose one of: Toy/Grad.lean"):
        against_manifest(lean("base.lean"), listing, "Nope.lean")


def test_report_json_is_machine_readable() -> None:
    report = against_manifest(lean("rename.lean"), toy_manifest(), TOY_FILE)
    data = json.loads(json.dumps(report.as_json()))
    assert data["exit_code"] == 1 and data["complete"] is True
    assert data["counts"] == {"renamed": 1}
    (f,) = data["findings"]
    assert f["category"] == "renamed" and f["benign"] is False
    assert (f["name"], f["new_name"]) == ("Toy.Grad.lossGrad_eq", "Toy.Grad.lossGrad_spec")
    assert f["message"].startswith("renamed: lemma Toy.Grad.lossGrad_eq (line 85) is now lemma ")


def test_manifest_file_for_guesses_from_the_path() -> None:
    files = [
        MODULE_FILE,
        "NN/Proofs/Autograd/FDeriv/Core.lean",
        "NN/Spec/Core/Tensor/Core.lean",
        "NN/Spec/Layers/Linear.lean",
    ]
    assert manifest_file_for("/src/TorchLean/NN/Spec/Core/Tensor/Core.lean", files) == (
        "NN/Spec/Core/Tensor/Core.lean",
        None,
    )
    assert manifest_file_for("/tmp/Linear.lean", files) == ("NN/Spec/Layers/Linear.lean", None)
    guessed, note = manifest_file_for("/tmp/Core.lean", files)
    assert guessed == MODULE_FILE
    assert note == (
        f"several manifest files are named 'Core.lean': compared with {MODULE_FILE}; "
        "pass --lean-file to choose another"
    )
    assert manifest_file_for("/tmp/other.lean", files)[1] is not None


def test_real_manifest_has_a_fingerprint_for_each_lean_declaration() -> None:
    decls = list(manifest().declarations.values())
    missing = [d.name for d in decls if d.fingerprint is None]
    assert missing == ["innerSL"]  # Mathlib's: its file is not read
    assert all(
        re.fullmatch(r"[0-9a-f]{16}", d.fingerprint or "") for d in decls if d.name != "innerSL"
    )
    module = [d for d in decls if d.in_module]
    assert len(module) == 25 and {d.file for d in module} == {MODULE_FILE}
    # z1 and a1 have the same signature, `: Vec hidDim`; their values tell them apart.
    by_name = manifest().declarations
    assert by_name["Proofs.Autograd.z1"].fingerprint != by_name["Proofs.Autograd.a1"].fingerprint
