"""Rendering: rich tables for people on stdout, plain JSON for programs, notices on stderr.

Why separate streams: stdout carries only the result (a table, JSON or keys) so
``KEY=$(strands-memory remember ...)`` and ``... --json | jq`` work; progress bars,
hints and confirmations go to stderr. Memory text is always wrapped in ``Text`` so
content such as ``[bold]`` is shown literally, never read as rich markup.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..core import Memory
from ..memory import MemoryStats

__all__ = [
    "err_console",
    "format_time",
    "memories",
    "memory_table",
    "notice",
    "out_console",
    "print_json",
    "progress_bar",
    "staged_progress",
    "stats_renderables",
]


def out_console() -> Console:
    """A console on stdout, resolved at write time (so click's test runner captures it)."""
    return Console(highlight=False)


def err_console() -> Console:
    """A console on stderr, for progress and notices."""
    return Console(stderr=True, highlight=False)


def notice(message: str) -> None:
    """A one-line human notice on stderr (never mixed into results on stdout)."""
    err_console().print(Text(message, style="dim"))


def print_json(data: Any) -> None:
    """Plain indented JSON on stdout: no markup, no colour, UTF-8 kept readable."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def memories(count: int) -> str:
    """``1 memory``, ``3 memories``: counts in messages read naturally."""
    return f"{count} memory" if count == 1 else f"{count} memories"


def format_time(seconds: float | None) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM`` UTC: short enough for a table column."""
    if seconds is None:
        return "-"
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def memory_table(memories: Sequence[Memory], *, ranked: bool = False, title: str | None = None) -> Table:
    """Memories as a table; ``ranked`` adds rank and score columns for recall results.

    The key sits dimmed under the content rather than in its own column: it is long,
    needed only to ``forget`` one memory, and a column would squeeze the text.
    """
    table = Table(title=title, show_lines=False, header_style="bold")
    if ranked:
        table.add_column("#", justify="right", style="dim")
        table.add_column("score", justify="right", style="cyan")
    table.add_column("type", style="magenta")
    if not ranked:
        table.add_column("user", style="green")
    table.add_column("created (UTC)", style="dim", no_wrap=True)
    table.add_column("content / key", ratio=1, overflow="fold")
    for rank, memory in enumerate(memories, start=1):
        row: list[Text | str] = []
        if ranked:
            row += [str(rank), f"{memory.score:.3f}" if memory.score is not None else "-"]
        row.append(memory.memory_type.value if memory.memory_type else "-")
        if not ranked:
            row.append(Text(str(memory.metadata.get("user_id", "-"))))
        row += [format_time(memory.created_at), Text.assemble(memory.content, "\n", (memory.key, "dim"))]
        table.add_row(*row)
    return table


def stats_renderables(stats: MemoryStats) -> list[Table]:
    """The summary table plus one breakdown table per dimension (type, age, user, agent, team)."""
    summary = Table(show_header=False, title="Store", title_justify="left", box=None, padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    rows: Iterable[tuple[str, str]] = (
        ("memories", str(stats.total)),
        ("expired (not recalled)", str(stats.expired)),
        ("superseded (kept for audit)", str(stats.superseded)),
        ("open conflicts (notes)", str(stats.conflicts)),
        ("mean confidence", "-" if stats.mean_confidence is None else f"{stats.mean_confidence:.2f}"),
        ("oldest", format_time(stats.oldest)),
        ("newest", format_time(stats.newest)),
        ("indexes", ", ".join(stats.indexes) or "-"),
        ("embedder", f"{stats.embedder} ({stats.dimension} dimensions)"),
        ("backend", stats.backend),
    )
    for name, value in rows:
        summary.add_row(name, Text(value))
    tables = [summary]
    breakdowns = (
        ("By type", stats.by_type),
        ("By age", stats.by_age),
        ("By user", stats.by_user),
        ("By agent", stats.by_agent),
        ("By team", stats.by_team),
    )
    for title, counts in breakdowns:
        if counts and set(counts) != {"-"}:  # a dimension nobody uses is noise
            table = Table(title=title, title_justify="left", header_style="bold")
            table.add_column(title.split()[-1])
            table.add_column("memories", justify="right")
            for name, count in counts.items():
                table.add_row(Text(name), str(count))
            tables.append(table)
    return tables


def progress_bar(*, transient: bool = False) -> Progress:
    """A progress bar on stderr with a count and elapsed time (use as a context manager)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=transient,
    )


@contextmanager
def staged_progress(labels: Mapping[str, str]) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar with one task per stage; yields the ``(stage, done, total)`` callback.

    The library's long jobs report progress by stage name; ``labels`` says how each
    stage reads on screen (unknown stages show their name).
    """
    with progress_bar() as progress:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(labels.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield on_progress
