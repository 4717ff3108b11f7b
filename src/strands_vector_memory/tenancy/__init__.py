"""Multi-tenancy: one index per tenant, credentials IAM scopes to that index, onboarding.

``VectorMemory.from_s3_vectors(bucket, tvm=TokenVendingMachine(role_arn))`` is the entry
point; the parts are exported for other backends, for set-up scripts and for tests.
"""

from ._embedding import TenantScopedEmbedder
from ._layouts import TenantFilterLayout, TenantIndexLayout, require_tenant
from ._naming import INDEX_PREFIX, TAG_KEY, index_for_tenant, tenant_key, validate_tenant_key
from ._policies import TENANT_ACTIONS, permissions_policy, policy_json, trust_policy
from ._routing import TenantRoutedBackend
from ._s3vectors import tenant_memory_parts
from ._setup import (
    DEFAULT_POLICY_NAME,
    RoleSetup,
    caller_principal,
    principal_from_caller,
    remove_tenant_role,
    setup_tenant_role,
)
from ._tvm import TenantCredentials, TokenVendingMachine

__all__ = [
    "DEFAULT_POLICY_NAME",
    "INDEX_PREFIX",
    "TAG_KEY",
    "TENANT_ACTIONS",
    "RoleSetup",
    "TenantFilterLayout",
    "TenantIndexLayout",
    "TenantRoutedBackend",
    "TenantScopedEmbedder",
    "TenantCredentials",
    "TokenVendingMachine",
    "caller_principal",
    "index_for_tenant",
    "permissions_policy",
    "policy_json",
    "principal_from_caller",
    "remove_tenant_role",
    "require_tenant",
    "setup_tenant_role",
    "tenant_key",
    "tenant_memory_parts",
    "trust_policy",
    "validate_tenant_key",
]
