"""A progress bar for `python -m spec check`: shown on a terminal, silent in CI logs.

`progress(total)` is a context manager yielding `advance(result)`, which the runner calls after
each `Result` (through `run_all(..., on_result=advance)`). On a terminal the bar is drawn on
stderr by `rich` and removed when the run ends, so stdout (the table, the counterexamples) is the
same with or without it. When stderr is not a terminal (a pipe, a CI log, a file), a short run
writes nothing at all, and a long one (a slow engine) writes a plain line every `interval` seconds
(default 30): how many checks are done, how many fail, the time taken and an estimate of the time
left, so a CI log shows the run is alive and when it will end.
"""

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Protocol, cast, runtime_checkable

from ..runner import Result
from ..verdict import Status

__all__ = ["progress", "TextStream", "eta"]

INTERVAL = 30.0
"""Seconds between two progress lines off a terminal (the first comes after as long)."""


@runtime_checkable
class TextStream(Protocol):
    """What the bar writes to: a text stream that can say whether it is a terminal."""

    def write(self, s: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


def _nothing(result: Result) -> None:
    """Do nothing with `result` (the callback of a disabled progress bar)."""


@contextmanager
def progress(
    total: int,
    enabled: bool | None = None,
    *,
    file: TextStream | None = None,
    interval: float | None = None,
) -> Iterator[Callable[[Result], None]]:
    """Return a context yielding `advance(result)`, which moves a progress bar over `total` checks.

    - `total`: how many results `advance` will be called with.
    - `enabled` (default None): draw the bar (True), draw nothing (False), or decide by whether
      the output stream is a terminal (None): off a terminal, a plain line every `interval`
      seconds once the run is that long, so short runs leave CI logs clean.
    - `interval` (default `INTERVAL`, 30): seconds between two plain progress lines off a terminal.
    - `file` (default `sys.stderr`): where the bar is drawn; never stdout, which carries the report.

    The bar shows how many checks are done, how many failed so far, and the last one finished;
    it disappears when the context exits.
    """
    stream = sys.stderr if file is None else file
    if enabled is None:
        if not stream.isatty():
            lines = _Lines(total, stream, INTERVAL if interval is None else interval)
            try:
                yield lines.advance
            finally:
                lines.stop()
            return
        enabled = True
    if not enabled:
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=cast("IO[str]", stream), force_terminal=True, highlight=False)
    bar = Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    bad = [0]
    with bar:
        task = bar.add_task("", total=total)

        def advance(result: Result) -> None:
            if result.status in (Status.FAILS, Status.ERROR):
                bad[0] += 1
            short = result.lean_name.rsplit(".", 1)[-1]
            failed = f"[red]{bad[0]} failing[/red]  " if bad[0] else ""
            colour = {Status.HOLDS: "green", Status.UNMET: "yellow"}.get(result.status, "red")
            verdict = f"[{colour}]{result.status.value}[/{colour}]"
            bar.update(task, advance=1, description=f"{failed}last: {short} {verdict}")

        yield advance


def eta(done: int, total: int, elapsed: float) -> float | None:
    """Return the seconds left, estimated from the mean time of the `done` checks so far (None
    before the first)."""
    return None if done == 0 else elapsed / done * (total - done)


def _clock(seconds: float) -> str:
    """Return `1h02m`, `3m05s` or `42s`."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class _Lines:
    """Plain progress lines for a stream that is not a terminal: one every `interval` seconds,
    written by `advance` when a check ends or by a timer while a long check runs, so that a CI log
    shows the run is alive. Nothing is written by a run shorter than `interval`."""

    def __init__(self, total: int, stream: TextStream, interval: float) -> None:
        self.total, self.stream, self.interval = total, stream, interval
        self.start = self.last = time.monotonic()
        self.done = self.bad = 0
        self.name = ""
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.timer = threading.Thread(target=self._tick, daemon=True)
        if interval > 0:
            self.timer.start()

    def advance(self, result: Result) -> None:
        """Count one finished check, and write a line if `interval` has passed."""
        with self.lock:
            self.done += 1
            self.bad += result.status in (Status.FAILS, Status.ERROR)
            self.name = result.lean_name.rsplit(".", 1)[-1]
            if self.done < self.total:
                self._write_if_due()

    def stop(self) -> None:
        """Stop the timer (at the end of the run)."""
        self.stopped.set()

    def _tick(self) -> None:
        while not self.stopped.wait(self.interval / 4):
            with self.lock:
                self._write_if_due()

    def _write_if_due(self) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.start
        left = eta(self.done, self.total, elapsed)
        bad = f", {self.bad} failing" if self.bad else ""
        estimate = "" if left is None else f", about {_clock(left)} left at this pace"
        last = f" (last: {self.name})" if self.name else ""
        self.stream.write(
            f"checking: {self.done}/{self.total} done{bad}, {_clock(elapsed)} "
            f"taken{estimate}{last}\n"
        )
        self.stream.flush()
