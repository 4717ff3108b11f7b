"""The two IAM documents of the tenant role: what a tenant may do, and who may become one.

Why IAM and not only our own checks: the token vending machine assumes one role with a
session tag ``TenantID=<tenant key>``, and the role's permissions policy names the
tenant's index through the policy variable ``${aws:PrincipalTag/TenantID}``. AWS then
refuses, by itself, any call of those credentials on another tenant's index, whatever
bug or prompt injection the application suffers. The trust policy makes the tag
mandatory and the only one, so a session without a tenant (or with extra tags that a
later policy might read) cannot be obtained.

Every function here is pure: it validates its arguments and returns a ``dict`` ready for
``json.dumps``; nothing talks to AWS (``_setup`` does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..core import ValidationError
from ..core._limits import validate_bucket_name
from ._naming import INDEX_PREFIX, TAG_KEY, validate_prefix

__all__ = [
    "INFERENCE_PROFILE_GEOS",
    "POLICY_VERSION",
    "TENANT_ACTIONS",
    "bedrock_resources",
    "permissions_policy",
    "policy_json",
    "principal_parts",
    "trust_policy",
]

#: The IAM policy language version; the only one with policy variables.
POLICY_VERSION: Final = "2012-10-17"

#: Find the tenant's index, and create it lazily on its first write, so onboarding a
#: tenant needs no admin step. There is no ``DeleteIndex``: dropping a tenant's memories
#: is offboarding, an admin act, never something a tenant's credentials can do (nor
#: ``ListIndexes``, a bucket-level action that would reveal every other tenant's key).
_INDEX_ACTIONS: Final = ("s3vectors:CreateIndex", "s3vectors:GetIndex")

#: Store memories (PutVectors overwrites a key, so it also serves updates).
_WRITE_ACTIONS: Final = ("s3vectors:PutVectors",)

#: Recall. ``GetVectors`` is needed even by a service that only queries: S3 Vectors
#: authorises a ``QueryVectors`` with ``filter`` or ``returnMetadata`` against both
#: ``s3vectors:QueryVectors`` and ``s3vectors:GetVectors``. ``ListVectors`` pages through
#: a tenant's memories (export, stats, forget by scope).
_READ_ACTIONS: Final = ("s3vectors:GetVectors", "s3vectors:ListVectors", "s3vectors:QueryVectors")

#: Forget single memories (a user's right to erasure works per tenant, not per admin).
_DELETE_ACTIONS: Final = ("s3vectors:DeleteVectors",)

#: Every S3 Vectors action a tenant session may perform, all on its own index only.
TENANT_ACTIONS: Final = (*_INDEX_ACTIONS, *_WRITE_ACTIONS, *_READ_ACTIONS, *_DELETE_ACTIONS)

#: Geography prefixes of Bedrock cross-region (system-defined) inference profile ids,
#: such as ``us.amazon.nova-2-multimodal-embeddings-v1:0``.
INFERENCE_PROFILE_GEOS: Final = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})

_PARTITION: Final = re.compile(r"aws(?:-[a-z]+)*")
_REGION: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")
_TAG_KEY: Final = re.compile(r"[A-Za-z0-9_.:/=+@-]{1,128}")
_MODEL_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_BEDROCK_ARN: Final = re.compile(r"arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]*:(?:[0-9]{12})?:[a-z-]+/[A-Za-z0-9._:/-]+")
_PRINCIPAL: Final = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>[0-9]{12}):(?:root|(?:user|role)(?:/[\w+=,.@-]+)+)",
    re.ASCII,
)
_PATTERN: Final = re.compile(r"[\w .:/=+@*?-]{1,256}", re.ASCII)
_EXTERNAL_ID: Final = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)


def permissions_policy(
    bucket: str,
    *,
    region: str = "*",
    account: str = "*",
    prefix: str = INDEX_PREFIX,
    tag_key: str = TAG_KEY,
    bedrock_models: Sequence[str] = (),
    partition: str = "aws",
) -> dict[str, Any]:
    """The tenant role's permissions: :data:`TENANT_ACTIONS` on ``<prefix><own tenant key>`` only.

    The resource is
    ``arn:<partition>:s3vectors:<region>:<account>:bucket/<bucket>/index/<prefix>${aws:PrincipalTag/<tag_key>}``,
    so a session tagged ``TenantID=acme`` reaches index ``memory-acme`` and nothing else.
    Name ``region`` and ``account`` when they are known: ``*`` matches a bucket of the
    same name in any region or account.

    Args:
        bucket: The vector bucket holding every tenant's index.
        region: The bucket's region, or ``*``.
        account: The bucket owner's 12-digit account id, or ``*``.
        prefix: What every tenant index name starts with.
        tag_key: The session tag carrying the tenant key.
        bedrock_models: Embedding models tenants' sessions may invoke; adds a second
            statement (see :func:`bedrock_resources`). Empty when the application
            embeds with its own credentials or locally.
        partition: The AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``).

    Raises:
        ValidationError: If an argument is not a valid bucket, region, account, prefix,
            tag key, model id or partition; the ``field`` names which.
    """
    validate_bucket_name(bucket)
    _check(region == "*" or _fits(_REGION, region), "region", f"{region!r} is not a region name (us-east-1) or '*'")
    _check(account == "*" or _fits(_ACCOUNT, account), "account", f"{account!r} is not a 12-digit account id or '*'")
    _check(_fits(_PARTITION, partition), "partition", f"{partition!r} is not a partition (aws, aws-cn, aws-us-gov)")
    _check_prefix(prefix)
    _check_tag_key(tag_key)
    index = f"{prefix}${{aws:PrincipalTag/{tag_key}}}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "TenantOwnIndexOnly",
            "Effect": "Allow",
            "Action": list(TENANT_ACTIONS),
            "Resource": f"arn:{partition}:s3vectors:{region}:{account}:bucket/{bucket}/index/{index}",
        }
    ]
    models = (bedrock_models,) if isinstance(bedrock_models, str) else tuple(bedrock_models)  # one id: not its letters
    if models:
        statements.append(
            {
                "Sid": "TenantEmbeddings",
                "Effect": "Allow",
                "Action": "bedrock:InvokeModel",
                "Resource": bedrock_resources(models, region=region, account=account, partition=partition),
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def bedrock_resources(
    models: Sequence[str], *, region: str = "*", account: str = "*", partition: str = "aws"
) -> list[str]:
    """The ARNs ``bedrock:InvokeModel`` must allow to embed with ``models``, without duplicates.

    * A model id (``amazon.titan-embed-text-v2:0``) is the foundation model in ``region``:
      ``arn:aws:bedrock:<region>::foundation-model/<id>`` (foundation models have no account).
    * A cross-region inference profile id (a geography prefix from
      :data:`INFERENCE_PROFILE_GEOS`, e.g. ``us.amazon.nova-2-multimodal-embeddings-v1:0``)
      needs two ARNs: the profile itself in ``region`` and ``account``, and the
      foundation model it routes to (the id without the prefix) in *every* region,
      because Bedrock sends the request to whichever region of the geography has
      capacity and checks ``InvokeModel`` on the model there too. Allowing the profile
      alone fails with AccessDenied as soon as a request is routed away.
    * A full Bedrock ARN (an application inference profile, a provisioned model) is
      kept as given: only its owner knows which models it routes to, so name those too.

    Raises:
        ValidationError: If an entry is neither a model id, a profile id nor a Bedrock ARN.
    """
    resources: list[str] = []
    for model in models:
        if not isinstance(model, str):
            raise ValidationError(f"a Bedrock model id must be text, got {model!r}", field="bedrock_models")
        if model.startswith("arn:"):
            _check(_fits(_BEDROCK_ARN, model), "bedrock_models", f"{model!r} is not a Bedrock ARN")
            arns = [model]
        else:
            _check(
                _fits(_MODEL_ID, model),
                "bedrock_models",
                f"{model!r} is not a Bedrock model id such as amazon.titan-embed-text-v2:0 "
                "(or an inference profile id such as us.amazon.nova-2-multimodal-embeddings-v1:0, or an ARN)",
            )
            geo, _, base = model.partition(".")
            if geo in INFERENCE_PROFILE_GEOS and _MODEL_ID.fullmatch(base):
                arns = [
                    f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model}",
                    f"arn:{partition}:bedrock:*::foundation-model/{base}",
                ]
            else:
                arns = [f"arn:{partition}:bedrock:{region}::foundation-model/{model}"]
        resources.extend(arn for arn in arns if arn not in resources)
    return resources


def trust_policy(
    principal_arn: str,
    *,
    tag_key: str = TAG_KEY,
    tenant_pattern: str = "?*",
    external_id: str | None = None,
) -> dict[str, Any]:
    """Who may assume the tenant role: ``principal_arn``, and only with exactly one tenant tag.

    ``sts:TagSession`` is granted with ``sts:AssumeRole`` because passing session tags
    needs both. The conditions require the ``tag_key`` tag to match ``tenant_pattern``
    (IAM ``StringLike``; the default ``?*`` means present and non-empty) and allow no
    other tag keys, so a caller cannot get untagged (tenant-less) credentials or add tags
    a future policy might trust.

    Args:
        principal_arn: The identity the token vending machine runs as:
            ``arn:aws:iam::<account>:root``, ``...:user/<name>`` or ``...:role/<name>``
            (with path, if any). Use ``caller_principal`` to turn an assumed-role
            session ARN into its role ARN.
        tag_key: The session tag carrying the tenant key.
        tenant_pattern: ``StringLike`` pattern every tenant key must match; ``*`` and
            ``?`` are its only wildcards.
        external_id: If set, AssumeRole must also pass this ``ExternalId`` (the usual
            guard when the principal belongs to another party).

    Raises:
        ValidationError: If the principal ARN, tag key, pattern or external id is malformed.
    """
    _check(
        _fits(_PRINCIPAL, principal_arn),
        "principal_arn",
        f"{principal_arn!r} is not an IAM principal ARN: arn:aws:iam::<12 digits>:root, "
        "arn:aws:iam::<12 digits>:user/<name> or arn:aws:iam::<12 digits>:role/<name> "
        "(for an assumed-role session arn:aws:sts::...:assumed-role/R/S, use the role: arn:aws:iam::...:role/R)",
    )
    _check_tag_key(tag_key)
    _check(
        _fits(_PATTERN, tenant_pattern),
        "tenant_pattern",
        f"{tenant_pattern!r} is not a tag value pattern: 1-256 letters, digits, spaces or _.:/=+-@, "
        "with * (any run) and ? (one character) as the only wildcards",
    )
    condition: dict[str, dict[str, Any]] = {
        "StringLike": {f"aws:RequestTag/{tag_key}": tenant_pattern},
        "ForAllValues:StringEquals": {"aws:TagKeys": [tag_key]},
    }
    if external_id is not None:
        _check(
            _fits(_EXTERNAL_ID, external_id),
            "external_id",
            "an external id is 2-1224 characters of letters, digits and +=,.@:/-_",
        )
        condition["StringEquals"] = {"sts:ExternalId": external_id}
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "TokenVendingMachine",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arn},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": condition,
            }
        ],
    }


def policy_json(document: Mapping[str, Any]) -> str:
    """``document`` as indented JSON, the same text for the same document on every run.

    Keys keep the order the builders above give them (Version, Statement; Sid, Effect,
    ...), which is the order people expect to read; IAM ignores whitespace.
    """
    return json.dumps(document, indent=2)


def principal_parts(principal_arn: str) -> tuple[str, str]:
    """``(partition, account)`` of a principal ARN that :func:`trust_policy` accepts."""
    match = _PRINCIPAL.fullmatch(principal_arn) if isinstance(principal_arn, str) else None
    if match is None:
        trust_policy(principal_arn)  # raises the descriptive ValidationError
        raise AssertionError("unreachable")  # pragma: no cover
    return match["partition"], match["account"]


def _check_prefix(prefix: object) -> None:
    """:func:`validate_prefix`, with every failure reported on the ``prefix`` field."""
    try:
        validate_prefix(prefix)
    except ValidationError as exc:
        if exc.field == "prefix":
            raise
        raise ValidationError(
            f"invalid prefix {prefix!r}: every tenant index name starts with it, so it must be lowercase "
            "a-z, 0-9, '-' or '.', starting with a letter or digit",
            field="prefix",
        ) from None


def _check_tag_key(tag_key: object) -> None:
    _check(
        _fits(_TAG_KEY, tag_key) and not str(tag_key).lower().startswith("aws:"),
        "tag_key",
        f"{tag_key!r} is not a session tag key: 1-128 letters, digits or _.:/=+-@, not starting with 'aws:'",
    )


def _fits(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _check(ok: object, field: str, message: str) -> None:
    if not ok:
        raise ValidationError(f"invalid {field.replace('_', ' ')}: {message}", field=field)
