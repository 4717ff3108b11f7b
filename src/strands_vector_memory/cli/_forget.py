# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``forget``: delete by key, scope, filter or everything, with a dry run and a confirmation.

Why a dry run here: deleting is the one command that cannot be undone, so ``--dry-run``
shows exactly the keys ``forget`` would delete (the same selection, expired memories
included), and deleting by scope or filter asks first, showing the count.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

import click

from ..core import Scope
from ..memory import VectorMemory
from ._app import AppContext, cli, pass_app
from ._options import FILTER, json_option, scope_options
from ._output import memories, print_json

__all__ = ["attach_outbox", "forget"]


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

    A user alone (--user, with --tenant if they have one) is erased everywhere: every
    index of the store, the turns a Strands agent's outbox still holds for them, and
    the deleted bytes in the store's files (the right to erasure).

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
    if not keys and not filter_ and not everything and _just_a_user(scope):
        _erase_user(app, scope, as_json=as_json)
        return
    deleted = app.memory.forget(list(keys) or None, scope=scope, filter=filter_, everything=everything)
    if as_json:
        print_json({"dry_run": False, "count": deleted})
    else:
        click.echo(f"Forgot {memories(deleted)}.")


def _just_a_user(scope: Scope) -> bool:
    return scope.user_id is not None and set(scope.items()) <= {"user_id", "tenant_id"}


def _erase_user(app: AppContext, scope: Scope, *, as_json: bool) -> None:
    """``forget --user U``: the user in every index, in the outbox beside the store, and in the files."""
    assert scope.user_id is not None
    attach_outbox(app.memory)
    report = app.memory.forget_user(scope.user_id, tenant_id=scope.tenant_id)
    if as_json:
        print_json({"dry_run": False, "count": report.total, **report.to_dict()})
        return
    pending = sum(report.side_stores.values())
    click.echo(f"Forgot {memories(report.total)}" + (f" and {pending} outbox row(s)." if pending else "."))


def attach_outbox(memory: VectorMemory) -> None:
    """Let erasure and export reach the outbox a Strands agent keeps beside this store, if any."""
    try:
        from ..strands_agents._outbox import Outbox
        from ..strands_agents._plugin import _default_outbox_path
    except ImportError:  # strands-agents is not installed: no agent of ours wrote an outbox here
        return
    path = _default_outbox_path(memory)
    if not path.exists():
        return

    def forget(user: str, tenant: str | None) -> int:
        with closing(Outbox(path)) as box:
            return box.forget(user_id=user, tenant_id=tenant)

    def export(user: str, tenant: str | None) -> list[dict[str, Any]]:
        with closing(Outbox(path)) as box:
            return box.export(user_id=user, tenant_id=tenant)

    def forget_tenant(tenant: str) -> int:
        with closing(Outbox(path)) as box:
            return box.forget_tenant(tenant)

    memory.attach_side_store("outbox", forget=forget, export=export, forget_tenant=forget_tenant)


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
