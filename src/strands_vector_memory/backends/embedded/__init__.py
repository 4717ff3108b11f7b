"""The embedded engine: S3 Vectors semantics on local SQLite files."""

from ._backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
