"""Errors on the wire: every type as boto3 sees it, bad bodies, unsupported operations, SigV4, faults."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strands_vector_memory.core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    FilterError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from strands_vector_memory.server import FaultInjection, LocalEndpoint
from strands_vector_memory.server._errors import ERROR_TYPES, error_reply, wire_field
from strands_vector_memory.server._operations import OPERATIONS, UNSUPPORTED

MODEL = botocore.session.get_session().get_service_model("s3vectors")


def raw(endpoint: LocalEndpoint, path: str, body: bytes, method: str = "POST") -> tuple[int, str | None, Any]:
    """One unsigned HTTP request: (status, x-amzn-ErrorType, JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        return response.status, response.getheader("x-amzn-ErrorType"), json.loads(data) if data else None
    finally:
        conn.close()


# -- the mapping ---------------------------------------------------------------------------


def _subclasses(klass: type[VectorMemoryError]) -> Iterator[type[VectorMemoryError]]:
    yield klass
    for sub in klass.__subclasses__():
        yield from _subclasses(sub)


@pytest.mark.parametrize("klass", sorted(set(_subclasses(VectorMemoryError)), key=lambda k: k.__name__))
def test_every_project_error_maps_to_a_modeled_error_with_its_status(klass: type[VectorMemoryError]) -> None:
    reply = error_reply(klass("boom"))
    shape = MODEL.shape_for(reply.code)
    assert shape.metadata.get("exception"), reply.code
    assert reply.status == shape.metadata.get("error", {}).get("httpStatusCode", 400)
    if klass is not VectorMemoryError:
        assert reply.code != "InternalServerException", f"{klass.__name__} is not mapped"


def test_every_modeled_operation_is_supported_or_declared_unsupported() -> None:
    assert set(OPERATIONS) | UNSUPPORTED == set(MODEL.operation_names)
    assert not set(OPERATIONS) & UNSUPPORTED


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("top_k", "topK"),
        ("records[3].vector", "vectors[3].data"),
        ("records[0].metadata.user_id", "vectors[0].metadata.user_id"),
        ("filter.$and[0]", "filter.$and[0]"),
        ("non_filterable_keys", "metadataConfiguration.nonFilterableMetadataKeys"),
    ],
)
def test_field_names_become_request_paths(field: str, path: str) -> None:
    assert wire_field(field) == path


# -- every error type through boto3 ------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (ValidationError("max_results must be in 1..1000", field="max_results"), "ValidationException", 400),
        (FilterError("filter.n: unknown operator", field="filter.n"), "ValidationException", 400),
        (NotFoundError("no such thing"), "NotFoundException", 404),
        (ConflictError("already there"), "ConflictException", 409),
        (QuotaExceededError("too many indexes"), "ServiceQuotaExceededException", 402),
        (AccessDeniedError("not yours"), "AccessDeniedException", 403),
        (ThrottledError("slow down"), "TooManyRequestsException", 429),
        (BackendUnavailableError("disk on fire"), "ServiceUnavailableException", 503),
        (RetryableError("later"), "ServiceUnavailableException", 503),
    ],
)
def test_boto3_raises_the_modeled_exception_with_the_message(
    client: Any, monkeypatch: pytest.MonkeyPatch, exc: Exception, code: str, status: int
) -> None:
    def fail(registry: Any, body: Any) -> dict[str, Any]:
        raise exc

    monkeypatch.setitem(OPERATIONS, "GetVectorBucket", fail)
    with pytest.raises(getattr(client.exceptions, code)) as caught:
        client.get_vector_bucket(vectorBucketName="whatever")
    response = caught.value.response
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["ResponseMetadata"]["RequestId"]
    message = str(exc).replace("max_results", "maxResults")
    assert response["Error"]["Message"] == response["message"] == message
    if isinstance(exc, ValidationError):
        assert response["fieldList"] == [{"path": wire_field(str(exc.field)), "message": message}]
    else:
        assert "fieldList" not in response


def test_an_unexpected_error_is_a_logged_500(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(registry: Any, body: Any) -> dict[str, Any]:
        raise KeyError("secret detail")

    monkeypatch.setitem(OPERATIONS, "GetVectorBucket", crash)
    with (
        caplog.at_level(logging.ERROR, logger="strands_vector_memory.server"),
        pytest.raises(client.exceptions.InternalServerException) as caught,
    ):
        client.get_vector_bucket(vectorBucketName="whatever")
    assert "secret detail" not in caught.value.response["message"]
    assert any("operation=<GetVectorBucket>" in r.getMessage() and r.exc_info for r in caplog.records)


# -- bodies boto3 would never send ---------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "body", "path"),
    [
        ("PutVectors", b"{not json", None),
        ("PutVectors", b"[1, 2]", None),
        ("CreateVectorBucket", b'{"vectorBucketName": 5}', "vectorBucketName"),
        ("CreateVectorBucket", b'{"vectorBucketName": "Bad_Name"}', "vectorBucketName"),
        ("GetIndex", b'{"indexArn": "arn:aws:s3:::nope"}', "indexArn"),
        ("PutVectors", b'{"vectorBucketName": "abc", "indexName": "abc", "vectors": "x"}', "vectors"),
        (
            "PutVectors",
            b'{"vectorBucketName": "abc", "indexName": "abc", "vectors": [{"key": "k"}]}',
            "vectors[0].data",
        ),
        (
            "PutVectors",
            b'{"vectorBucketName": "abc", "indexName": "abc", "vectors": [{"key": "k", "data": {"float32": ["1"]}}]}',
            "vectors[0].data",
        ),
        ("PutVectors", b'{"vectorBucketName": "abc", "indexName": "abc", "vectors": [{"key": 7}]}', "vectors[0].key"),
        ("ListVectors", b'{"vectorBucketName": "abc", "indexName": "abc", "maxResults": 1.5}', "maxResults"),
        ("ListVectors", b'{"vectorBucketName": "abc", "indexName": "abc", "returnData": "yes"}', "returnData"),
        (
            "CreateIndex",
            b'{"vectorBucketName": "abc", "indexName": "abc", "dataType": "float16", "dimension": 3,'
            b' "distanceMetric": "cosine"}',
            "dataType",
        ),
        (
            "CreateIndex",
            b'{"vectorBucketName": "abc", "indexName": "abc", "dataType": "float32", "dimension": 3,'
            b' "distanceMetric": "cosine", "metadataConfiguration": {"nonFilterableMetadataKeys": [{}]}}',
            "metadataConfiguration.nonFilterableMetadataKeys",
        ),
    ],
)
def test_malformed_requests_are_validation_errors(
    endpoint: LocalEndpoint, operation: str, body: bytes, path: str | None
) -> None:
    status, code, answer = raw(endpoint, f"/{operation}", body)
    assert (status, code) == (400, "ValidationException"), answer
    assert answer["message"]
    if path is None:
        assert "fieldList" not in answer
    else:
        assert answer["fieldList"][0]["path"] == path


def test_unknown_and_unsupported_operations(client: Any, endpoint: LocalEndpoint) -> None:
    assert raw(endpoint, "/DropEverything", b"{}")[:2] == (404, "UnknownOperationException")
    assert raw(endpoint, "/", b"", method="GET")[:2] == (404, "UnknownOperationException")
    calls: list[Callable[[], Any]] = [
        lambda: client.get_vector_bucket_policy(vectorBucketName="abc"),
        lambda: client.put_vector_bucket_policy(vectorBucketName="abc", policy="{}"),
        lambda: client.list_tags_for_resource(resourceArn="arn:aws:s3vectors:eu-west-1:123456789012:bucket/abc"),
        lambda: client.untag_resource(resourceArn="arn:aws:s3vectors:eu-west-1:123456789012:bucket/abc", tagKeys=["a"]),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response
        assert error["Error"]["Code"] == "NotImplemented"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert "not supported by the local S3 Vectors endpoint" in error["Error"]["Message"]


def test_sigv4_signed_requests_are_accepted(client: Any, new_name: Callable[..., str]) -> None:
    seen: list[str] = []
    client.meta.events.register(
        "before-send.s3vectors.CreateVectorBucket",
        lambda request, **_: seen.append(
            request.headers["Authorization"].decode()
            if isinstance(request.headers["Authorization"], bytes)
            else request.headers["Authorization"]
        ),
    )
    client.create_vector_bucket(vectorBucketName=new_name())
    assert seen and seen[0].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/s3vectors/aws4_request" in seen[0]


# -- fuzzing: nothing a client sends is a 500 ------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(["abc", "fzz", "idx", ""])
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _member_value(name: str) -> st.SearchStrategy[Any]:
    if name == "float32":
        return st.lists(st.floats() | st.integers() | st.sampled_from(["NaN", "Infinity", "x"]), max_size=5)
    return JSON


def _body(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    members = list(MODEL.operation_model(operation).input_shape.members)
    good = {"vectorBucketName": st.just("fzz"), "indexName": st.just("idx")}
    values = {name: st.one_of(good.get(name, JSON), JSON) for name in members}
    vector = st.fixed_dictionaries(
        {"key": st.text(max_size=4), "data": st.fixed_dictionaries({"float32": _member_value("float32")})},
        optional={"metadata": JSON},
    )
    if "vectors" in values:
        values["vectors"] = st.one_of(st.lists(vector, max_size=3), JSON)
    if "queryVector" in values:
        values["queryVector"] = st.one_of(st.fixed_dictionaries({"float32": _member_value("float32")}), JSON)
    return st.fixed_dictionaries({}, optional=values)


@pytest.fixture(scope="module")
def fuzz_endpoint(
    tmp_path_factory: pytest.TempPathFactory, client_for: Callable[[LocalEndpoint], Any]
) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(tmp_path_factory.mktemp("fuzz")) as running:
        fuzz = client_for(running)
        fuzz.create_vector_bucket(vectorBucketName="fzz")
        fuzz.create_index(
            vectorBucketName="fzz",
            indexName="idx",
            dataType="float32",
            dimension=2,
            distanceMetric="cosine",
            metadataConfiguration={"textSearchConfigurations": [{"metadataKey": "content"}]},
        )
        yield running


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_request_body_causes_a_500(fuzz_endpoint: LocalEndpoint, data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(sorted(OPERATIONS)))
    body = data.draw(_body(operation))
    status, code, answer = raw(fuzz_endpoint, f"/{operation}", json.dumps(body).encode())
    assert status < 500, (operation, body, answer)
    assert (status == 200) == (code is None)


# -- injected throttling -------------------------------------------------------------------------


def test_fault_injection_throttles_about_the_configured_share(
    tmp_path: Path, client_for: Callable[[LocalEndpoint], Any]
) -> None:
    faults = FaultInjection({"PutVectors": 0.3}, seed=7)
    with LocalEndpoint(tmp_path, faults=faults) as running:
        client = client_for(running)
        client.create_vector_bucket(vectorBucketName="faulty")
        client.create_index(
            vectorBucketName="faulty", indexName="idx", dataType="float32", dimension=2, distanceMetric="euclidean"
        )
        throttled = 0
        for i in range(100):
            try:
                client.put_vectors(
                    vectorBucketName="faulty", indexName="idx", vectors=[{"key": f"k{i}", "data": {"float32": [i, 1]}}]
                )
            except client.exceptions.TooManyRequestsException as exc:
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 429
                throttled += 1
        for _ in range(20):  # other operations are untouched
            client.get_index(vectorBucketName="faulty", indexName="idx")
        stored = client.list_vectors(vectorBucketName="faulty", indexName="idx", maxResults=1000)["vectors"]
    assert 15 <= throttled <= 45
    assert len(stored) == 100 - throttled, "a throttled write must write nothing"


def test_fault_injection_is_reproducible_and_validated() -> None:
    first = FaultInjection.parse(["*=0.5", "GetIndex=0"], seed=3)
    second = FaultInjection({"*": 0.5, "GetIndex": 0.0}, seed=3)
    draws = [(first.throttles("PutVectors"), second.throttles("PutVectors")) for _ in range(50)]
    assert all(a == b for a, b in draws) and any(a for a, _ in draws) and not all(a for a, _ in draws)
    assert not any(first.throttles("GetIndex") for _ in range(50))
    with pytest.raises(ValueError, match="unknown operation"):
        FaultInjection({"PutVector": 0.5})
    with pytest.raises(ValueError, match=r"0\.\.1"):
        FaultInjection({"PutVectors": 1.5})
    with pytest.raises(ValueError, match="OP=RATE"):
        FaultInjection.parse(["PutVectors"])


def test_the_error_table_covers_every_project_error() -> None:
    assert set(ERROR_TYPES) >= {
        ValidationError,
        NotFoundError,
        ConflictError,
        QuotaExceededError,
        AccessDeniedError,
        ThrottledError,
        BackendUnavailableError,
    }
