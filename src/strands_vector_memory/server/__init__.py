"""A local Amazon S3 Vectors endpoint over the embedded engine (``strands-memory serve``).

Any S3 Vectors client (``boto3.client("s3vectors", endpoint_url=...)``) can talk to it:
the same operations, shapes and error codes as AWS, on one directory per bucket, with
no account and no network. It needs the ``serve`` extra (Starlette and uvicorn) and is
never imported by the package root.
"""

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the CLI test with the extra hidden
    raise ImportError(
        f"the local S3 Vectors endpoint needs {exc.name}: pip install 'strands-vector-memory[serve]'", name=exc.name
    ) from exc

from ._app import create_app
from ._buckets import ACCOUNT_ID, BucketRegistry
from ._faults import FaultInjection
from ._run import LocalEndpoint, serve

__all__ = ["ACCOUNT_ID", "BucketRegistry", "FaultInjection", "LocalEndpoint", "create_app", "serve"]
