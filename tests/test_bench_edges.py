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


def test_edge_benchmark_finds_no_false_alarm_on_a_correct_engine(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import backends as B

    monkeypatch.setattr(edges, "correct_engines",
                        lambda which: {"numpy": (B.NumpyMlp, "float64")})
    assert edges.main(["--seeds", "1", "--examples", "3", "--engines", "",
                       "--correct", "float64"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "25 rows over 1 seeds" in out
    assert "false alarms: 0" in out


def test_edge_benchmark_reports_a_false_alarm(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import backends as B

    monkeypatch.setattr(edges, "correct_engines",
                        lambda which: {"wrong": (B.MissingFactor2, "float64")})
    assert edges.main(["--seeds", "1", "--examples", "3", "--engines", "",
                       "--correct", "float64"]) == 1
    out = capsys.readouterr().out
    assert "false alarms: 0" not in out and "wrong seed 0" in out
