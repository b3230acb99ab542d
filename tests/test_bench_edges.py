"""Smoke test of `benchmarks/edges.py` at a tiny size: it runs, and counts what it says.

No timing is asserted; the benchmark itself is run by hand (the figures are in docs).
"""

import importlib
from typing import Any

import pytest

# Imported by name: `benchmarks/` has no `__init__.py` (see tests/test_bench.py).
edges: Any = importlib.import_module("benchmarks.edges")


def test_edge_benchmark_counts_seeds_caught(capsys: pytest.CaptureFixture[str]) -> None:
    assert edges.main(["--seeds", "2", "--examples", "20", "--engines", "ReluDerivOneAtZero"]) == 0
    out = capsys.readouterr().out
    assert "ReluDerivOneAtZero" in out and "reluDerivCLM_apply" in out
    assert "caught under 2/2 seeds" in out


@pytest.mark.parametrize(("engine", "code"), [("NumpyMlp", 0), ("MissingFactor2", 1)])
def test_edge_benchmark_counts_false_alarms(
    engine: str, code: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A correct engine gives no false alarm and exit 0; a wrong one, handed over as correct,
    is reported (its seed, row and part) and exits 1."""
    from tests import backends as B

    monkeypatch.setattr(
        edges, "correct_engines", lambda which: {"engine": (getattr(B, engine), "float64")}
    )
    assert (
        edges.main(["--seeds", "1", "--examples", "3", "--engines", "", "--correct", "float64"])
        == code
    )
    out = capsys.readouterr().out
    assert "engine" in out and "25 rows over 1 seeds" in out
    assert ("false alarms: 0" in out) == (code == 0)
    assert ("engine seed 0 " in out) == (code == 1)
