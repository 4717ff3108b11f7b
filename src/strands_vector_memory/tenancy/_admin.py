"""Onboarding, offboarding and listing tenants: acts of the application, not of a tenant.

These run with the application's own credentials on a memory whose layout is
:class:`TenantIndexLayout` (``VectorMemory.from_s3_vectors(bucket, layout=TenantIndexLayout())``
or ``VectorMemory.open(path, layout=TenantIndexLayout())``), because creating and
deleting indexes and listing the bucket are exactly what tenant credentials may not do.

Offboarding is the GDPR purge of a tenant: with one index per tenant it is a single
``DeleteIndex``, which removes every vector of the tenant at once; with the shared
index (:class:`TenantFilterLayout`) it is a scan and delete of the tenant's records.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..backends import ScopedBackend, VectorBackend
from ..core import NotFoundError, Scope, ValidationError
from ..memory import VectorMemory
from ._layouts import TenantFilterLayout, TenantIndexLayout
from ._naming import tenant_key

__all__ = ["Offboarded", "TenantIndex", "list_tenants", "offboard_tenant", "onboard_tenant"]


@dataclass(frozen=True, slots=True)
class TenantIndex:
    """A tenant's index as listed: its key (the ``TenantID`` tag value) and name."""

    tenant_key: str
    index: str
    vectors: int | None = None


@dataclass(frozen=True, slots=True)
class Offboarded:
    """What offboarding removed."""

    tenant_key: str
    index: str
    vectors: int
    existed: bool


def _layout(memory: VectorMemory) -> TenantIndexLayout | TenantFilterLayout:
    layout = memory.layout
    if not isinstance(layout, TenantIndexLayout | TenantFilterLayout):
        raise ValidationError(
            f"tenant administration needs a tenant layout (TenantIndexLayout or TenantFilterLayout), got {layout!r}",
            field="layout",
        )
    return layout


def _count_index(backend: VectorBackend, index: str) -> int:
    """Every vector in ``index`` (expired and foreign ones too), by paging keys only."""
    total, token = 0, None
    while True:
        page = backend.list_vectors(index, max_results=1000, next_token=token)
        total += len(page.records)
        token = page.next_token
        if token is None:
            return total


def _admin_backend(memory: VectorMemory) -> VectorBackend:
    backend = memory.backend
    if isinstance(backend, ScopedBackend):
        raise ValidationError(
            "tenant administration runs with the application's own credentials: open the memory without tvm=",
            field="memory",
        )
    return backend


def onboard_tenant(memory: VectorMemory, tenant_id: str) -> TenantIndex:
    """Create the tenant's index now (idempotent), so its first write is not also its set-up."""
    _layout(memory)
    scope = Scope(tenant_id=tenant_id)
    info = memory.ensure_index(scope=scope)
    return TenantIndex(tenant_key(tenant_id), info.name)


def offboard_tenant(memory: VectorMemory, tenant_id: str, *, dry_run: bool = False) -> Offboarded:
    """Delete every memory of the tenant (its whole index, with one index per tenant).

    Side stores attached to ``memory`` (a plugin's outbox) are purged of the tenant
    first, so a turn still queued there cannot recreate the index after it is dropped.
    Idempotent: offboarding a tenant that has no index reports ``existed=False``.
    """
    if not dry_run:
        memory.forget_tenant_side_data(tenant_id)
    layout = _layout(memory)
    scope = Scope(tenant_id=tenant_id)
    index = layout.index_for(scope)
    key = tenant_key(tenant_id)
    if isinstance(layout, TenantFilterLayout):
        if dry_run:
            count = sum(1 for _ in memory.iter_memories(scope=scope, include_expired=True))
        else:
            count = memory.forget(scope=scope)
        return Offboarded(key, index, count, count > 0)
    backend = _admin_backend(memory)
    try:
        count = _count_index(backend, index)
    except NotFoundError:
        return Offboarded(key, index, 0, existed=False)
    if not dry_run:
        with contextlib.suppress(NotFoundError):  # deleted concurrently: the outcome is the same
            backend.delete_index(index)
    return Offboarded(key, index, count, existed=True)


def list_tenants(memory: VectorMemory, *, count: bool = False) -> list[TenantIndex]:
    """The tenant indexes in the store (keys, not ids: the mapping is one way), sorted."""
    layout = _layout(memory)
    if not isinstance(layout, TenantIndexLayout):
        raise ValidationError("a shared index holds every tenant; list tenants with stats instead", field="layout")
    found: list[TenantIndex] = []
    backend = _admin_backend(memory)
    for info in backend.list_indexes(prefix=layout.prefix):
        key = layout.tenant_key_of(info.name)
        if key is not None:
            found.append(TenantIndex(key, info.name, _count_index(backend, info.name) if count else None))
    return sorted(found, key=lambda t: t.index)
