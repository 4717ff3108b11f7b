# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``tenancy``: the IAM side of multi-tenant memory, as commands.

Why a group: tenancy is several admin acts on one bucket (print the policies, set up
the role, and later onboard, offboard and list tenants), and a group keeps them under
one name with one help page explaining the model. Each subcommand is one function
below, calling one library function; the shared pieces (document options, the bucket
default, building an AWS client) are module-level helpers so new subcommands reuse them.
boto3 is imported only when a command talks to AWS: ``tenancy policy`` works offline
without the ``aws`` extra.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from typing import Any, Final, TypeVar

import click

from .._aws import resolve_region, with_user_agent
from ..memory import default_bucket
from ..tenancy import (
    INDEX_PREFIX,
    RoleSetup,
    caller_principal,
    permissions_policy,
    policy_json,
    setup_tenant_role,
    trust_policy,
)
from ..tenancy._policies import principal_parts
from ..tenancy._setup import MAX_SESSION_SECONDS, MIN_SESSION_SECONDS
from ._app import AppContext, cli, pass_app
from ._options import json_option
from ._output import print_json

__all__ = ["TVM_ROLE_ENV", "aws_client", "bucket_for", "document_options", "policy", "setup", "tenancy"]

F = TypeVar("F", bound=Callable[..., Any])

#: The variable the token vending machine reads its role ARN from.
TVM_ROLE_ENV: Final = "S3_VECTOR_TVM_ROLE_ARN"

_EXTRA_HINT: Final = "pip install 'strands-vector-memory[aws]'"

#: IAM's signing region in the ``aws`` partition: used when nothing names a region,
#: because IAM is global but botocore needs a region to sign for a custom endpoint.
_FALLBACK_REGION: Final = "us-east-1"


@cli.group()
def tenancy() -> None:
    """Multi-tenant memory: one index per tenant, kept apart by IAM.

    Each tenant's memories live in index memory-<tenant key> of one vector
    bucket. A token vending machine assumes one IAM role with the session tag
    TenantID=<tenant key>; the role's policy allows S3 Vectors calls only on
    index memory-${aws:PrincipalTag/TenantID}, so AWS itself refuses every
    other tenant's index.

    \b
    Example:
        strands-memory tenancy policy --bucket my-memories --which permissions
        strands-memory tenancy setup --role-name memory-tenants --bucket my-memories
    """


def document_options(f: F) -> F:
    """The options both IAM documents are built from, spelled the same in every subcommand."""
    options = [
        click.option(
            "--bucket",
            metavar="NAME",
            default=None,
            help="Vector bucket of the tenants' indexes. Default: the global --bucket or $S3_VECTOR_BUCKET_NAME.",
        ),
        click.option(
            "--region", default="*", show_default=True, help="The bucket's region in the resource ARN ('*': any)."
        ),
        click.option(
            "--account",
            default=None,
            metavar="ID",
            help="The bucket owner's 12-digit account id.  [default: the principal's account, else '*']",
        ),
        click.option("--prefix", default=INDEX_PREFIX, show_default=True, help="What tenant index names start with."),
        click.option(
            "--bedrock-model",
            "bedrock_models",
            multiple=True,
            metavar="ID",
            help="Also allow bedrock:InvokeModel on this embedding model or inference profile id (repeatable).",
        ),
        click.option(
            "--tenant-pattern",
            default="?*",
            show_default=True,
            help="IAM StringLike pattern every TenantID tag must match ('?*': any non-empty key).",
        ),
        click.option("--external-id", default=None, help="Require this sts:ExternalId on AssumeRole."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def bucket_for(app: AppContext, bucket: str | None) -> str:
    """``bucket``, else the global ``--bucket``, else ``$S3_VECTOR_BUCKET_NAME`` (else a clear error)."""
    return default_bucket(bucket or (app.s3vectors.bucket if app.s3vectors is not None else None))


def aws_client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client for ``service`` with our user agent and botocore's standard retries.

    The endpoint is ``endpoint_url`` if given, else botocore's own resolution (which
    honours ``AWS_ENDPOINT_URL_<SERVICE>``). The region is ``region``, ``$AWS_REGION``,
    the profile's, else us-east-1 (IAM is global; the region only signs).
    """
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise click.ClickException(f"strands-memory tenancy needs boto3 to reach AWS: {_EXTRA_HINT}") from exc
    session = boto3.session.Session()
    return session.client(
        service,
        region_name=resolve_region(region) or session.region_name or _FALLBACK_REGION,
        endpoint_url=endpoint_url,
        config=with_user_agent(Config(retries={"mode": "standard"})),
    )


def _client_region(app: AppContext) -> str | None:
    return app.s3vectors.region if app.s3vectors is not None else None


def _default_account(account: str | None, principal: str | None) -> str:
    if account is not None:
        return account
    return principal_parts(principal)[1] if principal else "*"


@tenancy.command()
@document_options
@click.option(
    "--principal",
    metavar="ARN",
    default=None,
    help="Who may assume the role (the token vending machine's IAM role or user); needed for the trust policy.",
)
@click.option(
    "--which",
    type=click.Choice(["permissions", "trust", "both"]),
    default="both",
    show_default=True,
    help="Which document to print.",
)
@json_option
@pass_app
def policy(
    app: AppContext,
    bucket: str | None,
    region: str,
    account: str | None,
    prefix: str,
    bedrock_models: tuple[str, ...],
    tenant_pattern: str,
    external_id: str | None,
    principal: str | None,
    which: str,
    as_json: bool,
) -> None:
    """Print the tenant role's IAM documents; nothing is sent to AWS.

    The permissions policy lets a session reach only its own index,
    <prefix>${aws:PrincipalTag/TenantID}; the trust policy lets --principal assume
    the role only with exactly one TenantID session tag. One document prints as
    plain JSON (ready for a file); both print labelled, or as one JSON object
    {"permissions": ..., "trust": ...} with --json.

    \b
    Example:
        strands-memory tenancy policy --bucket my-memories --which permissions > tenant-access.json
        strands-memory tenancy policy --bucket my-memories --region us-east-1 \\
            --principal arn:aws:iam::123456789012:role/app --bedrock-model amazon.titan-embed-text-v2:0
    """
    documents: dict[str, dict[str, Any]] = {}
    if which in ("permissions", "both"):
        partition = principal_parts(principal)[0] if principal else "aws"
        documents["permissions"] = permissions_policy(
            bucket_for(app, bucket),
            region=region,
            account=_default_account(account, principal),
            prefix=prefix,
            bedrock_models=bedrock_models,
            partition=partition,
        )
    if which in ("trust", "both"):
        if not principal:
            raise click.UsageError(
                "the trust policy needs --principal ARN (the identity the token vending machine runs as); "
                "for the permissions policy alone pass --which permissions"
            )
        documents["trust"] = trust_policy(principal, tenant_pattern=tenant_pattern, external_id=external_id)
    if as_json:
        print_json(documents)
    elif len(documents) == 1:
        click.echo(policy_json(next(iter(documents.values()))))
    else:
        click.echo("# Permissions policy: the tenant role's inline policy")
        click.echo(policy_json(documents["permissions"]))
        click.echo()
        click.echo("# Trust policy: who may assume the tenant role, and with which session tags")
        click.echo(policy_json(documents["trust"]))


@tenancy.command()
@click.option("--role-name", required=True, help="The IAM role to create or update.")
@click.option(
    "--principal",
    metavar="ARN",
    default=None,
    help="Who may assume the role (the token vending machine's identity).  [default: the caller, "
    "from STS GetCallerIdentity; an assumed-role session becomes its role]",
)
@document_options
@click.option(
    "--max-session-seconds",
    type=click.IntRange(MIN_SESSION_SECONDS, MAX_SESSION_SECONDS),
    default=MIN_SESSION_SECONDS,
    show_default=True,
    help="Longest session the role grants.",
)
@click.option(
    "--iam-endpoint-url",
    metavar="URL",
    default=None,
    help="IAM endpoint (and STS, for the caller identity, unless $AWS_ENDPOINT_URL_STS is set). "
    "Default: botocore's, which honours $AWS_ENDPOINT_URL_IAM.",
)
@json_option
@pass_app
def setup(
    app: AppContext,
    role_name: str,
    principal: str | None,
    bucket: str | None,
    region: str,
    account: str | None,
    prefix: str,
    bedrock_models: tuple[str, ...],
    tenant_pattern: str,
    external_id: str | None,
    max_session_seconds: int,
    iam_endpoint_url: str | None,
    as_json: bool,
) -> None:
    """Create or update the IAM role tenant sessions assume; safe to re-run.

    Writes the trust policy and the inline permissions policy shown by
    `tenancy policy`, and the role's maximum session length. Re-running with
    other options rewrites them, so IAM always holds what the last run asked
    for. Prints an export line for the token vending machine on stdout (so
    `eval "$(strands-memory tenancy setup ...)"` works) and what was done on
    stderr. Needs the aws extra and iam:CreateRole, iam:GetRole,
    iam:UpdateRole, iam:UpdateAssumeRolePolicy and iam:PutRolePolicy.

    \b
    Example:
        strands-memory tenancy setup --role-name memory-tenants --bucket my-memories --region us-east-1
        strands-memory tenancy setup --role-name memory-tenants --bucket my-memories \\
            --principal arn:aws:iam::123456789012:role/app --bedrock-model amazon.titan-embed-text-v2:0
    """
    bucket = bucket_for(app, bucket)
    iam = aws_client("iam", endpoint_url=iam_endpoint_url, region=_client_region(app))
    if principal is None:
        sts_endpoint = iam_endpoint_url if iam_endpoint_url and not os.environ.get("AWS_ENDPOINT_URL_STS") else None
        sts = aws_client("sts", endpoint_url=sts_endpoint, region=_client_region(app))
        principal = caller_principal(sts, iam)
        _say(f"Principal (the caller): {principal}")
    result = setup_tenant_role(
        iam,
        role_name=role_name,
        principal_arn=principal,
        bucket=bucket,
        region=region,
        account=account,
        prefix=prefix,
        bedrock_models=bedrock_models,
        tenant_pattern=tenant_pattern,
        external_id=external_id,
        max_session_seconds=max_session_seconds,
    )
    if as_json:
        print_json(_setup_info(result, principal))
        return
    _say(f"{'Created' if result.created else 'Updated'} role {result.role_name}: {result.role_arn}")
    _say(f"Tenant sessions reach only {result.permissions_policy['Statement'][0]['Resource']}")
    click.echo(f"export {TVM_ROLE_ENV}={shlex.quote(result.role_arn)}")


def _say(message: str) -> None:
    """A line on stderr, never wrapped: ARNs in it must survive copy and paste (rich would fold them)."""
    click.echo(message, err=True)


def _setup_info(result: RoleSetup, principal: str) -> dict[str, Any]:
    return {
        "role_name": result.role_name,
        "role_arn": result.role_arn,
        "created": result.created,
        "principal": principal,
        "policy_name": result.policy_name,
        "trust_policy": result.trust_policy,
        "permissions_policy": result.permissions_policy,
        "env": {TVM_ROLE_ENV: result.role_arn},
    }
