"""The query-protocol front door: ``POST /`` with a form body, answered in XML, for STS and IAM.

Why one door for two services: botocore's ``sts`` and ``iam`` clients both send
``POST /`` with ``Action=...&Version=...``; the service is the one in the SigV4
credential scope (``.../us-east-1/sts/aws4_request``), else the one that has the
action, else the one whose API version was sent. Answers are the XML botocore's
query parser reads (``<ActionResponse><ActionResult>...``; lists as ``<member>``
elements), and errors the ``<ErrorResponse>`` it turns into typed exceptions
(``iam.exceptions.NoSuchEntityException``, ``sts.exceptions.ExpiredTokenException``...).
"""

from __future__ import annotations

import logging
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.responses import Response

from ..core import AccessDeniedError, ConflictError, NotFoundError, RetryableError, ValidationError
from ._buckets import ACCOUNT_ID
from ._errors import EndpointError
from ._form import Params, parse_form, query_error, status_of
from ._iam import IAM_ACTIONS
from ._identity import Authority, Caller, TokenError, request_credential
from ._sts import assume_role, get_caller_identity

__all__ = ["IAM_VERSION", "STS_VERSION", "QueryFrontDoor", "is_query_request"]

_log = logging.getLogger("strands_vector_memory.server")

STS_VERSION: Final = "2011-06-15"
IAM_VERSION: Final = "2010-05-08"
_NAMESPACES: Final = {
    "sts": f"https://sts.amazonaws.com/doc/{STS_VERSION}/",
    "iam": f"https://iam.amazonaws.com/doc/{IAM_VERSION}/",
}
_VERSIONS: Final = {STS_VERSION: "sts", IAM_VERSION: "iam"}
_STS_ACTIONS: Final = frozenset({"AssumeRole", "GetCallerIdentity"})
#: What a project exception becomes on the query protocol.
_CODES: Final = (
    (AccessDeniedError, "AccessDenied"),
    (ValidationError, "ValidationError"),
    (NotFoundError, "NoSuchEntity"),
    (ConflictError, "EntityAlreadyExists"),
)
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def is_query_request(content_type: str | None, payload: bytes) -> bool:
    """Whether a ``POST /`` is a query-protocol call (a form body naming an ``Action``)."""
    if content_type and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        return True
    return payload.startswith(b"Action=") or b"&Action=" in payload


def _element(parent: ET.Element, name: str, value: Any) -> None:
    """``value`` as child ``name``: structures nest, lists become ``<member>`` items."""
    if value is None:
        return
    child = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _element(child, key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _element(child, "member", item)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    else:
        child.text = _NOT_XML.sub("\ufffd", str(value))


def render(action: str, service: str, result: Mapping[str, Any] | None, request_id: str) -> bytes:
    """The XML answer to a successful ``action``."""
    root = ET.Element(f"{action}Response", xmlns=_NAMESPACES[service])
    if result is not None:
        _element(root, f"{action}Result", result)
    _element(root, "ResponseMetadata", {"RequestId": request_id})
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return content


def render_error(service: str, code: str, message: str, request_id: str, *, sender: bool = True) -> bytes:
    """The ``<ErrorResponse>`` of a failed call."""
    root = ET.Element("ErrorResponse", xmlns=_NAMESPACES[service])
    _element(root, "Error", {"Type": "Sender" if sender else "Receiver", "Code": code, "Message": message})
    _element(root, "RequestId", request_id)
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return content


class QueryFrontDoor:
    """Answers STS and IAM query-protocol requests; thread-safe.

    Args:
        authority: Resolves callers and holds the roles and sessions.
        region: The endpoint's region (``aws:RequestedRegion`` when the scope names none).
    """

    def __init__(self, authority: Authority, *, region: str) -> None:
        self.authority = authority
        self.region = region

    def handle(self, payload: bytes, headers: Mapping[str, str], query_string: str = "") -> Response:
        """The complete HTTP answer to one query-protocol request."""
        request_id = str(uuid.uuid4())
        query = dict(parse_qsl(query_string))
        credential = request_credential(headers, query)
        service = credential.service if credential is not None and credential.service in _NAMESPACES else None
        action = "?"
        try:
            params = parse_form(payload, query_string)
            action = params.action or "?"
            service = service or _service_of(params)
            if params.action is None:
                raise query_error("MissingAction", "the request has no Action parameter")
            if service is None:
                raise query_error(
                    "InvalidAction",
                    f"Could not find operation {params.action} for version {params.version} "
                    f"(this endpoint answers STS {', '.join(sorted(_STS_ACTIONS))} and IAM {', '.join(IAM_ACTIONS)})",
                )
            caller = self._caller(headers, query, service)
            result = self._dispatch(service, params.action, params, caller, credential.region if credential else None)
            content = render(params.action, service, result, request_id)
        except Exception as exc:
            return self._error(exc, service or "sts", action, request_id)
        return Response(content, 200, {"x-amzn-RequestId": request_id}, media_type="text/xml")

    def _caller(self, headers: Mapping[str, str], query: Mapping[str, str], service: str) -> Caller:
        try:
            caller = self.authority.caller(headers, query)
        except TokenError as exc:
            if not exc.expired:
                raise query_error("InvalidClientTokenId", str(exc)) from None
            raise query_error("ExpiredTokenException" if service == "sts" else "ExpiredToken", str(exc)) from None
        if caller is None:
            raise query_error("MissingAuthenticationToken", "Request is missing Authentication Token")
        return caller

    def _dispatch(
        self, service: str, action: str, params: Params, caller: Caller, region: str | None
    ) -> dict[str, Any] | None:
        region = region or self.region
        if service == "sts":
            if action == "AssumeRole":
                return assume_role(self.authority, caller, params, region)
            if action == "GetCallerIdentity":
                return get_caller_identity(caller)
            raise query_error(
                "NotImplemented",
                f"STS {action} is not supported by the local endpoint (it answers AssumeRole and GetCallerIdentity)",
            )
        handler = IAM_ACTIONS.get(action)
        if handler is None:
            raise query_error(
                "NotImplemented",
                f"IAM {action} is not supported by the local endpoint (it answers {', '.join(IAM_ACTIONS)})",
            )
        self.authority.authorize(caller, f"iam:{action}", self._iam_resource(action, params), region=region)
        return handler(self.authority.iam, params)

    def _iam_resource(self, action: str, params: Params) -> str:
        """The role ARN an IAM action is about (``*`` for ``ListRoles``)."""
        name = params.text("RoleName")
        if action == "ListRoles" or name is None:
            return "*"
        try:
            path = self.authority.iam.get_role(name).path
        except EndpointError:
            path = params.text("Path") or "/"
        return f"arn:aws:iam::{ACCOUNT_ID}:role{path}{name}"

    def _error(self, exc: BaseException, service: str, action: str, request_id: str) -> Response:
        code = next((c for t, c in _CODES if isinstance(exc, t)), None)
        if isinstance(exc, EndpointError):
            code, status, message = exc.code, exc.status, str(exc)
        elif isinstance(exc, RetryableError):
            code, status, message = "ServiceFailure", 500, str(exc)
        elif code is not None:
            status, message = status_of(code), str(exc)
        else:
            code, status, message = "InternalFailure", 500, "internal error; see the endpoint's log"
        if status >= 500 and status != 501:
            _log.error("action=<%s>, request_id=<%s> | %s", action, request_id, code, exc_info=exc)
        content = render_error(service, code, message, request_id, sender=status < 500)
        return Response(content, status, {"x-amzn-RequestId": request_id}, media_type="text/xml")


def _service_of(params: Params) -> str | None:
    """The service of a request whose signature names none: by action, then by API version."""
    if params.action in _STS_ACTIONS:
        return "sts"
    if params.action in IAM_ACTIONS:
        return "iam"
    return _VERSIONS.get(params.version or "")
