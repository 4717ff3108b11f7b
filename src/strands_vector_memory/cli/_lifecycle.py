# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``expire``, ``decay``, ``consolidate``: the maintenance jobs, one command each.

Why commands and not only methods: these are what a cron job or a scheduled task runs
while agents keep working, so each prints its counts (or ``--json``) and has a
``--dry-run`` that shows what it would do. ``consolidate`` needs a model to merge with;
``--model`` names any Strands model, and a dry run needs none.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ..core import Scope
from ..memory._consolidate import ConsolidationReport, Merger
from ..memory._policy import DAY
from ._app import AppContext, cli, pass_app
from ._options import json_option, scope_options
from ._output import memories, notice, out_console, print_json

__all__ = ["consolidate", "decay", "expire", "load_model"]

MODEL_ENV = "STRANDS_MEMORY_MODEL"

_DRY_RUN = click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")


@cli.command()
@_DRY_RUN
@json_option
@pass_app
def expire(app: AppContext, dry_run: bool, as_json: bool) -> None:
    """Delete expired memories in every index (they are already never recalled).

    Episodes and summaries expire by default (30 and 90 days); this reclaims their
    space. Safe while agents write: a memory given a new lifetime meanwhile stays.
    Running it twice deletes nothing the second time.

    \b
    Example:
        strands-memory expire --dry-run
        strands-memory expire --json
    """
    report = app.memory.expire(dry_run=dry_run)
    if as_json:
        print_json(report.to_dict())
    elif dry_run:
        click.echo(f"Would delete {memories(report.expired)} ({_read(report.scanned, report.indexes)}).")
    else:
        click.echo(
            f"Deleted {memories(report.deleted)} of {report.expired} expired ({_read(report.scanned, report.indexes)})."
        )


@cli.command()
@click.option(
    "--window-days",
    type=float,
    default=30.0,
    show_default=True,
    help="Spare memories written or recalled this recently.",
)
@click.option(
    "--half-life-days", type=float, default=90.0, show_default=True, help="Idle days that halve a memory's confidence."
)
@click.option("--floor", type=float, default=0.05, show_default=True, help="Confidence never drops below this (0..1).")
@_DRY_RUN
@json_option
@pass_app
def decay(
    app: AppContext, window_days: float, half_life_days: float, floor: float, dry_run: bool, as_json: bool
) -> None:
    """Lower the confidence of memories nobody wrote or recalled for a while.

    Confidence halves every --half-life-days of idleness past --window-days, so
    unused memories sink in recall; a repetition or a recall stops the slide.
    Running it again right away changes nothing.

    \b
    Example:
        strands-memory decay --dry-run
        strands-memory decay --window-days 14 --half-life-days 60 --json
    """
    report = app.memory.decay(window=window_days * DAY, half_life=half_life_days * DAY, floor=floor, dry_run=dry_run)
    if as_json:
        print_json(report.to_dict())
    else:
        verb = "Would decay" if dry_run else "Decayed"
        click.echo(f"{verb} the confidence of {memories(report.decayed)} ({_read(report.scanned, report.indexes)}).")


def _read(scanned: int, indexes: int) -> str:
    return f"{scanned} read in {indexes} index" + ("" if indexes == 1 else "es")


@cli.command()
@scope_options()
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Cosine distance every pair of a cluster must lie within.  [default: 0.45, tuned for the bundled model]",
)
@click.option("--min-cluster", type=int, default=2, show_default=True, help="Fewest memories merged into one.")
@click.option("--max-cluster", type=int, default=12, show_default=True, help="Most memories merged into one (2..20).")
@click.option(
    "--model",
    "model_spec",
    envvar=MODEL_ENV,
    show_envvar=True,
    default="bedrock",
    show_default=True,
    metavar="SPEC",
    help="The model that merges: bedrock, bedrock:MODEL_ID, or module:attribute naming a Strands Model "
    "(or a zero-argument callable returning one).",
)
@_DRY_RUN
@json_option
@pass_app
def consolidate(
    app: AppContext,
    scope: Scope,
    threshold: float | None,
    min_cluster: int,
    max_cluster: int,
    model_spec: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Merge clusters of similar episodes of a scope into one semantic memory each.

    The model turns each cluster into one statement that keeps every fact; it is
    stored with the keys it replaces (consolidated_from), then the episodes are
    deleted, so an interrupted run leaves duplicates the next run removes, never a
    gap. --dry-run shows the clusters without building or calling a model.

    \b
    Example:
        strands-memory consolidate --user alice --dry-run
        strands-memory consolidate --user alice --model bedrock
        strands-memory consolidate --user alice --model bedrock:us.amazon.nova-lite-v1:0
        strands-memory consolidate --user alice --model my_models:make_model --json
    """
    if scope.is_empty():
        raise click.UsageError("say whose memories to consolidate: --user (or another scope option)")
    merger = None if dry_run else _Reported(_model_merger(model_spec))
    report = app.memory.consolidate(
        merger, scope=scope, threshold=threshold, min_cluster=min_cluster, max_cluster=max_cluster, dry_run=dry_run
    )
    if as_json:
        print_json(report.to_dict())
        return
    if report.clusters:
        out_console().print(_cluster_table(report))
    else:
        notice("No clusters of similar episodes.")
    click.echo(_summary(report))


def _summary(report: ConsolidationReport) -> str:
    episodes = sum(len(c.keys) for c in report.clusters if report.dry_run or c.merged is not None)
    if report.dry_run:
        line = f"Would merge {episodes} episodes into {memories(len(report.clusters))} ({report.scanned} read)"
        if report.recovered:
            line += f"; would delete {memories(report.recovered)} an interrupted run already merged"
        return line + "."
    line = f"Merged {episodes} episodes into {memories(report.merged)} ({report.scanned} read)"
    if report.recovered:
        line += f"; deleted {memories(report.recovered)} an interrupted run had already merged"
    if report.skipped:
        line += f"; left {report.skipped} cluster(s) alone: the model gave no usable text"
    return line + "."


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def _cluster_table(report: ConsolidationReport) -> Table:
    table = Table(header_style="bold", show_lines=True)
    table.add_column("#", justify="right", style="dim")
    table.add_column("episodes", ratio=1, overflow="fold")
    table.add_column("merged into", ratio=1, overflow="fold")
    for number, cluster in enumerate(report.clusters, start=1):
        episodes = Text("\n".join(f"- {_preview(t)}" for t in cluster.texts))
        if cluster.merged is not None:
            merged = Text.assemble(cluster.merged, "\n", (cluster.merged_key, "dim"))
        else:
            merged = Text("(dry run)" if report.dry_run else "(left alone)", style="dim")
        table.add_row(f"{number} ({len(cluster.keys)})", episodes, merged)
    return table


class _Reported:
    """A merger whose failures (throttling, credentials, ...) end the command with one clean line."""

    def __init__(self, merger: Merger) -> None:
        self._merger = merger

    def merge(self, texts: Sequence[str]) -> str:
        try:
            return self._merger.merge(texts)
        except Exception as exc:
            raise click.ClickException(
                f"the model failed while merging ({type(exc).__name__}: {exc}); clusters merged so far are kept, "
                "run again to continue"
            ) from exc


def _model_merger(spec: str) -> Merger:
    try:
        from ..strands_agents import ModelMerger
    except ImportError as exc:
        raise click.ClickException(f"consolidate needs a model: {exc}") from exc
    return ModelMerger(load_model(spec))


def load_model(spec: str) -> Any:
    """The Strands model ``spec`` names (see ``consolidate --help``).

    Raises:
        click.BadParameter: ``spec`` names nothing importable, or not a Strands ``Model``.
        click.ClickException: The Strands Agents SDK is not installed.
    """
    try:
        from strands.models import Model
    except ImportError as exc:
        raise click.ClickException(
            "--model needs the Strands Agents SDK: pip install 'strands-vector-memory[strands]'"
        ) from exc
    name, _, rest = spec.strip().partition(":")
    if name == "bedrock":
        from strands.models import BedrockModel

        try:
            return BedrockModel(model_id=rest) if rest else BedrockModel()
        except Exception as exc:
            raise click.ClickException(f"cannot build the Bedrock model: {type(exc).__name__}: {exc}") from exc
    if not name or not rest:
        raise click.BadParameter(f"{spec!r}: use bedrock, bedrock:MODEL_ID or module:attribute", param_hint="--model")
    try:
        target: Any = importlib.import_module(name)
        for part in rest.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"{spec!r}: cannot load it ({exc})", param_hint="--model") from exc
    if not isinstance(target, Model) and callable(target):
        try:
            target = target()
        except Exception as exc:
            raise click.BadParameter(
                f"{spec!r}: calling it failed ({type(exc).__name__}: {exc})", param_hint="--model"
            ) from exc
    if not isinstance(target, Model):
        raise click.BadParameter(
            f"{spec!r} is a {type(target).__name__}, not a Strands Model (or a callable returning one)",
            param_hint="--model",
        )
    return target
