# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``forget``: delete by key, scope, filter or everything, with a dry run and a confirmation.

Why a dry run here: deleting is the one command that cannot be undone, so ``--dry-run``
shows exactly the keys ``forget`` would delete (the same selection, expired memories
included), and deleting by scope or filter asks first, showing the count.
"""

from __future__ import annotations

from typing import Any

import click

from ..core import Scope
from ._app import AppContext, cli, pass_app
from ._options import FILTER, json_option, scope_options
from ._output import memories, print_json

__all__ = ["forget"]


@cli.command()
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@scope_options()
@click.option("--filter", "filter_", type=FILTER, help="Delete memories matching this metadata filter (JSON).")
@click.option("--everything", is_flag=True, help="Delete every memory in the store.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_app
def forget(
    app: AppContext,
    keys: tuple[str, ...],
    scope: Scope,
    filter_: dict[str, Any] | None,
    everything: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Delete memories by key, scope, filter or everything.

    Deleting by scope or filter includes expired memories and asks for confirmation
    (showing the count) unless --yes. With KEYs, a scope option only restricts which
    of those keys may be deleted.

    \b
    Example:
        strands-memory forget 3f2a9c0e...                   # one memory by key
        strands-memory forget --user alice --dry-run        # what would go
        strands-memory forget --user alice --yes            # a user's right to be forgotten
        strands-memory forget --filter '{"source": {"$eq": "import"}}'
    """
    if keys and (filter_ or everything):
        raise click.UsageError("give KEYs, or --filter/--everything, not both")
    if not keys and scope.is_empty() and not filter_ and not everything:
        raise click.UsageError("say what to forget: KEYs, a scope option (e.g. --user), --filter, or --everything")
    if dry_run:
        targets = _forget_targets(app, keys, scope, filter_)
        if as_json:
            print_json({"dry_run": True, "count": len(targets), "keys": targets})
        else:
            click.echo(f"Would forget {memories(len(targets))}:")
            for target in targets:
                click.echo(target)
        return
    if not keys and not yes:
        targets = _forget_targets(app, keys, scope, filter_)
        if targets:
            what = _describe(scope, filter_, everything)
            click.confirm(f"Forget {memories(len(targets))} ({what})?", abort=True, err=True)
    deleted = app.memory.forget(list(keys) or None, scope=scope, filter=filter_, everything=everything)
    if as_json:
        print_json({"dry_run": False, "count": deleted})
    else:
        click.echo(f"Forgot {memories(deleted)}.")


def _forget_targets(app: AppContext, keys: tuple[str, ...], scope: Scope, filter_: dict[str, Any] | None) -> list[str]:
    """The keys ``forget`` would delete (expired included), found with a scan of the scope."""
    candidates = app.memory.iter_memories(scope=scope, filter=None if keys else filter_, include_expired=True)
    if not keys:
        return [m.key for m in candidates]
    present = {m.key for m in candidates}
    return [k for k in dict.fromkeys(keys) if k in present]


def _describe(scope: Scope, filter_: dict[str, Any] | None, everything: bool) -> str:
    """The selection in words, for the confirmation prompt."""
    if everything and scope.is_empty() and not filter_:
        return "EVERY memory in the store"
    parts = [f"{name}={value}" for name, value in scope.items().items()]
    if filter_:
        parts.append(f"filter {filter_}")
    return ", ".join(parts)
