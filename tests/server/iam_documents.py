"""The Token Vending Machine's IAM documents, as the project generates them, and a role set up with them.

Every enforcement, STS and IAM test takes its documents from here, so the endpoint is
tested against exactly the policies ``strands-memory tenancy policy|setup`` produce.
"""

from __future__ import annotations

import json
from typing import Any

from strands_vector_memory import tenancy

ACCOUNT = "123456789012"
#: The static key the application (the Token Vending Machine) signs with, and its principal ARN.
APP_KEY = "AKIATVMAPPLICATION"
APP_ARN = f"arn:aws:iam::{ACCOUNT}:user/{APP_KEY}"
TENANT_ACTIONS = list(tenancy.TENANT_ACTIONS)


def permissions_policy(
    bucket: str, *, region: str = "*", account: str = "*", prefix: str = "memory-", actions: list[str] | None = None
) -> dict[str, Any]:
    """The generated permissions policy; ``actions`` narrows it (to test a missing permission)."""
    document = tenancy.permissions_policy(bucket, region=region, account=account, prefix=prefix)
    if actions is not None:
        document["Statement"][0]["Action"] = list(actions)
    return document


def trust_policy(principal: str = APP_ARN, *, pattern: str = "?*", external_id: str | None = None) -> dict[str, Any]:
    """The generated trust policy: only ``principal``, exactly one tag, a TenantID matching ``pattern``."""
    return tenancy.trust_policy(principal, tenant_pattern=pattern, external_id=external_id)


def create_tenant_role(iam: Any, role: str, bucket: str, **trust: Any) -> str:
    """Create ``role`` with the trust and permissions documents; its ARN."""
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_policy(**trust)))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=role, PolicyName="tenant-isolation", PolicyDocument=json.dumps(permissions_policy(bucket))
    )
    return str(arn)
