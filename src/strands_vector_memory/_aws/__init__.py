"""AWS plumbing shared by the S3 Vectors backend and the Bedrock embedders (private)."""

from ._config import class_for_status, map_botocore_error, resolve_region, user_agent, with_user_agent
from ._retry import RetryPolicy, call_with_retries

__all__ = [
    "RetryPolicy",
    "call_with_retries",
    "class_for_status",
    "map_botocore_error",
    "resolve_region",
    "user_agent",
    "with_user_agent",
]
