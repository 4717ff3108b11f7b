"""Running the endpoint: in a background thread for tests and notebooks, or in the foreground for the CLI.

Why a pre-bound socket: binding before uvicorn starts turns "port in use" into an
``OSError`` raised to the caller instead of a log line in another thread, and with
port 0 the free port the kernel chose is known before the first request.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from ._app import create_app
from ._buckets import BucketRegistry
from ._faults import FaultInjection

__all__ = ["LocalEndpoint", "is_loopback", "serve"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(
    root: str | os.PathLike[str],
    faults: FaultInjection | None,
    region: str,
    clock: Callable[[], float] | None = None,
    **config: Any,
) -> tuple[uvicorn.Server, BucketRegistry]:
    """A configured (not started) server, and the registry to close after it stops."""
    app = create_app(root, faults=faults, region=region, clock=clock)
    settings = {"log_level": "warning", "lifespan": "off", "ws": "none", "timeout_graceful_shutdown": 5, **config}
    registry: BucketRegistry = app.state.registry
    return uvicorn.Server(uvicorn.Config(app, **settings)), registry


class LocalEndpoint:
    """An S3 Vectors endpoint, with STS and IAM, on ``127.0.0.1`` in a background thread; a context manager.

    Example::

        with LocalEndpoint(tmp_path) as endpoint:
            client = boto3.client("s3vectors", **endpoint.client_kwargs())
            client.create_vector_bucket(vectorBucketName="memories")
            sts = boto3.client("sts", **endpoint.client_kwargs())
            creds = sts.assume_role(RoleArn=..., RoleSessionName="s", Tags=[...])["Credentials"]
            tenant = boto3.client("s3vectors", **endpoint.client_kwargs(creds))

    Args:
        root: The directory of buckets (one subdirectory each); created if missing.
        host: The address to bind; loopback by default (the endpoint has no authentication).
        port: The port; 0 picks a free one (read it from :attr:`port` or :attr:`url`).
        region: The region named in ARNs.
        faults: Optional injected throttling, to test retries.
        startup_timeout: Seconds to wait for the server to accept connections.
        clock: Epoch seconds now, for session expiry; pass a fake to test expiry without waiting.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        faults: FaultInjection | None = None,
        startup_timeout: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.region = region
        self.faults = faults
        self.clock = clock
        self._port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._registry: BucketRegistry | None = None

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if self._socket is None:
            raise RuntimeError("the endpoint is not running: call start() or use it as a context manager")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:54321``; pass it as boto3's ``endpoint_url``."""
        if self._socket is None:
            raise RuntimeError("the endpoint is not running: call start() or use it as a context manager")
        return _url(self._socket)

    def client_kwargs(self, credentials: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Keyword arguments for ``boto3.client("s3vectors" | "sts" | "iam", ...)``: URL, region, credentials.

        Args:
            credentials: The ``Credentials`` of an ``AssumeRole`` answer, to act as that
                session; by default dummy static credentials, which have full access.
        """
        kwargs = {"endpoint_url": self.url, "region_name": self.region}
        if credentials is None:
            return {**kwargs, "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        return {
            **kwargs,
            "aws_access_key_id": str(credentials["AccessKeyId"]),
            "aws_secret_access_key": str(credentials["SecretAccessKey"]),
            "aws_session_token": str(credentials["SessionToken"]),
        }

    def start(self) -> LocalEndpoint:
        """Bind, start serving in a daemon thread and wait until connections are accepted."""
        if self._server is not None:
            raise RuntimeError("the endpoint is already running")
        sock = _bind(self.host, self._port)
        # log_config=None: an embedded endpoint must not reconfigure the host program's logging.
        server, self._registry = _server(self.root, self.faults, self.region, self.clock, log_config=None)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"s3vectors-endpoint-{_url(sock)}", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local S3 Vectors endpoint did not start within {self._startup_timeout:g}s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving (in-flight requests finish), close the engines and the socket."""
        server, thread, sock, registry = self._server, self._thread, self._socket, self._registry
        self._server, self._thread, self._socket, self._registry = None, None, None, None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=15)
        if registry is not None:
            registry.close()
        if sock is not None:
            sock.close()

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._socket is not None else "stopped"
        return f"LocalEndpoint({str(self.root)!r}, {where})"


def serve(
    root: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8333,
    region: str = "us-east-1",
    faults: FaultInjection | None = None,
    on_ready: Callable[[str], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Serve in the foreground until Ctrl+C or SIGTERM; ``on_ready`` gets the URL once bound.

    Either signal stops the server gracefully (in-flight requests finish) and returns
    normally, also when it arrives before the server has started.

    Raises:
        OSError: The address cannot be bound (port in use, no such interface).
    """
    sock = _bind(host, port)
    server, registry = _server(root, faults, region, clock)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        # uvicorn handles both signals while it runs, then re-raises the one it caught:
        # SIGINT is a KeyboardInterrupt, and SIGTERM is made one so both end here.
        with contextlib.suppress(KeyboardInterrupt):
            if on_ready is not None:
                on_ready(_url(sock))
            server.run(sockets=[sock])
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        registry.close()
        sock.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
