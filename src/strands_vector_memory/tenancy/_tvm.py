"""The Token Vending Machine: per-tenant AWS credentials from STS, cached and shared safely.

Why credentials per tenant: the tenant role's policy grants only
``.../index/memory-${aws:PrincipalTag/TenantID}``, so a session tagged ``TenantID=<key>``
can touch that tenant's index and nothing else. IAM, not our code, then keeps tenants
apart, and a bug in the application can at worst fail, never read another tenant's data.

The implementation this replaces had four defects, each with its answer here:

* its cache was not thread-safe and concurrent misses stampeded STS: here each tenant
  has its own lock, so 100 concurrent first requests make one AssumeRole call, while
  other tenants never wait for it (no global lock is held during an STS call);
* one failed STS call locked the tenant out for 12 minutes: here a failure is replayed
  only for a short, exponential, capped window (1 s doubling to 30 s by default), and
  still-valid cached credentials keep being served meanwhile;
* it built a new client per call: here clients are built once per tenant, service,
  region and endpoint (bounded LRU) and refresh their own credentials through this
  cache (botocore ``RefreshableCredentials``), so they outlive every refresh;
* it fetched embeddings with the application's ambient role: here any service's client
  (``bedrock-runtime`` included) can be had with the tenant's credentials.

Why this module: it is the public class and the credentials cache, i.e. *when* STS is
called (single flight, refresh ahead, failure backoff). *How* STS is called, and what
its answers and errors mean, is :mod:`._sts`; the tenant sessions and clients that
refresh through this cache are :mod:`._tvm_clients`. The names other code imports from
here (``TenantCredentials``, ``role_session_name``, ``map_sts_error``,
``STS_ERROR_CLASSES``) are re-exported from :mod:`._sts`.

boto3 is the optional ``aws`` extra: it is imported only when STS or a client is needed.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .._aws import RetryPolicy, call_with_retries, resolve_region
from ..core import ValidationError, VectorMemoryError
from ._naming import tenant_key, validate_tenant_key
from ._sts import (
    DEFAULT_STS_RETRY,
    EXTERNAL_ID_PATTERN,
    MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    ROLE_ARN_PATTERN,
    SESSION_PREFIX_PATTERN,
    STS_ERROR_CLASSES,
    TenantCredentials,
    application_session,
    assume_role_once,
    assume_role_params,
    build_sts_client,
    credentials_from_response,
    map_sts_error,
    role_session_name,
)
from ._tvm_clients import TenantClients

__all__ = [
    "BOTOCORE_ADVISORY_REFRESH_SECONDS",
    "MIN_REMAINING_SECONDS",
    "STS_ERROR_CLASSES",
    "TenantCredentials",
    "TokenVendingMachine",
    "map_sts_error",
    "role_session_name",
]

_log = logging.getLogger("strands_vector_memory.tenancy")

#: botocore refreshes ``RefreshableCredentials`` this long before expiry ("advisory"
#: window; it blocks from 10 minutes). The default ``refresh_ahead`` matches it.
BOTOCORE_ADVISORY_REFRESH_SECONDS: Final = 15 * 60

#: Credentials closer than this to their expiry are never handed out: callers wait for
#: fresh ones instead, so a request signed now does not reach AWS after expiry.
MIN_REMAINING_SECONDS: Final = 60.0

#: The longest failure backoff allowed: a broken STS call must never lock a tenant out
#: for minutes, which is the defect this module replaces.
MAX_FAILURE_BACKOFF_SECONDS: Final = 300.0


@dataclass(frozen=True)
class _Cached:
    creds: TenantCredentials
    refresh_at: float  # epoch seconds from which one caller refreshes ahead of expiry


class _Entry:
    """One tenant's credential state. ``lock`` is held by the one caller talking to STS."""

    __slots__ = ("cached", "completed", "error", "failures", "lock", "retry_at")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cached: _Cached | None = None
        self.error: VectorMemoryError | None = None
        self.failures = 0
        self.retry_at = -math.inf
        self.completed = 0  # finished STS fetches: a waiter compares it to see whether the one it waited for failed


class TokenVendingMachine:
    r"""Tenant-scoped AWS credentials and clients: STS AssumeRole with a ``TenantID`` session tag.

    Args:
        role_arn: The tenant role (``strands-memory tenancy setup`` creates one).
        region_name: Region of STS and of the clients; else ``$AWS_REGION``,
            ``$AWS_DEFAULT_REGION``, the ``sts_client``'s or the session's region.
        sts_client: An STS client to use (tests pass one under botocore's ``Stubber``).
        session: The boto3 session with the application's own credentials, which
            assume the role (default: a new ``boto3.Session()``).
        endpoint_url: The STS endpoint (a local endpoint); if ``None`` botocore's own
            lookup applies, ``$AWS_ENDPOINT_URL_STS`` included. Tenant clients take
            their own ``endpoint_url`` in :meth:`client`.
        duration_seconds: Lifetime asked of STS, 900-43200 (at most the role's
            MaxSessionDuration).
        refresh_ahead: Seconds before expiry from which one caller refreshes while the
            others keep using the cached credentials. The default, 900 s, equals
            botocore's advisory refresh window for ``RefreshableCredentials``: when a
            tenant client's botocore asks this cache for new credentials (15 minutes
            before expiry), the cache then fetches them instead of handing back the old
            ones, so clients refresh in step with the cache. A smaller value works, but
            then every request in those last 15 minutes asks the cache again (cheap:
            a lock and a lookup, no STS call).
        session_name_prefix: RoleSessionName prefix (``<prefix>-<tenant key>``), 1-32
            characters of ``[\w+=,.@-]``; shows in CloudTrail.
        external_id: The ExternalId the trust policy requires, if any.
        failure_backoff: ``(first, cap)`` seconds: after a failed AssumeRole the error
            is replayed without calling STS for ``first`` seconds, doubling per
            consecutive failure up to ``cap`` (at most 300). Success resets it.
        max_cached_tenants: Most tenants whose credentials, and whose clients, are kept
            (least recently used go first).
        clock: Epoch seconds (tests pass a fake clock); also drives botocore's refresh
            decisions for the clients built here.
        config: A botocore ``Config`` for every client built here (STS included);
            :meth:`client`'s ``config`` is merged over it.
        retry: Retries of a throttled or unavailable STS inside one fetch.
        sleep: Waits between those retries (tests record them instead).

    Raises:
        ValidationError: If an argument is out of range or ``role_arn`` is not a role ARN.
    """

    def __init__(
        self,
        role_arn: str,
        region_name: str | None = None,
        *,
        sts_client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
        duration_seconds: int = 3600,
        refresh_ahead: float = float(BOTOCORE_ADVISORY_REFRESH_SECONDS),
        session_name_prefix: str = "strands-memory",
        external_id: str | None = None,
        failure_backoff: tuple[float, float] = (1.0, 30.0),
        max_cached_tenants: int = 1024,
        clock: Callable[[], float] = time.time,
        config: Any = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(role_arn, str) or not ROLE_ARN_PATTERN.fullmatch(role_arn):
            raise ValidationError(
                f"role_arn must be an IAM role ARN like arn:aws:iam::123456789012:role/tenant-memory, got {role_arn!r}",
                field="role_arn",
            )
        if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int):
            raise ValidationError(
                f"duration_seconds must be an int, got {duration_seconds!r}", field="duration_seconds"
            )
        if not MIN_DURATION_SECONDS <= duration_seconds <= MAX_DURATION_SECONDS:
            raise ValidationError(
                f"duration_seconds must be {MIN_DURATION_SECONDS}-{MAX_DURATION_SECONDS} (STS's bounds), "
                f"got {duration_seconds}",
                field="duration_seconds",
                limit=f"{MIN_DURATION_SECONDS}-{MAX_DURATION_SECONDS}",
            )
        if not 0 <= refresh_ahead < duration_seconds:
            raise ValidationError(
                f"refresh_ahead must be >= 0 and below duration_seconds ({duration_seconds}), got {refresh_ahead}",
                field="refresh_ahead",
            )
        if not isinstance(session_name_prefix, str) or not SESSION_PREFIX_PATTERN.fullmatch(session_name_prefix):
            raise ValidationError(
                f"session_name_prefix must be 1-32 characters of letters, digits and _+=,.@-, "
                f"got {session_name_prefix!r}",
                field="session_name_prefix",
            )
        if external_id is not None and (
            not isinstance(external_id, str) or not EXTERNAL_ID_PATTERN.fullmatch(external_id)
        ):
            raise ValidationError(
                "external_id must be 2-1224 characters of letters, digits and _+=,.@:/-", field="external_id"
            )
        first, cap = failure_backoff
        if not 0 <= first <= cap <= MAX_FAILURE_BACKOFF_SECONDS:
            raise ValidationError(
                f"failure_backoff must be (first, cap) with 0 <= first <= cap <= {MAX_FAILURE_BACKOFF_SECONDS:.0f} "
                f"seconds, got {failure_backoff!r}",
                field="failure_backoff",
            )
        if isinstance(max_cached_tenants, bool) or not isinstance(max_cached_tenants, int) or max_cached_tenants < 1:
            raise ValidationError(
                f"max_cached_tenants must be a positive int, got {max_cached_tenants!r}", field="max_cached_tenants"
            )
        self.role_arn = role_arn
        self.duration_seconds = duration_seconds
        self.refresh_ahead = float(refresh_ahead)
        self.session_name_prefix = session_name_prefix
        self.external_id = external_id
        self.failure_backoff = (float(first), float(cap))
        self.max_cached_tenants = max_cached_tenants
        self._region = resolve_region(region_name) or (sts_client.meta.region_name if sts_client is not None else None)
        self._sts_client = sts_client
        self._session = session
        self._endpoint_url = endpoint_url
        self._clock = clock
        self._config = config
        self._retry = retry or DEFAULT_STS_RETRY
        self._sleep = sleep
        self._setup_lock = threading.Lock()  # building the STS client and the base session, once
        self._lock = threading.Lock()  # the credentials LRU map; never held during I/O
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._tenant_clients = TenantClients(self, clock=clock, config=config)
        self._stats_lock = threading.Lock()
        self._stats = dict.fromkeys(
            ("sts_calls", "cache_hits", "refreshes", "failures", "fast_failures", "waits", "clients_built"), 0
        )

    def __repr__(self) -> str:
        return f"TokenVendingMachine(role_arn={self.role_arn!r}, region={self._region!r})"

    # -- credentials -----------------------------------------------------------

    def credentials(self, tenant_id: str) -> TenantCredentials:
        """Credentials acting as ``tenant_id`` (mapped with :func:`tenant_key`).

        Raises:
            AccessDeniedError: If STS refuses (trust policy, tags, ExternalId).
            ThrottledError: If STS kept throttling.
            ValidationError: If ``tenant_id`` is not a valid tenant id.
        """
        return self.credentials_for_key(tenant_key(tenant_id))

    def credentials_for_key(self, key: str) -> TenantCredentials:
        """Credentials acting as the tenant whose key (``tenant_key(id)``) is ``key``.

        Cached credentials are returned until ``refresh_ahead`` before expiry; then one
        caller refreshes them while the others keep getting the cached ones, and only
        once they are within a minute of expiry do callers wait for the refresh.

        Raises:
            AccessDeniedError: If STS refuses (trust policy, tags, ExternalId).
            ThrottledError: If STS kept throttling.
            ValidationError: If ``key`` is not a tenant key.
        """
        key = validate_tenant_key(key)
        entry = self._entry(key)
        now = self._clock()
        cached = entry.cached
        if cached is not None and now < cached.refresh_at:
            self._count("cache_hits")
            return cached.creds
        if cached is not None and cached.creds.expires_in(now) > MIN_REMAINING_SECONDS:
            # Due for a refresh but still good: whoever gets the lock refreshes, the rest go on.
            if not entry.lock.acquire(blocking=False):
                self._count("cache_hits")
                return cached.creds
            try:
                return self._renew(entry, key, entry.completed)
            finally:
                entry.lock.release()
        seen = entry.completed
        if not entry.lock.acquire(blocking=False):
            self._count("waits")
            entry.lock.acquire()
        try:
            return self._renew(entry, key, seen)
        finally:
            entry.lock.release()

    def invalidate(self, tenant_id: str) -> None:
        """Drop ``tenant_id``'s cached credentials, e.g. after an AccessDenied suggesting a changed policy.

        The next request for the tenant calls STS; clients built here notice and switch
        to the new credentials on their next request. The failure backoff is kept, so
        invalidating cannot be used to hammer a failing STS. Each invalidation costs an
        AssumeRole call: do not invalidate on every denied request.
        """
        self.invalidate_key(tenant_key(tenant_id))

    def invalidate_key(self, key: str) -> None:
        """:meth:`invalidate` for a tenant key."""
        with self._lock:
            entry = self._entries.get(validate_tenant_key(key))
        if entry is not None:
            entry.cached = None

    def assume_role_request(self, tenant_id: str) -> dict[str, Any]:
        """The AssumeRole parameters sent for ``tenant_id``: what CloudTrail and the trust policy see."""
        return self._params_for_key(tenant_key(tenant_id))

    def stats(self) -> dict[str, int]:
        """Counters for tests and the bench.

        ``sts_calls`` (AssumeRole attempts), ``cache_hits``, ``refreshes`` (fetches
        replacing cached credentials), ``failures`` (failed fetches), ``fast_failures``
        (errors replayed without calling STS), ``waits`` (callers that waited for
        another caller's fetch), ``clients_built``.
        """
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    def _entry(self, key: str) -> _Entry:
        """``key``'s entry, made most recently used; evicts the least recently used idle ones."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
            entry = self._entries[key] = _Entry()
            while len(self._entries) > self.max_cached_tenants:
                # An entry whose lock is held has an STS call in flight: evicting it would let a
                # second caller start another call for the same tenant.
                victim = next((k for k, e in self._entries.items() if k != key and not e.lock.locked()), None)
                if victim is None:
                    break
                del self._entries[victim]
            return entry

    def _renew(self, entry: _Entry, key: str, seen: int) -> TenantCredentials:
        """Fetch ``key``'s credentials unless another caller just did (``entry.lock`` is held)."""
        now = self._clock()
        cached = entry.cached
        if cached is not None and now < cached.refresh_at:  # refreshed while we waited
            self._count("cache_hits")
            return cached.creds
        usable = cached.creds if cached is not None and cached.creds.expires_in(now) > MIN_REMAINING_SECONDS else None
        if entry.error is not None and (entry.completed != seen or now < entry.retry_at):
            if usable is not None:
                self._count("cache_hits")
                return usable
            self._count("fast_failures")
            raise self._replay(entry.error, key, max(0.0, entry.retry_at - now))
        try:
            creds = self._assume(key)
        except VectorMemoryError as exc:
            entry.failures += 1
            first, cap = self.failure_backoff
            entry.retry_at = self._clock() + min(cap, first * 2.0 ** min(entry.failures - 1, 32))
            entry.error = exc
            entry.completed += 1
            self._count("failures")
            _log.warning(
                "tenant=<%s>, failures=<%d>, retry_in=<%.1f> | assuming the tenant role failed%s: %s",
                key,
                entry.failures,
                entry.retry_at - self._clock(),
                ", serving the cached credentials" if usable is not None else "",
                exc,
            )
            if usable is not None:
                return usable
            raise
        now = self._clock()
        lifetime = creds.expires_in(now)
        # Never plan the refresh before half the lifetime: STS may grant less than asked
        # (role chaining caps at an hour), and refreshing on every call would stampede it.
        entry.cached = _Cached(creds, creds.expiration - min(self.refresh_ahead, lifetime / 2))
        entry.failures = 0
        entry.error = None
        entry.retry_at = -math.inf
        entry.completed += 1
        if cached is not None:
            self._count("refreshes")
        _log.debug("tenant=<%s>, expires_in=<%.0f> | assumed the tenant role", key, lifetime)
        return creds

    def _replay(self, error: VectorMemoryError, key: str, wait: float) -> VectorMemoryError:
        """A fresh copy of the last failure (raising one instance from many threads tangles tracebacks)."""
        replay = copy.copy(error)
        replay.args = (
            f"{error} (not retried: the last AssumeRole for tenant {key!r} failed; STS is asked again in {wait:.1f} s)",
            *error.args[1:],
        )
        replay.__cause__ = error
        return replay

    def _current_access_key(self, key: str) -> str | None:
        """The access key this cache holds for ``key`` now (no STS call)."""
        with self._lock:
            entry = self._entries.get(key)
        cached = entry.cached if entry is not None else None
        return cached.creds.access_key_id if cached is not None else None

    def _assume(self, key: str) -> TenantCredentials:
        """One AssumeRole (throttling retried briefly); every failure mapped to a project error."""
        sts = self._sts()
        params = self._params_for_key(key)

        def once() -> dict[str, Any]:
            self._count("sts_calls")
            return assume_role_once(sts, params, key)

        response = call_with_retries(once, policy=self._retry, operation="sts:AssumeRole", sleep=self._sleep)
        creds = credentials_from_response(response, key)
        if creds.expires_in(self._clock()) <= MIN_REMAINING_SECONDS:
            raise VectorMemoryError(
                f"STS AssumeRole of {self.role_arn} for tenant {key!r} returned credentials expiring in "
                f"{creds.expires_in(self._clock()):.0f} s: check the system clock"
            )
        return creds

    def _params_for_key(self, key: str) -> dict[str, Any]:
        return assume_role_params(self.role_arn, self.session_name_prefix, key, self.duration_seconds, self.external_id)

    # -- AWS plumbing ----------------------------------------------------------

    @property
    def region_name(self) -> str:
        """The region of STS and (unless told otherwise) of the clients built here."""
        if self._region is None:
            region = self._base_session().region_name
            if not region:
                raise ValidationError(
                    "no AWS region for the Token Vending Machine: set AWS_REGION, pass region_name=, "
                    "or configure one in the AWS profile",
                    field="region",
                )
            self._region = region
        return self._region

    @property
    def sts_client(self) -> Any:
        """The STS client acting as the application (built on first use)."""
        return self._sts()

    def _base_session(self) -> Any:
        """The application's boto3 session (a new one, preferring regional STS, if none was given)."""
        with self._setup_lock:
            if self._session is None:
                self._session = application_session()
            return self._session

    def _sts(self) -> Any:
        client = self._sts_client
        if client is None:
            region = self.region_name
            session = self._base_session()
            with self._setup_lock:
                if self._sts_client is None:
                    self._sts_client = build_sts_client(session, region, self._endpoint_url, self._config)
                client = self._sts_client
        return client

    # -- clients (built and cached by ._tvm_clients) ---------------------------

    def boto3_session(self, tenant_id: str) -> Any:
        """A boto3 session acting as ``tenant_id``; its credentials refresh through this TVM.

        For services this library has no face for. Each call builds a new session
        (cheap: the service models are shared); keep it rather than asking per request.
        """
        return self.boto3_session_for_key(tenant_key(tenant_id))

    def boto3_session_for_key(self, key: str) -> Any:
        """:meth:`boto3_session` for a tenant key."""
        return self._tenant_clients.session(validate_tenant_key(key))

    def client(
        self,
        tenant_id: str,
        service: str = "s3vectors",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        config: Any = None,
    ) -> Any:
        """A boto3 client for ``service`` acting as ``tenant_id``; see :meth:`client_for_key`."""
        return self.client_for_key(
            tenant_key(tenant_id), service, endpoint_url=endpoint_url, region_name=region_name, config=config
        )

    def client_for_key(
        self,
        key: str,
        service: str = "s3vectors",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        config: Any = None,
    ) -> Any:
        """A boto3 client for ``service`` acting as the tenant whose key is ``key``.

        Built once per (tenant, service, region, endpoint, config) and cached; the
        client refreshes its credentials through this TVM, so it stays valid across
        refreshes. ``s3vectors`` clients get the backend's defaults (adaptive retries,
        bounded timeouts), every client our user agent; ``config`` is merged over them.

        Raises:
            AccessDeniedError: If STS refuses the tenant's first credentials.
            ValidationError: If ``key`` is not a tenant key.
        """
        return self._tenant_clients.client(
            validate_tenant_key(key), service, endpoint_url=endpoint_url, region_name=region_name, config=config
        )
