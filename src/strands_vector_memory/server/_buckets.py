"""Vector buckets over a root directory: one subdirectory per bucket, one engine per bucket.

The embedded engine already is a bucket (a directory of index files), so a bucket
here is just such a directory under the root, served by one ``EmbeddedBackend``. What
the engine does not keep lives in small JSON sidecars next to its files: the bucket's
creation time, default index mode and encryption settings (``.bucket.json``) and each
index's mode and text search configuration (``.indexes/<name>.json``). The engine
ignores dot files, and sidecars are written to a temporary name and renamed, so a
crash never leaves half a sidecar. A directory without sidecars (an existing store
copied under the root, say) is still a bucket, with the defaults.

One lock guards creation and deletion of buckets and indexes together with their
sidecars; vector operations take it only to look the bucket's engine up.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..backends import EmbeddedBackend, IndexInfo
from ..core import BackendUnavailableError, ConflictError, NotFoundError, QuotaExceededError, ValidationError
from ..core._limits import DistanceMetric, validate_bucket_name, validate_index_name
from ._scrub import DeferredScrub

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_INDEX_MODE",
    "INDEX_MODES",
    "Bucket",
    "BucketRegistry",
    "IndexExtras",
]

#: The account id in every ARN this endpoint issues (AWS's documentation example).
ACCOUNT_ID: Final = "123456789012"
INDEX_MODES: Final = ("CLASSIC", "ENHANCED")
#: Buckets created on AWS after 2026-09-30 default to ENHANCED; so do ours.
DEFAULT_INDEX_MODE: Final = "ENHANCED"
MAX_INDEXES_PER_BUCKET: Final = 10_000
_DEFAULT_ENCRYPTION: Final = {"sseType": "AES256"}
_BUCKET_FILE: Final = ".bucket.json"
_INDEX_DIR: Final = ".indexes"
_INDEX_FILE_SUFFIX: Final = ".sqlite3"  # the embedded engine's index files, counted for the quota


@dataclass(frozen=True, slots=True)
class Bucket:
    """A vector bucket as ``GetVectorBucket`` reports it."""

    name: str
    arn: str
    created_at: float
    default_index_mode: str
    encryption: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class IndexExtras:
    """What an index has on S3 Vectors beyond what the embedded engine keeps."""

    mode: str
    text_search: tuple[Mapping[str, str], ...]
    encryption: Mapping[str, str] | None

    def to_json(self) -> dict[str, Any]:
        """The sidecar document."""
        doc: dict[str, Any] = {"indexMode": self.mode, "textSearchConfigurations": [dict(c) for c in self.text_search]}
        if self.encryption is not None:
            doc["encryptionConfiguration"] = dict(self.encryption)
        return doc


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Replace ``path`` atomically: a reader sees the old document or the new one, never half."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(document, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise BackendUnavailableError(f"cannot write {path}: {exc}") from exc


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BackendUnavailableError(f"cannot read {path}: {exc}") from exc
    return document if isinstance(document, dict) else None


class BucketRegistry:
    """The vector buckets under ``root``; thread-safe.

    Args:
        root: The directory holding one subdirectory per bucket; created if missing.
        region: The region named in ARNs.
    """

    def __init__(self, root: str | os.PathLike[str], *, region: str = "us-east-1") -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create the endpoint root {self.root}: {exc}") from exc
        self.region = region
        self._lock = threading.RLock()
        self._backends: dict[str, EmbeddedBackend] = {}
        self._scrubber = DeferredScrub(lambda bucket, index: self.backend(bucket).scrub(index))

    def deleted(self, bucket: str, index: str) -> None:
        """Vectors of ``index`` were deleted: scrub its files once deletes stop (see ``_scrub``)."""
        self._scrubber.deleted(bucket, index)

    def bucket_arn(self, bucket: str) -> str:
        """The ARN of ``bucket``."""
        return f"arn:aws:s3vectors:{self.region}:{ACCOUNT_ID}:bucket/{bucket}"

    def index_arn(self, bucket: str, index: str) -> str:
        """The ARN of ``index`` in ``bucket``."""
        return f"{self.bucket_arn(bucket)}/index/{index}"

    # -- buckets ---------------------------------------------------------------

    def _dir(self, bucket: str) -> Path:
        return self.root / validate_bucket_name(bucket)

    def create_bucket(self, name: str, encryption: Mapping[str, str] | None) -> Bucket:
        """Create an empty bucket. Raises ``ConflictError`` if it exists."""
        path = self._dir(name)
        with self._lock:
            try:
                path.mkdir()
            except FileExistsError:
                raise ConflictError(f"vector bucket {name!r} already exists") from None
            except OSError as exc:
                raise BackendUnavailableError(f"cannot create {path}: {exc}") from exc
            document = {
                "creationTime": time.time(),
                "defaultIndexMode": DEFAULT_INDEX_MODE,
                "encryptionConfiguration": dict(encryption or _DEFAULT_ENCRYPTION),
            }
            _write_json(path / _BUCKET_FILE, document)
        return self.get_bucket(name)

    def get_bucket(self, name: str) -> Bucket:
        """Describe a bucket. Raises ``NotFoundError`` if absent."""
        path = self._dir(name)
        if not path.is_dir():
            raise NotFoundError(f"vector bucket {name!r} does not exist")
        document = _read_json(path / _BUCKET_FILE) or {}
        created = document.get("creationTime")
        mode = document.get("defaultIndexMode")
        encryption = document.get("encryptionConfiguration")
        return Bucket(
            name=name,
            arn=self.bucket_arn(name),
            created_at=float(created) if isinstance(created, int | float) else path.stat().st_mtime,
            default_index_mode=mode if mode in INDEX_MODES else DEFAULT_INDEX_MODE,
            encryption=encryption if isinstance(encryption, dict) else _DEFAULT_ENCRYPTION,
        )

    def list_buckets(self, prefix: str | None = None) -> list[str]:
        """Bucket names starting with ``prefix``, sorted."""
        names = []
        for path in self.root.iterdir():
            try:
                validate_bucket_name(path.name)
            except ValidationError:
                continue  # not a bucket: a stray file or a directory with another kind of name
            if path.is_dir() and (not prefix or path.name.startswith(prefix)):
                names.append(path.name)
        return sorted(names)

    def set_default_index_mode(self, name: str, mode: str) -> None:
        """The mode indexes created from now on get."""
        with self._lock:
            bucket = self.get_bucket(name)
            document = {
                "creationTime": bucket.created_at,
                "defaultIndexMode": mode,
                "encryptionConfiguration": dict(bucket.encryption),
            }
            _write_json(self._dir(name) / _BUCKET_FILE, document)

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket. Raises ``ConflictError`` while it holds indexes."""
        with self._lock:
            backend = self.backend(name)
            indexes = backend.list_indexes()
            if indexes:
                raise ConflictError(f"vector bucket {name!r} still has {len(indexes)} index(es): delete them first")
            self._backends.pop(name, None)
            backend.close()
            path = self._dir(name)
            (path / _BUCKET_FILE).unlink(missing_ok=True)
            shutil.rmtree(path / _INDEX_DIR, ignore_errors=True)
            try:
                path.rmdir()
            except OSError as exc:
                raise ConflictError(f"vector bucket {name!r} holds files that are not indexes ({path}): {exc}") from exc

    def backend(self, name: str) -> EmbeddedBackend:
        """The engine serving bucket ``name``. Raises ``NotFoundError`` if there is no such bucket."""
        path = self._dir(name)
        with self._lock:
            backend = self._backends.get(name)
            if not path.is_dir():
                if backend is not None:
                    self._backends.pop(name).close()
                raise NotFoundError(f"vector bucket {name!r} does not exist")
            if backend is None:
                backend = self._backends[name] = EmbeddedBackend(path)
            return backend

    # -- index extras ------------------------------------------------------------

    def _extras_path(self, bucket: str, index: str) -> Path:
        return self._dir(bucket) / _INDEX_DIR / f"{validate_index_name(index)}.json"

    def create_index(
        self,
        bucket: str,
        name: str,
        *,
        dimension: int,
        distance_metric: DistanceMetric,
        non_filterable_keys: Sequence[str],
        text_search: Sequence[Mapping[str, str]],
        encryption: Mapping[str, str] | None,
    ) -> IndexInfo:
        """Create an index in the bucket's default mode, with its sidecar."""
        with self._lock:
            backend = self.backend(bucket)
            mode = self.get_bucket(bucket).default_index_mode
            if text_search and mode != "ENHANCED":
                raise ValidationError(
                    "textSearchConfigurations need an ENHANCED index, and this bucket's default index mode is CLASSIC",
                    field="metadataConfiguration.textSearchConfigurations",
                )
            count = sum(1 for p in backend.path.glob(f"*{_INDEX_FILE_SUFFIX}") if not p.name.startswith("."))
            if count >= MAX_INDEXES_PER_BUCKET:
                raise QuotaExceededError(
                    f"vector bucket {bucket!r} has {count} indexes: at most {MAX_INDEXES_PER_BUCKET}"
                )
            info = backend.create_index(
                name, dimension=dimension, distance_metric=distance_metric, non_filterable_keys=non_filterable_keys
            )
            try:
                self._write_extras(bucket, name, IndexExtras(mode, tuple(text_search), encryption))
            except BackendUnavailableError:
                backend.delete_index(name)  # no index without its settings
                raise
            return info

    def _write_extras(self, bucket: str, index: str, extras: IndexExtras) -> None:
        path = self._extras_path(bucket, index)
        try:
            path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create {path.parent}: {exc}") from exc
        _write_json(path, extras.to_json())

    def index_extras(self, bucket: str, index: str) -> IndexExtras:
        """The index's mode and text search settings (defaults for an index made outside the endpoint)."""
        document = _read_json(self._extras_path(bucket, index))
        if document is None:
            return IndexExtras(self.get_bucket(bucket).default_index_mode, (), None)
        mode = document.get("indexMode")
        configs = document.get("textSearchConfigurations")
        encryption = document.get("encryptionConfiguration")
        return IndexExtras(
            mode=mode if mode in INDEX_MODES else DEFAULT_INDEX_MODE,
            text_search=tuple(c for c in configs if isinstance(c, dict)) if isinstance(configs, list) else (),
            encryption=encryption if isinstance(encryption, dict) else None,
        )

    def change_index_extras(self, bucket: str, index: str, change: Callable[[IndexExtras], IndexExtras]) -> IndexExtras:
        """Apply ``change`` to an existing index's extras, atomically with respect to other changes."""
        with self._lock:
            self.backend(bucket).get_index(index)  # NotFoundError if absent
            extras = change(self.index_extras(bucket, index))
            self._write_extras(bucket, index, extras)
            return extras

    def delete_index(self, bucket: str, index: str) -> None:
        """Delete an index and its sidecar."""
        with self._lock:
            self.backend(bucket).delete_index(index)
            self._extras_path(bucket, index).unlink(missing_ok=True)

    def close(self) -> None:
        """Scrub what deletes left behind, then close every engine."""
        self._scrubber.close()
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
