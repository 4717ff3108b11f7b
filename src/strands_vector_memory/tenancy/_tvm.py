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

boto3 is the optional ``aws`` extra: it is imported only when STS or a client is needed.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import Any, Final

from .._aws import RetryPolicy, call_with_retries, class_for_status, map_botocore_error, resolve_region, with_user_agent
from ..backends.s3vectors._client import default_config
from ..core import AccessDeniedError, BackendUnavailableError, ThrottledError, ValidationError, VectorMemoryError
from ._naming import TAG_KEY, tenant_key, validate_tenant_key

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

#: STS's bounds for DurationSeconds (the role's MaxSessionDuration may be lower).
MIN_DURATION_SECONDS: Final = 900
MAX_DURATION_SECONDS: Final = 43200

#: botocore refreshes ``RefreshableCredentials`` this long before expiry ("advisory"
#: window; it blocks from 10 minutes). The default ``refresh_ahead`` matches it.
BOTOCORE_ADVISORY_REFRESH_SECONDS: Final = 15 * 60

#: Credentials closer than this to their expiry are never handed out: callers wait for
#: fresh ones instead, so a request signed now does not reach AWS after expiry.
MIN_REMAINING_SECONDS: Final = 60.0

#: The longest failure backoff allowed: a broken STS call must never lock a tenant out
#: for minutes, which is the defect this module replaces.
MAX_FAILURE_BACKOFF_SECONDS: Final = 300.0

#: STS throttling is retried briefly inside one fetch; longer trouble becomes the failure backoff.
DEFAULT_STS_RETRY: Final = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, deadline=15.0)

_SESSION_NAME_MAX: Final = 64
_SESSION_HASH_HEX: Final = 16
_NOT_SESSION_CHARS: Final = re.compile(r"[^\w+=,.@-]", re.ASCII)
_PREFIX: Final = re.compile(r"[\w+=,.@-]{1,32}", re.ASCII)
_EXTERNAL_ID: Final = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_ROLE_ARN: Final = re.compile(r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/(?:[!-~]+/)?[\w+=,.@-]{1,64}", re.ASCII)
_CREDENTIAL_METHOD: Final = "strands-vector-memory-tvm"

#: Every error code STS answers AssumeRole with (those its model declares, and the
#: generic ones every Query API may send), and what it becomes.
STS_ERROR_CLASSES: Final[dict[str, type[VectorMemoryError]]] = {
    "AccessDenied": AccessDeniedError,
    "AccessDeniedException": AccessDeniedError,
    "InvalidClientTokenId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "ExpiredTokenException": AccessDeniedError,
    "RegionDisabledException": AccessDeniedError,
    "MalformedPolicyDocument": ValidationError,
    "PackedPolicyTooLarge": ValidationError,
    "ValidationError": ValidationError,
    "InvalidParameterValue": ValidationError,
    "Throttling": ThrottledError,  # STS answers 400, not 429, so the status alone would mislead
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "ServiceUnavailable": BackendUnavailableError,
    "InternalFailure": BackendUnavailableError,
}

_STS_HINTS: Final = {
    "AccessDenied": " (check the role's trust policy: it must allow this application's principal "
    "sts:AssumeRole and sts:TagSession with a TenantID session tag, and name the ExternalId if it requires one)",
    "InvalidClientTokenId": " (the application's own AWS credentials are not valid)",
    "SignatureDoesNotMatch": " (the application's own AWS secret key is wrong)",
    "ExpiredToken": " (the application's own AWS credentials have expired: refresh them)",
    "ExpiredTokenException": " (the application's own AWS credentials have expired: refresh them)",
    "RegionDisabledException": " (activate STS for this region in the IAM console's account settings)",
    "PackedPolicyTooLarge": " (the session tags are too large for STS)",
    "Throttling": " (STS rate limit; the cache makes one call per tenant per credential lifetime)",
}


@dataclass(frozen=True)
class TenantCredentials:
    """Temporary credentials acting as one tenant; the repr never shows the secret or token.

    Attributes:
        tenant_key: The tenant's key (its ``TenantID`` session tag value).
        access_key_id: The session's access key id (``ASIA...``).
        secret_access_key: The session's secret key.
        session_token: The session token every request must carry.
        expiration: When the credentials expire, epoch seconds.
    """

    tenant_key: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: float

    def expires_in(self, now: float) -> float:
        """Seconds from ``now`` (epoch seconds) until expiry; negative once expired."""
        return self.expiration - now


def role_session_name(prefix: str, key: str) -> str:
    r"""The RoleSessionName for tenant ``key``: ``<prefix>-<key>``, valid for STS and distinct per key.

    STS allows 2-64 characters of ``[\w+=,.@-]``. A longer name keeps its first
    characters (readable in CloudTrail) and ends in a hash of the whole name, so two
    tenants never share a session name.
    """
    name = _NOT_SESSION_CHARS.sub("-", f"{prefix}-{key}")
    if len(name) <= _SESSION_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_SESSION_HASH_HEX]
    return f"{name[: _SESSION_NAME_MAX - _SESSION_HASH_HEX - 1]}-{digest}"


def map_sts_error(exc: Any, role_arn: str, key: str) -> VectorMemoryError:
    """The project exception for an STS ``ClientError`` on AssumeRole; callers ``raise ... from exc``.

    The message names the role and the tenant, and says what to fix. An unknown code
    still maps by HTTP status, so nothing escapes as a raw ``ClientError``.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    cls = STS_ERROR_CLASSES.get(code) or class_for_status(status)
    hint = _STS_HINTS.get(code, "")
    text = f"STS AssumeRole of {role_arn} for tenant {key!r} failed with {code or 'an unknown error'} (HTTP {status})"
    if cls is ValidationError:
        duration = "DurationSeconds" in message
        if duration:
            hint = " (duration_seconds may not exceed the role's MaxSessionDuration, nor 3600 s when chaining roles)"
        return ValidationError(f"{text}: {message}{hint}", field="duration_seconds" if duration else None)
    return cls(f"{text}: {message}{hint}")


def _require_boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("the Token Vending Machine needs boto3: pip install 'strands-vector-memory[aws]'") from exc
    return boto3


def _config_fingerprint(config: Any) -> str | None:
    """A value (not identity) key for a botocore ``Config``, so equal configs share a client."""
    if config is None:
        return None
    from botocore.config import Config

    return repr([(name, getattr(config, name, None)) for name in Config.OPTION_DEFAULTS])


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


class _ClientSlot:
    """One tenant's clients; ``lock`` makes each client be built once."""

    __slots__ = ("clients", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clients: dict[tuple[str, str, str | None, str | None], Any] = {}


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
        if not isinstance(role_arn, str) or not _ROLE_ARN.fullmatch(role_arn):
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
        if not isinstance(session_name_prefix, str) or not _PREFIX.fullmatch(session_name_prefix):
            raise ValidationError(
                f"session_name_prefix must be 1-32 characters of letters, digits and _+=,.@-, "
                f"got {session_name_prefix!r}",
                field="session_name_prefix",
            )
        if external_id is not None and (not isinstance(external_id, str) or not _EXTERNAL_ID.fullmatch(external_id)):
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
        self._lock = threading.Lock()  # the two LRU maps; never held during I/O
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._clients: OrderedDict[str, _ClientSlot] = OrderedDict()
        self._loader: Any = None
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

    def _assume(self, key: str) -> TenantCredentials:
        """One AssumeRole (throttling retried briefly); every failure mapped to a project error."""
        from botocore.exceptions import BotoCoreError, ClientError

        sts = self._sts()
        params = self._params_for_key(key)
        what = f"STS AssumeRole of {self.role_arn} for tenant {key!r}"

        def once() -> dict[str, Any]:
            self._count("sts_calls")
            try:
                response: dict[str, Any] = sts.assume_role(**params)
                return response
            except ClientError as exc:
                raise map_sts_error(exc, self.role_arn, key) from exc
            except BotoCoreError as exc:
                raise (map_botocore_error(exc, what) or VectorMemoryError(f"{what}: {exc}")) from exc

        response = call_with_retries(once, policy=self._retry, operation="sts:AssumeRole", sleep=self._sleep)
        raw = response["Credentials"]
        expiration = raw["Expiration"]
        if isinstance(expiration, datetime):
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=timezone.utc)
            expires = expiration.timestamp()
        else:
            expires = float(expiration)
        creds = TenantCredentials(
            tenant_key=key,
            access_key_id=raw["AccessKeyId"],
            secret_access_key=raw["SecretAccessKey"],
            session_token=raw["SessionToken"],
            expiration=expires,
        )
        if creds.expires_in(self._clock()) <= MIN_REMAINING_SECONDS:
            raise VectorMemoryError(
                f"{what} returned credentials expiring in {creds.expires_in(self._clock()):.0f} s: "
                "check the system clock"
            )
        return creds

    def _params_for_key(self, key: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "RoleArn": self.role_arn,
            "RoleSessionName": role_session_name(self.session_name_prefix, key),
            "DurationSeconds": self.duration_seconds,
            "Tags": [{"Key": TAG_KEY, "Value": key}],
        }
        if self.external_id is not None:
            params["ExternalId"] = self.external_id
        return params

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
                boto3 = _require_boto3()
                import botocore.session
                from botocore.exceptions import BotoCoreError

                core = botocore.session.Session()
                # botocore < 1.40 defaults to the global endpoint (us-east-1): prefer the regional
                # one unless the environment or the profile chose.
                if "AWS_STS_REGIONAL_ENDPOINTS" not in os.environ:
                    try:
                        chosen = "sts_regional_endpoints" in core.get_scoped_config()
                    except BotoCoreError:  # a missing profile fails later, with botocore's own message
                        chosen = True
                    if not chosen:
                        core.set_config_variable("sts_regional_endpoints", "regional")
                self._session = boto3.session.Session(botocore_session=core)
            return self._session

    def _sts(self) -> Any:
        client = self._sts_client
        if client is None:
            region = self.region_name
            session = self._base_session()
            with self._setup_lock:
                if self._sts_client is None:
                    from botocore.config import Config

                    base = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
                    self._sts_client = session.client(
                        "sts",
                        region_name=region,
                        endpoint_url=self._endpoint_url,
                        config=with_user_agent(base if self._config is None else base.merge(self._config)),
                    )
                client = self._sts_client
        return client

    def _utcnow(self) -> datetime:
        """This TVM's clock as botocore's ``time_fetcher``, so both agree on when to refresh."""
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)

    def _current_access_key(self, key: str) -> str | None:
        """The access key this cache holds for ``key`` now (no STS call)."""
        with self._lock:
            entry = self._entries.get(key)
        cached = entry.cached if entry is not None else None
        return cached.creds.access_key_id if cached is not None else None

    def _refresh_metadata(self, key: str) -> dict[str, str]:
        """``refresh_using`` for botocore: this cache's credentials in botocore's shape."""
        creds = self.credentials_for_key(key)
        return {
            "access_key": creds.access_key_id,
            "secret_key": creds.secret_access_key,
            "token": creds.session_token,
            "expiry_time": datetime.fromtimestamp(creds.expiration, tz=timezone.utc).isoformat(),
        }

    # -- clients ---------------------------------------------------------------

    def boto3_session(self, tenant_id: str) -> Any:
        """A boto3 session acting as ``tenant_id``; its credentials refresh through this TVM.

        For services this library has no face for. Each call builds a new session
        (cheap: the service models are shared); keep it rather than asking per request.
        """
        return self.boto3_session_for_key(tenant_key(tenant_id))

    def boto3_session_for_key(self, key: str) -> Any:
        """:meth:`boto3_session` for a tenant key."""
        key = validate_tenant_key(key)
        boto3 = _require_boto3()
        import botocore.session
        from botocore.credentials import CredentialResolver

        profile = self._session.profile_name if self._session is not None else None
        core = botocore.session.Session(profile=None if profile in (None, "default") else profile)
        # Service models take tens of milliseconds to load; every tenant session shares one loader.
        loader = self._loader
        if loader is None:
            self._loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", loader)
        core.register_component("credential_provider", CredentialResolver([_provider_class()(self, key)]))
        return boto3.session.Session(botocore_session=core, region_name=self.region_name)

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
        key = validate_tenant_key(key)
        region = region_name or self.region_name
        ident = (service, region, endpoint_url, _config_fingerprint(config))
        slot = self._client_slot(key)
        client = slot.clients.get(ident)
        if client is not None:
            return client
        with slot.lock:
            client = slot.clients.get(ident)
            if client is None:
                client = self._build_client(key, service, region, endpoint_url, config)
                slot.clients[ident] = client
                self._count("clients_built")
            return client

    def _client_slot(self, key: str) -> _ClientSlot:
        with self._lock:
            slot = self._clients.get(key)
            if slot is not None:
                self._clients.move_to_end(key)
                return slot
            slot = self._clients[key] = _ClientSlot()
            while len(self._clients) > self.max_cached_tenants:
                self._clients.popitem(last=False)  # its clients stay usable by whoever holds them
            return slot

    def _build_client(self, key: str, service: str, region: str, endpoint_url: str | None, config: Any) -> Any:
        from botocore.config import Config

        merged = config if self._config is None else self._config if config is None else self._config.merge(config)
        if service == "s3vectors":
            final = default_config(merged)
        else:
            final = with_user_agent(merged if merged is not None else Config())
        session = self.boto3_session_for_key(key)
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=final)


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

        def __init__(self, tvm: TokenVendingMachine, key: str, creds: TenantCredentials) -> None:
            self._svm_tvm = tvm
            self._svm_key = key
            self._svm_held = creds.access_key_id
            super().__init__(
                creds.access_key_id,
                creds.secret_access_key,
                creds.session_token,
                datetime.fromtimestamp(creds.expiration, tz=timezone.utc),
                self._svm_refresh,
                _CREDENTIAL_METHOD,
                time_fetcher=tvm._utcnow,
            )

        def _svm_refresh(self) -> dict[str, str]:
            metadata = self._svm_tvm._refresh_metadata(self._svm_key)
            self._svm_held = metadata["access_key"]
            return metadata

        def refresh_needed(self, refresh_in: float | None = None) -> bool:
            if super().refresh_needed(refresh_in):
                return True
            # refresh_in=0 is botocore's "still expired after refreshing?" check: ours are not.
            return refresh_in != 0 and self._svm_tvm._current_access_key(self._svm_key) != self._svm_held

    class TenantCredentialProvider(CredentialProvider):  # type: ignore[misc]
        """The only credential provider of a tenant session: the TVM, never the ambient chain."""

        METHOD = _CREDENTIAL_METHOD
        CANONICAL_NAME = "custom-strands-vector-memory-tvm"

        def __init__(self, tvm: TokenVendingMachine, key: str) -> None:
            super().__init__()
            self._tvm = tvm
            self._key = key

        def load(self) -> Any:
            return TenantRefreshableCredentials(self._tvm, self._key, self._tvm.credentials_for_key(self._key))

    return TenantCredentialProvider
