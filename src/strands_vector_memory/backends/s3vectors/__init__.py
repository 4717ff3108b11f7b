"""The Amazon S3 Vectors backend (needs the ``aws`` extra: boto3)."""

from ..._aws import RetryPolicy
from ._backend import S3VectorsBackend

__all__ = ["RetryPolicy", "S3VectorsBackend"]
