"""The API of the ``strands-s3-vectors-memory`` plugin, over this library.

Code written for that package runs with its import line changed to::

    from strands_vector_memory.compat import MultiTenantS3VectorMemory, S3VectorMemoryPlugin

Needs the ``aws`` and ``strands`` extras. Every name here is a thin layer over
``VectorMemory``, ``MemoryPlugin`` and ``TokenVendingMachine``; see the README's
"Multi-tenant" section for what changed underneath.
"""

from ..core import IsolationError
from ..tenancy import TokenVendingMachine
from ._plugin import S3VectorMemoryPlugin
from ._stores import DEFAULT_EMBEDDING_MODEL, MultiTenantS3VectorMemory, S3VectorMemory, embedder_for_model

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "IsolationError",
    "MultiTenantS3VectorMemory",
    "S3VectorMemory",
    "S3VectorMemoryPlugin",
    "TokenVendingMachine",
    "embedder_for_model",
]
