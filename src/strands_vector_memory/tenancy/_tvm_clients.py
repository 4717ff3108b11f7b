"""Tenant boto3 sessions and clients whose credentials refresh through the TVM's cache.

Why a module of its own: botocore integration is a separate concern from deciding
when to call STS. The Token Vending Machine (:mod:`._tvm`) owns the credentials; this
module puts them into botocore and keeps the clients built on them:

* a tenant session's only credential provider is the TVM, never the ambient chain, so a
  tenant client cannot silently act as the application;
* its botocore ``RefreshableCredentials`` refresh through the TVM's single-flight cache,
  also as soon as the cache holds other credentials (refreshed elsewhere, or
  invalidated), so clients outlive every refresh and see every invalidation;
* clients are built once per tenant, service, region, endpoint and config, in a bounded
  LRU, and every tenant session shares one botocore data loader (service models take
  tens of milliseconds to load).

boto3 is the optional ``aws`` extra: it is imported only when a session or client is built.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from .._aws import with_user_agent
from ..backends.s3vectors._client import default_config
from ._sts import TenantCredentials, require_boto3

if TYPE_CHECKING:
    from ._tvm import TokenVendingMachine

__all__ = ["TenantClients"]

_CREDENTIAL_METHOD: Final = "strands-vector-memory-tvm"


def _config_fingerprint(config: Any) -> str | None:
    """A value (not identity) key for a botocore ``Config``, so equal configs share a client."""
    if config is None:
        return None
    from botocore.config import Config

    return repr([(name, getattr(config, name, None)) for name in Config.OPTION_DEFAULTS])


class _ClientSlot:
    """One tenant's clients; ``lock`` makes each client be built once."""

    __slots__ = ("clients", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clients: dict[tuple[str, str, str | None, str | None], Any] = {}


class TenantClients:
    """The tenant sessions and clients of one :class:`TokenVendingMachine`, which builds and owns it.

    Tenant keys reaching it are already validated. It asks the TVM for the tenant's
    credentials (``credentials_for_key``), the key it currently caches
    (``_current_access_key``), the region, the application session's profile, its
    ``max_cached_tenants`` and its ``clients_built`` counter.

    Args:
        tvm: The TVM whose cache the credentials refresh through.
        clock: The TVM's clock (epoch seconds), which also drives botocore's refresh decisions.
        config: The TVM's botocore ``Config``; a client's own ``config`` is merged over it.
    """

    def __init__(self, tvm: TokenVendingMachine, *, clock: Callable[[], float], config: Any) -> None:
        self._tvm = tvm
        self._clock = clock
        self._config = config
        self._lock = threading.Lock()  # the LRU map; never held during I/O
        self._slots: OrderedDict[str, _ClientSlot] = OrderedDict()
        self._loader: Any = None

    def session(self, key: str) -> Any:
        """A new boto3 session acting as tenant ``key``; its credentials refresh through the TVM."""
        boto3 = require_boto3()
        import botocore.session
        from botocore.credentials import CredentialResolver

        base = self._tvm._session
        profile = base.profile_name if base is not None else None
        core = botocore.session.Session(profile=None if profile in (None, "default") else profile)
        # Service models take tens of milliseconds to load; every tenant session shares one loader.
        loader = self._loader
        if loader is None:
            self._loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", loader)
        core.register_component("credential_provider", CredentialResolver([_provider_class()(self, key)]))
        return boto3.session.Session(botocore_session=core, region_name=self._tvm.region_name)

    def client(self, key: str, service: str, *, endpoint_url: str | None, region_name: str | None, config: Any) -> Any:
        """Tenant ``key``'s client for ``service``: the cached one, else built once (see ``client_for_key``)."""
        region = region_name or self._tvm.region_name
        ident = (service, region, endpoint_url, _config_fingerprint(config))
        slot = self._slot(key)
        client = slot.clients.get(ident)
        if client is not None:
            return client
        with slot.lock:
            client = slot.clients.get(ident)
            if client is None:
                client = self._build(key, service, region, endpoint_url, config)
                slot.clients[ident] = client
                self._tvm._count("clients_built")
            return client

    def _slot(self, key: str) -> _ClientSlot:
        """``key``'s clients, made most recently used; evicts the least recently used tenants."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None:
                self._slots.move_to_end(key)
                return slot
            slot = self._slots[key] = _ClientSlot()
            while len(self._slots) > self._tvm.max_cached_tenants:
                self._slots.popitem(last=False)  # its clients stay usable by whoever holds them
            return slot

    def _build(self, key: str, service: str, region: str, endpoint_url: str | None, config: Any) -> Any:
        from botocore.config import Config

        merged = config if self._config is None else self._config if config is None else self._config.merge(config)
        if service == "s3vectors":
            final = default_config(merged)
        else:
            final = with_user_agent(merged if merged is not None else Config())
        session = self.session(key)
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=final)

    # -- what the botocore credentials below ask ---------------------------------

    def credentials(self, key: str) -> TenantCredentials:
        """The TVM's credentials for ``key`` (from its cache, or STS if due)."""
        return self._tvm.credentials_for_key(key)

    def held_access_key(self, key: str) -> str | None:
        """The access key the TVM's cache holds for ``key`` now (no STS call)."""
        return self._tvm._current_access_key(key)

    def utcnow(self) -> datetime:
        """The TVM's clock as botocore's ``time_fetcher``, so both agree on when to refresh."""
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)

    def refresh_metadata(self, key: str) -> dict[str, str]:
        """``refresh_using`` for botocore: the TVM's credentials in botocore's shape."""
        creds = self.credentials(key)
        return {
            "access_key": creds.access_key_id,
            "secret_key": creds.secret_access_key,
            "token": creds.session_token,
            "expiry_time": datetime.fromtimestamp(creds.expiration, tz=timezone.utc).isoformat(),
        }


@cache
def _provider_class() -> type[Any]:
    """The botocore classes of tenant credentials, defined on first use (botocore is optional)."""
    from botocore.credentials import CredentialProvider, RefreshableCredentials

    class TenantRefreshableCredentials(RefreshableCredentials):  # type: ignore[misc]
        """botocore credentials of one tenant, refreshed through the TVM's single-flight cache.

        Besides botocore's own expiry check, a refresh is due as soon as the TVM holds
        other credentials for the tenant (refreshed elsewhere, or invalidated), so
        :meth:`TokenVendingMachine.invalidate` reaches clients built earlier.
        """

        def __init__(self, clients: TenantClients, key: str, creds: TenantCredentials) -> None:
            self._svm_clients = clients
            self._svm_key = key
            self._svm_held = creds.access_key_id
            super().__init__(
                creds.access_key_id,
                creds.secret_access_key,
                creds.session_token,
                datetime.fromtimestamp(creds.expiration, tz=timezone.utc),
                self._svm_refresh,
                _CREDENTIAL_METHOD,
                time_fetcher=clients.utcnow,
            )

        def _svm_refresh(self) -> dict[str, str]:
            metadata = self._svm_clients.refresh_metadata(self._svm_key)
            self._svm_held = metadata["access_key"]
            return metadata

        def refresh_needed(self, refresh_in: float | None = None) -> bool:
            if super().refresh_needed(refresh_in):
                return True
            # refresh_in=0 is botocore's "still expired after refreshing?" check: ours are not.
            return refresh_in != 0 and self._svm_clients.held_access_key(self._svm_key) != self._svm_held

    class TenantCredentialProvider(CredentialProvider):  # type: ignore[misc]
        """The only credential provider of a tenant session: the TVM, never the ambient chain."""

        METHOD = _CREDENTIAL_METHOD
        CANONICAL_NAME = "custom-strands-vector-memory-tvm"

        def __init__(self, clients: TenantClients, key: str) -> None:
            super().__init__()
            self._clients = clients
            self._key = key

        def load(self) -> Any:
            return TenantRefreshableCredentials(self._clients, self._key, self._clients.credentials(self._key))

    return TenantCredentialProvider
