"""Vector backends: the S3 Vectors-shaped contract and its implementations."""

from ._contract import IndexInfo, QueryMatch, TextMatch, TextSearchBackend, VectorBackend, VectorPage
from .embedded import EmbeddedBackend

__all__ = [
    "EmbeddedBackend",
    "IndexInfo",
    "QueryMatch",
    "TextMatch",
    "TextSearchBackend",
    "VectorBackend",
    "VectorPage",
]
