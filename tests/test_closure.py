"""Tests of `spec.traceability.closure` and of `trace --lean-source` on a checkout folder.

`tests/fixtures/lean/checkout/` is a toy TorchLean checkout written for this project: a module
file `Toy/Grad.lean` and a helper file `Toy/Core.lean`. Each file of `tests/fixtures/lean/variants/`
is one of them edited to make one kind of change; a test puts it in a copy of the checkout and
runs `python -m spec trace --lean-source FOLDER`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import spec.traceability.trace as trace
from spec.registry import MODULE_FILE, manifest
from spec.traceability.closure import Closure, build, closure, index_checkout, reaching

FIXTURES = Path(__file__).parent / "fixtures" / "lean"
CHECKOUT = FIXTURES / "checkout"
VARIANTS = FIXTURES / "variants"
MODULE = "Toy/Grad.lean"
HELPER = "Toy/Core.lean"


def toy_closure(root: Path = CHECKOUT) -> Closure:
    return build(root, MODULE, index_checkout(root, ("Toy",)))


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the toy checkout, with its closure as the manifest's."""
    root = tmp_path / "checkout"
    shutil.copytree(CHECKOUT, root)
    recorded = toy_closure()
    monkeypatch.setattr(trace, "_closure", lambda: recorded)
    return root


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = trace.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------------
# Building the closure
# ---------------------------------------------------------------------------------------------


def test_closure_follows_statements_and_values_into_helpers() -> None:
    c = toy_closure()
    tracked = {f: [d.name for d in s.declarations] for f, s in c.files.items()}
    assert tracked[HELPER] == [
        "Toy.Core.clip",
        "Toy.Core.clipFun",
        "Toy.Core.gradAt",
        "Toy.Core.«termG[_,_]»",
    ]  # not clip_nonneg (a theorem), unused
    assert len(tracked[MODULE]) == 9 and c.files[MODULE].complete
    assert not c.files[HELPER].complete
    uses = {d.name: d.uses for s in c.files.values() for d in s.declarations}
    assert uses["Toy.Grad.clipV"] == ("Toy.Grad.V", "Toy.Core.clipFun")  # via `open Toy.Core`
    assert uses["Toy.Grad.grad_loss"] == ("Toy.Grad.V", "Toy.Core.«termG[_,_]»", "Toy.Grad.loss")
    assert uses["Toy.Core.«termG[_,_]»"] == ("Toy.Core.gradAt",)
    assert c.external == ("EuclideanSpace", "Fin", "Nat", "Type", "WithLp.toLp", "max", "ℝ")


def test_reaching_names_the_module_declarations_a_helper_reaches() -> None:
    c = toy_closure()
    got = reaching(c, ["Toy.Core.clip", "Toy.Core.gradAt", "Toy.Grad.halfSq"])
    assert got["Toy.Core.clip"] == (
        "Toy.Grad.clipV",
        "Toy.Grad.clipV_apply",
        "Toy.Grad.loss",
        "Toy.Grad.grad_loss",
        "Toy.Grad.loss_nonneg",
    )
    assert got["Toy.Core.gradAt"] == ("Toy.Grad.grad_loss",)
    assert got["Toy.Grad.halfSq"][0] == "Toy.Grad.halfSq"  # a module declaration reaches itself


def test_closure_round_trips_through_json() -> None:
    c = toy_closure()
    assert Closure.from_json(json.loads(json.dumps(c.as_json()))) == c


def test_real_manifest_closure_covers_the_helpers_of_the_pinned_commit() -> None:
    c = closure()
    assert c is not None and c.module == MODULE_FILE
    assert len(c.roots()) == 25
    core = {d.name: d for d in c.files["NN/Proofs/Autograd/FDeriv/Core.lean"].declarations}
    # reluFun and reluFunDeriv build reluVec and reluDerivCLM: every hx lemma depends on them
    assert {
        "Proofs.Autograd.reluFun",
        "Proofs.Autograd.reluFunDeriv",
        "Proofs.Autograd.euclideanEquiv",
    } <= set(core)
    assert core["Proofs.Autograd.reluFunDeriv"].line == 246
    params = {d.name for d in c.files["NN/Proofs/Autograd/FDeriv/Params.lean"].declarations}
    assert {"Proofs.Autograd.matApplyLM", "Proofs.Autograd.vecOfFunMat"} <= params
    algebra = {d.name for d in c.files["NN/Proofs/Tensor/Algebra.lean"].declarations}
    assert "Proofs.TensorAlgebra.toVec" in algebra  # `Spec.toVec`, an `export`
    reach = reaching(c, ["Proofs.Autograd.reluFunDeriv"])["Proofs.Autograd.reluFunDeriv"]
    hx = [
        "hasFDerivAt_mlp_wrt_b1",
        "grad_b1_mse",
        "hasFDerivAt_mlp_wrt_x",
        "grad_x_mse",
        "hasFDerivAt_mlp_wrt_W1",
        "grad_W1_mse",
    ]
    assert {f"Proofs.Autograd.{n}" for n in hx} <= set(reach)
    assert {"HasFDerivAt", "fderiv", "innerSL", "EuclideanSpace"} <= set(c.external)


def test_real_manifest_declarations_agree_with_the_closure() -> None:
    c = closure()
    assert c is not None
    for d in manifest().declarations.values():
        if d.file.startswith("Mathlib/"):
            continue
        got = c.declaration(d.name)
        assert got is not None, d.name
        file, rec = got
        assert (file, rec.line, rec.fingerprint, rec.kind) == (
            d.file,
            d.line,
            d.fingerprint,
            d.kind,
        ), d.name


# ---------------------------------------------------------------------------------------------
# trace --lean-source FOLDER
# ---------------------------------------------------------------------------------------------


def test_unchanged_checkout_has_no_drift(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--lean-source", str(checkout)], capsys)
    assert (code, err) == (0, "")
    assert out.strip() == (
        f"{checkout}: 2 file(s) compared, 0 with drift that needs attention, 2 with no drift"
    )


# (variant, file it replaces, exit status, categories, a line the report must contain)
CASES = [
    (
        "core_helper_changed.lean",
        HELPER,
        1,
        ["statement_changed"],
        "statement changed: def Toy.Core.clip (line 17): fingerprint",
    ),
    (
        "core_helper_respelled.lean",
        HELPER,
        0,
        ["respelled"],
        "respelled (benign): def Toy.Core.clipFun (line 20): same statement to Lean; "
        "`fun` → `λ` ×1; `=>` → `↦` ×1",
    ),
    (
        "open_removed.lean",
        MODULE,
        1,
        ["open_changed"] + ["moved"] * 9,
        "open changed: `open Toy.Core` in namespace Toy.Grad (line 25) was removed",
    ),
    (
        "open_scoped_removed.lean",
        MODULE,
        1,
        ["open_changed"] + ["moved"] * 9,
        "open changed: `open scoped Toy` in namespace Toy.Grad (line 26) was removed",
    ),
    (
        "private.lean",
        MODULE,
        1,
        ["visibility_changed"],
        "visibility changed: lemma Toy.Grad.clipV_apply (line 38): public → private",
    ),
    (
        "alias.lean",
        MODULE,
        1,
        ["alias_changed"],
        "alias changed: `alias Toy.Grad.loss_nonneg' := loss_nonneg` (line 78) was added",
    ),
    (
        "operator.lean",
        MODULE,
        1,
        ["statement_changed"],
        "statement changed: def Toy.Grad.out (line 60)",
    ),
    (
        "ascii.lean",
        MODULE,
        0,
        ["respelled"] * 5,
        "respelled (benign): lemma Toy.Grad.halfSq_comp (line 48): same statement to Lean; "
        "`→` → `->` ×1; `fun` → `λ` ×1; `=>` → `↦` ×1",
    ),
    (
        "alpha.lean",
        MODULE,
        0,
        ["moved"] * 6 + ["respelled"] * 3,
        "respelled (benign): lemma Toy.Grad.halfSq_comp (line 50): same statement to Lean; bound "
        "variable `w` → `u`; redundant parentheses (1 → 3)",
    ),
    (
        "theorems.lean",
        MODULE,
        0,
        ["respelled"] * 3,
        "respelled (benign): lemma Toy.Grad.grad_loss (line 68): same statement to Lean; `lemma` → "
        "`theorem`",
    ),
    (
        "scope.lean",
        MODULE,
        0,
        ["moved"] * 4 + ["scope_changed"] * 2,
        "scope changed (benign): `variable` binding k (line 57) was added",
    ),
]


@pytest.mark.parametrize(
    ("variant", "file", "code", "cats", "line"), CASES, ids=[c[0] for c in CASES]
)
def test_checkout_variant_is_classified(
    checkout: Path,
    capsys: pytest.CaptureFixture[str],
    variant: str,
    file: str,
    code: int,
    cats: list[str],
    line: str,
) -> None:
    shutil.copy(VARIANTS / variant, checkout / file)
    got, out, err = run(["--lean-source", str(checkout), "--json"], capsys)
    assert (got, err) == (code, "")
    data = json.loads(out)
    (report,) = [r for r in data["files"] if r["lean_file"] == file]
    assert sorted(f["category"] for f in report["findings"]) == sorted(cats)
    assert all(r["findings"] == [] for r in data["files"] if r["lean_file"] != file)
    got, text, _ = run(["--lean-source", str(checkout)], capsys)
    assert got == code and line in text, text


def test_helper_change_names_the_module_declarations_it_reaches(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(VARIANTS / "core_helper_changed.lean", checkout / HELPER)
    _code, out, _ = run(["--lean-source", str(checkout), "--json"], capsys)
    (f,) = [f for r in json.loads(out)["files"] for f in r["findings"]]
    assert f["reaches"] == [
        "Toy.Grad.clipV",
        "Toy.Grad.clipV_apply",
        "Toy.Grad.loss",
        "Toy.Grad.grad_loss",
        "Toy.Grad.loss_nonneg",
    ]
    assert (
        "[reaches 5 of the module: clipV, clipV_apply, loss, grad_loss, loss_nonneg]"
        in (f["message"])
    )


def test_open_change_reaches_the_declarations_after_it(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(VARIANTS / "open_scoped_removed.lean", checkout / MODULE)
    _code, out, _ = run(["--lean-source", str(checkout), "--json"], capsys)
    (f,) = [
        f
        for r in json.loads(out)["files"]
        for f in r["findings"]
        if f["category"] == "open_changed"
    ]
    assert len(f["reaches"]) == 9 and f["reaches"][0] == "Toy.Grad.V"


# (variant, line, reason): files Lean would reject are errors, exit 2, not drift
INVALID = [
    (
        "duplicate.lean",
        64,
        "`Toy.Grad.out` is declared twice (lines 60 and 64): Lean rejects the file",
    ),
    (
        "truncated_by.lean",
        69,
        "the file ends after `by`: `Toy.Grad.grad_loss` (line 68) is cut off there",
    ),
    (
        "truncated_calc.lean",
        52,
        "the last `calc` step of `Toy.Grad.halfSq_comp` (line 48) has no `:= proof`",
    ),
    (
        "truncated_scopes.lean",
        42,
        "the file ends with `section` (line 28), `namespace Grad` (line "
        "21), `namespace Toy` (line 20) still open, which Toy/Grad.lean closes",
    ),
]


@pytest.mark.parametrize(("variant", "line", "reason"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_checkout_file_exits_2_with_file_line_and_reason(
    checkout: Path, capsys: pytest.CaptureFixture[str], variant: str, line: int, reason: str
) -> None:
    shutil.copy(VARIANTS / variant, checkout / MODULE)
    code, out, err = run(["--lean-source", str(checkout)], capsys)
    assert code == 2 and out == ""
    (msg,) = err.splitlines()
    assert msg.startswith("error: cannot ") and f"{checkout / MODULE}:{line}: {reason}" in msg
    assert "restore" in msg or "remove or rename" in msg  # says what to do


def test_missing_file_of_the_closure_removes_its_declarations(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (checkout / HELPER).unlink()
    code, out, _ = run(["--lean-source", str(checkout)], capsys)
    assert code == 1
    assert f"note: {checkout / HELPER} does not exist: every tracked declaration is gone" in out
    assert "removed: def Toy.Core.clip (line 17) is gone from the Lean file [reaches 5" in out


def test_several_files_one_by_one(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(VARIANTS / "core_helper_changed.lean", checkout / HELPER)
    code, out, _ = run(["--lean-source", str(checkout / MODULE), str(checkout / HELPER)], capsys)
    assert code == 1
    assert out.splitlines()[-1].endswith(
        "2 file(s) compared, 1 with drift that needs attention, 1 with no drift"
    )


def test_lean_file_needs_a_single_path(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["--lean-source", str(checkout / MODULE), str(checkout / HELPER), "--lean-file", MODULE],
        capsys,
    )
    assert (code, out) == (2, "")
    assert err == "error: --lean-file names the manifest file of one PATH; give one PATH\n"


def test_a_folder_that_is_no_checkout_exits_2(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--lean-source", str(checkout / "Toy")], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"error: {checkout / 'Toy'}: none of the 2 files of the closure (e.g. "
        "Toy/Grad.lean) is in this folder; pass the root of a TorchLean checkout\n"
    )
