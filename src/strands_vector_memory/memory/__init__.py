"""The VectorMemory service and its policies."""

from ._context import MemoryContext
from ._inputs import NewMemory
from ._layout import IndexLayout, SharedIndexLayout
from ._paths import BUCKET_ENV, STORE_ENV, default_bucket, default_store_path
from ._ranking import Fusion, Ranking, RetrievalMode
from ._service import MemoryPage, MemoryStats, VectorMemory

__all__ = [
    "BUCKET_ENV",
    "STORE_ENV",
    "Fusion",
    "IndexLayout",
    "MemoryContext",
    "MemoryPage",
    "MemoryStats",
    "NewMemory",
    "Ranking",
    "RetrievalMode",
    "SharedIndexLayout",
    "VectorMemory",
    "default_bucket",
    "default_store_path",
]
