# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""The ``strands-memory`` group: global options, the lazy service, the one error boundary.

Why a context object: ``--help``, ``--version`` and usage errors must stay instant,
so the store is opened (and the embedding model loaded) only when a command first
asks for :attr:`AppContext.memory`. Why a custom group: library errors become
click errors in exactly one place (:meth:`MemoryGroup.invoke`), so no command needs
its own ``try``/``except`` and every failure prints one clean line, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from .. import __version__
from ..core import ValidationError, VectorMemoryError
from ..memory import STORE_ENV, VectorMemory, default_store_path

__all__ = ["CONTEXT_SETTINGS", "AppContext", "InvalidInput", "MemoryGroup", "cli", "main", "pass_app"]

P = ParamSpec("P")
R = TypeVar("R")

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The source stamped on memories written through the CLI unless ``--source`` says otherwise.
CLI_SOURCE = "cli"


class InvalidInput(click.ClickException):
    """Bad input found by the library (a ``ValidationError``): exit code 2, like a usage error.

    Not a ``click.UsageError`` because the input may come from a file (``import``),
    where printing the command's usage line would mislead.
    """

    exit_code = 2


class AppContext:
    """What every command shares: the store path and a lazily opened ``VectorMemory``.

    Args:
        store: The store directory from ``--store``/``$STRANDS_MEMORY_STORE``;
            ``None`` means the per-user default.
    """

    def __init__(self, store: Path | None) -> None:
        self._store = store
        self._memory: VectorMemory | None = None

    @property
    def store_path(self) -> Path:
        """The store directory, resolved without touching the disk."""
        return self._store if self._store is not None else default_store_path()

    @property
    def memory(self) -> VectorMemory:
        """The service, opened on first use and closed when the command ends."""
        if self._memory is None:
            self._memory = VectorMemory.open(self.store_path, default_source=CLI_SOURCE)
            click.get_current_context().find_root().call_on_close(self.close)
        return self._memory

    def close(self) -> None:
        """Release the store if it was opened."""
        if self._memory is not None:
            self._memory.close()
            self._memory = None


def pass_app(f: Callable[Concatenate[AppContext, P], R]) -> Callable[P, R]:
    """Like ``click.pass_obj`` but typed: the command receives the :class:`AppContext`."""
    return click.make_pass_decorator(AppContext, ensure=True)(f)


class MemoryGroup(click.Group):
    """A group that turns library errors into click errors, once, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a ``VectorMemoryError`` becomes a one-line message and an exit code.

        ``ValidationError`` (bad input, nothing written) exits 2 like click's own usage
        errors; every other library error (store unavailable, conflict, ...) exits 1.
        """
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            raise InvalidInput(str(exc)) from exc
        except VectorMemoryError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group("strands-memory", cls=MemoryGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--store",
    type=click.Path(file_okay=False, dir_okay=True, path_type=Path),
    envvar=STORE_ENV,
    show_envvar=True,
    default=None,
    help="Store directory. Default: the per-user data directory (e.g. ~/.local/share/strands-vector-memory/store).",
)
@click.version_option(__version__, "--version", prog_name="strands-memory", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, store: Path | None) -> None:
    """Long-term semantic memory for agents: remember text, recall it by meaning.

    Everything runs locally: an embedded vector store (S3 Vectors semantics) and a
    bundled offline embedding model; nothing touches the network.

    \b
    Example:
        strands-memory demo
        strands-memory remember --user alice "Alice is allergic to peanuts"
        strands-memory recall --user alice "what should I not cook for her?"
        strands-memory forget --user alice --yes

    \b
    Exit codes:
        0  success
        1  error (store unavailable, conflict, aborted, failed demo check)
        2  invalid input (bad option or argument, or rejected by validation)
    """
    ctx.obj = AppContext(store)


def main() -> None:
    """Console-script entry point (``strands-memory``)."""
    cli.main(prog_name="strands-memory")
