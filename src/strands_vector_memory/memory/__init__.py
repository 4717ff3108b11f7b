"""The VectorMemory service and its policies."""

from ._inputs import NewMemory
from ._layout import IndexLayout, SharedIndexLayout
from ._paths import STORE_ENV, default_store_path
from ._service import MemoryPage, MemoryStats, VectorMemory

__all__ = [
    "STORE_ENV",
    "IndexLayout",
    "MemoryPage",
    "MemoryStats",
    "NewMemory",
    "SharedIndexLayout",
    "VectorMemory",
    "default_store_path",
]
