"""Embedders: the contract, the bundled offline default and a caching wrapper.

``MiniLMEmbedder`` is the default because it needs no network, no credentials and
no torch; any object satisfying :class:`Embedder` (e.g. a Bedrock client) can be
used instead, optionally wrapped in :class:`CachedEmbedder`.
"""

from ._cache import CachedEmbedder, CacheInfo
from ._minilm import MiniLMEmbedder
from ._protocol import Embedder
from ._tokens import TokenCounter

__all__ = ["CacheInfo", "CachedEmbedder", "Embedder", "MiniLMEmbedder", "TokenCounter"]
