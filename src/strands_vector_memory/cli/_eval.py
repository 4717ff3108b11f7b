# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``eval``: score retrieval on benchmark datasets from the command line.

Why a CLI face over :func:`~strands_vector_memory.evals.run_locomo`: the ranking
defaults were chosen on LoCoMo, and anyone changing a knob should be able to see what
it does to the scores with one command (``--option conversation_boost=0``) instead of
a script. Like ``demo`` and ``bench`` it works in temporary stores of its own and
never touches the ``--store`` one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ..evals import DEFAULT_KS, RETRIEVERS, UNITS, EvalConfig, run_locomo
from ._app import MemoryGroup, cli
from ._options import KeyValue, json_option
from ._output import out_console, print_json, staged_progress

__all__ = ["RANKING_OPTION", "Cutoffs", "eval_group", "locomo"]

_STAGES = {"ingest": "Storing memories", "query": "Asking questions"}
_MAX_K = 100
"""The deepest cut-off: recall's top-k cap (the S3 Vectors limit)."""


class Cutoffs(click.ParamType[tuple[int, ...]]):
    """Comma-separated cut-offs such as ``1,3,5,10,20``: distinct integers in 1..100, sorted."""

    name = "K,K,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        """Parse ``value`` into sorted distinct ks, or fail with a usage error."""
        if isinstance(value, tuple):
            return value
        ks: set[int] = set()
        for part in str(value).split(","):
            text = part.strip()
            try:
                k = int(text)
            except ValueError:
                self.fail(f"{text!r} is not an integer (expected e.g. 1,3,5,10,20)", param, ctx)
            if not 1 <= k <= _MAX_K:
                self.fail(f"cut-off {k} is not in 1..{_MAX_K}", param, ctx)
            ks.add(k)
        return tuple(sorted(ks))


#: ``NAME=VALUE``: one Ranking override. Whether NAME and VALUE are valid is the
#: library's call (``ValidationError``, exit 2), not the parser's.
RANKING_OPTION = KeyValue("NAME=VALUE", "conversation_boost=0", keep_null_and_objects=True)


@cli.group("eval", cls=MemoryGroup)
def eval_group() -> None:
    """Evaluate retrieval quality on benchmark datasets.

    Each run ingests the dataset into fresh temporary stores through the public
    API, asks every question with recall and scores the ranked results against
    the annotated evidence. The --store store is never used.

    \b
    Example:
        strands-memory eval locomo --data locomo10.json
    """


@eval_group.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A LoCoMo-format JSON file such as locomo10.json from snap-research/LoCoMo.",
)
@click.option(
    "--units",
    type=click.Choice(UNITS),
    default="turns",
    show_default=True,
    help="What becomes a memory: each turn, each generated observation, or each session summary.",
)
@click.option(
    "--retriever",
    type=click.Choice(list(RETRIEVERS)),
    default="default",
    show_default=True,
    help="The default ranking, or a plain baseline without conversational signals.",
)
@click.option(
    "--k",
    "ks",
    type=Cutoffs(),
    default=",".join(map(str, DEFAULT_KS)),
    show_default=True,
    help=f"Comma-separated cut-offs to score (1..{_MAX_K}); the largest is the recall depth.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Only the first N conversations.")
@click.option(
    "--neighbours",
    type=click.IntRange(0, 4),
    default=2,
    show_default=True,
    help="Turns of context indexed on each side of a turn (turns only).",
)
@click.option(
    "--option",
    "options",
    type=RANKING_OPTION,
    multiple=True,
    help="Override a Ranking setting, VALUE read as JSON if it parses (repeatable).",
)
@click.option(
    "--lifecycle/--no-lifecycle",
    default=True,
    show_default=True,
    help="Store through the write policy and guardrails (dedup, redaction) as an app would, or store every turn as is.",
)
@json_option
def locomo(
    data: Path,
    units: str,
    retriever: str,
    ks: tuple[int, ...],
    limit: int | None,
    neighbours: int,
    options: tuple[tuple[str, Any], ...],
    lifecycle: bool,
    as_json: bool,
) -> None:
    """Score recall on a LoCoMo-format dataset (turn and session hits).

    Every conversation goes into its own temporary store; each question of
    categories 1-4 is asked with recall (top = largest k) and scored: any@k (some
    evidence turn in the first k), all@k (every evidence turn), MRR, and the same
    at session level. Category 5 (adversarial: the answer is not in the
    conversation) is skipped. Progress goes to stderr.

    \b
    Example:
        strands-memory eval locomo --data locomo10.json
        strands-memory eval locomo --data locomo10.json --retriever bm25 --limit 2 --json
        strands-memory eval locomo --data locomo10.json --option conversation_boost=0
        strands-memory eval locomo --data locomo10.json --units observations --k 1,5,10
    """
    config = replace(_config(units, retriever, ks, limit, neighbours, options), lifecycle=lifecycle)
    with staged_progress(_STAGES) as on_progress:
        result = run_locomo(data, config, progress=on_progress)
    if as_json:
        print_json(result)
        return
    console = out_console()
    console.print(_scores_table(result, config.ks))
    console.print()
    console.print(_summary(result))


def _config(
    units: str,
    retriever: str,
    ks: tuple[int, ...],
    limit: int | None,
    neighbours: int,
    options: tuple[tuple[str, Any], ...],
) -> EvalConfig:
    """The run's configuration, checked before the model loads or anything is stored.

    A ``ValidationError`` (unknown option, bad value) reaches the group and exits 2.
    """
    return EvalConfig(
        units=units,  # type: ignore[arg-type]  # click.Choice(UNITS) guarantees a Units literal
        retriever=retriever,
        ks=ks,
        limit=limit,
        neighbours=neighbours,
        options=dict(options),
    )


def _scores_table(result: dict[str, Any], ks: tuple[int, ...]) -> Table:
    """Overall and per-category scores: any@k for every k plus one all@k, MRR and session any@k.

    One all@k and one session column (and no vertical rules) keep the default cut-offs
    within 80 columns; ``--json`` has every number.
    """
    all_k = _nearest(ks, 10)
    session_k = _nearest(ks, 5)
    title = f"LoCoMo retrieval: {result['dataset']}, {result['units']}, retriever {result['retriever']}"
    if result["units"] == "turns":
        title += f", neighbours {result['neighbours']}"
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("category", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True, style="dim")
    columns = [f"any@{k}" for k in ks] + [f"all@{all_k}", "mrr", f"session_any@{session_k}"]
    for column in columns:
        header = column.replace("session_any@", "sess@")
        table.add_column(header, justify="right", no_wrap=True, style="bold cyan" if column == "mrr" else "cyan")
    rows: list[tuple[Text, dict[str, Any]]] = [(Text("overall", style="bold"), result["overall"])]
    rows += [(Text(str(scores["name"])), scores) for scores in result["by_category"].values()]
    for index, (label, scores) in enumerate(rows):
        if index == 1:
            table.add_section()
        table.add_row(label, str(scores.get("questions", 0)), *(_score(scores.get(c)) for c in columns))
    return table


def _summary(result: dict[str, Any]) -> Text:
    """Sizes and timings under the table: what was stored, what was asked, how long it took."""
    timing = result["timing"]
    p50 = timing.get("query_p50_ms")
    sizes = ", ".join(
        (
            _count(result["memories"], "memory", "memories"),
            _count(result["questions"], "question", "questions"),
            _count(result["conversations"], "conversation", "conversations"),
        )
    )
    sizes += f"; embedder {result['embedder']}"
    if result.get("lifecycle"):
        sizes += f"; lifecycle on: {result['deduplicated']} deduplicated, {result['redacted']} redacted"
    else:
        sizes += "; lifecycle off"
    times = f"ingest {timing['ingest_seconds']:.1f} s, query {timing['query_seconds']:.1f} s"
    if p50 is not None:
        times += f" (p50 {p50:.1f} ms per question)"
    return Text(f"{sizes}\n{times}", style="dim")


def _nearest(ks: tuple[int, ...], target: int) -> int:
    """The largest k not above ``target``, else the smallest k: the column closest to the usual one."""
    below = [k for k in ks if k <= target]
    return max(below) if below else min(ks)


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"


def _score(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-"
