"""The default embedder: all-MiniLM-L6-v2, int8 ONNX, bundled with the package.

Why this model and this runtime: the library must work offline out of the box, so
the default embedder cannot download anything or pull in torch. all-MiniLM-L6-v2
is the most widely used small sentence embedder (384 dimensions, 6 layers); an
int8 ONNX export of it is 23 MB and runs on onnxruntime + tokenizers alone, a few
milliseconds per short text on a laptop CPU. ``scripts/export_embedder.py``
produces the bundled files and documents how they differ from the original.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from ._cache import CachedEmbedder, CacheInfo, check_texts

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["MiniLMEmbedder"]

NAME: Final = "all-MiniLM-L6-v2-int8"
DIMENSION: Final = 384
MAX_TOKENS: Final = 256  # the model's max_seq_length; longer texts are truncated
MODEL_FILE: Final = "model.onnx"
TOKENIZER_FILE: Final = "tokenizer.json"
_PACKAGE: Final = __name__.rpartition(".")[0]  # strands_vector_memory.embedders
_MODEL_DIR: Final = "_model"
_REQUIRED_INPUTS: Final = frozenset({"input_ids", "attention_mask"})


def _default_threads() -> int:
    """Return the default intra-op thread count.

    At most 4: beyond that a 6-layer model barely speeds up per call, and an agent
    process usually has other work for the remaining cores.
    """
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class _Runtime:
    """Everything loaded from disk, created once and then only read."""

    session: Any  # onnxruntime.InferenceSession (the package has no type stubs)
    tokenizer: Tokenizer
    output_name: str
    input_names: frozenset[str]
    source: str


class _OnnxMiniLM:
    """The uncached model: tokenise, batch, run ONNX, normalise.

    Kept separate from :class:`MiniLMEmbedder` so the cache can wrap it as a
    plain :class:`~strands_vector_memory.embedders.Embedder`.
    """

    def __init__(self, model_path: Path | None, batch_size: int, threads: int) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._runtime: _Runtime | None = None

    @property
    def name(self) -> str:
        return NAME

    @property
    def dimension(self) -> int:
        return DIMENSION

    @property
    def loaded(self) -> bool:
        return self._runtime is not None

    def runtime(self) -> _Runtime:
        """Load the model on first use; safe to call from many threads at once."""
        runtime = self._runtime
        if runtime is None:
            with self._lock:
                runtime = self._runtime
                if runtime is None:
                    runtime = self._load()
                    self._runtime = runtime
        return runtime

    def _load(self) -> _Runtime:
        # Imported here so ``import strands_vector_memory`` stays fast and does not
        # need onnxruntime when another embedder is used.
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if self._model_path is None:
            # Read through importlib.resources so a zipped install works too; the
            # bytes never leave the process (no temp files, no network).
            folder = importlib.resources.files(_PACKAGE) / _MODEL_DIR
            model: bytes | str = (folder / MODEL_FILE).read_bytes()
            tokenizer_json = (folder / TOKENIZER_FILE).read_text(encoding="utf-8")
            source = f"package:{_PACKAGE}/{_MODEL_DIR}"
        else:
            model_file, tokenizer_file = _resolve_override(self._model_path)
            model = str(model_file)
            tokenizer_json = tokenizer_file.read_text(encoding="utf-8")
            source = str(model_file)

        tokenizer = Tokenizer.from_str(tokenizer_json)
        # Enforced here rather than trusted from the file: padding is done per
        # batch below, and the model was trained on at most MAX_TOKENS tokens.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

        input_names = frozenset(i.name for i in session.get_inputs())
        if not input_names >= _REQUIRED_INPUTS:
            raise ValueError(f"{source}: model inputs {sorted(input_names)} lack {sorted(_REQUIRED_INPUTS)}")
        outputs = session.get_outputs()
        names = [o.name for o in outputs]
        output_name = "embeddings" if "embeddings" in names else names[0]
        width = next(o.shape for o in outputs if o.name == output_name)[-1]
        if width != DIMENSION:
            raise ValueError(f"{source}: output {output_name!r} has width {width}, expected {DIMENSION}")
        return _Runtime(session, tokenizer, output_name, input_names, source)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        items = check_texts(texts)
        out = np.zeros((len(items), DIMENSION), dtype=np.float32)
        if not items:
            return out
        runtime = self.runtime()
        encodings = runtime.tokenizer.encode_batch(items)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        # Sorting by length keeps similar lengths together, so little compute is
        # spent on padding; ``out[idx] = ...`` restores the caller's order.
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(items), self._batch_size):
            idx = order[start : start + self._batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                encoding = encodings[i]
                ids[row, : lengths[i]] = encoding.ids
                mask[row, : lengths[i]] = encoding.attention_mask
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in runtime.input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)  # single-segment input
            out[idx] = runtime.session.run([runtime.output_name], feeds)[0]
        # The graph already L2-normalises; doing it again in float32 makes unit
        # norm exact to float32 precision whatever the quantised graph returns.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, np.float32(1e-12))
        if not np.isfinite(out).all():
            raise RuntimeError(f"{NAME} produced non-finite values")
        return out

    def embed_query(self, text: str) -> NDArray[np.float32]:
        vectors: NDArray[np.float32] = self.embed_documents([text])[0]
        return vectors

    def __repr__(self) -> str:
        where = "bundled" if self._model_path is None else str(self._model_path)
        return f"_OnnxMiniLM({where!r}, batch_size={self._batch_size}, threads={self._threads})"


def _resolve_override(path: Path) -> tuple[Path, Path]:
    """Find model.onnx and tokenizer.json for a user-supplied ``model_path``."""
    model_file = path / MODEL_FILE if path.is_dir() else path
    tokenizer_file = model_file.parent / TOKENIZER_FILE
    for required in (model_file, tokenizer_file):
        if not required.is_file():
            raise FileNotFoundError(f"model_path {str(path)!r}: {required.name} not found at {str(required)!r}")
    return model_file, tokenizer_file


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be an int >= 1, got {value!r}")
    return value


class MiniLMEmbedder:
    """The bundled offline embedder (all-MiniLM-L6-v2, int8 ONNX, 384 dimensions).

    Construction is cheap: the model (23 MB) and tokenizer load on the first
    ``embed_*`` call, or on :meth:`preload`. One instance is safe to share across
    threads; onnxruntime runs concurrent calls in parallel. Nothing is ever
    downloaded: the files ship inside the package.

    The model is symmetric, so ``embed_query(t)`` equals ``embed_documents([t])[0]``
    and both share one LRU cache keyed by exact text. Texts longer than 256 word
    pieces (about 200 English words) are truncated, as the model was trained.

    Dynamic int8 quantisation computes activation ranges per batch, so a text's
    vector can differ very slightly (cosine >= ~0.99) depending on which texts it
    was batched with; the cache returns the first vector computed for a text.

    Args:
        model_path: Use these files instead of the bundled ones: a directory with
            ``model.onnx`` and ``tokenizer.json``, or the ``.onnx`` file itself with
            ``tokenizer.json`` beside it. Meant for re-exports of the same model
            (e.g. an fp32 build); the output must be 384 wide.
        batch_size: Texts per ONNX run; larger batches are faster per text up to
            a point but pad short texts to the batch's longest.
        threads: onnxruntime intra-op threads (default ``min(4, cpu_count)``).
        cache_size: Maximum number of cached vectors; ``0`` disables the cache.

    Raises:
        ValueError: If an argument is out of range.
        FileNotFoundError: If ``model_path`` lacks ``model.onnx`` or ``tokenizer.json``.
    """

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        cache_size: int = 4096,
    ) -> None:
        path: Path | None = None
        if model_path is not None:
            if not isinstance(model_path, str | os.PathLike):
                raise ValueError(f"model_path must be a path, got {type(model_path).__name__}")
            path = Path(model_path)
            _resolve_override(path)  # fail now, not on the first embed call
        batch_size = _positive_int(batch_size, "batch_size")
        threads = _default_threads() if threads is None else _positive_int(threads, "threads")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be an int >= 0, got {cache_size!r}")
        self._model = _OnnxMiniLM(path, batch_size, threads)
        self._cache = CachedEmbedder(self._model, maxsize=cache_size, symmetric=True)

    @property
    def name(self) -> str:
        """``"all-MiniLM-L6-v2-int8"``, stored with an index to detect mixed embedders."""
        return NAME

    @property
    def dimension(self) -> int:
        """Always 384."""
        return DIMENSION

    @property
    def model_source(self) -> str:
        """Where the model was loaded from (``package:...`` for the bundled files).

        Loads the model if it is not loaded yet.
        """
        return self._model.runtime().source

    def preload(self) -> None:
        """Load the model now, e.g. at service start-up, instead of on first use."""
        self._model.runtime()

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts to be stored.

        Args:
            texts: Any number of strings (empty strings are allowed).

        Returns:
            Unit-norm float32 array of shape ``(len(texts), 384)`` in input order.

        Raises:
            TypeError: If ``texts`` is a single string or holds a non-string.
        """
        return self._cache.embed_documents(texts)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """Embed one search query.

        Args:
            text: The query.

        Returns:
            Unit-norm float32 array of shape ``(384,)``.

        Raises:
            TypeError: If ``text`` is not a string.
        """
        return self._cache.embed_query(text)

    def cache_info(self) -> CacheInfo:
        """Cache hits, misses, maximum and current size."""
        return self._cache.cache_info()

    def cache_clear(self) -> None:
        """Empty the cache and reset its counters."""
        self._cache.cache_clear()

    def __repr__(self) -> str:
        return f"MiniLMEmbedder({self._model!r}, cache_size={self._cache.cache_info().maxsize})"
