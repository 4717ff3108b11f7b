"""A small IAM policy evaluator: enough of AWS's rules to enforce tenant isolation offline.

Why our own: the local endpoint must refuse tenant B's credentials on tenant A's index
exactly where AWS would, or tests written against it prove nothing. This covers the
part of the policy language a Token Vending Machine uses, with AWS's semantics:

* explicit ``Deny`` beats ``Allow``; nothing allowed is denied (default deny);
* ``Action``/``NotAction`` (case-insensitive), ``Resource``/``NotResource`` (case-sensitive,
  matched per ARN segment) with ``*`` and ``?`` wildcards;
* ``Principal`` ``{"AWS": arn | [arns] | "*"}``, an account id or ``arn:aws:iam::<acct>:root``
  standing for every principal of that account;
* policy variables (``${aws:PrincipalTag/TenantID}``, ``${aws:username}``, defaults
  ``${key, 'x'}``, escapes ``${*}``, ``${?}``, ``${$}``) in resources and string condition
  values; a substituted value is literal text, never a wildcard. A variable with no
  single value in the request makes the whole statement not apply, as AWS documents;
* condition operators ``String(Not)Equals(IgnoreCase)``, ``String(Not)Like``,
  ``Arn(Not)Equals``, ``Arn(Not)Like``, ``Null``, ``Bool``, the ``IfExists`` suffix and the
  ``ForAllValues:``/``ForAnyValue:`` set prefixes; values are OR-ed within a key, keys and
  operators are AND-ed.

Any other operator AWS knows (``NumericLessThan``, ``IpAddress``, ...) is accepted in a
document but cannot be evaluated here, so it fails closed: an ``Allow`` with it never
applies and a ``Deny`` with it always does; either way it is logged. Condition keys and
tag keys are case-insensitive (context keys are compared in lower case).
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import unquote

__all__ = [
    "CONDITION_OPERATORS",
    "ContextValue",
    "Decision",
    "PolicyError",
    "PolicyKind",
    "Request",
    "evaluate",
    "load_policy",
    "wildcard_match",
]

_log = logging.getLogger("strands_vector_memory.server.policy")

ContextValue = str | Sequence[str]
PolicyKind = Literal["identity", "trust"]

#: Every condition operator AWS accepts (without ``IfExists`` or a set prefix).
CONDITION_OPERATORS: Final = frozenset(
    {
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
        "ArnNotLike", "Null",
    }
)  # fmt: skip
#: String operators this evaluator implements: (case-insensitive?, wildcards?, negated?).
_STRING_OPERATORS: Final = {
    "StringEquals": (False, False, False),
    "StringNotEquals": (False, False, True),
    "StringEqualsIgnoreCase": (True, False, False),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (False, True, True),
    "ArnEquals": (False, True, False),  # ARN operators take wildcards, like AWS's
    "ArnLike": (False, True, False),
    "ArnNotEquals": (False, True, True),
    "ArnNotLike": (False, True, True),
}
_SET_PREFIXES: Final = ("ForAllValues:", "ForAnyValue:")
_VERSIONS: Final = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS: Final = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}
)
_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")
_ACCOUNT_ROOT: Final = re.compile(r"arn:aws[-a-z]*:iam::([0-9]{12}):root")

#: A pattern after variable substitution: (text, literal?) pieces; only non-literal text has wildcards.
_Pieces = tuple[tuple[str, bool], ...]


class PolicyError(ValueError):
    """A policy document IAM would refuse (``MalformedPolicyDocument``); the message says why."""


class Decision(enum.Enum):
    """The outcome of evaluating policies for one request."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"

    @property
    def allowed(self) -> bool:
        """Whether the request may proceed."""
        return self is Decision.ALLOW


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked: an action on a resource, by whom, with which context keys.

    Attributes:
        action: ``service:Action`` (``s3vectors:QueryVectors``).
        resource: The resource ARN, or ``*``.
        context: Condition keys (any case) to a value or a list of values.
        principals: For resource-based (trust) policies, the ARNs that name the caller
            (a session's ARN and its role's ARN); ``None`` for identity policies.
        account: The caller's account, for ``Principal`` entries naming an account.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    principals: Sequence[str] | None = None
    account: str | None = None


# -- wildcards -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _compile(pieces: _Pieces, ignore_case: bool) -> re.Pattern[str]:
    """One regex for pattern pieces; a piece marked literal (a substituted value) has no wildcards."""
    parts: list[str] = []
    for text, literal in pieces:
        if literal:
            parts.append(re.escape(text))
            continue
        for char in text:
            parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``pattern``, where ``*`` is any run of characters and ``?`` one character.

    Nothing else is special (no character classes), unlike ``fnmatch``.
    """
    return _pieces_match(((pattern, False),), value, ignore_case)


def _pieces_match(pieces: _Pieces, value: str, ignore_case: bool) -> bool:
    return _compile(pieces, ignore_case).fullmatch(value) is not None


# -- variables -----------------------------------------------------------------------------------


class _Unresolved(Exception):
    """A policy variable with no single value in the request: the statement does not apply."""


def _substitute(text: str, context: Mapping[str, ContextValue], variables: bool) -> _Pieces:
    """``text`` as pieces: policy text (wildcards allowed) and substituted values (literal)."""
    if not variables or "${" not in text:
        return ((text, False),)
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        pieces.append((text[position : match.start()], False))
        position = match.end()
        inner = match.group(1)
        if inner in ("*", "?", "$"):
            pieces.append((inner, True))
            continue
        name, comma, default = inner.partition(",")
        value = context.get(name.strip().lower())
        if isinstance(value, str):
            pieces.append((value, True))
        elif comma and default.strip().startswith("'") and default.strip().endswith("'") and len(default.strip()) > 1:
            pieces.append((default.strip()[1:-1], True))
        else:
            raise _Unresolved(name.strip())
    pieces.append((text[position:], False))
    return tuple(piece for piece in pieces if piece[0])


# -- documents -----------------------------------------------------------------------------------


def _strings(value: object, what: str) -> list[str]:
    """A string-or-list element as a list; anything else is malformed."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return list(value)
    raise PolicyError(f"{what} must be a string or a non-empty list of strings")


def load_policy(document: str | Mapping[str, Any], kind: PolicyKind = "identity") -> dict[str, Any]:
    """Parse and check a policy document as IAM does before storing it.

    Args:
        document: JSON text (plain, or URL-encoded as IAM returns it) or a parsed document.
        kind: ``"identity"`` (a role's permissions: ``Resource``, no ``Principal``) or
            ``"trust"`` (a role's trust policy: ``Principal``, no ``Resource``).

    Returns:
        The parsed document.

    Raises:
        PolicyError: The document is not JSON or breaks the policy grammar.
    """
    if isinstance(document, str):
        parsed: Any
        try:
            parsed = json.loads(document)
        except ValueError:
            try:
                parsed = json.loads(unquote(document)) if "%" in document else None
            except ValueError:
                parsed = None
            if parsed is None:
                raise PolicyError("the policy document is not valid JSON (send the JSON text)") from None
    else:
        parsed = dict(document)
    if not isinstance(parsed, dict):
        raise PolicyError("the policy document must be a JSON object with Version and Statement")
    unknown = set(parsed) - {"Version", "Id", "Statement"}
    if unknown:
        raise PolicyError(f"the policy has unknown top-level fields: {', '.join(sorted(unknown))}")
    if parsed.get("Version") not in _VERSIONS:
        raise PolicyError(f'the policy needs "Version": "2012-10-17" (got {parsed.get("Version")!r})')
    statements = parsed.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("the policy needs a Statement: an object or a non-empty list of objects")
    for i, statement in enumerate(statements):
        _check_statement(statement, kind, f"Statement[{i}]")
    return parsed


def _check_statement(statement: object, kind: PolicyKind, where: str) -> None:
    if not isinstance(statement, dict):
        raise PolicyError(f"{where} must be a JSON object")
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise PolicyError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f'{where} needs "Effect": "Allow" or "Deny"')
    if ("Action" in statement) == ("NotAction" in statement):
        raise PolicyError(f"{where} needs Action or NotAction (exactly one)")
    for name in ("Action", "NotAction", "Resource", "NotResource"):
        if name in statement:
            _strings(statement[name], f"{where}.{name}")
    if kind == "trust":
        if "Resource" in statement or "NotResource" in statement:
            raise PolicyError(f"{where}: a trust policy has prohibited field Resource (the resource is the role)")
        if "NotPrincipal" in statement or "Principal" not in statement:
            raise PolicyError(f"{where}: a trust policy statement needs Principal")
        _check_principal(statement["Principal"], where)
    else:
        if "Principal" in statement or "NotPrincipal" in statement:
            raise PolicyError(f"{where}: a permissions policy should not specify a principal")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise PolicyError(f"{where} needs Resource or NotResource (exactly one)")
    if "Condition" in statement:
        _check_condition(statement["Condition"], where)


def _check_principal(principal: object, where: str) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal:
        raise PolicyError(f'{where}.Principal must be "*" or an object such as {{"AWS": "<arn>"}}')
    for name, value in principal.items():
        if name not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise PolicyError(f"{where}.Principal has an unknown principal type {name!r}")
        _strings(value, f"{where}.Principal.{name}")


def _check_condition(condition: object, where: str) -> None:
    if not isinstance(condition, dict):
        raise PolicyError(f"{where}.Condition must be an object of operators")
    for operator, block in condition.items():
        base = _base_operator(operator)
        if base not in CONDITION_OPERATORS:
            raise PolicyError(f"{where}.Condition: invalid condition operator {operator!r}")
        if not isinstance(block, dict) or not block:
            raise PolicyError(f"{where}.Condition.{operator} must be an object of condition keys")
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not all(isinstance(item, str | bool | int | float) for item in items):
                raise PolicyError(f"{where}.Condition.{operator}.{key} must be a value or a list of values")


def _base_operator(operator: str) -> str:
    """``ForAllValues:StringLikeIfExists`` -> ``StringLike``."""
    for prefix in _SET_PREFIXES:
        if operator.startswith(prefix):
            operator = operator[len(prefix) :]
    return operator.removesuffix("IfExists") if operator != "IfExists" else operator


# -- evaluation ----------------------------------------------------------------------------------


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """AWS's decision for ``request`` under ``policies`` (parsed documents, as from :func:`load_policy`).

    An explicit ``Deny`` in any policy wins; otherwise any ``Allow`` allows; otherwise
    the request is implicitly denied.
    """
    context = {key.lower(): value for key, value in request.context.items()}
    allowed = False
    for policy in policies:
        statements = policy.get("Statement")
        statements = [statements] if isinstance(statements, dict) else statements or []
        variables = policy.get("Version") == "2012-10-17"  # the 2008 language has no variables
        for statement in statements:
            if not _applies(statement, request, context, variables):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def _applies(
    statement: Mapping[str, Any], request: Request, context: Mapping[str, ContextValue], variables: bool
) -> bool:
    deny = statement.get("Effect") == "Deny"
    try:
        if not _action_matches(statement, request.action):
            return False
        if not _resource_matches(statement, request.resource, context, variables):
            return False
        if request.principals is not None and not _principal_matches(statement.get("Principal"), request):
            return False
        outcome = _condition_holds(statement.get("Condition") or {}, context, variables)
    except _Unresolved as exc:
        _log.debug(
            "sid=<%s>, variable=<%s> | policy variable has no value, statement skipped", statement.get("Sid"), exc
        )
        return False
    if outcome is None:  # an operator this evaluator cannot evaluate: fail closed
        _log.warning(
            "sid=<%s>, effect=<%s> | unsupported condition operator: the statement %s",
            statement.get("Sid"),
            statement.get("Effect"),
            "applies (fail closed)" if deny else "does not apply (fail closed)",
        )
        return deny
    return outcome


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(wildcard_match(p, action, ignore_case=True) for p in _strings(statement["Action"], "Action"))
    return not any(wildcard_match(p, action, ignore_case=True) for p in _strings(statement["NotAction"], "NotAction"))


def _resource_matches(
    statement: Mapping[str, Any], resource: str, context: Mapping[str, ContextValue], variables: bool
) -> bool:
    if "Resource" in statement:
        patterns, negate = _strings(statement["Resource"], "Resource"), False
    elif "NotResource" in statement:
        patterns, negate = _strings(statement["NotResource"], "NotResource"), True
    else:
        return True  # a trust policy: the resource is the role itself
    resolved = [_arn_pattern(p, context, variables) for p in patterns]  # may raise _Unresolved
    matched = any(_arn_matches(p, resource) for p in resolved)
    return matched != negate


def _arn_pattern(pattern: str, context: Mapping[str, ContextValue], variables: bool) -> tuple[_Pieces, ...]:
    """A resource pattern as six ARN segments (or one piece list for ``*`` and non-ARNs)."""
    head = pattern.split(":", 5)
    if len(head) == 6 and "${" not in ":".join(head[:5]):
        return (*(((segment, False),) for segment in head[:5]), _substitute(head[5], context, variables))
    return (_substitute(pattern, context, variables),)


def _arn_matches(pattern: tuple[_Pieces, ...], resource: str) -> bool:
    """Segment by segment, so a wildcard in the region never swallows the account."""
    if len(pattern) == 6:
        segments = resource.split(":", 5)
        if len(segments) == 6:
            return all(_pieces_match(p, s, False) for p, s in zip(pattern, segments, strict=True))
    pieces = tuple(piece for segment_pieces in _join(pattern) for piece in segment_pieces)
    return _pieces_match(pieces, resource, False)


def _join(pattern: tuple[_Pieces, ...]) -> list[_Pieces]:
    joined: list[_Pieces] = []
    for i, pieces in enumerate(pattern):
        joined.append(pieces if i == 0 else ((":", True), *pieces))
    return joined


def _principal_matches(principal: object, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or "AWS" not in principal:
        return False  # Service, Federated, CanonicalUser: no such caller here
    for entry in _strings(principal["AWS"], "Principal.AWS"):
        if entry == "*":
            return True
        root = _ACCOUNT_ROOT.fullmatch(entry)
        account = entry if _ACCOUNT.fullmatch(entry) else root.group(1) if root else None
        if account is not None:
            if account == request.account:
                return True
        elif entry in (request.principals or ()):
            return True
    return False


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, ContextValue], variables: bool) -> bool | None:
    """True/False, or None when an operator cannot be evaluated here."""
    unknown = False
    for operator, block in condition.items():
        for key, raw in block.items():
            values = [_text(v) for v in (raw if isinstance(raw, list) else [raw])]
            outcome = _operator_holds(operator, context.get(key.lower()), values, context, variables)
            if outcome is False:
                return False
            unknown = unknown or outcome is None
    return None if unknown else True


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _operator_holds(
    operator: str,
    actual: ContextValue | None,
    expected: list[str],
    context: Mapping[str, ContextValue],
    variables: bool,
) -> bool | None:
    prefix = next((p for p in _SET_PREFIXES if operator.startswith(p)), "")
    name = operator[len(prefix) :]
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    present = [actual] if isinstance(actual, str) else list(actual) if actual is not None else []
    if name == "Null" and not prefix and not if_exists:
        absent = not present
        return any((value.lower() == "true") == absent for value in expected)
    if name == "Bool" and not prefix:
        if not present:
            return if_exists
        return any(a.lower() == e.lower() for a in present for e in expected)
    if name not in _STRING_OPERATORS:
        return None
    ignore_case, wildcards, negated = _STRING_OPERATORS[name]
    patterns = [_substitute(value, context, variables) for value in expected]  # may raise _Unresolved

    def matches(value: str) -> bool:
        for pieces in patterns:
            if not wildcards:
                text = "".join(text for text, _ in pieces)
                if (value.lower() == text.lower()) if ignore_case else (value == text):
                    return True
            elif _pieces_match(pieces, value, ignore_case):
                return True
        return False

    def holds(value: str) -> bool:
        return matches(value) != negated

    if prefix == "ForAllValues:":
        return all(holds(value) for value in present)  # vacuously true for an absent key, as on AWS
    if prefix == "ForAnyValue:":
        return any(holds(value) for value in present)
    if not present:
        return if_exists or negated  # a negated operator holds when the key is absent
    return all(holds(v) for v in present) if negated else any(holds(v) for v in present)
