"""Tenant routing: which index a tenant's memories live in.

Two policies, both refusing any call that names no tenant (there is no "default
tenant" to fall back to, since that fallback is how data crosses tenants):

* :class:`TenantIndexLayout`, one index per tenant (``memory-<tenant key>``). Hard
  isolation: a tenant's reads can only reach its own index, IAM can scope credentials
  to it, and offboarding is one ``DeleteIndex``. The AWS-recommended default.
* :class:`TenantFilterLayout`, one shared index filtered by tenant: the documented
  weaker alternative for many small tenants (no per-index overhead, but isolation
  rests on a metadata filter the application applies, which IAM cannot check, and
  offboarding is a scan and delete).

Both stamp ``tenant_id`` on every memory and filter on it, so a memory that somehow
landed in the wrong index still would not be returned to another tenant.
"""

from __future__ import annotations

from typing import Any

from ..core import IsolationError, Scope
from ..core._limits import validate_index_name
from ._naming import INDEX_PREFIX, index_for_tenant, validate_prefix, validate_tenant_key

__all__ = ["TenantFilterLayout", "TenantIndexLayout", "require_tenant"]


def require_tenant(scope: Scope) -> str:
    """The scope's tenant id, or an :class:`IsolationError` saying how to name one."""
    if scope.tenant_id is None:
        raise IsolationError(
            "this memory is multi-tenant and the call names no tenant: pass a scope with tenant_id "
            "(Strands: invocation_state={'tenant_context': {'tenantId': ...}, ...})"
        )
    return scope.tenant_id


class TenantIndexLayout:
    """One index per tenant: ``prefix`` + the tenant's key (see :func:`tenant_key`).

    Args:
        prefix: The start of every tenant index name; must match the IAM policy's Resource.
    """

    def __init__(self, prefix: str = INDEX_PREFIX) -> None:
        self.prefix = validate_prefix(prefix)

    def __repr__(self) -> str:
        return f"TenantIndexLayout(prefix={self.prefix!r})"

    def index_for(self, scope: Scope) -> str:
        """The tenant's own index; :class:`IsolationError` if the scope names no tenant."""
        return index_for_tenant(require_tenant(scope), self.prefix)

    def scope_filter(self, scope: Scope) -> dict[str, Any] | None:
        """Every part of the scope, tenant included (belt and braces inside its own index)."""
        return scope.to_filter()

    def all_indexes(self, existing: list[str]) -> list[str]:
        """The tenant indexes among ``existing`` (names starting with the prefix)."""
        return sorted(name for name in existing if self.tenant_key_of(name) is not None)

    def tenant_key_of(self, index: str) -> str | None:
        """The tenant key an index name belongs to, or ``None`` if it is not a tenant index."""
        if not index.startswith(self.prefix):
            return None
        try:
            return validate_tenant_key(index[len(self.prefix) :])
        except ValueError:
            return None


class TenantFilterLayout:
    """Every tenant in one shared index, kept apart by the ``tenant_id`` metadata filter.

    The weaker alternative: cheaper for many tiny tenants, but IAM cannot scope
    credentials to a tenant's rows, so use it only where one application role may
    read every tenant's memories anyway.

    Args:
        index: The shared index name.
    """

    def __init__(self, index: str = "memories") -> None:
        self.index = validate_index_name(index)

    def __repr__(self) -> str:
        return f"TenantFilterLayout(index={self.index!r})"

    def index_for(self, scope: Scope) -> str:
        """The shared index, once the scope is known to name a tenant."""
        require_tenant(scope)
        return self.index

    def scope_filter(self, scope: Scope) -> dict[str, Any] | None:
        """The scope as a filter; it always includes the tenant."""
        require_tenant(scope)
        return scope.to_filter()

    def all_indexes(self, existing: list[str]) -> list[str]:
        """Just the shared index, if it exists."""
        return [self.index] if self.index in existing else []
