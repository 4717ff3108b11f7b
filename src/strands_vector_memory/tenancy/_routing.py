"""A backend that acts as the caller's tenant: one credentialed backend per tenant.

In multi-tenant mode ``VectorMemory`` asks :meth:`TenantRoutedBackend.for_scope` for
the backend acting for the caller's tenant (on S3 Vectors an ``S3VectorsBackend``
whose client signs with that tenant's STS credentials from the Token Vending Machine)
and sends it the index its layout chose. The identity comes from the caller's scope,
never from the index name, so:

* a call whose scope names no tenant is refused here (``IsolationError``), never sent
  with some other identity;
* a bug that computed another tenant's index would present *this* tenant's
  credentials for it, and IAM denies it (``AccessDeniedError``).

Bucket-wide calls (listing indexes) belong to no tenant: they go to ``admin``, the
application's own backend, when one is given, and are refused otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from ..backends import IndexInfo, VectorBackend
from ..core import IsolationError, Scope
from ._cache import TenantCache
from ._layouts import TenantIndexLayout, require_tenant
from ._naming import tenant_key

__all__ = ["TenantRoutedBackend"]


class TenantRoutedBackend:
    """One backend per tenant, each acting with that tenant's identity (a ``ScopedBackend``).

    Args:
        backend_for: Builds the backend acting as one tenant, given its tenant key
            (called once per tenant while cached).
        layout: The tenant index naming in use (used to filter ``list_indexes``).
        admin: The application's own backend for bucket-wide calls (``list_indexes``);
            without it they raise ``IsolationError``.
        max_cached: Most tenant backends kept; the least recently used are closed.
        bucket: The bucket name, for display and for naming per-store files.
        endpoint_url: The endpoint, for the same reasons.
    """

    def __init__(
        self,
        backend_for: Callable[[str], VectorBackend],
        *,
        layout: TenantIndexLayout | None = None,
        admin: VectorBackend | None = None,
        max_cached: int = 1024,
        bucket: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._backend_for = backend_for
        self.layout = layout or TenantIndexLayout()
        self.admin = admin
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self._backends: TenantCache[VectorBackend] = TenantCache(max_cached, on_drop=lambda backend: backend.close())

    def __repr__(self) -> str:
        return f"TenantRoutedBackend(bucket={self.bucket!r}, layout={self.layout!r})"

    def for_scope(self, scope: Scope) -> VectorBackend:
        """The backend acting as ``scope``'s tenant; ``IsolationError`` without a tenant."""
        return self.for_tenant_key(tenant_key(require_tenant(scope)))

    def for_tenant_key(self, key: str) -> VectorBackend:
        """The backend acting as the tenant with this key (built once, then cached)."""
        return self._backends.get_or_build(key, self._backend_for)

    def for_index(self, name: str) -> VectorBackend:
        """The backend acting as the tenant owning index ``name`` (maintenance walks every index)."""
        key = self.layout.tenant_key_of(name)
        if key is None:
            raise IsolationError(f"index {name!r} is not a tenant index of {self.layout!r}: no tenant can act on it")
        return self.for_tenant_key(key)

    def list_indexes(self, *, prefix: str | None = None) -> list[IndexInfo]:
        """The bucket's tenant indexes, listed with the application's own credentials."""
        if self.admin is None:
            raise IsolationError(
                "listing a bucket's indexes is not a tenant's call: pass admin= (a backend with the "
                "application's own credentials) or use strands-memory tenancy list"
            )
        return [
            info
            for info in self.admin.list_indexes(prefix=prefix or self.layout.prefix)
            if self.layout.tenant_key_of(info.name) is not None
        ]

    def close(self) -> None:
        """Close every tenant backend (and the admin backend)."""
        for backend in self._backends.clear():
            backend.close()
        if self.admin is not None:
            self.admin.close()
