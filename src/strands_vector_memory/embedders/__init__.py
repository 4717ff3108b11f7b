"""Embedders: the contract, the bundled offline default, Bedrock models and a cache.

``MiniLMEmbedder`` is the default because it needs no network, no credentials and
no torch; :class:`TitanEmbedder` and :class:`NovaEmbedder` call Amazon Bedrock
(``pip install 'strands-vector-memory[aws]'``; boto3 is imported only when one is
constructed). Any object satisfying :class:`Embedder` can be used instead,
optionally wrapped in :class:`CachedEmbedder`.
"""

from ._bedrock_models import NovaEmbedder, TitanEmbedder
from ._cache import CachedEmbedder, CacheInfo
from ._minilm import MiniLMEmbedder
from ._protocol import Embedder, RoutedEmbedder
from ._tokens import TokenCounter

__all__ = [
    "CacheInfo",
    "CachedEmbedder",
    "Embedder",
    "RoutedEmbedder",
    "MiniLMEmbedder",
    "NovaEmbedder",
    "TitanEmbedder",
    "TokenCounter",
]
