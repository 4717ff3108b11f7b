# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``import`` and ``export``: memories as JSON Lines, one ``{"key", "content", "metadata"}`` per line.

Why this shape: it is what ``export`` writes and ``import`` reads, so a store can be
moved, backed up or migrated to another backend without losing keys, scopes or
``created_at``. The schema fields inside ``metadata`` (``user_id``, ``memory_type``,
``created_at``, ...) go back through :class:`~strands_vector_memory.NewMemory`, so an
imported memory is stamped and validated exactly like one written by ``remember``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import click

from ..core import Field, Memory, Scope, ValidationError, VectorMemoryError
from ..core._limits import validate_key
from ..memory import NewMemory
from ._app import AppContext, InvalidInput, cli, pass_app
from ._options import parse_when, scope_options
from ._output import memories, notice, progress_bar

__all__ = ["IMPORT_SOURCE", "export", "import_", "memory_to_record", "record_to_new_memory"]

#: ``source`` stamped on imported memories whose metadata does not name one.
IMPORT_SOURCE = "import"

_SCOPE_FIELDS: Mapping[str, str] = {
    Field.TENANT_ID: "tenant_id",
    Field.USER_ID: "user_id",
    Field.AGENT_ID: "agent_id",
    Field.TEAM_ID: "team_id",
    Field.TASK_ID: "task_id",
    Field.CONVERSATION_ID: "conversation_id",
}
_TIME_FIELDS = (Field.CREATED_AT, Field.EVENT_TIME, Field.EXPIRES_AT)
_DERIVED = (Field.CONTENT, Field.CREATED_AT_ISO)  # rebuilt by the service on import
_RECORD_KEYS = frozenset({"key", "content", "metadata"})


def memory_to_record(memory: Memory) -> dict[str, Any]:
    """One export line: the key, the text and every metadata field except the duplicated text."""
    metadata = {k: v for k, v in memory.metadata.items() if k != Field.CONTENT}
    return {"key": memory.key, "content": memory.content, "metadata": metadata}


def record_to_new_memory(record: object, *, override: Scope) -> NewMemory:
    """A ``NewMemory`` from one parsed import line; ``override`` scope parts win over the line's.

    Raises:
        ValidationError: the line is not an object of the documented shape.
    """
    if not isinstance(record, dict):
        raise ValidationError(f"expected a JSON object, got {type(record).__name__}", field="line")
    unknown = sorted(set(record) - _RECORD_KEYS)
    if unknown:
        raise ValidationError(f"unknown fields {unknown}: a line holds key, content and metadata", field="line")
    if "content" not in record:
        raise ValidationError("missing content: a line needs the text to remember", field="content")
    key = record.get("key")
    if key is not None:
        validate_key(key)
    raw_meta = record.get("metadata") or {}
    if not isinstance(raw_meta, dict):
        raise ValidationError("metadata must be a JSON object", field="metadata")
    metadata = {k: v for k, v in raw_meta.items() if k not in _DERIVED}
    scope = Scope(**{attr: metadata.pop(name) for name, attr in _SCOPE_FIELDS.items() if name in metadata})
    times: dict[str, float | None] = {}
    for name in _TIME_FIELDS:
        value = metadata.pop(name, None)
        try:
            times[name] = None if value is None else parse_when(value)
        except ValueError as exc:
            raise ValidationError(f"metadata.{name}: {exc}", field=f"metadata.{name}") from None
    return NewMemory(
        content=record.get("content"),  # type: ignore[arg-type]  # the service reports a non-string
        scope=scope.merge(override),
        memory_type=metadata.pop(Field.MEMORY_TYPE, "episodic"),
        source=metadata.pop(Field.SOURCE, None) or IMPORT_SOURCE,
        confidence=metadata.pop(Field.CONFIDENCE, None),
        created_at=times[Field.CREATED_AT],
        event_time=times[Field.EVENT_TIME],
        expires_at=times[Field.EXPIRES_AT],
        metadata=metadata or None,
        key=key,
    )


def _numbered_lines(stream: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) for every non-blank line, numbered from 1 as editors do."""
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _batches(lines: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for entry in lines:
        batch.append(entry)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@cli.command("import")
@click.argument(
    "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str), metavar="FILE|-"
)
@scope_options()
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Lines per write.")
@pass_app
def import_(app: AppContext, source: str, scope: Scope, batch_size: int) -> None:
    """Import memories from JSON Lines (FILE, or - for stdin).

    Each line is {"content": ..., "key": ... (optional), "metadata": {...}}, as
    written by export. Schema fields in metadata (user_id, memory_type, created_at,
    expires_at, confidence, event_time, source, agent_id, team_id, task_id,
    conversation_id, tenant_id) are restored, created_at included; other keys are
    kept as metadata. Scope options override the lines' scope and fill it in where
    missing. Times may be epoch seconds or ISO 8601. Blank lines are skipped.

    Lines are written in batches of --batch-size. A bad line stops the import
    with its line number: nothing of its batch is written, earlier batches stay
    (the message says how many), so fix the line and re-run from that batch;
    lines with a key are simply overwritten on a re-run.

    \b
    Example:
        strands-memory import memories.jsonl
        strands-memory --store ./old export | strands-memory --store ./new import -
        strands-memory import --user alice --tenant acme notes.jsonl
    """
    total = None if source == "-" else _count_lines(Path(source))
    imported = 0
    stream: IO[str]
    with _open(source) as stream, progress_bar() as progress:
        task = progress.add_task("Importing", total=total)
        try:
            for batch in _batches(_numbered_lines(stream), batch_size):
                first, last = batch[0][0], batch[-1][0]
                where = f"line {first}" if first == last else f"lines {first}-{last}"
                before = f"{memories(imported)} from earlier lines imported."
                items = _parse_batch(app, batch, scope, f"Nothing from {where} was written; {before}")
                try:
                    app.memory.remember_many(items, screen=False)  # a restore: every record as it was
                except VectorMemoryError as exc:
                    error = InvalidInput if isinstance(exc, ValidationError) else click.ClickException
                    raise error(f"{where}: {exc}\n{before}") from exc
                imported += len(items)
                progress.update(task, completed=last, description=f"Imported {imported}")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"the input is not UTF-8 text ({exc})\n{memories(imported)} imported before it."
            ) from exc
        progress.update(task, completed=total)
    click.echo(f"Imported {memories(imported)}.")


def _parse_batch(app: AppContext, batch: list[tuple[int, str]], scope: Scope, consequence: str) -> list[NewMemory]:
    """Every line of the batch as a validated ``NewMemory``, or an error naming the first bad line."""
    items: list[NewMemory] = []
    for number, line in batch:
        try:
            item = record_to_new_memory(json.loads(line), override=scope)
            app.memory.check([item])
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}: not valid JSON ({exc})\n{consequence}") from exc
        except ValidationError as exc:
            reason = exc.__cause__ if isinstance(exc.__cause__, ValidationError) else exc  # drop "items[0]: "
            raise InvalidInput(f"line {number}: {reason}\n{consequence}") from exc
        items.append(item)
    return items


def _count_lines(path: Path) -> int:
    """Lines in the file (the progress bar's total), counted in binary for speed."""
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _open(source: str) -> IO[str]:
    return click.open_file(source, "r", encoding="utf-8")


@cli.command()
@scope_options()
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8", lazy=True),
    metavar="FILE",
    default="-",
    help="File to write (default stdout).",
)
@click.option("--include-expired", is_flag=True, help="Also export memories past their expiry.")
@click.option(
    "--everything-about-user",
    "subject_access",
    is_flag=True,
    help="With --user: everything held about the user, in every index and an agent's outbox.",
)
@pass_app
def export(app: AppContext, scope: Scope, output: IO[str], include_expired: bool, subject_access: bool) -> None:
    """Write memories as JSON Lines (import reads them back).

    Keys, scope and times (created_at included) are kept, so export | import moves
    or backs up a store. Expired memories are left out unless --include-expired.

    --everything-about-user --user U answers a subject access request: every memory of
    the user in every index (expired and superseded ones too) and the turns an agent's
    outbox still holds for them; each line has a "kind" ("memory", "outbox").

    \b
    Example:
        strands-memory export -o backup.jsonl
        strands-memory export --user alice | gzip > alice.jsonl.gz
        strands-memory --store ./a export | strands-memory --store ./b import -
        strands-memory export --user alice --everything-about-user -o alice.jsonl
    """
    if subject_access:
        _export_user(app, scope, output)
        return
    count = 0
    with progress_bar(transient=True) as progress:
        task = progress.add_task("Exporting", total=None)
        for memory in app.memory.iter_memories(scope=scope, include_expired=include_expired):
            output.write(json.dumps(memory_to_record(memory), ensure_ascii=False) + "\n")
            count += 1
            if count % 500 == 0:
                progress.update(task, completed=count)
    output.flush()
    name = getattr(output, "name", "-")
    notice(f"Exported {memories(count)} to {'stdout' if name in ('-', '<stdout>') else name}.")


def _export_user(app: AppContext, scope: Scope, output: IO[str]) -> None:
    if scope.user_id is None or set(scope.items()) - {"user_id", "tenant_id"}:
        raise click.UsageError("--everything-about-user needs --user (and --tenant if they have one), nothing else")
    from ._forget import attach_outbox

    attach_outbox(app.memory)
    count = 0
    for item in app.memory.export_user(scope.user_id, tenant_id=scope.tenant_id):
        output.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    output.flush()
    notice(f"Exported {count} item(s) held about {scope.user_id}.")
