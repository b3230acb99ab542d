"""A progress bar for `python -m spec check`: shown on a terminal, silent in CI logs.

`progress(total)` is a context manager yielding `advance(result)`, which the runner calls after
each `Result` (through `run_all(..., on_result=advance)`). On a terminal the bar is drawn on
stderr by `rich` and removed when the run ends, so stdout (the table, the counterexamples) is the
same with or without it. When stderr is not a terminal (a pipe, a CI log, a file), a short run
writes nothing at all, and a long one (a slow engine) writes a plain line every `interval` seconds
(default 30): how many checks are done, how many fail, the time taken and an estimate of the time
left, so a CI log shows the run is alive and when it will end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Protocol, cast, runtime_checkable

from .runner import Result
from .verdict import Status

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
    total: int, enabled: bool | None = None, *, file: TextStream | None = None,
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
            yield _lines(total, stream, INTERVAL if interval is None else interval)
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


def _lines(total: int, stream: TextStream, interval: float) -> Callable[[Result], None]:
    """Return `advance` writing a plain line to `stream` when `interval` seconds have passed since
    the start or the last line: checks done, failing so far, time taken, estimated time left."""
    start = time.monotonic()
    state = {"done": 0, "bad": 0, "last": start}

    def advance(result: Result) -> None:
        state["done"] += 1
        state["bad"] += result.status in (Status.FAILS, Status.ERROR)
        now = time.monotonic()
        if now - state["last"] < interval or state["done"] >= total:
            return
        state["last"] = now
        done, elapsed = int(state["done"]), now - start
        left = eta(done, total, elapsed)
        bad = f", {int(state['bad'])} failing" if state["bad"] else ""
        estimate = "" if left is None else f", about {_clock(left)} left"
        stream.write(f"checking: {done}/{total} done{bad}, {_clock(elapsed)} taken{estimate} "
                     f"(last: {result.lean_name.rsplit('.', 1)[-1]})\n")
        stream.flush()

    return advance
