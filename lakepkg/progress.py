"""Progress bars for long work (rich), silent when output is not a terminal or --json is on."""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator, Optional

from lakepkg.sizes import human_bytes


def _no_progress(done: int, nbytes: int = 0) -> None:
    """The update function when no bar is drawn."""


@contextlib.contextmanager
def progress_bar(description: str, total: Optional[int] = None, enabled: bool = True,
                 unit: str = "items") -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, bytes)``; draws a rich progress bar on a terminal's stderr."""
    if not enabled or not sys.stderr.isatty():
        yield _no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[size]}"), TimeElapsedColumn(), transient=True,
                  console=Console(stderr=True)) as prog:  # stdout stays clean for data and --json
        task = prog.add_task(description, total=total, size="")

        def update(done: int, nbytes: int = 0) -> None:
            prog.update(task, completed=done, size=human_bytes(nbytes) if nbytes else "")

        yield update
