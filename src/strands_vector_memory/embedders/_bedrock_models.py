"""The two Amazon Bedrock embedding models: Nova 2 multimodal and Titan Text V2.

Each class only says how a request body is built and where the vector sits in the
response; invoking, retrying, error mapping and concurrency live in ``_bedrock``, and
the constructor arguments are documented on ``BedrockEmbedder.__init__``.
"""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..core import ValidationError
from ._bedrock import BedrockEmbedder

__all__ = ["NovaEmbedder", "TitanEmbedder", "shorter_for_tokens"]

_TOKEN_SHRINKS: Final = 3  # shorter retries after a too-many-tokens rejection
_TOO_MANY_TOKENS: Final = re.compile(
    r"max input tokens:\s*(\d+).*?input token count:\s*(\d+)", re.IGNORECASE | re.DOTALL
)


class NovaEmbedder(BedrockEmbedder):
    """Amazon Nova 2 multimodal embeddings on Bedrock, used for text.

    ``NovaEmbedder(dimension=1024, region_name="us-east-1")``; dimensions 256, 384,
    1024 (default) or 3072; model ``amazon.nova-2-multimodal-embeddings-v1:0``.

    The model is asymmetric: stored texts are embedded with purpose ``GENERIC_INDEX``
    and queries with ``GENERIC_RETRIEVAL``, so ``embed_query(t)`` differs from
    ``embed_documents([t])[0]`` (a ``CachedEmbedder`` in front must keep the default
    ``symmetric=False``). Vectors are L2-normalised here, as the service does not
    promise unit norm.

    Input rules: blank texts are rejected (``ValidationError``). The model reads at
    most about 8,000 tokens, and each request asks the service to drop the end of a
    longer text (``truncationMode: "END"``), so a long text embeds its beginning
    rather than fail. Independently, texts are clipped client-side to 50,000
    characters (counted in UTF-16 code units, cut between characters) so a huge input
    cannot make a huge request; for ordinary prose 50,000 characters is well past
    8,000 tokens, so the clip rarely changes what is embedded.

    One InvokeModel call per text, up to ``max_concurrency`` at a time; thread-safe.
    """

    allowed_dimensions = (256, 384, 1024, 3072)
    default_model_id = "amazon.nova-2-multimodal-embeddings-v1:0"

    def _request(self, text: str, *, query: bool) -> dict[str, Any]:
        return {
            "taskType": "SINGLE_EMBEDDING",
            "singleEmbeddingParams": {
                "embeddingPurpose": "GENERIC_RETRIEVAL" if query else "GENERIC_INDEX",
                "embeddingDimension": self.dimension,
                "text": {"truncationMode": "END", "value": text},
            },
        }

    def _values(self, payload: Any) -> Any:
        return payload["embeddings"][0]["embedding"]


class TitanEmbedder(BedrockEmbedder):
    """Amazon Titan Text Embeddings V2 on Bedrock.

    ``TitanEmbedder(dimension=1024, region_name="us-east-1")``; dimensions 256, 512 or
    1024 (default); model ``amazon.titan-embed-text-v2:0``.

    The model is symmetric: documents and queries go through the same request, so
    ``embed_query(t)`` equals ``embed_documents([t])[0]`` (a ``CachedEmbedder`` in
    front may use ``symmetric=True``). The request asks for ``normalize: true``;
    vectors are normalised again here in float32 and non-finite responses rejected.

    Input rules: blank texts are rejected (``ValidationError``). The service accepts
    at most 50,000 characters and 8,192 tokens and does not truncate: it rejects a
    longer text with a ``ValidationException``. So texts are clipped client-side to
    50,000 characters (counted in UTF-16 code units, the stricter count, and cut
    between characters so the UTF-8 sent is valid). If a clipped text is still over
    8,192 tokens (dense scripts, code), the rejection reports both counts; the text is
    cut in proportion, with 10% headroom, and sent again, up to three times. A long
    text therefore embeds its beginning rather than fail, as the bundled embedder's do.

    One InvokeModel call per text, up to ``max_concurrency`` at a time; thread-safe.
    """

    allowed_dimensions = (256, 512, 1024)
    default_model_id = "amazon.titan-embed-text-v2:0"

    def _request(self, text: str, *, query: bool) -> dict[str, Any]:
        return {"inputText": text, "dimensions": self.dimension, "normalize": True}

    def _values(self, payload: Any) -> Any:
        return payload["embedding"]

    def _embed_one(self, text: str, *, query: bool) -> NDArray[np.float32]:
        for _ in range(_TOKEN_SHRINKS):
            try:
                return super()._embed_one(text, query=query)
            except ValidationError as exc:
                shorter = shorter_for_tokens(text, str(exc))
                if shorter is None:
                    raise
                text = shorter
        return super()._embed_one(text, query=query)


def shorter_for_tokens(text: str, message: str) -> str | None:
    """A prefix of ``text`` likely to fit, if ``message`` is a too-many-tokens rejection.

    Titan's rejection reads "Too many input tokens. Max input tokens: 8192, request
    input token count: 9875"; the prefix keeps 90% of the share that fits.
    """
    match = _TOO_MANY_TOKENS.search(message)
    if match is None:
        return None
    limit, actual = int(match.group(1)), int(match.group(2))
    keep = int(len(text) * min(limit / max(actual, 1), 1.0) * 0.9)
    return text[:keep] if 0 < keep < len(text) else None
