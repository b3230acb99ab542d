"""Check an engine from Python: a script, a notebook, a test of your own.

    from spec.api import check_engine, assert_conforms

    run = check_engine(MyEngine(), examples=20)
    print(run.report())           # what `python -m spec check` prints
    failing = run.failing         # the results that fail or err, one per Lean name
    assert_conforms(MyEngine())   # raises NonConformance, with that report, when anything fails

Both take an engine object (anything with `name`, `forward`, `loss` and `grads`, see
`spec.engine`), or the name `python -m spec check --backend` takes (`"torch"`,
`"mypkg.engine:Engine"`). Nothing is written into the current folder: Hypothesis's caches go to a
temporary folder, and a failure database only where `database` says.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .checks.base import Config
from .engine import Backend, load_backend
from .runner import Result, hypothesis_home, run_all
from .strategies import DEFAULT_MARGIN
from .verdict import Status

__all__ = ["Run", "NonConformance", "check_engine", "assert_conforms"]

DTYPES = ("float64", "float32", "exact")


@dataclass
class Run:
    """The outcome of `check_engine`: one `Result` per Lean declaration checked, in the Lean
    file's order, and what the examples were drawn from."""

    engine: str
    """The engine's `name`."""
    results: list[Result]
    seconds: float
    cfg: Config
    options: dict[str, Any] = field(default_factory=dict)
    """The options that replay a check on the command line
    (`spec.reporting.report.replay_command`)."""

    @property
    def ok(self) -> bool:
        """Return whether nothing fails or errs (`python -m spec check` exits 0)."""
        return not self.failing

    @property
    def failing(self) -> list[Result]:
        """Return the results that fail or err."""
        return [r for r in self.results if r.status in (Status.FAILS, Status.ERROR)]

    def by_name(self) -> dict[str, Result]:
        """Return the results by fully qualified Lean name (`Proofs.Autograd.grad_W1_mse`)."""
        return {r.lean_name: r for r in self.results}

    def report(self) -> str:
        """Return the report `python -m spec check` prints: headline, table, verdicts by part of
        the domain, and each counterexample with its replay command."""
        from .cli import render_report

        return render_report(self.engine, self.results, self.seconds, self.cfg, self.options)


class NonConformance(AssertionError):
    """Raised by `assert_conforms` when a declaration fails or errs; `run` holds the results and
    the message is the CLI's report."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.report())
        self.run = run


def check_engine(
    engine: Backend | str | None = None,
    *,
    examples: int = 100,
    seed: int = 0,
    dtype: str = "float64",
    min_dim: int = 0,
    max_dim: int = 8,
    dims: tuple[int, int, int] | None = None,
    margin: float | Fraction = DEFAULT_MARGIN,
    only: Sequence[str] | None = None,
    database: str | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> Run:
    """Check `engine` against every Lean declaration of MlpMse.lean and return the `Run`.

    - `engine` (default None: the built-in reference engine): an engine object, or a name as
      `--backend` takes it (`"torch"`, `"mypkg.engine:Engine"`; a class accepting a `dtype`
      keyword is built for `dtype`).
    - `examples` (default 100), `seed` (default 0): examples per declaration, Hypothesis seed.
    - `dtype` (default "float64"): the format the engine computes in, "float64", "float32" or
      "exact"; the bounds are derived for it.
    - `min_dim` (default 0), `max_dim` (default 8): the sizes drawn; 0 keeps Lean's empty layers.
    - `dims` (default None): `(inDim, hidDim, outDim)` to check the MLP's points at, e.g.
      `(784, 256, 10)`.
    - `margin` (default 2^-60): the least |z1 i| of the points drawn off the kinks.
    - `only` (default all): Lean names, short (`grad_W1_mse`) or fully qualified.
    - `database` (default None): a folder keeping failing examples, replayed first later.
    - `on_result` (default None): called with each `Result` as it is done.

    Raises `ValueError`, naming the argument and the fix, for an argument out of range, an engine
    that cannot be loaded or an unknown Lean name. Example: `check_engine(MyEngine(), examples=20,
    only=["grad_W1_mse"]).ok`.
    """
    if examples < 1:
        raise ValueError(f"examples={examples}: give at least 1")
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: give one of {', '.join(map(repr, DTYPES))}")
    if not 0 <= min_dim <= max_dim:
        raise ValueError(f"min_dim={min_dim}, max_dim={max_dim}: need 0 <= min_dim <= max_dim")
    if dims is not None and (len(dims) != 3 or min(dims) < 0):
        raise ValueError(f"dims={dims!r}: give three sizes >= 0, (inDim, hidDim, outDim)")
    from . import _load_mirrors

    _load_mirrors()
    names = None if only is None else [_lean_name(n) for n in only]
    if engine is None or isinstance(engine, str):
        backend = load_backend(engine, "float64" if dtype == "exact" else dtype)
    else:
        backend = engine
    cfg = Config(min_dim=min_dim, max_dim=max_dim, margin=margin, dtype=dtype, dims=dims)
    start = time.perf_counter()
    with hypothesis_home():
        results = run_all(
            backend, cfg, examples, seed, names, database=database, on_result=on_result
        )
    name = str(getattr(backend, "name", type(backend).__name__))
    options: dict[str, Any] = {
        "backend": engine if engine is None or isinstance(engine, str) else _spec_of(engine),
        "seed": seed,
        "examples": examples,
        "dtype": dtype,
        "min_dim": min_dim,
        "max_dim": max_dim,
        "margin": margin,
        "database": database,
        "dims": None if dims is None else ",".join(map(str, dims)),
    }
    return Run(name, results, time.perf_counter() - start, cfg, options)


def assert_conforms(engine: Backend | str | None = None, **options: Any) -> Run:
    """Check `engine` as `check_engine` does (same keyword arguments) and return the `Run`; raise
    `NonConformance`, whose message is the CLI's report, when a declaration fails or errs."""
    __tracebackhide__ = True
    run = check_engine(engine, **options)
    if not run.ok:
        raise NonConformance(run)
    return run


def _spec_of(engine: object) -> str:
    """Return `MODULE:CLASS` of an engine object, for the replay commands of its report."""
    cls = type(engine)
    return f"{cls.__module__}:{cls.__qualname__}"


def _lean_name(name: str) -> str:
    """Return the fully qualified Lean name of `name` (short or full), or raise `ValueError` with
    the registry's reason (and its suggestions)."""
    from .registry import lookup

    try:
        entry = lookup(name)
    except KeyError as exc:
        raise ValueError(f"only: {exc.args[0]}") from exc
    if not entry.checks:
        raise ValueError(
            f"only: {entry.decl.name} has no predicate of its own (the module's predicates use it)"
        )
    return entry.decl.name
