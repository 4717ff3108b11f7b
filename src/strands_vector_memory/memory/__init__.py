"""The VectorMemory service and its policies."""

from ._conflicts import ConflictChecker, HeuristicChecker
from ._consolidate import Cluster, ConsolidationReport, Merger
from ._context import MemoryContext
from ._guardrails import Draft, FlagInstructions, Guardrail, Guardrails, MaxSize, Redact
from ._inputs import NewMemory
from ._layout import IndexLayout, SharedIndexLayout
from ._maintenance import DecayReport, ExpireReport, ForgetReport
from ._paths import BUCKET_ENV, STORE_ENV, default_bucket, default_store_path
from ._policy import Conflicts, Dedup, MemoryPolicy
from ._ranking import Fusion, Ranking, RetrievalMode
from ._service import MemoryPage, MemoryStats, VectorMemory

__all__ = [
    "BUCKET_ENV",
    "STORE_ENV",
    "Cluster",
    "ConflictChecker",
    "Conflicts",
    "ConsolidationReport",
    "DecayReport",
    "Dedup",
    "Draft",
    "ExpireReport",
    "FlagInstructions",
    "ForgetReport",
    "Fusion",
    "Guardrail",
    "Guardrails",
    "HeuristicChecker",
    "IndexLayout",
    "MaxSize",
    "MemoryContext",
    "MemoryPage",
    "MemoryPolicy",
    "MemoryStats",
    "Merger",
    "NewMemory",
    "Ranking",
    "Redact",
    "RetrievalMode",
    "SharedIndexLayout",
    "VectorMemory",
    "default_bucket",
    "default_store_path",
]
