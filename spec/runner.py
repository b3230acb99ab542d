"""The conformance run: every registered check, driven by Hypothesis, one result per Lean name."""

import hashlib
import itertools
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import configuration as _hypothesis_configuration
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky
from numpy.typing import NDArray

from .checks.base import Check, Config
from .domain import PARTS
from .engine import Backend
from .numerics.tolerance import EXACT, FLOAT64, PRECISIONS, Precision
from .registry import manifest, registered
from .subject import Subject, fingerprint, same_fingerprint
from .verdict import Comparison, Status, Verdict, error

__all__ = [
    "Result",
    "run_check",
    "run_together",
    "survey_examples",
    "Surveyed",
    "run_all",
    "module_checks",
    "hypothesis_home",
]


def _current_home() -> Path | None:
    """Return the Hypothesis home directory set with `set_hypothesis_home_dir`, or None."""
    home = vars(_hypothesis_configuration).get("__hypothesis_home_directory")
    return home if isinstance(home, Path) else None


@contextmanager
def hypothesis_home() -> Iterator[str]:
    """Point Hypothesis's home directory at a fresh temporary folder for the duration, and give
    back the previous one afterwards.

    Hypothesis keeps caches in `./.hypothesis` even without a database; a conformance run must not
    write into the caller's current folder unasked. Worker processes of `run_all` inherit the
    folder (`run_all` passes it on).
    """
    before = _current_home()
    with tempfile.TemporaryDirectory(prefix="spec-hypothesis-") as home:
        _hypothesis_configuration.set_hypothesis_home_dir(home)
        try:
            yield home
        finally:
            _hypothesis_configuration.set_hypothesis_home_dir(before)


@dataclass
class PartResult:
    """The outcome of one check on the examples of one part of the domain (`spec.domain`)."""

    examples: int = 0
    holds: int = 0
    unmet: int = 0
    fails: int = 0
    errors: int = 0
    worst_ratio: float = 0.0
    first: Verdict | None = None
    """The first failing (else erroring) verdict seen in this part, as drawn (not shrunk)."""
    first_at: int = -1
    """The index of `first`'s example in the run, to merge parts surveyed apart (`merged`)."""

    @property
    def status(self) -> Status | None:
        """Return the part's verdict: fails, else error, else holds, else unmet; None when no
        example of the part was drawn."""
        if self.fails:
            return Status.FAILS
        if self.errors:
            return Status.ERROR
        if self.holds:
            return Status.HOLDS
        return Status.UNMET if self.unmet else None

    def record(self, v: Verdict, at: int = -1) -> None:
        """Count the verdict of one example of this part (the run's `at`-th example)."""
        self.examples += 1
        if v.status is Status.UNMET:
            self.unmet += 1
            return
        if v.status is Status.HOLDS:
            self.holds += 1
        elif v.status is Status.FAILS:
            self.fails += 1
            if self.first is None or self.first.status is Status.ERROR:
                self.first, self.first_at = v, at
        else:
            self.errors += 1
            if self.first is None:
                self.first, self.first_at = v, at
        if np.isfinite(v.worst_ratio) or v.status is Status.FAILS:
            self.worst_ratio = max(self.worst_ratio, v.worst_ratio)

    def merged(self, other: "PartResult") -> "PartResult":
        """Return the outcome over the examples of both, as `record` would have counted them in
        the order drawn: `first` is the earliest failing verdict, else the earliest erring one."""
        out = PartResult(
            self.examples + other.examples,
            self.holds + other.holds,
            self.unmet + other.unmet,
            self.fails + other.fails,
            self.errors + other.errors,
            max(self.worst_ratio, other.worst_ratio),
        )
        seen = [p for p in (self, other) if p.first is not None]
        failing = [p for p in seen if p.first is not None and p.first.status is Status.FAILS]
        if seen:
            pick = min(failing or seen, key=lambda p: p.first_at)
            out.first, out.first_at = pick.first, pick.first_at
        return out

    def as_json(self) -> dict[str, Any]:
        status = self.status
        return {
            "status": None if status is None else status.value,
            "examples": self.examples,
            "holds": self.holds,
            "unmet": self.unmet,
            "fails": self.fails,
            "errors": self.errors,
            "worst_ratio": self.worst_ratio if np.isfinite(self.worst_ratio) else None,
            "message": "" if self.first is None else _message(self.first),
        }


@dataclass
class Result:
    """The outcome of one check over all its examples."""

    lean_name: str
    kind: str
    status: Status
    examples: int
    seconds: float
    subject: str
    message: str = ""
    worst_ratio: float = 0.0
    holds: int = 0
    unmet: int = 0
    active_examples: int | None = None
    """For checks drawn at points of the MLP: how many examples had at least one active unit."""
    patterns: dict[str, int] = field(default_factory=dict)
    rational_examples: int = 0
    """How many of the examples were points with non-float rational entries (exact mode)."""
    counterexample: Verdict | None = None
    """The shrunk counterexample of the worst failure (its part is `failing_part`)."""
    parts: dict[str, PartResult] = field(default_factory=dict)
    """The outcome on each part of the domain drawn (`spec.domain.PARTS`), in that order."""
    failing_part: str | None = None
    """The part the counterexample lies in."""
    hint: str = ""
    """What likely explains a failure, when the checker can tell (e.g. float32 arithmetic in a
    float64 run); empty otherwise."""

    def as_json(self) -> dict[str, Any]:
        return {
            "lean_name": self.lean_name,
            "kind": self.kind,
            "status": self.status.value,
            "examples": self.examples,
            "worst_ratio": self.worst_ratio if np.isfinite(self.worst_ratio) else None,
            "seconds": round(self.seconds, 4),
            "subject": self.subject,
            "message": self.message,
            "holds": self.holds,
            "unmet": self.unmet,
            "active_examples": self.active_examples,
            "patterns": self.patterns,
            "rational_examples": self.rational_examples,
            "failing_part": self.failing_part,
            "hint": self.hint,
            "parts": {name: part.as_json() for name, part in self.parts.items()},
        }


class _Counterexample(Exception):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.describe())
        self.verdict = verdict


def module_checks() -> list[tuple[str, str, Check]]:
    """Return `(lean_name, kind, check)` for every check of the module's declarations, in order."""
    out: list[tuple[str, str, Check]] = []
    for entry in registered():
        for check in entry.checks:
            out.append((entry.decl.name, entry.decl.kind, check))
    return out


def _message(v: Verdict) -> str:
    worst = v.worst
    return v.message if worst is None or worst.ok else worst.describe()


def _settings(examples: int, database: str | None, phases: tuple[Phase, ...]) -> dict[str, Any]:
    # `seed` goes inside `settings` (see `run_check`): applied outside, it would switch the
    # database off.
    return dict(
        max_examples=examples,
        database=None if database is None else DirectoryBasedExampleDatabase(database),
        deadline=None,
        derandomize=False,
        verbosity=Verbosity.quiet,
        phases=phases,
        suppress_health_check=[HealthCheck.differing_executors],
        print_blob=False,
        report_multiple_bugs=False,
    )


class _Survey:
    """One check's run over the drawn examples: its `Result`, built verdict by verdict."""

    def __init__(
        self,
        lean_name: str,
        kind: str,
        check: Check,
        subject: Subject,
        cfg: Config,
        examples: int,
        seed_value: int,
    ) -> None:
        self.lean_name = lean_name
        self.check = check
        self.cfg = cfg
        self.subject = subject
        self.res = Result(lean_name, kind, Status.HOLDS, 0, 0.0, check.subject)
        self.examples = examples
        self.seed_value = seed_value
        self.broken = False
        """Whether the check itself raised (a checker bug): it is then run on no later example."""
        self.first_hold_at = -1
        """The index of the first example that held (whose subject the result names)."""
        # The database keys each saved example by the test function; every check runs the same
        # body, so the key is made from the Lean name and what shapes its examples (not the
        # example count).
        self.key = repr(
            (lean_name, cfg.min_dim, cfg.max_dim, cfg.margin, cfg.probes, cfg.dims, cfg.dtype)
        )

    def verdict_of(self, ex: Any) -> Verdict:
        """Return the check's verdict at the drawn example `ex` alone (rounded to the run's
        format, its arrays watched for the engine writing into them)."""
        rounded = round_example(ex, self.subject.prec)
        before = snapshot(rounded)
        v = self.check.run(rounded, self.subject)
        if not unchanged(rounded, before):
            return written_into(self.lean_name, self.subject.name)
        return self.finished(v, rounded)

    def finished(self, v: Verdict, rounded: Any) -> Verdict:
        """Return the verdict `v` at the rounded example with what a report needs: the inputs of
        an engine's error, and the domain's explanation of a failure."""
        if v.status is Status.ERROR and not v.witness:
            # An engine's error is reported with the inputs (and so the shapes) it was handed.
            v = replace(v, witness=witness_of(rounded))
        return explained(v, rounded, self.check)

    def record(self, ex: Any, v: Verdict, at: int = -1) -> None:
        """Count the verdict `v` of the drawn example `ex` (the run's `at`-th), in its part."""
        res = self.res
        res.examples += 1
        part = str(ex.part)
        if part not in res.parts:
            res.parts[part] = PartResult()
        res.parts[part].record(v, at)
        pattern = getattr(ex, "pattern", None)
        if pattern is not None:  # a domain whose examples tally a pattern (the MLP's activations)
            res.patterns[pattern] = res.patterns.get(pattern, 0) + 1
            res.active_examples = (res.active_examples or 0) + int(ex.active)
            res.rational_examples += int(ex.is_rational)
        if v.status is Status.UNMET:
            res.unmet += 1
        elif v.status is Status.HOLDS:
            if res.holds == 0:
                # What this engine was actually checked on: an optional method it lacks moves a
                # comparison to the spec alone (`python -m spec explain NAME` tells the design).
                res.subject, self.first_hold_at = v.subject, at
            res.holds += 1
            res.worst_ratio = max(res.worst_ratio, v.worst_ratio)

    def merge(self, other: "Surveyed") -> None:
        """Add the outcome of the same check on other examples of the run (a batch checked in
        another process, `survey_examples`), as if this survey had recorded them in the order
        drawn."""
        res, more = self.res, other.result
        for name, part in more.parts.items():
            res.parts[name] = res.parts[name].merged(part) if name in res.parts else part
        if more.holds and (res.holds == 0 or other.first_hold_at < self.first_hold_at):
            res.subject, self.first_hold_at = more.subject, other.first_hold_at
        res.examples += more.examples
        res.holds += more.holds
        res.unmet += more.unmet
        res.worst_ratio = max(res.worst_ratio, more.worst_ratio)
        res.seconds += more.seconds
        for pattern, count in more.patterns.items():
            res.patterns[pattern] = res.patterns.get(pattern, 0) + count
        if more.active_examples is not None:
            res.active_examples = (res.active_examples or 0) + more.active_examples
        res.rational_examples += more.rational_examples
        if other.broken and not self.broken:
            self.broken, res.status, res.message = True, more.status, more.message
        self.subject.returned |= other.returned

    def checker_error(self, exc: BaseException) -> None:
        """Report a bug of the checker (an exception no predicate should raise), never a crash."""
        self.broken = True
        self.res.status = Status.ERROR
        self.res.message = f"checker error {type(exc).__name__}: {exc}"

    def hypothesis_run(
        self, body: Callable[[Any], None], phases: tuple[Phase, ...], db: str | None
    ) -> None:
        """Run `body` on this check's examples, drawn by Hypothesis with the run's seed."""
        # Hypothesis keys saved examples by the test function, and every check runs the same
        # body: each check gets a directory of its own under the database instead.
        own = (
            None
            if db is None
            else os.path.join(db, hashlib.sha256(self.key.encode()).hexdigest()[:16])
        )
        strategy = self.check.strategy(self.cfg)
        settings(**_settings(self.examples, own, phases))(
            seed(self.seed_value)(given(strategy)(body))
        )()

    def finish(self, database: str | None) -> Result:
        """Settle the result once every example is surveyed: shrink the worst failure for this
        check alone, replay the database, name the likely cause of a float64 failure."""
        res = self.res
        if self.broken:
            return res
        res.parts = {name: res.parts[name] for name in PARTS if name in res.parts}
        target = _worst_part(res)
        if target is not None or database is not None:
            start = time.perf_counter()
            memo, self.subject.memo = self.subject.memo, None
            _shrink(res, target, self.verdict_of, self.hypothesis_run, database)
            self.subject.memo = memo
            res.seconds += time.perf_counter() - start
        if res.status is Status.FAILS and self.subject.prec is FLOAT64:
            # The shown counterexample, else the first failure of each part (a float32 engine's
            # near-kink failures are mask flips, its interior ones rounding).
            seen = [res.counterexample, *(part.first for part in res.parts.values())]
            for v in seen:
                res.hint = dtype_hint(self.subject.returned, None if v is None else v.worst)
                if res.hint:
                    break
        if res.status is Status.HOLDS and res.holds == 0 and res.unmet > 0:
            res.status = Status.UNMET
            res.message = "every example failed the lemma's hypothesis"
        return res


def run_check(
    lean_name: str,
    kind: str,
    check: Check,
    backend: Backend,
    cfg: Config,
    examples: int,
    seed_value: int,
    database: str | None = None,
) -> Result:
    """Run one check on `examples` drawn examples, recording each part of the domain apart; on a
    failure, shrink the worst one and keep the minimal example.

    The search does not stop at a failure or an error: every example is checked, so a row shows
    what fails in each part (an engine's NaN at empty layers does not hide a wrong gradient in the
    interior). Then, if anything failed, the same examples are drawn again (same seed) until the
    worst failure's part and status recur, and Hypothesis shrinks that one within its part.

    With `database` (a directory), Hypothesis saves the shrunk failure there and replays it first
    in every later run of the same check and configuration, in any process or CI job.
    """
    (out,) = run_together([(lean_name, kind, check)], backend, cfg, examples, seed_value, database)
    return out


def run_together(
    entries: Sequence[tuple[str, str, Check]],
    backend: Backend,
    cfg: Config,
    examples: int,
    seed_value: int,
    database: str | None = None,
) -> list[Result]:
    """Run checks that draw from one domain on the same examples, each drawn and built once, and
    return their results in the order given.

    Each check records its own verdict at each example, as `run_check` does; a failure is then
    shrunk, saved and replayed for its own check alone, so each Lean name keeps its own
    counterexample and replay command. On a domain whose checks can share a point
    (`Domain.shared`, the MLP's), what the engine computes at the point (its forward, loss and
    gradients, the steps along the probes) is computed once for all of them. A check whose own
    code raises is reported as a checker error without stopping the others.

    Every check on a domain draws the same examples from the same seed, run together or alone, so
    their verdicts and counts are those of `run_check` one by one (a worst ratio may differ in its
    last digits: a bound's products are then computed in one pass with other checks' vectors).
    """
    subject = _subject(backend, cfg)
    surveys = _survey(entries, subject, cfg, examples, seed_value)
    return [s.finish(database) for s in surveys]


@dataclass
class Surveyed:
    """One check's outcome on a batch of a run's examples, before any shrinking: what a worker
    process of a parallel run sends back (`survey_examples`), merged by `_Survey.merge`."""

    result: Result
    broken: bool
    first_hold_at: int
    returned: set[str]


def survey_examples(
    entries: Sequence[tuple[str, str, Check]],
    backend: Backend,
    cfg: Config,
    drawn: Sequence[tuple[int, Any]],
) -> list[Surveyed]:
    """Survey the checks of one domain as `run_together` does, on examples drawn elsewhere, each
    with its index in the run (`drawn`), without shrinking: what another process of a parallel
    run does with the examples `run_all` draws and hands it."""
    subject = _subject(backend, cfg)
    # No Hypothesis run here: the example count and seed only serve shrinking, done elsewhere.
    return [
        Surveyed(s.res, s.broken, s.first_hold_at, subject.returned)
        for s in _survey(entries, subject, cfg, len(drawn), 0, drawn)
    ]


def _subject(backend: Backend, cfg: Config) -> Subject:
    return Subject(backend, PRECISIONS[cfg.dtype], exact_reference=cfg.use_exact_reference())


def _surveys(
    entries: Sequence[tuple[str, str, Check]],
    subject: Subject,
    cfg: Config,
    examples: int,
    seed_value: int,
) -> list[_Survey]:
    # One `_Survey` per check of one domain.
    strategy = entries[0][2].strategy
    if any(check.strategy is not strategy for _, _, check in entries):
        raise ValueError("run_together: the checks draw from different domains; run each alone")
    return [
        _Survey(name, kind, check, subject, cfg, examples, seed_value)
        for name, kind, check in entries
    ]


def _survey(
    entries: Sequence[tuple[str, str, Check]],
    subject: Subject,
    cfg: Config,
    examples: int,
    seed_value: int,
    drawn: Sequence[tuple[int, Any]] | None = None,
) -> list[_Survey]:
    # The survey of `run_together` (the examples drawn here by Hypothesis) or of examples drawn
    # in another process (`survey_examples`).
    if not entries:
        return []
    surveys = _surveys(entries, subject, cfg, examples, seed_value)
    prec = subject.prec
    together = bool(getattr(entries[0][2].strategy, "shared", False)) and len(surveys) > 1
    start = time.perf_counter()

    def survey(ex: Any, at: int) -> None:
        rounded = round_example(ex, prec)
        before = snapshot(rounded)
        if together:
            subject.memo, subject.outputs = {}, []
        seen: list[tuple[_Survey, Verdict]] = []
        try:
            for s in surveys:
                if s.broken:
                    continue
                t0 = time.perf_counter()
                try:
                    seen.append((s, s.check.run(rounded, subject)))
                except Exception as exc:  # noqa: BLE001 - a checker bug is reported
                    s.checker_error(exc)
                s.res.seconds += time.perf_counter() - t0
            intact = unchanged(rounded, before)
            kept = subject.outputs_unchanged()
        finally:
            subject.memo, subject.outputs = None, None
        for s, v in seen:
            if not intact:
                v = written_into(s.lean_name, subject.name)
            elif not kept:
                v = outputs_changed(s.lean_name, subject.name)
            s.record(ex, s.finished(v, rounded), at)

    try:
        if drawn is None:
            count = itertools.count()
            surveys[0].hypothesis_run(
                lambda ex: survey(ex, next(count)), (Phase.explicit, Phase.generate), None
            )
        else:
            for at, ex in drawn:
                survey(ex, at)
    except Exception as exc:  # noqa: BLE001 - a checker bug is reported, never a crash
        for s in surveys:
            if not s.broken:
                s.checker_error(exc)
    # What no single check spent (drawing and building the examples) is shared out equally.
    _share_out(surveys, time.perf_counter() - start - sum(s.res.seconds for s in surveys))
    return surveys


def _share_out(surveys: Sequence[_Survey], seconds: float) -> None:
    # Time that no single check spent (drawing the examples) shared out equally among them.
    for s in surveys:
        s.res.seconds += max(seconds, 0.0) / len(surveys)


def _worst_part(res: Result) -> tuple[str, Status] | None:
    """Return the part and status of the failure to shrink: the part that fails with the largest
    error/bound ratio (the first in `PARTS` order among equal ones), else the first part with an
    error; None when none."""
    failing = [
        (p.worst_ratio, -PARTS.index(name), name) for name, p in res.parts.items() if p.fails
    ]
    if failing:
        return max(failing)[2], Status.FAILS  # on a tie, the first part (interior first)
    for name in PARTS:
        if name in res.parts and res.parts[name].errors:
            return name, Status.ERROR
    return None


def _shrink(
    res: Result,
    target: tuple[str, Status] | None,
    verdict_of: Callable[[Any], Verdict],
    hypothesis_run: Callable[[Callable[[Any], None], tuple[Phase, ...], str | None], None],
    database: str | None,
) -> None:
    """Find the failure `target` (a part and a status) again and let Hypothesis shrink it within
    that part; with no target, replay the database's saved failures (any part, any failure)."""
    found: list[Verdict] = []
    found_part: list[str] = []

    def body(ex: Any) -> None:
        part = str(ex.part)
        if target is not None and part != target[0]:
            return
        v = verdict_of(ex)
        bad = v.status in (Status.FAILS, Status.ERROR)
        if target is not None and v.status is not target[1] or not bad:
            return
        found[:] = [v]
        found_part[:] = [part]
        raise _Counterexample(v)

    phases = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
    try:
        hypothesis_run(
            body, phases if target is not None else (Phase.reuse, Phase.shrink), database
        )
    except _Counterexample:
        pass
    except Flaky:
        pass  # the failure did not replay as drawn: the survey's example stands
    except Exception as exc:  # noqa: BLE001 - a checker bug is reported, never a crash
        res.status = Status.ERROR
        res.message = f"checker error {type(exc).__name__}: {exc}"
        return
    if found and target is None:
        # A failure saved by an earlier run, which this run's draws missed: count it in its part.
        part = res.parts.setdefault(found_part[0], PartResult())
        part.record(found[0])
        res.examples += 1
        target = (found_part[0], found[0].status)
    if target is None:
        return
    v = found[0] if found else res.parts[target[0]].first
    assert v is not None
    res.status = Status.FAILS if any(p.fails for p in res.parts.values()) else Status.ERROR
    res.counterexample = v
    res.failing_part = target[0]
    res.worst_ratio = max(
        [res.worst_ratio, *(p.worst_ratio for p in res.parts.values() if p.fails)]
    )
    res.message = _message(v)


FLOAT32_RATIO = 2.0**29
"""float32's unit roundoff over float64's (2^-24 / 2^-53): how far beyond a float64 bound float32
arithmetic can land."""


def dtype_hint(returned: set[str], worst: Comparison | None) -> str:
    """Return why a float64 run may fail by rounding alone: the engine returned lower-precision
    arrays, or the worst entry it computed is a float32 number (as float32 arithmetic cast back to
    float64 gives) where the exact value is not, and within 2^29 times its float64 bound (what
    float32's rounding gives); empty when neither."""
    low = sorted(d for d in returned if any(f in d for f in ("float32", "float16", "bfloat16")))
    if low:
        return (
            f"the engine returned {', '.join(low)} values in a float64 run: it computes in "
            "lower precision; check it with --dtype float32 (bounds for binary32), or make "
            "it compute in float64"
        )
    if worst is None or worst.ok or not isinstance(worst.actual, (float, int)):
        return ""
    actual, expected = float(worst.actual), float(worst.expected or 0.0)
    if (
        float(np.float32(actual)) == actual
        and float(np.float32(expected)) != expected
        and (worst.worst_ratio <= FLOAT32_RATIO)
    ):
        return (
            f"the engine's value {actual!r} is a float32 number, and its error "
            f"{worst.worst_ratio:.2g}× the float64 bound is what float32 rounding gives: "
            "the engine computes in float32 somewhere; check it with --dtype float32"
        )
    return ""


def explained(v: Verdict, ex: Any, check: Check) -> Verdict:
    """Return a failing or erring verdict with what its check's domain says of the example
    (`Domain.explain`: sizes, the spec's values there, the worst entry substituted), for reports."""
    explain = getattr(check.strategy, "explain", None)
    if explain is None or v.status not in (Status.FAILS, Status.ERROR) or v.explanation:
        return v
    decl = manifest().declarations.get(v.lean_name)
    return replace(v, explanation=explain(ex, v, decl.hypotheses if decl is not None else ()))


def witness_of(ex: Any) -> dict[str, Any]:
    """Return the arrays an example hands the engine, by name (its `inputs()`)."""
    inputs = getattr(ex, "inputs", None)
    return dict(inputs()) if callable(inputs) else {}


def round_example(ex: Any, prec: Precision) -> Any:
    """Return the example with every array rounded to `prec`, so the engine is handed exactly the
    numbers the spec computes with (a no-op in float64)."""
    if prec in (FLOAT64, EXACT):
        return ex  # float64 examples are exact rationals already
    if getattr(ex, "is_rational", False):
        raise ValueError("a rational example is for exact engines; it has no float32 rounding")
    return ex.rounded(prec.round)


def _arrays_of(ex: Any) -> list[NDArray[Any]]:
    """Return every array of an example that engines are handed: its point (or vectors), their
    exact values, and the probe directions (tangents of `jvp`)."""
    found: list[NDArray[Any]] = []

    def walk(v: Any) -> None:
        if isinstance(v, np.ndarray):
            found.append(v)
        elif isinstance(v, Mapping):
            for item in v.values():
                walk(item)
        elif isinstance(v, (tuple, list)):
            for item in v:
                walk(item)
        elif is_dataclass(v) and not isinstance(v, type):
            for f in fields(v):
                walk(getattr(v, f.name))

    walk(ex)
    return found


def snapshot(ex: Any) -> list[Any]:
    """Return fingerprints of the example's arrays, to tell afterwards whether the engine wrote
    into them."""
    return [fingerprint(a) for a in _arrays_of(ex)]


def unchanged(ex: Any, before: list[Any]) -> bool:
    """Return whether the example's arrays still match the `snapshot` taken before the check."""
    now = [fingerprint(a) for a in _arrays_of(ex)]
    return all(same_fingerprint(x, y) for x, y in zip(now, before, strict=True))


def written_into(lean_name: str, engine: str) -> Verdict:
    """Return the verdict for a check during which the engine changed the example it was handed."""
    return error(
        lean_name,
        f"engine {engine}",
        (
            f"engine {engine} wrote into its input arrays during the check, through memory it "
            "shares with them (torch.from_numpy and torch.as_tensor ignore numpy's read-only "
            "flag): the example changed under the check, so nothing about it holds; copy an input "
            "before changing it"
        ),
    )


def outputs_changed(lean_name: str, engine: str) -> Verdict:
    """Return the verdict for a check during which the engine changed an array it had returned."""
    return error(
        lean_name,
        f"engine {engine}",
        (
            f"engine {engine} changed an array it had returned earlier (it reuses an output "
            "buffer): the values the check compared are gone, so nothing about them holds; return "
            "a new array (or a copy) from each call"
        ),
    )


def select(only: list[str] | None = None, shard: tuple[int, int] | None = None) -> list[int]:
    """Return the indices into `module_checks()` to run: those named in `only` (short or fully
    qualified), then, with `shard = (k, n)`, every n-th starting at the k-th (1-based), so that n
    CI jobs split the checks deterministically and together run each exactly once."""
    chosen = []
    for i, (name, _kind, _check) in enumerate(module_checks()):
        if only and name not in only and name.rsplit(".", 1)[-1] not in only:
            continue
        chosen.append(i)
    if shard is not None:
        k, n = shard
        chosen = [i for pos, i in enumerate(chosen) if pos % n == k - 1]
    return chosen


def runs(indices: list[int]) -> list[list[int]]:
    """Return the checks `indices` (into `module_checks()`) as runs of `run_together`: the checks
    on one domain together, since they draw the same examples, in the Lean file's order."""
    checks = module_checks()
    by_domain: dict[int, list[int]] = {}
    for i in indices:
        by_domain.setdefault(id(checks[i][2].strategy), []).append(i)
    return list(by_domain.values())


def run_all(
    backend: Backend,
    cfg: Config,
    examples: int,
    seed_value: int,
    only: list[str] | None = None,
    *,
    shard: tuple[int, int] | None = None,
    workers: int = 1,
    backend_factory: Callable[[], Backend] | None = None,
    database: str | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run the module checks (all, or those `only` and `shard` select) and return their results
    in the Lean file's order.

    The checks on one domain run together (`run_together`): each example is drawn and built once
    for all of them. With `workers > 1`, this process and `workers − 1` more share the work
    (`_run_parallel`): every example is drawn here, as the serial run draws it, and batches of them
    are checked here or in another process. Each other process builds its own engine with
    `backend_factory` (an engine object need not be picklable). The outcomes are merged and any
    failure is shrunk here, so the results are those of the serial run. With `database`,
    Hypothesis keeps the failing examples in that directory and replays them first in every
    later run.
    """
    indices = select(only, shard)
    results: dict[int, Result] = {}
    if workers <= 1:
        for run in runs(indices):
            for i, r in zip(
                run, _run_indices(run, backend, cfg, examples, seed_value, database), strict=True
            ):
                results[i] = r
                if on_result is not None:
                    on_result(r)
        return [results[i] for i in indices]
    if backend_factory is None:
        raise ValueError(
            "run_all: workers > 1 needs a backend_factory to build the engine in each process"
        )
    _run_parallel(
        runs(indices),
        backend,
        backend_factory,
        cfg,
        examples,
        seed_value,
        workers,
        database,
        results,
        on_result,
    )
    return [results[i] for i in indices]


BATCHES_PER_PROCESS = 8
"""Into how many batches per process a domain's examples are cut in a parallel run: small enough
that the processes end close together, large enough that handing a batch over costs little."""

SWITCH_INTERVAL = 0.0005
"""Python's thread switch interval (seconds) during a parallel run. The pool's threads, which pass
the batches and their outcomes between the processes, wait for the interpreter lock while this
process checks: at the default 5 ms a batch took 0.1 to 0.7 s to come back, at 0.5 ms a few
milliseconds (`sys.setswitchinterval`)."""


def _run_parallel(
    groups: list[list[int]],
    backend: Backend,
    factory: Callable[[], Backend],
    cfg: Config,
    examples: int,
    seed_value: int,
    workers: int,
    database: str | None,
    results: dict[int, Result],
    on_result: Callable[[Result], None] | None,
) -> None:
    # The examples are drawn in this process only. Hypothesis mixes the literals of the loaded
    # local modules into its draws, and another process has loaded other modules (this one runs
    # the command line, reports, ...): drawing there met other examples than the serial run.
    home = _current_home()
    checks = module_checks()
    entries = [[checks[i] for i in g] for g in groups]
    surveys = [_surveys(e, _subject(backend, cfg), cfg, examples, seed_value) for e in entries]
    batch_size = max(1, -(-examples // (BATCHES_PER_PROCESS * workers)))
    drawing: dict[int, float] = {}  # the domains drawn, with the time their drawing took
    finished: set[int] = set()
    checking_here = [0.0]
    # Not "fork": a parent that has loaded a multithreaded engine (JAX, PyTorch) can deadlock a
    # forked child. A fork server starts from a clean process.
    ctx = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
    with _switch_interval(SWITCH_INTERVAL), ProcessPoolExecutor(workers - 1, ctx) as pool:
        running: dict[Future[list[Surveyed]], tuple[int, list[tuple[int, Any]]]] = {}
        broken: list[str] = []
        failed: list[str] = []

        def merge(g: int, outcome: list[Surveyed]) -> None:
            # Merged as each batch comes back (any order: each keeps its examples' indices), so
            # that no batch's verdicts, witnesses included, wait in memory for the others.
            for s, part in zip(surveys[g], outcome, strict=True):
                s.merge(part)

        def here(g: int, batch: list[tuple[int, Any]]) -> None:
            start = time.perf_counter()
            merge(g, survey_examples(entries[g], backend, cfg, batch))
            checking_here[0] += time.perf_counter() - start

        def reap(futures: Iterable[Future[list[Surveyed]]]) -> None:
            for fut in futures:
                g, batch = running.pop(fut)
                try:
                    merge(g, fut.result())
                except BrokenProcessPool as exc:
                    broken.append(str(exc))
                    merge(g, _lost(entries[g], batch, workers))
                except Exception as exc:  # noqa: BLE001 - e.g. an engine a worker cannot build
                    if not failed:
                        failed.append(f"{type(exc).__name__}: {exc}")
                        warnings.warn(
                            f"a worker process could not check a batch of examples ({failed[0]}); "
                            "this process checks such batches itself, so the run is slower but "
                            "complete",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                    here(g, batch)  # checked here instead, where any error is reported

        def hand_out(g: int, batch: list[tuple[int, Any]]) -> None:
            # To an idle process if there is one (one batch in flight each, so that none waits
            # while this process checks a batch of its own), else here.
            reap([f for f in running if f.done()])
            if not broken and len(running) < workers - 1:
                try:
                    fut = pool.submit(
                        _survey_in_worker,
                        groups[g],
                        factory,
                        cfg,
                        batch,
                        None if home is None else str(home),
                    )
                except BrokenProcessPool as exc:
                    broken.append(str(exc))  # what is left is checked here
                except Exception:  # noqa: BLE001 - the drawing body must never raise
                    pass  # (Hypothesis would shrink, and draw other examples): checked here
                else:
                    running[fut] = (g, batch)
                    return
            here(g, batch)

        def settle() -> None:
            # Finish (shrink) each domain drawn whose batches have all come back.
            pending = {g for g, _ in running.values()}
            for g in sorted(set(drawing) - finished - pending):
                _share_out(surveys[g], drawing[g])
                for i, s in zip(groups[g], surveys[g], strict=True):
                    results[i] = s.finish(database)
                    if on_result is not None:
                        on_result(results[i])
                finished.add(g)

        # The domains whose checks share a point (most of the work) first, so that the small
        # ones fill in at the end.
        order = sorted(
            range(len(groups)),
            key=lambda g: not getattr(entries[g][0][2].strategy, "shared", False),
        )
        for g in order:
            draw, batch = _dealer(g, batch_size, hand_out)
            start, before = time.perf_counter(), checking_here[0]
            try:
                surveys[g][0].hypothesis_run(draw, (Phase.explicit, Phase.generate), None)
            except Exception as exc:  # noqa: BLE001 - a checker bug is reported, never a crash
                for s in surveys[g]:
                    s.checker_error(exc)
            if batch:
                hand_out(g, batch)
            spent = time.perf_counter() - start - (checking_here[0] - before)
            drawing[g] = spent
            settle()
        while running:
            reap(wait(running, return_when=FIRST_COMPLETED).done)
            settle()


@contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    # Python's thread switch interval set to `seconds` for the duration.
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _dealer(
    g: int, size: int, hand_out: Callable[[int, list[tuple[int, Any]]], None]
) -> tuple[Callable[[Any], None], list[tuple[int, Any]]]:
    """Return the body Hypothesis runs to draw domain `g`'s examples for a parallel run, which
    hands them out in batches of `size` with their indices, and the batch it fills (handed out
    when full; what is left at the end is the caller's). The body never fails, so the examples
    drawn are the serial run's, whatever is done with them."""
    batch: list[tuple[int, Any]] = []
    count = itertools.count()

    def draw(ex: Any) -> None:
        batch.append((next(count), ex))
        if len(batch) == size:
            hand_out(g, batch.copy())
            batch.clear()

    return draw, batch


def _lost(
    entries: Sequence[tuple[str, str, Check]], batch: list[tuple[int, Any]], workers: int
) -> list[Surveyed]:
    """Return the outcome of a batch whose worker process ended abruptly: an error for each
    check, saying what to do."""
    first, last = batch[0][0] + 1, batch[-1][0] + 1
    which = f"example {first}" if first == last else f"examples {first} to {last}"
    message = (
        f"a worker process ended abruptly while checking {which} of the run (the engine may "
        f"have crashed it: an exit, a fatal signal, memory): nothing is known of them; rerun "
        f"with --workers 1 (not {workers}) to see the failure in this process"
    )
    return [
        Surveyed(
            Result(name, kind, Status.ERROR, 0, 0.0, check.subject, message=message),
            True,
            -1,
            set(),
        )
        for name, kind, check in entries
    ]


_WORKER_BACKEND: list[Backend] = []


def _survey_in_worker(
    indices: list[int],
    factory: Callable[[], Backend],
    cfg: Config,
    drawn: list[tuple[int, Any]],
    home: str | None = None,
) -> list[Surveyed]:
    # One engine per worker process, built on its first batch; Hypothesis's caches go where the
    # parent's go (a temporary folder), never into the current folder.
    if home is not None:
        _hypothesis_configuration.set_hypothesis_home_dir(home)
    if not _WORKER_BACKEND:
        _WORKER_BACKEND.append(factory())
    checks = module_checks()
    return survey_examples([checks[i] for i in indices], _WORKER_BACKEND[0], cfg, drawn)


def _run_indices(
    indices: list[int],
    backend: Backend,
    cfg: Config,
    examples: int,
    seed_value: int,
    database: str | None,
) -> list[Result]:
    checks = module_checks()
    return run_together([checks[i] for i in indices], backend, cfg, examples, seed_value, database)
