"""Long-term semantic memory for LLM agents, shaped like Amazon S3 Vectors.

The public surface: one service (:class:`VectorMemory`), its scoping and result types,
the backend and embedder contracts with their implementations (embedded and Amazon S3
Vectors; the bundled offline model and Amazon Bedrock), the multi-tenant layouts, and
the one exception tree.
boto3 is imported only when an AWS-backed object is built. Everything else lives in private modules.
"""

from .backends import (
    EmbeddedBackend,
    IndexInfo,
    QueryMatch,
    S3VectorsBackend,
    ScopedBackend,
    TextMatch,
    TextSearchBackend,
    VectorBackend,
    VectorPage,
)
from .core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    Field,
    FilterError,
    IsolationError,
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
from .embedders import Embedder, MiniLMEmbedder, NovaEmbedder, TitanEmbedder
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
from .tenancy import TenantFilterLayout, TenantIndexLayout, TokenVendingMachine

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
    "IsolationError",
    "Memory",
    "MemoryContext",
    "MemoryPage",
    "MemoryRecord",
    "MemoryStats",
    "MemoryType",
    "MiniLMEmbedder",
    "NewMemory",
    "NotFoundError",
    "NovaEmbedder",
    "QueryMatch",
    "QuotaExceededError",
    "Ranking",
    "RetrievalMode",
    "RetryableError",
    "S3VectorsBackend",
    "ScopedBackend",
    "Scope",
    "SharedIndexLayout",
    "TenantFilterLayout",
    "TenantIndexLayout",
    "TextMatch",
    "TextSearchBackend",
    "ThrottledError",
    "TitanEmbedder",
    "TokenVendingMachine",
    "ValidationError",
    "VectorBackend",
    "VectorMemory",
    "VectorMemoryError",
    "VectorPage",
    "__version__",
]
