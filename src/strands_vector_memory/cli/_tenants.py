# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``tenancy onboard|offboard|list``: a bucket's tenants, administered with the application's credentials.

Why here and not under ``tenancy setup``: these act on the store (the same
``--store`` or ``--backend s3vectors --bucket`` every other command uses), not on IAM.
Each is one call to ``tenancy._admin``; the memory they open has the per-tenant layout
and no Token Vending Machine, since creating and deleting indexes and listing the
bucket are what tenant credentials may not do.
"""

from __future__ import annotations

import click

from ..memory import VectorMemory
from ..tenancy import TenantIndexLayout
from ..tenancy._admin import list_tenants, offboard_tenant, onboard_tenant
from ._app import AppContext, pass_app
from ._forget import attach_outbox
from ._options import json_option
from ._output import notice, out_console, print_json
from ._tenancy import tenancy

__all__ = ["list_command", "offboard", "onboard"]

_PREFIX = click.option(
    "--prefix",
    default="memory-",
    show_default=True,
    help="Start of every tenant index name (must match the IAM policy's Resource).",
)


def _admin_memory(app: AppContext, prefix: str) -> VectorMemory:
    memory = app.open_memory(layout=TenantIndexLayout(prefix))
    click.get_current_context().call_on_close(memory.close)
    return memory


@tenancy.command()
@click.argument("tenant_ids", nargs=-1, required=True, metavar="TENANT_ID...")
@_PREFIX
@json_option
@pass_app
def onboard(app: AppContext, tenant_ids: tuple[str, ...], prefix: str, as_json: bool) -> None:
    """Create each tenant's index now (idempotent), rather than on its first write.

    A tenant id that breaks index-name rules ("Acme Corp") is mapped to a stable
    key ("acme-corp.<hash>"); the key is what the TenantID session tag carries.

    \b
    Example:
        strands-memory tenancy onboard acme "Globex Corp"
        strands-memory --backend s3vectors --bucket my-memories tenancy onboard acme
    """
    memory = _admin_memory(app, prefix)
    created = [onboard_tenant(memory, tenant) for tenant in tenant_ids]
    if as_json:
        print_json(
            [
                {"tenant_id": t, "tenant_key": c.tenant_key, "index": c.index}
                for t, c in zip(tenant_ids, created, strict=True)
            ]
        )
        return
    for tenant, index in zip(tenant_ids, created, strict=True):
        notice(f"Onboarded {tenant!r}: index {index.index}")


@tenancy.command()
@click.argument("tenant_id")
@_PREFIX
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_app
def offboard(app: AppContext, tenant_id: str, prefix: str, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete every memory of a tenant: its whole index (the GDPR purge of a tenant).

    Idempotent: a tenant with no index is reported and nothing happens. Asks for
    confirmation, showing the count, unless --yes.

    \b
    Example:
        strands-memory tenancy offboard acme --dry-run
        strands-memory tenancy offboard acme --yes
    """
    memory = _admin_memory(app, prefix)
    attach_outbox(memory)  # turns still queued for the tenant go first
    if not dry_run and not yes:
        planned = offboard_tenant(memory, tenant_id, dry_run=True)
        if planned.existed:
            click.confirm(
                f"Delete index {planned.index} and its {planned.vectors} memories of tenant {tenant_id!r}?",
                abort=True,
                err=True,
            )
    result = offboard_tenant(memory, tenant_id, dry_run=dry_run)
    if as_json:
        print_json(
            {
                "tenant_id": tenant_id,
                "tenant_key": result.tenant_key,
                "index": result.index,
                "existed": result.existed,
                "vectors": result.vectors,
                "dry_run": dry_run,
            }
        )
    elif not result.existed:
        notice(f"Tenant {tenant_id!r} has no index ({result.index}) in {app.location}: nothing to delete")
    elif dry_run:
        notice(f"Would delete index {result.index} with {result.vectors} memories (dry run)")
    else:
        notice(f"Deleted index {result.index} with {result.vectors} memories of tenant {tenant_id!r}")


@tenancy.command("list")
@_PREFIX
@click.option("--count", is_flag=True, help="Also count each tenant's memories (pages through every index).")
@json_option
@pass_app
def list_command(app: AppContext, prefix: str, count: bool, as_json: bool) -> None:
    """List the tenant indexes of the store (tenant keys: the id -> key mapping is one way).

    \b
    Example:
        strands-memory tenancy list --count
    """
    tenants = list_tenants(_admin_memory(app, prefix), count=count)
    if as_json:
        print_json([{"tenant_key": t.tenant_key, "index": t.index, "vectors": t.vectors} for t in tenants])
        return
    console = out_console()
    if not tenants:
        notice(f"No tenant indexes ({prefix}*) in {app.location}")
    for t in tenants:
        console.print(f"{t.tenant_key}\t{t.index}" + (f"\t{t.vectors}" if t.vectors is not None else ""))
