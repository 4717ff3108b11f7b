"""``strands-memory serve``: help, option checks, the missing extra, and a real process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

import strands_vector_memory.server
from strands_vector_memory.cli import cli


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def test_help_has_an_example_and_touches_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    out = run("--store", str(store), "serve", "--help").stdout
    assert "Example:" in out and "strands-memory serve" in out
    assert "8333" in out and "127.0.0.1" in out and "--fault" in out and "[serve]" in out
    assert 'boto3.client("s3vectors", endpoint_url="http://127.0.0.1:8333"' in out
    assert not store.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "70000"),
        (["--fault", "PutVectors"], "OP=RATE"),
        (["--fault", "PutVectors=lots"], "OP=RATE"),
        (["--fault", "PutVectors=1.5"], "between 0 and 1"),
        (["--fault", "PutVector=0.5"], "unknown operation 'PutVector'"),
        (["--region", "US East"], "region"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("--store", str(tmp_path / "store"), "serve", *args, code=2)
    assert message in result.stderr
    assert not (tmp_path / "store").exists()


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the blocking server with one that reports ready and returns at once."""
    calls: list[dict[str, Any]] = []

    def serve(root: Path, *, on_ready: Callable[[str], None], **options: Any) -> None:
        calls.append({"root": root, **options})
        on_ready(f"http://{options['host']}:{options['port'] or 40000}")

    monkeypatch.setattr(strands_vector_memory.server, "serve", serve)
    return calls


def test_defaults_serve_the_store_s_s3vectors_directory_on_loopback(
    tmp_path: Path, fake_server: list[dict[str, Any]]
) -> None:
    result = run("--store", str(tmp_path / "store"), "serve")
    assert result.stdout == "http://127.0.0.1:8333\n"
    (call,) = fake_server
    assert call["root"] == tmp_path / "store" / "s3vectors"
    assert (call["host"], call["port"], call["region"], call["faults"]) == ("127.0.0.1", 8333, "us-east-1", None)
    assert "warning" not in result.stderr and "not authenticated" in result.stderr


def test_options_reach_the_server_and_a_public_host_is_warned_about(
    tmp_path: Path, fake_server: list[dict[str, Any]]
) -> None:
    result = run(
        "serve",
        "--root",
        str(tmp_path / "buckets"),
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--region",
        "eu-central-1",
        "--fault",
        "PutVectors=0.3",
        "--fault",
        "*=0.01",
        "--fault-seed",
        "5",
    )
    assert "warning: listening on 0.0.0.0" in result.stderr and "no authentication" in result.stderr
    assert "PutVectors=0.3" in result.stderr
    (call,) = fake_server
    assert call["root"] == tmp_path / "buckets"
    assert (call["host"], call["port"], call["region"]) == ("0.0.0.0", 0, "eu-central-1")
    assert call["faults"].rates == {"PutVectors": 0.3, "*": 0.01} and call["faults"].seed == 5


def test_missing_extra_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("strands_vector_memory.server")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = run("--store", str(tmp_path / "store"), "serve", code=1)
    assert "pip install 'strands-vector-memory[serve]'" in result.stderr
    assert "uvicorn" in result.stderr


def test_a_port_in_use_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run("--store", str(tmp_path / "store"), "serve", "--port", str(port), code=1)
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_runs_as_a_real_process(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "strands_vector_memory.cli", "--store", str(store), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the URL is printed (the socket is bound by then)
        match = re.fullmatch(r"(http://127\.0\.0\.1:\d+)\n", line)
        assert match, f"unexpected first line {line!r}; stderr: {process.stderr.read() if process.stderr else ''}"
        client = boto3.client(
            "s3vectors",
            endpoint_url=match.group(1),
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                client.create_vector_bucket(vectorBucketName="from-cli")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        names = [b["vectorBucketName"] for b in client.list_vector_buckets()["vectorBuckets"]]
        assert names == ["from-cli"]
        assert (store / "s3vectors" / "from-cli").is_dir()
        client.close()
    finally:
        process.terminate()  # SIGTERM: a graceful stop and exit code 0, like Ctrl+C
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert code == 0
