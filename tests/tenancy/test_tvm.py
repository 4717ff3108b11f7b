"""The Token Vending Machine: one STS call per tenant, bounded failure backoff, clients that refresh.

STS is a real botocore client under ``Stubber``: each test queues exactly the
AssumeRole answers it expects (with the parameters they must carry), so an extra call
finds no answer and a missing one is left pending, and a ``before-parameter-build``
handler counts every attempt. Time is the fake ``clock`` fixture; threads meet through
barriers and gates (an ``after-call`` handler that holds one AssumeRole until the test
releases it), never through sleeps.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from strands_vector_memory._aws import RetryPolicy
from strands_vector_memory.core import (
    AccessDeniedError,
    BackendUnavailableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from strands_vector_memory.tenancy._naming import tenant_key
from strands_vector_memory.tenancy._tvm import (
    STS_ERROR_CLASSES,
    TenantCredentials,
    TokenVendingMachine,
    role_session_name,
)

ROLE = "arn:aws:iam::123456789012:role/tenant-memory"
REGION = "us-east-1"
DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/app/i-0abc is not authorized to perform: "
    f"sts:TagSession on resource: {ROLE}"
)
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


# -- a counting, gated STS stub -------------------------------------------------


@dataclass
class Gate:
    """Holds one AssumeRole (after the stub answered it) until the test releases it."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False


class Sts:
    """A real STS client under ``Stubber``; ``calls`` holds the parameters of every AssumeRole sent."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.client = boto3.client(
            "sts", region_name=REGION, aws_access_key_id="AKIAAPPLICATION", aws_secret_access_key="app-secret"
        )
        self.stub = Stubber(self.client)
        self.calls: list[dict[str, Any]] = []
        self.gates: dict[int, Gate] = {}
        self._answered = 0
        self._issued = 0
        self._lock = threading.Lock()
        self.client.meta.events.register("before-parameter-build.sts.AssumeRole", self._on_call)
        self.client.meta.events.register("after-call.sts.AssumeRole", self._on_answer)

    def _on_call(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls.append(dict(params))

    def _on_answer(self, **_: Any) -> None:
        with self._lock:
            self._answered += 1
            gate = self.gates.get(self._answered)
        if gate is not None:
            gate.entered.set()
            gate.timed_out = not gate.release.wait(10)

    def gate(self, call: int) -> Gate:
        """Hold the ``call``-th AssumeRole (1-based) once answered."""
        gate = self.gates[call] = Gate()
        return gate

    @staticmethod
    def expected(
        key: str, *, prefix: str = "strands-memory", duration: int = 3600, external_id: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "RoleArn": ROLE,
            "RoleSessionName": role_session_name(prefix, key),
            "DurationSeconds": duration,
            "Tags": [{"Key": "TenantID", "Value": key}],
        }
        if external_id is not None:
            params["ExternalId"] = external_id
        return params

    def grant(self, key: str, *, lifetime: float = 3600.0, **expect: Any) -> str:
        """Queue a successful AssumeRole for ``key``; returns the access key id it hands out."""
        self._issued += 1
        akid = f"ASIATENANT{self._issued:010d}"
        expiration = dt.datetime.fromtimestamp(self.clock.now + lifetime, tz=dt.timezone.utc)
        response = {
            "Credentials": {
                "AccessKeyId": akid,
                "SecretAccessKey": f"secret-{self._issued}-" + "s" * 30,
                "SessionToken": f"token-{self._issued}",
                "Expiration": expiration,
            },
            "AssumedRoleUser": {
                "AssumedRoleId": f"AROAEXAMPLE:{key}",
                "Arn": f"arn:aws:sts::123456789012:assumed-role/tenant-memory/{key}",
            },
            "PackedPolicySize": 1,
        }
        self.stub.add_response("assume_role", response, self.expected(key, **expect))
        return akid

    def fail(
        self, key: str, code: str = "AccessDenied", status: int = 403, message: str = DENIED, **expect: Any
    ) -> None:
        """Queue a failing AssumeRole for ``key``."""
        self.stub.add_client_error(
            "assume_role",
            service_error_code=code,
            service_message=message,
            http_status_code=status,
            expected_params=self.expected(key, **expect),
        )


@pytest.fixture
def sts(clock: Any) -> Iterator[Sts]:
    stub = Sts(clock)
    stub.stub.activate()
    yield stub
    for gate in stub.gates.values():
        gate.release.set()
    stub.stub.deactivate()
    stub.stub.assert_no_pending_responses()
    assert not any(gate.timed_out for gate in stub.gates.values()), "a gated AssumeRole was never released"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_tvm(sts: Sts, clock: Any, sleeps: list[float]) -> Callable[..., TokenVendingMachine]:
    def make(**kwargs: Any) -> TokenVendingMachine:
        return TokenVendingMachine(ROLE, sts_client=sts.client, clock=clock, sleep=sleeps.append, **kwargs)

    return make


@pytest.fixture
def tvm(make_tvm: Callable[..., TokenVendingMachine]) -> TokenVendingMachine:
    return make_tvm()


class Worker(threading.Thread):
    """A thread that keeps its target's result or exception."""

    def __init__(self, target: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._target_fn = target
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._target_fn()
        except BaseException as exc:
            self.error = exc

    def outcome(self) -> Any:
        self.join(10)
        assert not self.is_alive(), "the worker is stuck"
        if self.error is not None:
            raise self.error
        return self.result


def start(count: int, target: Callable[[], Any]) -> list[Worker]:
    workers = [Worker(target) for _ in range(count)]
    for worker in workers:
        worker.start()
    return workers


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll until ``condition`` holds: a rendezvous with other threads, not a timing assertion."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.001)


# -- credentials ------------------------------------------------------------------


def test_first_credentials_come_from_one_tagged_assume_role(sts: Sts, tvm: TokenVendingMachine) -> None:
    sts.stub.add_response(  # spelled out once, independent of role_session_name()
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAACME000000000001",
                "SecretAccessKey": "the-secret-key",
                "SessionToken": "the-session-token",
                "Expiration": dt.datetime.fromtimestamp(sts.clock.now + 3600, tz=dt.timezone.utc),
            }
        },
        {
            "RoleArn": ROLE,
            "RoleSessionName": "strands-memory-acme",
            "DurationSeconds": 3600,
            "Tags": [{"Key": "TenantID", "Value": "acme"}],
        },
    )
    creds = tvm.credentials("acme")
    assert creds == TenantCredentials(
        "acme", "ASIAACME000000000001", "the-secret-key", "the-session-token", sts.clock.now + 3600
    )
    assert creds.expires_in(sts.clock.now) == 3600
    assert tvm.credentials("acme") is creds
    assert len(sts.calls) == 1
    assert tvm.stats()["sts_calls"] == 1 and tvm.stats()["cache_hits"] == 1


def test_the_repr_never_shows_the_secret_or_the_token(sts: Sts, tvm: TokenVendingMachine) -> None:
    sts.grant("acme")
    creds = tvm.credentials("acme")
    for text in (repr(creds), str(creds), repr(tvm)):
        assert creds.secret_access_key not in text and creds.session_token not in text
    assert creds.access_key_id in repr(creds)


def test_tenant_ids_are_mapped_to_keys_and_keys_are_validated(sts: Sts, tvm: TokenVendingMachine) -> None:
    key = tenant_key("Acme Corp")
    sts.grant(key)
    assert tvm.credentials("Acme Corp").tenant_key == key
    assert tvm.credentials_for_key(key) is tvm.credentials("Acme Corp")
    with pytest.raises(ValidationError):
        tvm.credentials_for_key("Acme Corp")
    with pytest.raises(ValidationError):
        tvm.credentials("")
    assert len(sts.calls) == 1


def test_external_id_and_duration_are_sent(sts: Sts, make_tvm: Callable[..., TokenVendingMachine]) -> None:
    tvm = make_tvm(external_id="org-7f3a", duration_seconds=7200, session_name_prefix="app")
    sts.grant("acme", lifetime=7200, external_id="org-7f3a", duration=7200, prefix="app")
    tvm.credentials("acme")
    assert sts.calls[0]["ExternalId"] == "org-7f3a" and sts.calls[0]["RoleSessionName"] == "app-acme"
    assert tvm.assume_role_request("acme") == sts.calls[0]


def test_a_hundred_concurrent_first_requests_make_one_sts_call(sts: Sts, tvm: TokenVendingMachine) -> None:
    akid = sts.grant("acme")
    gate = sts.gate(1)
    barrier = threading.Barrier(100)

    def ask() -> TenantCredentials:
        barrier.wait()
        return tvm.credentials("acme")

    workers = start(100, ask)
    assert gate.entered.wait(10)
    wait_for(lambda: tvm.stats()["waits"] == 99)  # everyone else is queued behind the one call
    gate.release.set()
    results = [worker.outcome() for worker in workers]
    assert len(sts.calls) == 1
    assert all(result is results[0] for result in results)
    assert results[0].access_key_id == akid


def test_tenants_never_wait_for_each_others_sts_call(sts: Sts, tvm: TokenVendingMachine) -> None:
    alpha_key = sts.grant("alpha")
    beta_key = sts.grant("beta")
    gate = sts.gate(1)
    alpha = Worker(lambda: tvm.credentials("alpha"))
    alpha.start()
    assert gate.entered.wait(10)
    # alpha's AssumeRole is still in flight: with a global lock this would hang.
    assert tvm.credentials("beta").access_key_id == beta_key
    assert alpha.is_alive()
    gate.release.set()
    assert alpha.outcome().access_key_id == alpha_key
    assert [call["Tags"][0]["Value"] for call in sts.calls] == ["alpha", "beta"]


def test_one_caller_refreshes_ahead_while_the_others_keep_the_cached_credentials(
    sts: Sts, tvm: TokenVendingMachine, clock: Any
) -> None:
    old = sts.grant("acme")
    assert tvm.credentials("acme").access_key_id == old
    clock.now += 3600 - 900 + 1  # inside refresh_ahead, far from expiry
    new = sts.grant("acme")
    gate = sts.gate(2)
    refresher = Worker(lambda: tvm.credentials("acme"))
    refresher.start()
    assert gate.entered.wait(10)
    others = start(20, lambda: tvm.credentials("acme"))
    assert {worker.outcome().access_key_id for worker in others} == {old}  # none waited for the refresh
    assert tvm.credentials("acme").access_key_id == old
    gate.release.set()
    assert refresher.outcome().access_key_id == new
    assert tvm.credentials("acme").access_key_id == new
    assert len(sts.calls) == 2
    assert tvm.stats()["refreshes"] == 1 and tvm.stats()["waits"] == 0


def test_callers_wait_for_the_refresh_once_credentials_are_about_to_expire(
    sts: Sts, tvm: TokenVendingMachine, clock: Any
) -> None:
    sts.grant("acme")
    tvm.credentials("acme")
    clock.now += 3600 - 30  # 30 s left: too little to sign with
    new = sts.grant("acme")
    gate = sts.gate(2)
    refresher = Worker(lambda: tvm.credentials("acme"))
    refresher.start()
    assert gate.entered.wait(10)
    waiter = Worker(lambda: tvm.credentials("acme"))
    waiter.start()
    wait_for(lambda: tvm.stats()["waits"] == 1)
    gate.release.set()
    assert refresher.outcome().access_key_id == new
    assert waiter.outcome().access_key_id == new
    assert len(sts.calls) == 2


def test_a_short_lived_grant_is_refreshed_at_half_its_life_not_on_every_call(
    sts: Sts, tvm: TokenVendingMachine, clock: Any
) -> None:
    """STS may grant less than asked (role chaining caps at an hour); that must not stampede it."""
    start_time = clock.now
    sts.grant("acme", lifetime=1000)
    tvm.credentials("acme")
    clock.now = start_time + 499
    tvm.credentials("acme")
    assert len(sts.calls) == 1
    clock.now = start_time + 500
    sts.grant("acme")
    tvm.credentials("acme")
    assert len(sts.calls) == 2


# -- failures -------------------------------------------------------------------------


def test_access_denied_names_the_role_and_tenant_and_what_to_fix(sts: Sts, tvm: TokenVendingMachine) -> None:
    sts.fail("acme")
    with pytest.raises(AccessDeniedError) as caught:
        tvm.credentials("acme")
    message = str(caught.value)
    assert ROLE in message and "'acme'" in message
    assert "trust policy" in message and "sts:TagSession" in message and "TenantID" in message
    assert caught.value.__cause__ is not None  # raised from the ClientError


def test_a_failure_is_replayed_briefly_with_a_doubling_capped_backoff(
    sts: Sts, tvm: TokenVendingMachine, clock: Any
) -> None:
    sts.fail("acme")
    with pytest.raises(AccessDeniedError):
        tvm.credentials("acme")
    failed_at = clock.now
    with pytest.raises(AccessDeniedError, match="not retried") as replayed:
        tvm.credentials("acme")
    assert isinstance(replayed.value.__cause__, AccessDeniedError)
    assert len(sts.calls) == 1
    for window in (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0):  # never 12 minutes
        clock.now = failed_at + window - 0.01
        with pytest.raises(AccessDeniedError, match="not retried"):
            tvm.credentials("acme")
        calls = len(sts.calls)
        clock.now = failed_at + window
        sts.fail("acme")
        with pytest.raises(AccessDeniedError) as again:
            tvm.credentials("acme")
        assert "not retried" not in str(again.value)
        assert len(sts.calls) == calls + 1
        failed_at = clock.now
    stats = tvm.stats()
    assert stats["failures"] == 8 and stats["fast_failures"] == 8
    # Success resets the backoff: the next failure is replayed for 1 s again.
    clock.now = failed_at + 30.0
    sts.grant("acme")
    tvm.credentials("acme")
    tvm.invalidate("acme")
    sts.fail("acme")
    with pytest.raises(AccessDeniedError):
        tvm.credentials("acme")
    clock.now += 1.0
    sts.fail("acme")
    with pytest.raises(AccessDeniedError):
        tvm.credentials("acme")
    assert len(sts.calls) == 11


def test_callers_waiting_on_a_failing_call_share_its_error(
    sts: Sts, make_tvm: Callable[..., TokenVendingMachine]
) -> None:
    tvm = make_tvm(failure_backoff=(0.0, 0.0))  # even without a backoff window: no stampede
    sts.fail("acme")
    gate = sts.gate(1)
    leader = Worker(lambda: tvm.credentials("acme"))
    leader.start()
    assert gate.entered.wait(10)
    waiters = start(10, lambda: tvm.credentials("acme"))
    wait_for(lambda: tvm.stats()["waits"] == 10)
    gate.release.set()
    for worker in [leader, *waiters]:
        with pytest.raises(AccessDeniedError):
            worker.outcome()
    assert len(sts.calls) == 1
    assert tvm.stats()["fast_failures"] == 10


def test_a_failed_refresh_keeps_serving_the_valid_cached_credentials(
    sts: Sts, tvm: TokenVendingMachine, clock: Any
) -> None:
    old = sts.grant("acme")
    tvm.credentials("acme")
    clock.now += 3600 - 600
    sts.fail("acme", code="ServiceUnavailable", status=503, message="busy")
    sts.fail("acme", code="ServiceUnavailable", status=503, message="busy")
    sts.fail("acme", code="ServiceUnavailable", status=503, message="busy")
    assert tvm.credentials("acme").access_key_id == old  # three attempts, then the cached ones
    assert tvm.credentials("acme").access_key_id == old  # inside the backoff: no call
    assert len(sts.calls) == 4
    clock.now += 1.0
    new = sts.grant("acme")
    assert tvm.credentials("acme").access_key_id == new
    assert tvm.stats()["failures"] == 1


def test_expired_credentials_are_never_served_when_sts_fails(sts: Sts, tvm: TokenVendingMachine, clock: Any) -> None:
    sts.grant("acme")
    expiry = tvm.credentials("acme").expiration
    clock.now = expiry - 30  # not expired yet, but too close to sign with
    sts.fail("acme")
    with pytest.raises(AccessDeniedError):
        tvm.credentials("acme")
    clock.now += 0.5  # inside the backoff: the error, not the cached credentials
    with pytest.raises(AccessDeniedError, match="not retried"):
        tvm.credentials("acme")
    clock.now = expiry + 5
    sts.fail("acme")
    with pytest.raises(AccessDeniedError):
        tvm.credentials("acme")
    clock.now += 0.5
    with pytest.raises(AccessDeniedError, match="not retried"):
        tvm.credentials("acme")
    assert len(sts.calls) == 3


def test_throttling_is_retried_inside_the_call(
    sts: Sts, make_tvm: Callable[..., TokenVendingMachine], sleeps: list[float]
) -> None:
    tvm = make_tvm(retry=RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, deadline=60.0))
    sts.fail("acme", code="Throttling", status=400, message="Rate exceeded")
    sts.fail("acme", code="Throttling", status=400, message="Rate exceeded")
    akid = sts.grant("acme")
    assert tvm.credentials("acme").access_key_id == akid
    assert len(sts.calls) == 3 and len(sleeps) == 2
    assert tvm.stats()["failures"] == 0


def test_throttling_that_persists_becomes_a_throttled_error(
    sts: Sts, make_tvm: Callable[..., TokenVendingMachine]
) -> None:
    tvm = make_tvm(retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, deadline=60.0))
    sts.fail("acme", code="Throttling", status=400, message="Rate exceeded")
    sts.fail("acme", code="Throttling", status=400, message="Rate exceeded")
    with pytest.raises(ThrottledError, match="gave up after 2 attempts"):
        tvm.credentials("acme")
    with pytest.raises(ThrottledError, match="not retried"):
        tvm.credentials("acme")
    assert len(sts.calls) == 2


@pytest.mark.parametrize(
    ("code", "status", "message", "error", "hint"),
    [
        ("AccessDenied", 403, DENIED, AccessDeniedError, "trust policy"),
        ("ExpiredTokenException", 400, "The security token included in the request is expired", AccessDeniedError,
         "own AWS credentials have expired"),
        ("InvalidClientTokenId", 403, "The security token is invalid", AccessDeniedError, "not valid"),
        ("RegionDisabledException", 403, "STS is not activated", AccessDeniedError, "activate STS"),
        ("MalformedPolicyDocument", 400, "bad policy", ValidationError, "bad policy"),
        ("ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
         ValidationError, "MaxSessionDuration"),
        ("InternalFailure", 500, "oops", BackendUnavailableError, "oops"),
        ("SomethingNew", 503, "new", BackendUnavailableError, "SomethingNew"),
        ("SomethingNew", 403, "new", AccessDeniedError, "SomethingNew"),
    ],
)  # fmt: skip
def test_sts_errors_become_project_errors(
    sts: Sts,
    make_tvm: Callable[..., TokenVendingMachine],
    code: str,
    status: int,
    message: str,
    error: type[VectorMemoryError],
    hint: str,
) -> None:
    tvm = make_tvm(retry=RetryPolicy(max_attempts=1))
    sts.fail("acme", code=code, status=status, message=message)
    with pytest.raises(error) as caught:
        tvm.credentials("acme")
    assert hint in str(caught.value) and ROLE in str(caught.value)
    if code == "ValidationError":
        assert isinstance(caught.value, ValidationError) and caught.value.field == "duration_seconds"


def test_every_error_assume_role_declares_has_a_mapping() -> None:
    client = boto3.client("sts", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    operation = client.meta.service_model.operation_model("AssumeRole")
    declared = {shape.metadata.get("error", {}).get("code", shape.name) for shape in operation.error_shapes}
    assert declared and declared <= set(STS_ERROR_CLASSES), sorted(declared - set(STS_ERROR_CLASSES))


# -- clients ------------------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@dataclass(frozen=True)
class Signed:
    access_key_id: str
    token: str | None
    user_agent: str


def record_requests(client: Any, body: bytes = b'{"vectorBuckets": []}') -> list[Signed]:
    """Answer every request of ``client`` locally, keeping who signed it."""
    seen: list[Signed] = []

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    def send(request: Any, **_: Any) -> AWSResponse:
        match = re.search(r"Credential=([^/]+)/", text(request.headers["Authorization"]))
        assert match is not None
        token = request.headers.get("X-Amz-Security-Token")
        seen.append(Signed(match.group(1), None if token is None else text(token), text(request.headers["User-Agent"])))
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _Body(body))

    client.meta.events.register("before-send", send)
    return seen


def test_a_client_signs_with_the_tenants_session_credentials(
    sts: Sts, tvm: TokenVendingMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAMBIENTROLE")  # the ambient identity is never used
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ambient")
    sts.grant("acme")
    creds = tvm.credentials("acme")
    client = tvm.client("acme")
    seen = record_requests(client)
    client.list_vector_buckets()
    assert seen == [Signed(creds.access_key_id, creds.session_token, seen[0].user_agent)]
    assert "strands-vector-memory/" in seen[0].user_agent
    assert client.meta.region_name == REGION
    assert client.meta.config.retries["mode"] == "adaptive"  # the S3 Vectors backend's defaults
    assert len(sts.calls) == 1


def test_a_client_is_built_once_and_outlives_credential_refreshes(
    sts: Sts, tvm: TokenVendingMachine, clock: Any
) -> None:
    first = sts.grant("acme")
    client = tvm.client("acme")
    seen = record_requests(client)
    client.list_vector_buckets()
    clock.now += 3600 - 899  # inside botocore's advisory window and our refresh_ahead
    second = sts.grant("acme")
    client.list_vector_buckets()
    client.list_vector_buckets()
    assert tvm.client("acme") is client
    assert [s.access_key_id for s in seen] == [first, second, second]
    assert len(sts.calls) == 2 and tvm.stats()["clients_built"] == 1


def test_a_client_follows_a_refresh_made_by_the_cache(
    sts: Sts, make_tvm: Callable[..., TokenVendingMachine], clock: Any
) -> None:
    tvm = make_tvm(refresh_ahead=1200.0)
    first = sts.grant("acme")
    client = tvm.client("acme")
    seen = record_requests(client)
    clock.now += 3600 - 1100  # the cache refreshes; botocore's own window is not reached yet
    second = sts.grant("acme")
    assert tvm.credentials("acme").access_key_id == second
    client.list_vector_buckets()
    assert [s.access_key_id for s in seen] == [second] and first != second
    assert len(sts.calls) == 2


def test_invalidate_reaches_clients_built_before(sts: Sts, tvm: TokenVendingMachine) -> None:
    first = sts.grant("acme")
    client = tvm.client("acme")
    seen = record_requests(client)
    client.list_vector_buckets()
    tvm.invalidate("acme")
    second = sts.grant("acme")
    client.list_vector_buckets()
    assert [s.access_key_id for s in seen] == [first, second]
    assert tvm.client("acme") is client and len(sts.calls) == 2


def test_tenants_get_their_own_clients_and_credentials(sts: Sts, tvm: TokenVendingMachine) -> None:
    acme_key = sts.grant("acme")
    globex_key = sts.grant(tenant_key("Globex Corp"))
    acme, globex = tvm.client("acme"), tvm.client("Globex Corp")
    assert acme is not globex
    acme_seen, globex_seen = record_requests(acme), record_requests(globex)
    acme.list_vector_buckets()
    globex.list_vector_buckets()
    assert [s.access_key_id for s in acme_seen] == [acme_key]
    assert [s.access_key_id for s in globex_seen] == [globex_key]
    assert tvm.client_for_key(tenant_key("Globex Corp")) is globex


def test_concurrent_requests_for_a_tenants_client_build_it_once(sts: Sts, tvm: TokenVendingMachine) -> None:
    sts.grant("acme")
    barrier = threading.Barrier(20)

    def ask() -> Any:
        barrier.wait()
        return tvm.client("acme")

    clients = [worker.outcome() for worker in start(20, ask)]
    assert all(client is clients[0] for client in clients)
    assert tvm.stats()["clients_built"] == 1 and len(sts.calls) == 1


def test_clients_are_cached_per_service_region_endpoint_and_config(
    sts: Sts, make_tvm: Callable[..., TokenVendingMachine]
) -> None:
    tvm = make_tvm(config=Config(connect_timeout=3))
    sts.grant("acme")
    base = tvm.client("acme")
    assert tvm.client("acme", config=Config(read_timeout=7)) is tvm.client("acme", config=Config(read_timeout=7))
    tuned = tvm.client("acme", config=Config(read_timeout=7))
    assert tuned is not base and tuned.meta.config.read_timeout == 7 and tuned.meta.config.connect_timeout == 3
    assert tvm.client("acme", config=Config(read_timeout=8)) is not tuned
    local = tvm.client("acme", endpoint_url="http://127.0.0.1:9")
    assert local is not base and local.meta.endpoint_url == "http://127.0.0.1:9"
    assert tvm.client("acme", region_name="eu-west-1").meta.region_name == "eu-west-1"
    assert tvm.stats()["clients_built"] == 5 and len(sts.calls) == 1


def test_embeddings_use_a_tenant_credentialed_bedrock_client(sts: Sts, tvm: TokenVendingMachine) -> None:
    akid = sts.grant("acme")
    bedrock = tvm.client("acme", "bedrock-runtime")
    seen = record_requests(bedrock, b'{"embedding": [0.1]}')
    bedrock.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=b'{"inputText": "hi"}')
    assert [s.access_key_id for s in seen] == [akid]
    assert "strands-vector-memory/" in seen[0].user_agent
    assert bedrock.meta.config.retries["mode"] != "adaptive"  # the S3 Vectors defaults are for s3vectors only


def test_the_client_cache_is_a_bounded_lru(sts: Sts, make_tvm: Callable[..., TokenVendingMachine]) -> None:
    tvm = make_tvm(max_cached_tenants=2)
    for tenant in ("a1", "b2", "c3"):
        sts.grant(tenant)
    a1 = tvm.client("a1")
    tvm.client("b2")
    tvm.client("c3")  # evicts a1 (credentials and clients)
    assert tvm.client("c3") is tvm.client("c3")
    sts.grant("a1")  # a tenant that comes back after eviction costs one more AssumeRole
    assert tvm.client("a1") is not a1
    assert tvm.stats()["clients_built"] == 4 and len(sts.calls) == 4


def test_a_failed_client_build_is_not_cached(sts: Sts, tvm: TokenVendingMachine, clock: Any) -> None:
    sts.fail("acme")
    with pytest.raises(AccessDeniedError):
        tvm.client("acme")
    clock.now += 1
    sts.grant("acme")
    assert tvm.client("acme") is tvm.client("acme")
    assert tvm.stats()["clients_built"] == 1


def test_a_boto3_session_acts_as_the_tenant(sts: Sts, tvm: TokenVendingMachine) -> None:
    akid = sts.grant("acme")
    session = tvm.boto3_session("acme")
    assert isinstance(session, boto3.session.Session) and session.region_name == REGION
    assert session.get_credentials().method == "strands-vector-memory-tvm"
    client = session.client("s3vectors")
    seen = record_requests(client)
    client.list_vector_buckets()
    assert [s.access_key_id for s in seen] == [akid]
    other = tvm.boto3_session("acme")
    other.client("s3vectors")
    assert len(sts.calls) == 1  # both sessions share the cache
    # Service models are loaded once for every tenant session.
    assert other._session.get_component("data_loader") is session._session.get_component("data_loader")


# -- configuration --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role_arn": "arn:aws:iam::123:role/x"}, "role_arn"),
        ({"role_arn": "arn:aws:iam::123456789012:user/x"}, "role_arn"),
        ({"role_arn": "tenant-memory"}, "role_arn"),
        ({"duration_seconds": 899}, "duration_seconds"),
        ({"duration_seconds": 43201}, "duration_seconds"),
        ({"duration_seconds": True}, "duration_seconds"),
        ({"refresh_ahead": -1}, "refresh_ahead"),
        ({"refresh_ahead": 3600}, "refresh_ahead"),
        ({"session_name_prefix": ""}, "session_name_prefix"),
        ({"session_name_prefix": "x" * 33}, "session_name_prefix"),
        ({"session_name_prefix": "has space"}, "session_name_prefix"),
        ({"external_id": "x"}, "external_id"),
        ({"external_id": "bad id!"}, "external_id"),
        ({"failure_backoff": (2.0, 1.0)}, "failure_backoff"),
        ({"failure_backoff": (-1.0, 1.0)}, "failure_backoff"),
        ({"failure_backoff": (1.0, 720.0)}, "failure_backoff"),  # the 12-minute lockout, by configuration
        ({"max_cached_tenants": 0}, "max_cached_tenants"),
    ],
)
def test_bad_configuration_is_refused_with_the_field_named(kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"role_arn": ROLE, "region_name": REGION} | kwargs
    with pytest.raises(ValidationError) as caught:
        TokenVendingMachine(**arguments)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "role_arn",
    [ROLE, "arn:aws:iam::123456789012:role/service/team/tenant-memory", "arn:aws-cn:iam::123456789012:role/r"],
)
def test_role_arns_with_paths_and_partitions_are_accepted(role_arn: str) -> None:
    assert TokenVendingMachine(role_arn, REGION).role_arn == role_arn


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """No shared config files, regions or endpoint overrides from the machine running the tests."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
                 "AWS_STS_REGIONAL_ENDPOINTS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAPPLICATION")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "app-secret")
    return monkeypatch


def test_sts_is_built_lazily_on_the_regional_endpoint_with_our_user_agent(aws_env: pytest.MonkeyPatch) -> None:
    tvm = TokenVendingMachine(ROLE, "eu-west-1")
    assert tvm._sts_client is None
    sts = tvm.sts_client
    assert sts.meta.endpoint_url == "https://sts.eu-west-1.amazonaws.com"
    assert "strands-vector-memory/" in sts.meta.config.user_agent_extra
    assert tvm.sts_client is sts


def test_the_sts_endpoint_can_be_passed_or_come_from_the_environment(aws_env: pytest.MonkeyPatch) -> None:
    passed = TokenVendingMachine(ROLE, REGION, endpoint_url="http://127.0.0.1:4566")
    assert passed.sts_client.meta.endpoint_url == "http://127.0.0.1:4566"
    aws_env.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4567")
    from_env = TokenVendingMachine(ROLE, REGION, session=boto3.Session())
    assert from_env.sts_client.meta.endpoint_url == "http://127.0.0.1:4567"


def test_the_region_comes_from_the_argument_the_environment_or_the_session(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert TokenVendingMachine(ROLE).region_name == "ap-south-1"
    aws_env.setenv("AWS_REGION", "eu-central-1")
    assert TokenVendingMachine(ROLE).region_name == "eu-central-1"
    assert TokenVendingMachine(ROLE, "us-west-2").region_name == "us-west-2"
    aws_env.delenv("AWS_REGION")
    aws_env.delenv("AWS_DEFAULT_REGION")
    assert TokenVendingMachine(ROLE, session=boto3.Session(region_name="sa-east-1")).region_name == "sa-east-1"
    with pytest.raises(ValidationError, match="AWS_REGION") as caught:
        TokenVendingMachine(ROLE, session=boto3.Session()).region_name  # noqa: B018
    assert caught.value.field == "region"


# -- session names ----------------------------------------------------------------


def is_tenant_id(text: str) -> bool:
    try:
        tenant_key(text)
    except ValidationError:
        return False
    return True


tenant_ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120).filter(
    is_tenant_id
)
prefixes = st.from_regex(r"[A-Za-z0-9_+=,.@-]{1,32}", fullmatch=True)


@given(tenant=tenant_ids | st.from_regex(r"[a-z0-9][a-z0-9-]{0,54}[a-z0-9]", fullmatch=True), prefix=prefixes)
def test_session_names_are_valid_for_sts_and_the_tag_is_the_tenant_key(tenant: str, prefix: str) -> None:
    key = tenant_key(tenant)
    request = TokenVendingMachine(ROLE, REGION, session_name_prefix=prefix).assume_role_request(tenant)
    assert SESSION_NAME.fullmatch(request["RoleSessionName"]), request["RoleSessionName"]
    assert request["Tags"] == [{"Key": "TenantID", "Value": key}]


@given(
    suffixes=st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=2, max_size=20, unique=True),
    prefix=prefixes,
)
def test_long_keys_sharing_a_beginning_still_get_distinct_session_names(suffixes: list[str], prefix: str) -> None:
    keys = ["tenant-" + "0" * 41 + suffix for suffix in suffixes]  # 49-56 characters: names get truncated
    names = [role_session_name(prefix, key) for key in keys]
    assert len(set(names)) == len(names)
    assert all(SESSION_NAME.fullmatch(name) for name in names)


def test_a_short_name_is_kept_readable() -> None:
    assert role_session_name("strands-memory", "acme") == "strands-memory-acme"
    long_name = role_session_name("strands-memory", "x" * 56)
    assert len(long_name) == 64 and long_name.startswith("strands-memory-xxxx")
