"""The quick subset: `python3 -m pytest -m quick` runs the modules below, which together take a
few seconds, for a check while working; the full suite (the README's command, as CI runs it) is
the one that counts.

They cover every room once: the registry and the mirror, verdicts and comparisons, the bounds'
blocked products and exact moves, the step radius, the built-in engine, the CLI's error messages,
the report schema, traceability and drift, and the API. The modules left out are the slow ones:
the conformance and mutant runs, exact mode, the compiled and foreign engines, the docs' commands
(`--durations=0` on the full suite measures them; docs/contributing.md has the figures).
"""

from pathlib import Path

import pytest

QUICK = frozenset(
    {
        "test_registry.py",
        "test_mirror.py",
        "test_verdict.py",
        "test_compare.py",
        "test_blocks.py",
        "test_exact_moves.py",
        "test_radius.py",
        "test_impl_engine.py",
        "test_messages.py",
        "test_report_schema.py",
        "test_trace.py",
        "test_drift.py",
        "test_api.py",
    }
)


def _quick_only(config: pytest.Config) -> bool:
    return str(config.getoption("markexpr", "")).strip() == "quick"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With `-m quick`, do not even import the other test modules (torch, jax and Hypothesis
    strategies take seconds to load)."""
    if _quick_only(config) and collection_path.suffix == ".py":
        return collection_path.name.startswith("test_") and collection_path.name not in QUICK
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of the quick modules `quick`."""
    for item in items:
        if item.path.name in QUICK:
            item.add_marker(pytest.mark.quick)
