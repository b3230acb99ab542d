"""A pytest plugin: the conformance suite as pytest items, one per Lean declaration.

It imports `spec` only once asked to run: pytest loads the plugin at start-up, before jaxtyping's
import hook (which the project's own tests use) would see `spec` imported.

Installed with the package (the `pytest11` entry point `mlpmse`), it does nothing until asked:

    pytest --mlpmse-engine mypkg.engine:MyEngine        # an engine named as --backend names it
    pytest --mlpmse                                     # the engine of your `mlpmse_engine` fixture

or, in `pytest.ini` / `[tool.pytest.ini_options]`, `mlpmse_engine = "mypkg.engine:MyEngine"` (or
`mlpmse = true`). Each Lean declaration with a predicate becomes one test item named by its Lean
name (`mlpmse::Proofs.Autograd.grad_W1_mse`), so `-k grad_W1`, `-x`, `--lf`, `-n auto` (xdist) and
`--junitxml` work as usual; a failing item shows the lines `python -m spec check` prints for it.

To check an engine built in your own code, define a fixture in the conftest.py at your rootdir:

    @pytest.fixture(scope="session")
    def mlpmse_engine():
        return MyEngine(hidden=16)

and run `pytest --mlpmse`. Options (each also an ini value, `mlpmse_examples = 20`, …):
`--mlpmse-examples N` (100), `--mlpmse-seed S` (0), `--mlpmse-dtype float64|float32|exact`,
`--mlpmse-min-dim D` (0), `--mlpmse-max-dim D` (8), as the CLI's `--examples`, `--seed`, `--dtype`,
`--min-dim`, `--max-dim`. A class named by `--mlpmse-engine` that accepts a `dtype` keyword is
built for `--mlpmse-dtype`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

__all__ = ["mlpmse_engine"]

_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("examples", "100", "examples per Lean declaration (as `check --examples`)"),
    ("seed", "0", "Hypothesis seed (as `check --seed`)"),
    ("dtype", "float64", "format the engine computes in: float64, float32 or exact"),
    ("min_dim", "0", "smallest size drawn (as `check --min-dim`)"),
    ("max_dim", "8", "largest size drawn (as `check --max-dim`)"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--mlpmse*` options and their ini values."""
    group = parser.getgroup("mlpmse", "MlpMse conformance (TorchLean's MlpMse.lean)")
    group.addoption(
        "--mlpmse-engine",
        default=None,
        metavar="MODULE:ATTR",
        help="run the conformance suite on this engine: reference, torch, jax, or "
        "MODULE:ATTR naming an engine object or a callable returning one",
    )
    group.addoption(
        "--mlpmse",
        action="store_true",
        default=False,
        help="run the conformance suite on the engine of the `mlpmse_engine` fixture",
    )
    parser.addini(
        "mlpmse_engine", "engine for the conformance suite (as --mlpmse-engine)", default=None
    )
    parser.addini("mlpmse", "run the conformance suite (as --mlpmse)", type="bool", default=False)
    for key, default, text in _OPTIONS:
        flag = "--mlpmse-" + key.replace("_", "-")
        group.addoption(flag, default=None, metavar=key.upper(), help=f"{text}; default {default}")
        parser.addini("mlpmse_" + key, text, default=default)


def _setting(config: pytest.Config, key: str) -> str:
    value = config.getoption("mlpmse_" + key)
    return str(config.getini("mlpmse_" + key) if value is None else value)


def _enabled(config: pytest.Config) -> bool:
    return bool(_engine_spec(config) or config.getoption("mlpmse") or config.getini("mlpmse"))


def _engine_spec(config: pytest.Config) -> str | None:
    value = config.getoption("mlpmse_engine") or config.getini("mlpmse_engine")
    return str(value) if value else None


def _int(config: pytest.Config, key: str, least: int) -> int:
    text = _setting(config, key)
    flag = "--mlpmse-" + key.replace("_", "-")
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"{flag} {text!r}: give a whole number") from None
    if value < least:
        raise pytest.UsageError(f"{flag} {value}: give at least {least}")
    return value


def _run_options(config: pytest.Config) -> dict[str, Any]:
    """Return the keyword arguments of `spec.api.check_engine` the options ask for, or raise
    `pytest.UsageError` naming the bad option."""
    from spec.api import DTYPES

    dtype = _setting(config, "dtype")
    if dtype not in DTYPES:
        raise pytest.UsageError(f"--mlpmse-dtype {dtype!r}: give one of {', '.join(DTYPES)}")
    low, high = _int(config, "min_dim", 0), _int(config, "max_dim", 0)
    if high < low:
        raise pytest.UsageError(
            f"--mlpmse-min-dim {low} --mlpmse-max-dim {high}: need min-dim <= max-dim"
        )
    return {
        "examples": _int(config, "examples", 1),
        "seed": _int(config, "seed", 0),
        "dtype": dtype,
        "min_dim": low,
        "max_dim": high,
    }


def pytest_configure(config: pytest.Config) -> None:
    """Check the options and the engine name at start-up, so a typo stops the session at once."""
    config.addinivalue_line("markers", "mlpmse: a conformance item of MlpMse.lean (one Lean name)")
    if not _enabled(config):
        return
    opts = _run_options(config)
    spec = _engine_spec(config)
    if spec is not None:
        from spec.engine import load_backend

        try:
            engine = load_backend(spec, "float64" if opts["dtype"] == "exact" else opts["dtype"])
        except ValueError as exc:
            raise pytest.UsageError(str(exc).replace("--backend", "--mlpmse-engine", 1)) from None
        config.stash[_ENGINE] = engine
    config.stash[_OPTS] = opts


_ENGINE = pytest.StashKey[Any]()
_OPTS = pytest.StashKey[dict[str, Any]]()


@pytest.fixture(scope="session")
def mlpmse_engine(request: pytest.FixtureRequest) -> Any:
    """Return the engine the conformance items check: the one `--mlpmse-engine` names. Override
    this fixture in your rootdir's conftest.py to check an engine built there."""
    engine = request.config.stash.get(_ENGINE, None)
    if engine is None:
        raise pytest.UsageError(
            "--mlpmse: define a fixture `mlpmse_engine` returning your engine "
            "in the conftest.py at your rootdir, or name one with "
            "--mlpmse-engine MODULE:ATTR"
        )
    return engine


class _Suite(pytest.Collector):
    """The conformance items: one per Lean declaration with a predicate."""

    def collect(self) -> list[pytest.Item]:
        from spec import _load_mirrors
        from spec.runner import module_checks

        _load_mirrors()
        items: list[pytest.Item] = []
        for index, (name, _kind, _check) in enumerate(module_checks()):
            item = pytest.Function.from_parent(self, name=name, callobj=_test_of(index))
            item.add_marker(pytest.mark.mlpmse)
            items.append(item)
        return items

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "mlpmse", None, "mlpmse"


def _test_of(index: int) -> Callable[..., None]:
    """Return the test function of the `index`-th module check."""

    def test(mlpmse_engine: Any, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        _check_one(index, mlpmse_engine, request.config.stash[_OPTS])

    return test


def _check_one(index: int, engine: Any, opts: dict[str, Any]) -> None:
    """Run the `index`-th check on `engine`: return if it holds, skip if every example was unmet,
    fail with the CLI's report of it otherwise."""
    __tracebackhide__ = True
    from spec.checks.base import Config
    from spec.cli import render_report
    from spec.engine import Backend
    from spec.runner import hypothesis_home, module_checks, run_check
    from spec.verdict import Status

    if not isinstance(engine, Backend):
        missing = [m for m in ("name", "forward", "loss", "grads") if not hasattr(engine, m)]
        raise pytest.UsageError(
            f"mlpmse_engine: {type(engine).__name__} is not an engine; it "
            f"lacks {', '.join(missing)} (see spec.engine)"
        )
    name, kind, check = module_checks()[index]
    cfg = Config(min_dim=opts["min_dim"], max_dim=opts["max_dim"], dtype=opts["dtype"])
    with hypothesis_home():
        r = run_check(name, kind, check, engine, cfg, opts["examples"], opts["seed"])
    if r.status is Status.UNMET:
        pytest.skip(f"{name}: unmet: {r.message}")
    if r.status in (Status.FAILS, Status.ERROR):
        engine_name = str(getattr(engine, "name", type(engine).__name__))
        spec = f"{type(engine).__module__}:{type(engine).__qualname__}"
        config = {**opts, "backend": spec}
        # The same lines as the CLI's: the headline first, the row, the counterexample (no
        # traceback: the checker's frames say nothing about the engine).
        pytest.fail(render_report(engine_name, [r], r.seconds, cfg, config), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Put the conformance items first, before `-k`, `-m`, `--lf` and xdist see the items."""
    if not _enabled(config):
        return
    suite = _Suite.from_parent(session, name="mlpmse", nodeid="mlpmse")
    collected = suite.collect()
    # Reported as a collection, so that the counts ("25 tests collected") include the items.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(suite.nodeid, "passed", None, [*collected])
    )
    items[:0] = collected


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which engine and options the conformance items run with."""
    if not _enabled(config):
        return None
    engine = _engine_spec(config) or "the mlpmse_engine fixture"
    opts = config.stash.get(_OPTS, {})
    return "mlpmse: engine " + engine + ", " + ", ".join(f"{k} {v}" for k, v in opts.items())
