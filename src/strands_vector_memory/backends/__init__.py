"""Vector backends: the S3 Vectors-shaped contract and its implementations.

``S3VectorsBackend`` imports boto3 only when it builds a client, so importing this
package never needs the ``aws`` extra.
"""

from ._contract import IndexInfo, QueryMatch, ScopedBackend, TextMatch, TextSearchBackend, VectorBackend, VectorPage
from .embedded import EmbeddedBackend
from .s3vectors import RetryPolicy, S3VectorsBackend

__all__ = [
    "EmbeddedBackend",
    "IndexInfo",
    "QueryMatch",
    "RetryPolicy",
    "S3VectorsBackend",
    "ScopedBackend",
    "TextMatch",
    "TextSearchBackend",
    "VectorBackend",
    "VectorPage",
]
