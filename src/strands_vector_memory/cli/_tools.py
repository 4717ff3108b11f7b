# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``demo`` and ``bench``: commands that show what the library does and how fast.

Both work in their own temporary store and never touch the ``--store`` one, so they
are safe to run anywhere. The benchmark code is imported only when ``bench`` runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ..backends import S3VectorsBackend
from ..core import NotFoundError
from ..memory import BUCKET_ENV, SharedIndexLayout
from ._app import AppContext, cli, pass_app
from ._demo import DemoReport, run_demo
from ._options import json_option
from ._output import notice, out_console, print_json, staged_progress

__all__ = ["bench", "demo"]

_STAGES = {
    "generate": "Generating vectors",
    "insert": "Inserting (durable)",
    "query": "Querying: engine vs numpy",
    "remember": "Service: remember()",
    "recall": "Service: recall()",
    "prefill": "Plugin: filling the store",
    "turns": "Plugin: agent turns",
    "s3-import": "S3 Vectors: importing",
    "s3-query": "S3 Vectors: raw boto3 vs backend",
}
_DEFAULT = click.core.ParameterSource.DEFAULT


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the temporary store (or demo index) and print where it is.")
@pass_app
def demo(app: AppContext, keep: bool) -> None:
    """Run a short offline story that shows and checks the library.

    Two users, two sessions, recall by meaning, isolation, forgetting. Runs
    offline in a fresh temporary store (never the --store one) with the bundled
    model, checks its own claims and exits 1 if any check fails. With
    --backend s3vectors it runs in a fresh index (demo-<random>) of the bucket
    (default bucket: strands-memory-demo, created if missing), deleted afterwards.

    \b
    Example:
        strands-memory demo
        strands-memory demo --keep     # then: strands-memory --store <path> list
        strands-memory serve &         # a local S3 Vectors endpoint, no AWS account
        strands-memory --backend s3vectors --endpoint-url http://127.0.0.1:8333 demo
    """
    if app.s3vectors is not None:
        _s3vectors_demo(app, keep)
        return
    workdir = Path(tempfile.mkdtemp(prefix="strands-memory-demo-"))
    store = workdir / "store"
    try:
        report = run_demo(store, console=out_console())
    finally:
        if keep:
            notice(f"Kept the demo store: {store}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    _verdict(report)


def _verdict(report: DemoReport) -> None:
    failed = [check.name for check in report.checks if not check.passed]
    if failed:
        raise click.ClickException(f"{len(failed)} demo check(s) failed: " + "; ".join(failed))


#: The bucket ``demo --backend s3vectors`` uses when none is named.
DEMO_BUCKET = "strands-memory-demo"


def _s3vectors_demo(app: AppContext, keep: bool) -> None:
    """The demo in a fresh index of an S3 vector bucket, created if missing, deleted after."""
    assert app.s3vectors is not None
    target = replace(app.s3vectors, bucket=app.s3vectors.bucket or os.environ.get(BUCKET_ENV) or DEMO_BUCKET)
    runner = AppContext(None, target)
    layout = SharedIndexLayout(f"demo-{uuid.uuid4().hex[:8]}")
    admin = runner.open_memory(layout=layout)
    backend = admin.backend
    assert isinstance(backend, S3VectorsBackend)
    try:
        backend.create_bucket(exist_ok=True)
        where = f"{runner.location}, index {layout.index}"
        report = run_demo(
            where,
            console=out_console(),
            embedder=admin.embedder,
            open_memory=lambda embedder: runner.open_memory(embedder=embedder, layout=layout),
        )
    finally:
        if keep:
            notice(f"Kept the demo index {layout.index!r} in {runner.location}")
        else:
            with contextlib.suppress(NotFoundError):
                backend.delete_index(layout.index)
        admin.close()
    _verdict(report)


@cli.group(invoke_without_command=True, subcommand_metavar="[plugin|s3vectors [OPTIONS]]")
@click.option("--n", "n", type=click.IntRange(min=10), default=100_000, show_default=True, help="Records to insert.")
@click.option("--dim", type=click.IntRange(1, 4096), default=384, show_default=True, help="Vector dimension.")
@click.option(
    "--queries", type=click.IntRange(min=1), default=200, show_default=True, help="Measured queries per kind."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data and queries.")
@click.option(
    "--service-calls",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Measured service calls per kind.",
)
@click.option("--skip-service", is_flag=True, help="Skip the end-to-end service timings (no model load).")
@json_option
@click.pass_context
def bench(
    ctx: click.Context,
    n: int,
    dim: int,
    queries: int,
    seed: int,
    service_calls: int,
    skip_service: bool,
    as_json: bool,
) -> None:
    """Time the engine (against numpy) and the service end to end.

    The engine part inserts N synthetic pre-embedded memories durably and times
    exact top-10 queries with and without a user filter, next to plain numpy on the
    same data. The service part times VectorMemory.remember (one short text) and
    recall (top 5) with the bundled embedder on a small fresh store. Everything
    runs in temporary directories. Progress goes to stderr.

    `bench plugin` instead times what the Strands MemoryPlugin adds to an agent turn;
    `bench s3vectors` what S3VectorsBackend adds to raw boto3 calls.

    \b
    Example:
        strands-memory bench
        strands-memory bench --n 10000 --queries 50 --json
        strands-memory bench --n 2000 --dim 32 --skip-service --json | jq .recall_at_10
        strands-memory bench plugin --turns 200
        strands-memory bench s3vectors
    """
    if ctx.invoked_subcommand is not None:
        given = [p.opts[0] for p in ctx.command.params if ctx.get_parameter_source(p.name or "") is not _DEFAULT]
        if given:
            raise click.UsageError(
                f"{', '.join(given)}: an option of `bench` itself, not of `bench {ctx.invoked_subcommand}`"
            )
        return
    from ..bench import run_engine_bench
    from ..bench._service import run_service_bench

    with staged_progress(_STAGES) as on_progress:
        engine = run_engine_bench(n=n, dim=dim, queries=queries, seed=seed, progress=on_progress).to_dict()
        service: dict[str, Any] = {}
        if not skip_service:
            measured = run_service_bench(calls=service_calls, progress=on_progress).to_dict()
            service = {k if k.startswith(("remember_", "recall_")) else f"service_{k}": v for k, v in measured.items()}
    if as_json:
        print_json({**engine, **service})
        return
    out_console().print(_numbers_table(engine, service))


@bench.command("plugin", short_help="Time what the Strands MemoryPlugin adds to an agent turn.")
@click.option(
    "--turns", type=click.IntRange(min=1), default=100, show_default=True, help="Measured turns of each agent."
)
@click.option(
    "--prefill",
    type=click.IntRange(min=0),
    default=300,
    show_default=True,
    help="Memories of the user stored before the run.",
)
@json_option
def bench_plugin(turns: int, prefill: int, as_json: bool) -> None:
    """Time what the Strands MemoryPlugin adds to an agent turn, the model call left out.

    Two real Strands agents answer the same distinct messages through a scripted
    model that replies instantly: one without the plugin (baseline), one with it on
    a store holding PREFILL memories of the user. Turns alternate between them;
    warm-up turns are left out. Overhead is p50(plugin) - p50(baseline): recalling
    and injecting memories, and committing the turn to the outbox. Storing the turns
    (embedding, writing) is background work, reported apart as write_per_turn_ms.
    Needs the strands extra. Runs offline in a temporary directory.

    \b
    Example:
        strands-memory bench plugin
        strands-memory bench plugin --turns 200 --json | jq .overhead_p50_ms
    """
    from ..bench._plugin import run_plugin_bench

    with staged_progress(_STAGES) as on_progress:
        try:
            result = run_plugin_bench(turns, prefill=prefill, progress=on_progress).to_dict()
        except ImportError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        print_json(result)
        return
    out_console().print(_numbers_table({}, {}, plugin=result))


@bench.command("s3vectors", short_help="Time what S3VectorsBackend adds to raw boto3 calls.")
@click.option("--n", "n", type=click.IntRange(min=10), default=5_000, show_default=True, help="Vectors to import.")
@click.option("--dim", type=click.IntRange(1, 4096), default=384, show_default=True, help="Vector dimension.")
@click.option(
    "--queries", type=click.IntRange(min=1), default=300, show_default=True, help="Measured queries of each side."
)
@click.option(
    "--against",
    "endpoint_url",
    default=None,
    metavar="URL",
    help="Measure against this endpoint instead of a fresh local `serve` (writes a throwaway index).",
)
@json_option
def bench_s3vectors(n: int, dim: int, queries: int, endpoint_url: str | None, as_json: bool) -> None:
    """Time S3VectorsBackend.query_vectors against the same raw boto3 call.

    Imports N vectors into a throwaway index, then alternates the same QueryVectors
    request (top 10, a user filter, metadata and distances) made with the raw boto3
    client and through the backend, on one client and one endpoint: a fresh local
    `strands-memory serve` unless --against names another. overhead_ratio_p50 is
    the backend's client-side cost (target <= 1.1). Needs the aws and serve extras.

    \b
    Example:
        strands-memory bench s3vectors
        strands-memory bench s3vectors --queries 1000 --json | jq .overhead_ratio_p50
    """
    from ..bench._s3vectors import run_s3vectors_bench

    with staged_progress(_STAGES) as on_progress:
        try:
            result = run_s3vectors_bench(
                n=n, dim=dim, queries=queries, endpoint_url=endpoint_url, progress=on_progress
            ).to_dict()
        except ImportError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        print_json(result)
        return
    out_console().print(_numbers_table({}, {}, s3vectors=result))


def _numbers_table(
    engine: dict[str, Any],
    service: dict[str, Any],
    plugin: dict[str, Any] | None = None,
    s3vectors: dict[str, Any] | None = None,
) -> Table:
    """Every number, engine first; a generic table so new fields show up without CLI changes."""
    table = Table(title="Benchmark", title_justify="left", header_style="bold")
    table.add_column("measure")
    table.add_column("value", justify="right", style="cyan")
    sections = (
        ("engine", engine),
        ("service (bundled embedder)", service),
        ("Strands MemoryPlugin", plugin or {}),
        ("S3VectorsBackend vs raw boto3", s3vectors or {}),
    )
    for section, values in sections:
        if not values:
            continue
        table.add_section()
        table.add_row(Text(section, style="bold"), "")
        for name, value in values.items():
            table.add_row(Text(name), Text(_format(value)))
    return table


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)
