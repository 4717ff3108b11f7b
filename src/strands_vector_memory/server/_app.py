"""The ASGI app: ``POST /<Operation>`` with a JSON body, as the S3 Vectors REST-JSON protocol has it.

Why Starlette and sync handlers: the work is the embedded engine's (SQLite and numpy,
which release the GIL), so each request runs in Starlette's thread pool and the event
loop only moves bytes. Requests are SigV4-signed by boto3; the signature is not
checked (this is a local development endpoint: bind it to loopback).

``POST /`` with a form body is the query protocol of STS and IAM (see :mod:`._awsquery`):
the endpoint issues role sessions and enforces the role's policies on them (see
:mod:`._identity`); any other key keeps full access.

Every answer, success or error, goes through :meth:`Dispatcher.handle`, which is
where project exceptions become S3 Vectors errors, so no operation needs its own
``try``/``except`` and a bug in one becomes a logged ``InternalServerException``, never
a dropped connection.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import ThrottledError, ValidationError
from ._authz import required_permissions
from ._awsquery import QueryFrontDoor, is_query_request
from ._buckets import BucketRegistry
from ._errors import EndpointError, error_reply, not_implemented, unknown_operation
from ._faults import FaultInjection
from ._iam import IamStore
from ._identity import Authority, TokenError
from ._operations import OPERATIONS, UNSUPPORTED
from ._sessions import SessionStore
from ._wire import Body

__all__ = ["MAX_REQUEST_BYTES", "Dispatcher", "create_app"]

_log = logging.getLogger("strands_vector_memory.server")

#: The largest request S3 Vectors accepts (a PutVectors payload): 20 MiB.
MAX_REQUEST_BYTES: Final = 20 * 1024 * 1024
_JSON: Final = "application/json"


class Dispatcher:
    """Runs one operation on a raw body and renders the answer; thread-safe.

    Args:
        registry: The buckets.
        faults: Optional injected throttling.
        authority: Who may do what; ``None`` serves every request unchecked.
    """

    def __init__(
        self, registry: BucketRegistry, faults: FaultInjection | None = None, *, authority: Authority | None = None
    ) -> None:
        self.registry = registry
        self.faults = faults
        self.authority = authority

    def handle(
        self,
        operation: str,
        payload: bytes,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Response:
        """The complete HTTP answer to ``POST /<operation>`` with ``payload`` (and the request's headers)."""
        request_id = uuid.uuid4().hex
        try:
            body = self._authorize(operation, payload, headers or {}, query)
            handler = OPERATIONS.get(operation)
            if handler is None:
                raise not_implemented(operation) if operation in UNSUPPORTED else unknown_operation(operation)
            if self.faults is not None and self.faults.throttles(operation):
                raise ThrottledError(f"Rate exceeded (injected: {operation} throttled by --fault)")
            result = handler(self.registry, body if body is not None else Body(_parse(payload)))
            content = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except Exception as exc:
            return self.error(exc, operation=operation, request_id=request_id)
        return Response(content, 200, {"x-amzn-RequestId": request_id}, media_type=_JSON)

    def _authorize(
        self, operation: str, payload: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None
    ) -> Body | None:
        """Check a session's token and policies; the parsed body if it had to be read for that."""
        if self.authority is None:
            return None
        try:
            caller = self.authority.caller(headers, query)
        except TokenError as exc:
            code = "ExpiredTokenException" if exc.expired else "UnrecognizedClientException"
            raise EndpointError(code, 403, str(exc)) from None
        if caller is None or caller.session is None or operation not in OPERATIONS:
            return None
        body = Body(_parse(payload))
        for action, resource in required_permissions(operation, body, self.registry):
            self.authority.authorize(caller, action, resource, region=self.registry.region)
        return body

    def error(self, exc: BaseException, *, operation: str, request_id: str | None = None) -> Response:
        """The wire form of an error: status, ``x-amzn-ErrorType`` and a JSON body."""
        request_id = request_id or uuid.uuid4().hex
        reply = error_reply(exc)
        if reply.status == 500:
            _log.error("operation=<%s>, request_id=<%s> | unexpected error", operation, request_id, exc_info=exc)
        headers = {"x-amzn-ErrorType": reply.code, "x-amzn-RequestId": request_id}
        content = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        return Response(content, reply.status, headers, media_type=_JSON)


def _parse(payload: bytes) -> Any:
    """The request JSON; an empty body is an empty object (boto3 sends ``{}`` or nothing)."""
    if len(payload) > MAX_REQUEST_BYTES:
        raise ValidationError(f"the request is {len(payload)} bytes: at most {MAX_REQUEST_BYTES} (20 MiB)")
    if not payload.strip():
        return {}
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"the request body is not valid JSON: {exc}") from None


def create_app(
    root: str | os.PathLike[str],
    *,
    faults: FaultInjection | None = None,
    region: str = "us-east-1",
    clock: Callable[[], float] | None = None,
) -> Starlette:
    """An S3 Vectors endpoint over the buckets under ``root`` (one directory per bucket), with STS and IAM.

    Args:
        root: The directory of buckets; created if missing. Roles are kept in ``root/.iam``.
        faults: Optional injected throttling (429s) for testing retries.
        region: The region named in ARNs.
        clock: Epoch seconds now, for session expiry and creation dates; ``time.time`` by default.

    Returns:
        The ASGI app. ``app.state.registry`` is its :class:`BucketRegistry` (close it when
        the app is done; ``LocalEndpoint`` does) and ``app.state.authority`` its
        :class:`~._identity.Authority` (roles and issued sessions).
    """
    registry = BucketRegistry(root, region=region)
    now = clock or time.time
    authority = Authority(IamStore(registry.root, clock=now), SessionStore(now))
    dispatcher = Dispatcher(registry, faults, authority=authority)
    front_door = QueryFrontDoor(authority, region=region)

    async def operation(request: Request) -> Response:
        name = request.path_params["operation"]
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            return dispatcher.error(ValidationError(f"the request is {declared} bytes: at most 20 MiB"), operation=name)
        payload = await request.body()
        query = dict(request.query_params)
        response: Response = await run_in_threadpool(dispatcher.handle, name, payload, request.headers, query)
        return response

    async def query_protocol(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            return dispatcher.error(ValidationError(f"the request is {declared} bytes: at most 20 MiB"), operation="/")
        payload = await request.body()
        if not is_query_request(request.headers.get("content-type"), payload):
            return dispatcher.error(unknown_operation("POST /"), operation="/")
        response: Response = await run_in_threadpool(front_door.handle, payload, request.headers, request.url.query)
        return response

    async def elsewhere(request: Request) -> Response:
        path = request.url.path
        if path.startswith("/tags/"):
            exc = not_implemented("tagging (TagResource, UntagResource, ListTagsForResource)")
        else:
            exc = unknown_operation(f"{request.method} {path}")
        return dispatcher.error(exc, operation=path)

    app = Starlette(
        routes=[
            Route("/", query_protocol, methods=["POST"]),
            Route("/{operation}", operation, methods=["POST"]),
            Route("/{path:path}", elsewhere, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]
    )
    app.state.registry = dispatcher.registry
    app.state.authority = authority
    return app
