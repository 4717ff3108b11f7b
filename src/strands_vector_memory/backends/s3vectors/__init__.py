"""The Amazon S3 Vectors backend (needs the ``aws`` extra: boto3)."""

from ._backend import S3VectorsBackend
from ._retry import RetryPolicy

__all__ = ["RetryPolicy", "S3VectorsBackend"]
