"""Every S3 Vectors error becomes the right project exception, raised ``from`` the ClientError."""

from __future__ import annotations

import boto3
import numpy as np
import pytest
from botocore import exceptions as bx
from botocore.config import Config
from botocore.exceptions import ClientError

from strands_vector_memory._aws import map_botocore_error
from strands_vector_memory.backends import RetryPolicy, S3VectorsBackend
from strands_vector_memory.backends.s3vectors._errors import ERROR_CLASSES, RETRYABLE_CODES, map_client_error
from strands_vector_memory.core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)

from .conftest import INDEX, Stubbed, make_client

STATUS = {
    "ValidationException": 400,
    "NotFoundException": 404,
    "ConflictException": 409,
    "AccessDeniedException": 403,
    "ServiceQuotaExceededException": 402,
    "TooManyRequestsException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "RequestTimeoutException": 408,
    "KmsDisabledException": 400,
    "KmsInvalidKeyUsageException": 400,
    "KmsInvalidStateException": 400,
    "KmsNotFoundException": 400,
}


def declared_errors() -> set[str]:
    model = make_client().meta.service_model
    return {shape.name for name in model.operation_names for shape in model.operation_model(name).error_shapes}


def test_the_mapping_covers_every_error_the_service_model_declares() -> None:
    declared = declared_errors()
    assert declared, "the service model declares no errors?"
    missing = declared - set(ERROR_CLASSES)
    assert not missing, f"add these S3 Vectors errors to ERROR_CLASSES: {sorted(missing)}"
    assert set(STATUS) == set(ERROR_CLASSES), "every mapped code is exercised below"


def test_retryable_codes_map_to_retryable_errors() -> None:
    for code in RETRYABLE_CODES:
        assert issubclass(ERROR_CLASSES[code], RetryableError)
    for code, cls in ERROR_CLASSES.items():
        if code not in RETRYABLE_CODES:
            assert not issubclass(cls, RetryableError), code


@pytest.mark.parametrize("code", sorted(STATUS))
def test_each_code_raises_its_class_through_the_backend(stubbed: Stubbed, code: str) -> None:
    stubbed.backend.retry = type(stubbed.backend.retry)(max_attempts=1)
    stubbed.describe()
    stubbed.error("delete_vectors", code, STATUS[code], message=f"boom {code}")
    with pytest.raises(ERROR_CLASSES[code]) as caught:
        stubbed.backend.delete_vectors(INDEX, ["a"])
    assert isinstance(caught.value.__cause__, ClientError)
    assert f"boom {code}" in str(caught.value)
    assert "DeleteVectors" in str(caught.value)


def client_error(code: str, status: int, **extra: object) -> ClientError:
    response = {"Error": {"Code": code, "Message": "msg"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    response.update(extra)
    return ClientError(response, "PutVectors")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, ValidationError),
        (402, QuotaExceededError),
        (403, AccessDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, ThrottledError),
        (500, BackendUnavailableError),
        (502, BackendUnavailableError),
        (418, VectorMemoryError),
    ],
)
def test_unknown_codes_map_by_http_status(status: int, expected: type[Exception]) -> None:
    error = map_client_error(client_error("SomethingNewException", status), "PutVectors")
    assert type(error) is expected
    assert "SomethingNewException" in str(error)


def test_validation_field_comes_from_the_field_list() -> None:
    exc = client_error("ValidationException", 400, fieldList=[{"path": "vectors[0].key", "message": "too long"}])
    error = map_client_error(exc, "PutVectors")
    assert isinstance(error, ValidationError)
    assert error.field == "records[0].key"  # the contract's name for the argument


@pytest.mark.parametrize(
    ("path", "field"),
    [("nextToken", "next_token"), ("topK", "top_k"), ("vectors[2].metadata", "records[2].metadata"), ("keys", "keys")],
)
def test_wire_field_paths_become_contract_argument_names(path: str, field: str) -> None:
    exc = client_error("ValidationException", 400, fieldList=[{"path": path, "message": "bad"}])
    error = map_client_error(exc, "ListVectors")
    assert isinstance(error, ValidationError) and error.field == field


@pytest.mark.parametrize(
    ("exc", "expected", "hint"),
    [
        (bx.NoCredentialsError(), AccessDeniedError, "AWS_PROFILE"),
        (bx.NoRegionError(), ValidationError, "AWS_REGION"),
        (bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), BackendUnavailableError, "cannot reach"),
        (bx.ReadTimeoutError(endpoint_url="http://x"), BackendUnavailableError, "cannot reach"),
        (bx.ConnectTimeoutError(endpoint_url="http://x"), BackendUnavailableError, "cannot reach"),
    ],
)
def test_botocore_errors_map_with_a_hint(exc: Exception, expected: type[Exception], hint: str) -> None:
    error = map_botocore_error(exc, "S3 Vectors QueryVectors")
    assert type(error) is expected
    assert hint in str(error)


def test_an_unreachable_endpoint_is_backend_unavailable_after_retries() -> None:
    sleeps: list[float] = []
    backend = S3VectorsBackend(
        "memories",
        session=boto3.Session(aws_access_key_id="test", aws_secret_access_key="test"),
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01),
        sleep=sleeps.append,
    )
    with pytest.raises(BackendUnavailableError, match="gave up after 3 attempts"):
        backend.query_vectors(INDEX, np.ones(4), top_k=1)
    assert len(sleeps) == 2
    backend.close()


def test_the_local_endpoint_and_the_backend_agree_on_every_code() -> None:
    """What ``strands-memory serve`` sends for an exception comes back as that exception."""
    from strands_vector_memory.server._errors import ERROR_TYPES

    for cls, (code, status) in ERROR_TYPES.items():
        assert issubclass(ERROR_CLASSES[code], cls), (cls, code)
        assert STATUS[code] == status
