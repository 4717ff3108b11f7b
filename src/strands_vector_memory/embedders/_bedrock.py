"""Amazon Bedrock embedders: the shared InvokeModel path, retries and error mapping.

Why one InvokeModel per text on a bounded thread pool: the Titan and Nova embedding
APIs embed one text per call (Bedrock batch inference is an asynchronous S3 job, no use
to an agent waiting on a memory write), so throughput comes from concurrent calls,
capped so one big ``embed_documents`` cannot flood the account's requests-per-minute
quota. Why retries above botocore's own: botocore (adaptive mode) rides out a blip in
about a second; throttling on a shared quota or a model that is still loading lasts
longer, so the shared AWS retry loop (``_aws``, also the S3 Vectors backend's) waits
longer between rounds, with full jitter so many workers do not retry in lockstep. Why
a table of error codes: a test checks that every error the installed
``bedrock-runtime`` service model declares for InvokeModel has a row, so a new botocore
release that adds one fails a test instead of leaking a raw ``ClientError``.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .._aws import RetryPolicy, call_with_retries, class_for_status, map_botocore_error, resolve_region, with_user_agent
from ..core import (
    AccessDeniedError,
    BackendUnavailableError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from ._cache import check_texts

__all__ = ["ERROR_CLASSES", "RETRYABLE_CODES", "BedrockEmbedder", "clip_text", "map_client_error"]

_JSON: Final = "application/json"
_INSTALL_HINT: Final = "pip install 'strands-vector-memory[aws]'"

#: Every error InvokeModel declares (plus common auth codes), and what it becomes.
ERROR_CLASSES: Final[dict[str, type[VectorMemoryError]]] = {
    "ValidationException": ValidationError,
    "AccessDeniedException": AccessDeniedError,
    "ResourceNotFoundException": NotFoundError,
    "ServiceQuotaExceededException": QuotaExceededError,
    "ThrottlingException": ThrottledError,
    "ModelNotReadyException": BackendUnavailableError,
    "ServiceUnavailableException": BackendUnavailableError,
    "InternalServerException": BackendUnavailableError,
    "ModelTimeoutException": BackendUnavailableError,
    "ModelErrorException": BackendUnavailableError,
    "ModelStreamErrorException": BackendUnavailableError,
    "UnrecognizedClientException": AccessDeniedError,
    "InvalidSignatureException": AccessDeniedError,
    "ExpiredTokenException": AccessDeniedError,
}

#: Codes worth another attempt: the text was not embedded and may be later.
RETRYABLE_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
        "ModelTimeoutException",
    }
)

_HINTS: Final = {
    "AccessDeniedException": " (enable access to this model in the Bedrock console and allow bedrock:InvokeModel)",
    "ResourceNotFoundException": " (is the model offered in this region? an inference profile id may be needed)",
    "ThrottlingException": " (the account's requests-per-minute quota for this model; lower max_concurrency)",
}


def clip_text(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-16 code units, never inside a character.

    UTF-16 units are the stricter of the two ways a service may count "characters"
    (code points or Java ``String.length()``), so a clipped text passes either. The
    cut falls between code points, so the UTF-8 sent is always valid.
    """
    if len(text) * 2 <= limit:  # no code point is more than 2 UTF-16 units
        return text
    encoded = text.encode("utf-16-le")
    if len(encoded) <= 2 * limit:
        return text
    # A cut inside a surrogate pair leaves half a character, which "ignore" drops.
    return encoded[: 2 * limit].decode("utf-16-le", errors="ignore")


def map_client_error(exc: Any, model_id: str) -> VectorMemoryError:
    """The project exception for a bedrock-runtime ``ClientError``; callers ``raise ... from exc``.

    An unknown code still maps by HTTP status, so nothing escapes as a raw ``ClientError``.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    cls = ERROR_CLASSES.get(code) or class_for_status(status)
    return cls(f"Bedrock {model_id}: {code or 'unknown error'} (HTTP {status}): {message}{_HINTS.get(code, '')}")


def _retryable(exc: VectorMemoryError) -> bool:
    """Retry the codes in ``RETRYABLE_CODES`` and connection failures; not a model error (also 5xx)."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "")) in RETRYABLE_CODES
    return isinstance(exc, RetryableError)


def _make_client(client: Any, session: Any, region_name: str | None, config: Any, max_concurrency: int) -> Any:
    """Build a bedrock-runtime client, or return the injected one untouched."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoRegionError
    except ImportError as exc:
        raise ImportError(f"the Bedrock embedders need boto3: {_INSTALL_HINT}") from exc
    if client is not None:
        if session is not None or region_name is not None or config is not None:
            raise ValidationError("pass either client= or session=/region_name=/config=, not both", field="client")
        return client
    merged = Config(
        retries={"mode": "adaptive", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=max(10, max_concurrency),
    )
    if config is not None:
        merged = merged.merge(config)  # the caller's explicit options win
    if (merged.max_pool_connections or 0) < max_concurrency:
        merged = merged.merge(Config(max_pool_connections=max_concurrency))  # else calls queue for a connection
    try:
        return (session or boto3.session.Session()).client(
            "bedrock-runtime", region_name=resolve_region(region_name), config=with_user_agent(merged)
        )
    except NoRegionError as exc:
        raise ValidationError(
            "no AWS region configured: pass region_name= or set AWS_REGION", field="region_name"
        ) from exc


def _check_number(value: object, what: str, low: float, *, integer: bool) -> None:
    ok = isinstance(value, int) or (not integer and isinstance(value, float))
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok or not value >= low:
        kind = "an int" if integer else "a number"
        raise ValidationError(f"{what} must be {kind} >= {low:g}, got {value!r}", field=what, limit=f">= {low:g}")


class BedrockEmbedder:
    """What every Bedrock embedder shares; subclasses say how a body is built and read.

    Thread-safe: a botocore client may be shared across threads, and nothing else
    here is mutated after construction.
    """

    #: Longest text sent, in UTF-16 code units; longer texts are clipped first.
    max_chars: int = 50_000
    #: Dimensions the model can return.
    allowed_dimensions: tuple[int, ...] = ()
    #: The Bedrock model id invoked unless ``model_id=`` says otherwise.
    default_model_id: str = ""

    def __init__(
        self,
        *,
        dimension: int = 1024,
        model_id: str | None = None,
        client: Any = None,
        session: Any = None,
        region_name: str | None = None,
        config: Any = None,
        max_concurrency: int = 8,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Check the arguments and build (or adopt) the bedrock-runtime client.

        Args:
            dimension: Length of the vectors; one of the class's ``allowed_dimensions``.
            model_id: The model id, or an inference profile id or ARN for the same
                model (default: the class's ``default_model_id``); part of :attr:`name`.
            client: A ``bedrock-runtime`` client used as is (its config, retries and
                user agent stay the caller's); excludes ``session``, ``region_name``
                and ``config``.
            session: The ``boto3.Session`` to build a client from (default: a new
                session with the standard credential chain).
            region_name: AWS region (default: the session's).
            config: A ``botocore.config.Config`` merged over ours (adaptive retries,
                5 s connect / 60 s read timeouts, a connection pool of at least
                ``max_concurrency``); ``strands-vector-memory/<version>`` is always
                appended to its ``user_agent_extra``.
            max_concurrency: Most InvokeModel calls in flight per ``embed_documents``.
            max_attempts: Rounds per text when Bedrock throttles or fails transiently,
                the first included; each round is one botocore call with its own retries.
            base_delay: Upper bound of the first wait between rounds, seconds; doubled
                every round, each wait drawn uniformly below it (full jitter).
            max_delay: Cap on any one wait, seconds.
            sleep: Called with each wait; tests pass a fake so they do not sleep.

        Raises:
            ValidationError: If an argument is out of range, or no region is configured.
            ImportError: If boto3 is not installed.
        """
        model_id = self.default_model_id if model_id is None else model_id
        if not isinstance(model_id, str) or not model_id:
            raise ValidationError(f"model_id must be a non-empty string, got {model_id!r}", field="model_id")
        allowed = ", ".join(map(str, self.allowed_dimensions))
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension not in self.allowed_dimensions:
            raise ValidationError(
                f"{type(self).__name__} dimension must be one of {allowed}, got {dimension!r}",
                field="dimension",
                limit=f"one of {allowed}",
            )
        _check_number(max_concurrency, "max_concurrency", 1, integer=True)
        _check_number(max_attempts, "max_attempts", 1, integer=True)
        _check_number(base_delay, "base_delay", 0, integer=False)
        _check_number(max_delay, "max_delay", base_delay, integer=False)
        if not callable(sleep):
            raise ValidationError("sleep must be callable", field="sleep")
        self._model_id = model_id
        self._dimension = dimension
        self._max_concurrency = max_concurrency
        # No deadline beyond the attempts: a long text in a busy quota is still worth the wait.
        self._retry = RetryPolicy(
            max_attempts=max_attempts, base_delay=float(base_delay), max_delay=float(max_delay), deadline=math.inf
        )
        self._sleep = sleep
        self._client = _make_client(client, session, region_name, config, max_concurrency)

    def with_client(self, client: Any) -> BedrockEmbedder:
        """The same embedder (model, dimension, retries) calling through another client.

        Multi-tenant memory uses it to embed each tenant's text with that tenant's
        credentials; the clone shares nothing mutable with this embedder.
        """
        clone = copy.copy(self)
        clone._client = client
        return clone

    @property
    def name(self) -> str:
        """``bedrock:<model id>:<dimension>``, stored with an index to detect mixed embedders."""
        return f"bedrock:{self._model_id}:{self._dimension}"

    @property
    def dimension(self) -> int:
        """The dimension chosen at construction."""
        return self._dimension

    @property
    def model_id(self) -> str:
        """The Bedrock model id (or inference profile / ARN) invoked."""
        return self._model_id

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts to be stored, up to ``max_concurrency`` InvokeModel calls at a time.

        Every text is checked before the first call, so a bad one costs no requests.

        Args:
            texts: Any number of non-blank strings.

        Returns:
            Unit-norm float32 array of shape ``(len(texts), dimension)`` in input order.

        Raises:
            TypeError: If ``texts`` is a single string or holds a non-string.
            ValidationError: If a text is blank or not valid Unicode, or Bedrock rejects a request.
            ThrottledError: If Bedrock still throttles after ``max_attempts`` rounds.
            BackendUnavailableError: If Bedrock stays unreachable or failing, or returns a bad vector.
            AccessDeniedError, NotFoundError, QuotaExceededError: As Bedrock reports them.
        """
        items = [self._prepare(text, f"texts[{i}]") for i, text in enumerate(check_texts(texts))]
        out = np.empty((len(items), self._dimension), dtype=np.float32)
        if len(items) <= 1 or self._max_concurrency == 1:
            for row, text in enumerate(items):
                out[row] = self._embed_one(text, query=False)
            return out
        workers = min(self._max_concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bedrock-embed") as pool:
            futures = [pool.submit(self._embed_one, text, query=False) for text in items]
            try:
                for row, future in enumerate(futures):
                    out[row] = future.result()
            except BaseException:
                for future in futures:  # do not spend requests on a batch that already failed
                    future.cancel()
                raise
        return out

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """Embed one search query with a single InvokeModel call.

        Returns:
            Unit-norm float32 array of shape ``(dimension,)``.

        Raises:
            TypeError: If ``text`` is not a string.
            ValidationError, ThrottledError, BackendUnavailableError: As for :meth:`embed_documents`.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return self._embed_one(self._prepare(text, "text"), query=True)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model_id={self._model_id!r}, dimension={self._dimension}, "
            f"max_concurrency={self._max_concurrency})"
        )

    def _request(self, text: str, *, query: bool) -> dict[str, Any]:
        """The InvokeModel body for one text."""
        raise NotImplementedError

    def _values(self, payload: Any) -> Any:
        """The raw vector in a decoded response body."""
        raise NotImplementedError

    def _prepare(self, text: str, where: str) -> str:
        if not text.strip():
            raise ValidationError(
                f"{where} is empty or blank; there is nothing to embed", field=where, limit="non-blank"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from a bad decode upstream
            raise ValidationError(f"{where} is not valid Unicode: {exc.reason}", field=where) from exc
        return clip_text(text, self.max_chars)

    def _embed_one(self, text: str, *, query: bool) -> NDArray[np.float32]:
        payload = self._invoke(json.dumps(self._request(text, query=query), ensure_ascii=False).encode("utf-8"))
        try:
            vector = np.asarray(self._values(payload), dtype=np.float64)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BackendUnavailableError(f"Bedrock {self._model_id} returned a malformed response") from exc
        if vector.shape != (self._dimension,):
            raise BackendUnavailableError(
                f"Bedrock {self._model_id} returned a vector of shape {vector.shape}, expected ({self._dimension},)"
            )
        if not np.isfinite(vector).all():
            raise BackendUnavailableError(f"Bedrock {self._model_id} returned a vector with non-finite values")
        scale = float(np.abs(vector).max())  # dividing by it first keeps the norm from overflowing
        if scale == 0.0:
            raise BackendUnavailableError(f"Bedrock {self._model_id} returned a zero vector, which has no direction")
        vector /= scale
        unit: NDArray[np.float32] = (vector / np.linalg.norm(vector)).astype(np.float32)
        return unit

    def _invoke(self, body: bytes) -> Any:
        """One InvokeModel with retries; returns the decoded JSON response body."""
        from botocore.exceptions import BotoCoreError, ClientError

        what = f"Bedrock {self._model_id}"

        def once() -> bytes:
            try:
                response = self._client.invoke_model(modelId=self._model_id, body=body, contentType=_JSON, accept=_JSON)
                data: bytes = response["body"].read()  # a body cut off mid-read is a retryable HTTPClientError
                return data
            except ClientError as exc:
                raise map_client_error(exc, self._model_id) from exc
            except BotoCoreError as exc:
                mapped = map_botocore_error(exc, what)
                if mapped is None:
                    raise
                raise mapped from exc

        data = call_with_retries(once, policy=self._retry, operation=what, sleep=self._sleep, retry_if=_retryable)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BackendUnavailableError(f"{what} returned a body that is not JSON") from exc
