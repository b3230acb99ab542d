"""A progress bar for `python -m spec check`: shown on a terminal, silent in CI logs.

`progress(total)` is a context manager yielding `advance(result)`, which the runner calls after
each `Result` (through `run_all(..., on_result=advance)`). On a terminal the bar is drawn on
stderr by `rich` and removed when the run ends, so stdout (the table, the counterexamples) is the
same with or without it; when stderr is not a terminal (a pipe, a CI log, a file) nothing at all
is written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Protocol, cast, runtime_checkable

from .runner import Result
from .verdict import Status

__all__ = ["progress", "TextStream"]


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
    total: int, enabled: bool | None = None, *, file: TextStream | None = None
) -> Iterator[Callable[[Result], None]]:
    """Return a context yielding `advance(result)`, which moves a progress bar over `total` checks.

    - `total`: how many results `advance` will be called with.
    - `enabled` (default None): draw the bar (True), draw nothing (False), or decide by whether
      the output stream is a terminal (None), so that CI logs stay clean.
    - `file` (default `sys.stderr`): where the bar is drawn; never stdout, which carries the report.

    The bar shows how many checks are done, how many failed so far, and the last one finished;
    it disappears when the context exits.
    """
    stream = sys.stderr if file is None else file
    if enabled is None:
        enabled = stream.isatty()
    if not enabled:
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=cast("IO[str]", stream), force_terminal=True, highlight=False)
    bar = Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
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
