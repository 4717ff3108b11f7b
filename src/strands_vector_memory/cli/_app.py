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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from .. import __version__
from ..core import ValidationError, VectorMemoryError
from ..embedders import Embedder
from ..memory import BUCKET_ENV, STORE_ENV, IndexLayout, VectorMemory, default_bucket, default_store_path

__all__ = [
    "CONTEXT_SETTINGS",
    "AppContext",
    "InvalidInput",
    "MemoryGroup",
    "S3VectorsTarget",
    "cli",
    "main",
    "pass_app",
]

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


@dataclass(frozen=True)
class S3VectorsTarget:
    """Where ``--backend s3vectors`` points: a bucket, and optionally an endpoint and region."""

    bucket: str | None = None
    endpoint_url: str | None = None
    region: str | None = None


class AppContext:
    """What every command shares: where the store is and a lazily opened ``VectorMemory``.

    Args:
        store: The store directory from ``--store``/``$STRANDS_MEMORY_STORE``;
            ``None`` means the per-user default.
        s3vectors: Set when ``--backend s3vectors``: the bucket (and endpoint) to use
            instead of a local directory.
    """

    def __init__(self, store: Path | None, s3vectors: S3VectorsTarget | None = None) -> None:
        self._store = store
        self.s3vectors = s3vectors
        self._memory: VectorMemory | None = None

    @property
    def store_path(self) -> Path:
        """The store directory, resolved without touching the disk."""
        return self._store if self._store is not None else default_store_path()

    @property
    def location(self) -> str:
        """Where memories live, for humans: a directory, or ``s3vectors://bucket`` (+ endpoint)."""
        if self.s3vectors is None:
            return str(self.store_path)
        where = f"s3vectors://{default_bucket(self.s3vectors.bucket)}"
        return f"{where} at {self.s3vectors.endpoint_url}" if self.s3vectors.endpoint_url else where

    def open_memory(self, *, embedder: Embedder | None = None, layout: IndexLayout | None = None) -> VectorMemory:
        """A new service on the chosen backend; the caller closes it.

        A person's lookups are not an agent's use of a memory, and one command is one
        process: recording access would cost a write per ``recall`` command, so the CLI
        does not record it (decay counts what agents recall).
        """
        options: dict[str, Any] = {"default_source": CLI_SOURCE, "record_access": False}
        if self.s3vectors is None:
            return VectorMemory.open(self.store_path, embedder=embedder, layout=layout, **options)
        return VectorMemory.from_s3_vectors(
            self.s3vectors.bucket,
            region=self.s3vectors.region,
            endpoint_url=self.s3vectors.endpoint_url,
            embedder=embedder,
            layout=layout,
            **options,
        )

    @property
    def memory(self) -> VectorMemory:
        """The service, opened on first use and closed when the command ends."""
        if self._memory is None:
            self._memory = self.open_memory()
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
@click.option(
    "--backend",
    type=click.Choice(["embedded", "s3vectors"]),
    envvar="STRANDS_MEMORY_BACKEND",
    show_envvar=True,
    default="embedded",
    show_default=True,
    help="Where memories live: the local embedded engine, or Amazon S3 Vectors (needs the aws extra).",
)
@click.option(
    "--bucket",
    envvar=BUCKET_ENV,
    show_envvar=True,
    default=None,
    metavar="NAME",
    help="S3 vector bucket (with --backend s3vectors).",
)
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL_S3VECTORS",
    show_envvar=True,
    default=None,
    metavar="URL",
    help="S3 Vectors endpoint, e.g. http://127.0.0.1:8333 for `strands-memory serve`.",
)
@click.option(
    "--region", envvar="AWS_REGION", show_envvar=True, default=None, help="AWS region (with --backend s3vectors)."
)
@click.version_option(__version__, "--version", prog_name="strands-memory", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    store: Path | None,
    backend: str,
    bucket: str | None,
    endpoint_url: str | None,
    region: str | None,
) -> None:
    """Long-term semantic memory for agents: remember text, recall it by meaning.

    By default everything runs locally: an embedded vector store (S3 Vectors
    semantics) and a bundled offline embedding model; nothing touches the network.
    With --backend s3vectors the same commands run on Amazon S3 Vectors, or on a
    local `strands-memory serve` endpoint with no AWS account.

    \b
    Example:
        strands-memory demo
        strands-memory remember --user alice "Alice is allergic to peanuts"
        strands-memory recall --user alice "what should I not cook for her?"
        strands-memory forget --user alice --yes

    \b
    On S3 Vectors (or a local endpoint started with `strands-memory serve`):
        strands-memory --backend s3vectors --bucket my-memories init
        strands-memory --backend s3vectors --endpoint-url http://127.0.0.1:8333 demo

    \b
    Exit codes:
        0  success
        1  error (store unavailable, conflict, aborted, failed demo check)
        2  invalid input (bad option or argument, or rejected by validation)
    """
    explicit = [
        f"--{name.replace('_', '-')}"
        for name in ("bucket", "endpoint_url")
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]
    if backend == "embedded" and explicit:
        raise click.UsageError(f"{' and '.join(explicit)} need --backend s3vectors")
    target = S3VectorsTarget(bucket, endpoint_url, region) if backend == "s3vectors" else None
    ctx.obj = AppContext(store, target)


def main() -> None:
    """Console-script entry point (``strands-memory``)."""
    cli.main(prog_name="strands-memory")
