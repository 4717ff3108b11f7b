# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""The everyday commands: ``init``, ``remember``, ``recall``, ``list``, ``stats``.

Each one parses options, calls one ``VectorMemory`` method and renders the result;
the semantics (scoping, validation, expiry, scores) live in the service only.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from ..backends import S3VectorsBackend, TextSearchBackend
from ..core import Field, Memory, Scope, WriteOutcome
from ..memory import NewMemory
from ._app import AppContext, cli, pass_app
from ._options import FILTER, MEMORY_TYPES, META, WHEN, json_option, scope_options, types_option
from ._output import memory_table, notice, out_console, print_json, stats_renderables

__all__ = ["context", "init", "list_memories", "recall", "remember", "stats"]


@cli.command()
@click.option(
    "--create-bucket/--no-create-bucket",
    default=True,
    show_default=True,
    help="With --backend s3vectors: create the vector bucket if it does not exist.",
)
@json_option
@pass_app
def init(app: AppContext, create_bucket: bool, as_json: bool) -> None:
    """Create the store and its index; show the embedder.

    Optional (the first remember does the same); useful to fail early on a
    read-only path or a store built with another embedder. On S3 Vectors it
    creates the bucket (unless --no-create-bucket) and the index with the text
    fields (content, context, created_at_iso) non-filterable, so the 2 KB
    filterable budget is never spent on text, and full-text searchable where
    the bucket supports it (ENHANCED mode).

    \b
    Example:
        strands-memory --store ./memories init
        strands-memory --backend s3vectors --bucket my-memories --region us-east-1 init
    """
    memory = app.memory
    backend = memory.backend
    if create_bucket and isinstance(backend, S3VectorsBackend):
        backend.create_bucket(exist_ok=True)
    index = memory.ensure_index()
    info = {
        "store": app.location,
        "index": index.name,
        "embedder": memory.embedder.name,
        "dimension": memory.embedder.dimension,
        "non-filterable": ", ".join(sorted(index.non_filterable_keys)),
        "text search": "yes" if _searchable(backend, index.name) else "no (recall is dense-only)",
    }
    if as_json:
        print_json(info)
        return
    console = out_console()
    for name, value in info.items():
        console.print(Text.assemble((f"{name:<15}", "bold"), str(value)))


@cli.command()
@click.argument("texts", nargs=-1, required=True, metavar="TEXT...")
@scope_options(user_required=True)
@click.option(
    "--type",
    "memory_type",
    type=click.Choice(MEMORY_TYPES),
    default="episodic",
    show_default=True,
    metavar="TYPE",
    help="episodic, semantic, procedural or summary.",
)
@click.option("--source", help="Where the memory came from.  [default: cli]")
@click.option("--ttl", type=float, metavar="SECONDS", help="Stop recalling it after this many seconds.")
@click.option("--confidence", type=float, metavar="0..1", help="How much to trust it.")
@click.option("--meta", "meta", type=META, multiple=True, help="Extra filterable metadata (repeatable).")
@click.option("--key", help="Explicit key (overwrites a memory with that key). One TEXT only.")
@click.option("--idempotent", is_flag=True, help="Key derived from scope, type and text: storing twice keeps one copy.")
@json_option
@pass_app
def remember(
    app: AppContext,
    texts: tuple[str, ...],
    scope: Scope,
    memory_type: str,
    source: str | None,
    ttl: float | None,
    confidence: float | None,
    meta: tuple[tuple[str, Any], ...],
    key: str | None,
    idempotent: bool,
    as_json: bool,
) -> None:
    """Store one memory per TEXT and print the keys.

    TEXT - reads one memory per line from stdin. Only the keys go to stdout, one
    per line, so the output can be captured. All texts are validated before
    anything is stored.

    \b
    Example:
        strands-memory remember --user alice --type semantic "Alice is allergic to peanuts"
        KEY=$(strands-memory remember --user alice "Booked a table for Friday")
        cat notes.txt | strands-memory remember --user alice --meta project=apollo -
    """
    if key is not None and idempotent:
        raise click.UsageError("give --key or --idempotent, not both")
    contents = _expand_stdin(texts)
    if key is not None and len(contents) != 1:
        raise click.UsageError(f"--key names one memory but {len(contents)} texts were given")
    items = [
        NewMemory(
            content=text,
            memory_type=memory_type,
            source=source,
            ttl=ttl,
            confidence=confidence,
            metadata=dict(meta) or None,
            key=key,
            idempotent=idempotent,
        )
        for text in contents
    ]
    stored = app.memory.remember_many(items, scope=scope)
    if as_json:
        print_json([m.to_dict() for m in stored])
        return
    for memory in stored:
        click.echo(memory.key)
        if memory.outcome is WriteOutcome.REINFORCED:
            seen = memory.metadata.get(Field.SEEN_COUNT, 2)
            notice(f"{memory.key}: already remembered; reinforced instead (seen {seen} times)")
        elif memory.outcome is WriteOutcome.CONFLICTED:
            others = ", ".join(memory.metadata.get(Field.CONFLICTS_WITH, []))
            notice(f"{memory.key}: conflicts with {others}; a conflict note was written for the team")
        if memory.metadata.get(Field.REDACTIONS):
            notice(f"{memory.key}: redacted {', '.join(memory.metadata[Field.REDACTIONS])}")


def _expand_stdin(texts: tuple[str, ...]) -> list[str]:
    """Replace ``-`` by the non-blank lines of stdin."""
    contents: list[str] = []
    for text in texts:
        if text == "-":
            contents.extend(line.rstrip("\r\n") for line in sys.stdin if line.strip())
        else:
            contents.append(text)
    if not contents:
        raise click.UsageError("nothing to remember: stdin had no non-blank lines")
    return contents


_MODE = click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "text"]),
    default="hybrid",
    show_default=True,
    help="hybrid: full text + vectors; dense: vectors only; text: BM25 only.",
)


@cli.command()
@click.argument("query")
@scope_options(user_required=True)
@click.option("--top-k", "-k", type=int, default=5, show_default=True, help="How many memories (1..100).")
@types_option
@click.option("--since", type=WHEN, help="Only memories created at or after (ISO 8601 or epoch seconds).")
@click.option("--until", type=WHEN, help="Only memories created before (ISO 8601 or epoch seconds).")
@click.option("--min-score", type=float, help="Drop matches scoring below this (0..1-ish relevance).")
@click.option("--filter", "filter_", type=FILTER, help="Extra S3 Vectors metadata filter (JSON).")
@_MODE
@json_option
@pass_app
def recall(
    app: AppContext,
    query: str,
    scope: Scope,
    top_k: int,
    memory_types: tuple[str, ...],
    since: float | None,
    until: float | None,
    min_score: float | None,
    filter_: dict[str, Any] | None,
    mode: str,
    as_json: bool,
) -> None:
    """Find the memories most relevant to QUERY, best first.

    Hybrid by default: full-text (BM25) hits and nearest vectors fused into one
    relevance score (a perfect match scores about 1); --mode dense scores by cosine
    similarity alone. Only memories in the given scope are searched; expired
    memories are never returned.

    \b
    Example:
        strands-memory recall --user alice "what should I avoid cooking for her?"
        strands-memory recall --user alice --type semantic --since 2024-01-01 -k 3 "travel"
        strands-memory recall --user alice --json "allergies" | jq '.[0].content'
    """
    found = app.memory.recall(
        query,
        scope=scope,
        top_k=top_k,
        filter=filter_,
        memory_types=list(memory_types) or None,
        since=since,
        until=until,
        min_score=min_score,
        mode=mode,
    )
    if as_json:
        print_json([m.to_dict() for m in found])
    elif found:
        out_console().print(memory_table(found, ranked=True))
    else:
        notice("No memories found.")


@cli.command()
@click.argument("query")
@scope_options(user_required=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=600, show_default=True, help="Token budget.")
@click.option("--top-k", "-k", type=int, default=20, show_default=True, help="Memories recalled before packing.")
@click.option("--order", type=click.Choice(["score", "time"]), default="score", show_default=True, help="Show order.")
@_MODE
@json_option
@pass_app
def context(
    app: AppContext, query: str, scope: Scope, max_tokens: int, top_k: int, order: str, mode: str, as_json: bool
) -> None:
    """Print the memory block an agent would get for QUERY within a token budget.

    Recalls the most relevant memories and packs the best that fit into
    --max-tokens (counted with the bundled tokenizer), as a fenced, quoted data
    block with each memory's date, type and source: what the Strands plugin puts
    in front of the model.

    \b
    Example:
        strands-memory context --user alice "plan dinner with Alice"
        strands-memory context --user alice --max-tokens 200 --order time "her trips"
    """
    packed = app.memory.build_context(
        query,
        scope=scope,
        max_tokens=max_tokens,
        top_k=top_k,
        order="time" if order == "time" else "score",
        mode=mode,
    )
    if as_json:
        print_json(
            {
                "text": packed.text,
                "tokens": packed.tokens,
                "omitted": packed.omitted,
                "memories": [m.to_dict() for m in packed.memories],
            }
        )
    elif packed:
        click.echo(packed.text)
    else:
        notice("No memories found.")


@cli.command("list")
@scope_options()
@types_option
@click.option("--limit", type=int, default=20, show_default=True, help="Memories per page (1..1000).")
@click.option("--next-token", metavar="TOKEN", help="Continue where the previous page stopped.")
@click.option("--all", "all_pages", is_flag=True, help="Every page at once (ignores --limit).")
@json_option
@pass_app
def list_memories(
    app: AppContext,
    scope: Scope,
    memory_types: tuple[str, ...],
    limit: int,
    next_token: str | None,
    all_pages: bool,
    as_json: bool,
) -> None:
    """List memories page by page (no scope option: every user's).

    \b
    Example:
        strands-memory list --user alice
        strands-memory list --user alice --limit 50 --next-token "$TOKEN"
        strands-memory list --all --json | jq '.memories | length'
    """
    types = list(memory_types) or None
    memories: list[Memory]
    token: str | None
    if all_pages:
        if next_token is not None:
            raise click.UsageError("--all reads every page; it cannot start at --next-token")
        memories, token = list(app.memory.iter_memories(scope=scope, memory_types=types)), None
    else:
        page = app.memory.list(scope=scope, memory_types=types, limit=limit, next_token=next_token)
        memories, token = page.memories, page.next_token
    if as_json:
        print_json({"memories": [m.to_dict() for m in memories], "next_token": token})
        return
    if memories:
        out_console().print(memory_table(memories))
    else:
        notice("No memories.")
    if token is not None:
        notice(f"More memories: add --next-token {token}")


@cli.command()
@scope_options()
@json_option
@pass_app
def stats(app: AppContext, scope: Scope, as_json: bool) -> None:
    """Count memories by type and user.

    Also the expired count (kept until forgotten, never recalled), the time range and
    what the store is built with.

    \b
    Example:
        strands-memory stats
        strands-memory stats --user alice --json
    """
    result = app.memory.stats(scope=scope)
    if as_json:
        print_json(result.to_dict())
        return
    console = out_console()
    for table in stats_renderables(result):
        console.print(table)


def _searchable(backend: object, index: str) -> bool:
    return isinstance(backend, TextSearchBackend) and backend.supports_text_search(index)
