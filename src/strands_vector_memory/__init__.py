"""Long-term semantic memory for LLM agents, shaped like Amazon S3 Vectors.

The public surface: one service (:class:`VectorMemory`), its scoping and result types,
the backend and embedder contracts with their default implementations, and the one
exception tree. Everything else lives in private modules.
"""

from .backends import EmbeddedBackend, IndexInfo, QueryMatch, TextMatch, TextSearchBackend, VectorBackend, VectorPage
from .core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    Field,
    FilterError,
    Memory,
    MemoryRecord,
    MemoryType,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    Scope,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from .embedders import Embedder, MiniLMEmbedder
from .memory import (
    Fusion,
    IndexLayout,
    MemoryContext,
    MemoryPage,
    MemoryStats,
    NewMemory,
    Ranking,
    RetrievalMode,
    SharedIndexLayout,
    VectorMemory,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "BackendUnavailableError",
    "ConflictError",
    "EmbeddedBackend",
    "Embedder",
    "Field",
    "FilterError",
    "Fusion",
    "IndexInfo",
    "IndexLayout",
    "Memory",
    "MemoryContext",
    "MemoryPage",
    "MemoryRecord",
    "MemoryStats",
    "MemoryType",
    "MiniLMEmbedder",
    "NewMemory",
    "NotFoundError",
    "QueryMatch",
    "QuotaExceededError",
    "Ranking",
    "RetrievalMode",
    "RetryableError",
    "Scope",
    "SharedIndexLayout",
    "TextMatch",
    "TextSearchBackend",
    "ThrottledError",
    "ValidationError",
    "VectorBackend",
    "VectorMemory",
    "VectorMemoryError",
    "VectorPage",
    "__version__",
]
