# ruff: noqa: D301  -- click reads "\b" (a backspace) in help text as "keep these line breaks"
"""``serve``: a local Amazon S3 Vectors endpoint over the embedded engine, with STS and IAM.

Why a command: code written for S3 Vectors (boto3, ``S3VectorsBackend``, any SDK) can
then be developed and tested with no AWS account and no network, against the same
operations, shapes and error codes; and multi-tenant code (a Token Vending Machine
assuming a role with a tenant session tag) against the same IAM decisions. Starlette
and uvicorn (the ``serve`` extra) are imported only when the command runs, so
``--help`` and every other command work without them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from ._app import AppContext, cli, pass_app
from ._output import notice

__all__ = ["FAULT", "FaultSpec", "serve"]

_EXTRA_HINT = "pip install 'strands-vector-memory[serve]'"
_REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class FaultSpec(click.ParamType[tuple[str, float]]):
    """``OP=RATE``: throttle that share (0..1) of calls to operation ``OP`` (``*`` = every operation)."""

    name = "OP=RATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, float]:
        """Split on ``=`` and check the rate; operation names are checked when the server loads."""
        if isinstance(value, tuple):
            return value
        operation, sep, raw = str(value).partition("=")
        operation = operation.strip()
        try:
            rate = float(raw)
        except ValueError:
            sep = ""
        if not sep or not operation:
            self.fail(f"{value!r} is not OP=RATE (e.g. PutVectors=0.3)", param, ctx)
        if not 0.0 <= rate <= 1.0:
            self.fail(f"the rate in {value!r} must be between 0 and 1", param, ctx)
        return operation, rate


FAULT = FaultSpec()


def _region(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _REGION.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not a region name such as us-east-1")
    return value


@cli.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, dir_okay=True, path_type=Path),
    default=None,
    help="Directory of vector buckets, one subdirectory each.  [default: s3vectors/ inside the store]",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback: this machine).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8333,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--region", default="us-east-1", show_default=True, callback=_region, help="Region named in ARNs.")
@click.option(
    "--fault",
    "faults",
    type=FAULT,
    multiple=True,
    help="Answer this share of OP calls with 429 TooManyRequestsException, e.g. PutVectors=0.3; "
    "'*' is every operation (repeatable).",
)
@click.option("--fault-seed", type=int, default=None, help="Seed for --fault, so the same calls fail on every run.")
@pass_app
def serve(
    app: AppContext,
    root: Path | None,
    host: str,
    port: int,
    region: str,
    faults: tuple[tuple[str, float], ...],
    fault_seed: int | None,
) -> None:
    """Serve the Amazon S3 Vectors API locally, over the embedded engine, with STS and IAM.

    Any S3 Vectors client works against it with dummy credentials: the same
    operations (buckets, indexes, Put/Get/List/Query/DeleteVectors, full-text
    and hybrid queries on ENHANCED indexes), shapes and error codes as AWS. Each
    vector bucket is a directory under --root. Prints the URL on stdout and
    serves until Ctrl+C. Needs the serve extra: pip install 'strands-vector-memory[serve]'.

    The same URL answers AWS STS (AssumeRole with session tags, GetCallerIdentity)
    and IAM roles (CreateRole, Get/Put/List/DeleteRolePolicy, ...; kept in .iam/
    under the root), so a Token Vending Machine runs offline: credentials issued by
    its AssumeRole are held to the role's policies, with AWS's AccessDenied
    errors; sessions live in memory (assume the role again after a restart).
    Any other key has full access and signatures are not checked: there is no
    authentication, so keep it on 127.0.0.1.

    \b
    Example:
        strands-memory serve                  # http://127.0.0.1:8333
        strands-memory serve --port 0 --root ./buckets --fault PutVectors=0.3 --fault-seed 7
    \b
    Then, any strands-memory command on it:
        strands-memory --backend s3vectors --endpoint-url http://127.0.0.1:8333 demo
    \b
    Or, from Python:
        client = boto3.client("s3vectors", endpoint_url="http://127.0.0.1:8333", region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        client.create_vector_bucket(vectorBucketName="memories")
        sts = boto3.client("sts", endpoint_url="http://127.0.0.1:8333", ...)   # same for "iam"
    """
    try:
        from ..server import FaultInjection
        from ..server import serve as run_server
        from ..server._run import is_loopback
    except ImportError as exc:
        if exc.name in ("starlette", "uvicorn"):
            raise click.ClickException(f"strands-memory serve needs {exc.name}: {_EXTRA_HINT}") from exc
        raise
    try:
        injection = FaultInjection(dict(faults), seed=fault_seed) if faults else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--fault'") from exc
    directory = root if root is not None else app.store_path / "s3vectors"
    if not is_loopback(host):
        click.echo(
            f"warning: listening on {host}, beyond this machine. The endpoint has no authentication: "
            "anyone who can reach it can read, change and delete every vector.",
            err=True,
        )

    def ready(url: str) -> None:
        click.echo(url)
        notice(f"S3 Vectors endpoint on {url} (region {region})")
        notice(f"buckets in {directory}")
        if injection is not None:
            notice(f"throttling with 429s: {', '.join(f'{op}={rate:g}' for op, rate in faults)}")
        notice("also STS and IAM: assumed-role sessions are held to their role's policies")
        notice("requests are not authenticated (other keys have full access); Ctrl+C stops")

    try:
        run_server(directory, host=host, port=port, region=region, faults=injection, on_ready=ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
