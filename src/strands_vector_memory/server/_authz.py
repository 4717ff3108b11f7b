"""What each S3 Vectors operation needs: the IAM actions and the resource ARNs they apply to.

Why a table: AWS authorises ``s3vectors:<Operation>`` on the resource the request
names (the index for index and vector operations, the bucket for bucket operations,
``*`` for listing buckets), and some requests need more than their own action:
``QueryVectors`` with a ``filter`` or ``returnMetadata`` also needs ``s3vectors:GetVectors``,
and so does ``ListVectors`` with ``returnData`` or ``returnMetadata``. The bucket and
index may be named or given by ARN; either way the ARN checked is the endpoint's own
(its region and account), since that is the resource the operation will touch.
"""

from __future__ import annotations

from typing import Final

from ..core._limits import validate_index_name
from ._buckets import BucketRegistry
from ._wire import Body, bucket_of, index_of

__all__ = ["ACCOUNT_OPERATIONS", "BUCKET_OPERATIONS", "INDEX_OPERATIONS", "required_permissions"]

ACCOUNT_OPERATIONS: Final = frozenset({"ListVectorBuckets"})
BUCKET_OPERATIONS: Final = frozenset(
    {"CreateVectorBucket", "GetVectorBucket", "DeleteVectorBucket", "PutVectorBucketDefaultIndexMode", "ListIndexes"}
)
INDEX_OPERATIONS: Final = frozenset(
    {
        "CreateIndex", "GetIndex", "DeleteIndex", "UpdateIndexMode", "UpdateMetadataConfiguration",
        "PutVectors", "GetVectors", "ListVectors", "QueryVectors", "DeleteVectors",
    }
)  # fmt: skip


def _reads_metadata(operation: str, body: Body) -> bool:
    """Whether the request reads vector contents beyond keys, which needs ``s3vectors:GetVectors``."""
    if operation == "QueryVectors":
        return body.data.get("filter") is not None or body.data.get("returnMetadata") is True
    if operation == "ListVectors":
        return body.data.get("returnData") is True or body.data.get("returnMetadata") is True
    return False


def required_permissions(operation: str, body: Body, registry: BucketRegistry) -> list[tuple[str, str]]:
    """``(action, resource ARN)`` pairs that must all be allowed for ``operation`` with ``body``.

    Raises:
        ValidationError: The body does not name its bucket or index properly (the same
            error the operation itself would raise).
    """
    action = f"s3vectors:{operation}"
    if operation in ACCOUNT_OPERATIONS:
        return [(action, "*")]
    if operation in BUCKET_OPERATIONS:
        return [(action, registry.bucket_arn(bucket_of(body)))]
    if operation not in INDEX_OPERATIONS:
        return []
    if operation == "CreateIndex":
        bucket, index = bucket_of(body), validate_index_name(body.need_text("indexName"))
    else:
        bucket, index = index_of(body)
    resource = registry.index_arn(bucket, index)
    needed = [(action, resource)]
    if _reads_metadata(operation, body):
        needed.append(("s3vectors:GetVectors", resource))
    return needed
