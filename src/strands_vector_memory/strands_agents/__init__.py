"""Strands Agents integration: a memory plugin, a ``MemoryStore``, tools and team memory.

Needs the ``strands`` extra (``pip install 'strands-vector-memory[strands]'``).
"""

from __future__ import annotations

try:
    import strands as _strands_sdk  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "strands_vector_memory.strands_agents needs the Strands Agents SDK: "
        "pip install 'strands-vector-memory[strands]'"
    ) from exc

from ._identity import Identity
from ._merger import ModelConflictChecker, ModelMerger
from ._outbox import Outbox
from ._plugin import MemoryPlugin
from ._scripted import ModelRequest, ScriptedModel, ToolCall
from ._store import VectorMemoryStore
from ._summary import SUMMARY_SYSTEM_PROMPT
from ._team import TeamMemory

__all__ = [
    "SUMMARY_SYSTEM_PROMPT",
    "Identity",
    "MemoryPlugin",
    "ModelConflictChecker",
    "ModelMerger",
    "ModelRequest",
    "Outbox",
    "ScriptedModel",
    "TeamMemory",
    "ToolCall",
    "VectorMemoryStore",
]
