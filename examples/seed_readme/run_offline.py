"""Run the old plugin's README snippets offline: a local S3 Vectors + STS + IAM endpoint, a scripted LLM.

    python examples/seed_readme/run_offline.py single
    python examples/seed_readme/run_offline.py multi

What this sets up is what a reader would set up on AWS, only local: ``strands-memory
serve`` (in-process) as the S3 Vectors, STS and IAM endpoint; a vector bucket; for
``multi`` the tenant role made by ``strands-memory tenancy setup``'s code; and the
environment variables the snippets read (``S3_VECTOR_BUCKET_NAME``,
``S3_VECTOR_TVM_ROLE_ARN``, ``AWS_ENDPOINT_URL_*``). The embedding model is the bundled
offline one (``EMBEDDING_MODEL=local``). The snippet itself runs unchanged but for its
import line; its ``BedrockModel()`` is a scripted model unless
``STRANDS_MEMORY_EXAMPLE_MODEL`` names a real one (see ``examples/_model.py``).

``multi`` then shows the isolation: another tenant's agent recalls nothing of
tenant-001, and that tenant's STS credentials are refused on tenant-001's index.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/_model.py

import boto3  # noqa: E402
import strands.models  # noqa: E402
from _model import ENV, example_model, memory_block  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from strands_vector_memory.server import LocalEndpoint  # noqa: E402
from strands_vector_memory.strands_agents import ModelRequest, ScriptedModel  # noqa: E402
from strands_vector_memory.strands_agents._summary import SUMMARY_SYSTEM_PROMPT  # noqa: E402
from strands_vector_memory.tenancy import setup_tenant_role  # noqa: E402

BUCKET = "seed-readme"
APP_KEY = "app"  # the application's own (static) access key on the local endpoint
APP_PRINCIPAL = f"arn:aws:iam::123456789012:user/{APP_KEY}"
REGION = "us-east-1"


def script(request: ModelRequest) -> str:
    """What the scripted LLM answers; it only uses what the plugin put in front of it."""
    if request.system_text() == SUMMARY_SYSTEM_PROMPT:
        said = [line.split(" user: ", 1)[1] for line in request.text().splitlines() if " user: " in line]
        return "The user said: " + " ".join(said)
    remembered = memory_block(request.system_text())
    question = request.last_user_text()
    if question.startswith("What"):
        if "budget" in question:
            return "Your Q4 budget is $2M." if "$2M" in remembered else "I don't know that yet."
        if "framework is Strands Agents" in remembered:
            return "Your favourite framework is Strands Agents."
        return "I don't know that yet."
    return "Noted." if "bye" not in question else "Goodbye!"


def environment(endpoint: LocalEndpoint, store: Path) -> dict[str, str]:
    """The variables the snippets and botocore read, pointing at the local endpoint."""
    return {
        "AWS_ACCESS_KEY_ID": APP_KEY,
        "AWS_SECRET_ACCESS_KEY": "local-secret",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3VECTORS": endpoint.url,
        "AWS_ENDPOINT_URL_STS": endpoint.url,
        "AWS_ENDPOINT_URL_IAM": endpoint.url,
        "S3_VECTOR_BUCKET_NAME": BUCKET,
        "EMBEDDING_MODEL": "local",
        "STRANDS_MEMORY_STORE": str(store),  # where the plugin keeps its outbox
    }


def prepare(mode: str) -> None:
    """The bucket, and for ``multi`` the tenant role; as an operator would, once."""
    boto3.client("s3vectors").create_vector_bucket(vectorBucketName=BUCKET)
    if mode == "multi":
        role = setup_tenant_role(
            boto3.client("iam"), role_name="strands-memory-tenants", principal_arn=APP_PRINCIPAL, bucket=BUCKET
        )
        os.environ["S3_VECTOR_TVM_ROLE_ARN"] = role.role_arn
        print(f"Tenant role: {role.role_arn}")


def run_snippet(mode: str) -> dict[str, Any]:
    """Run the snippet file as a script; returns its globals (``agent``, ``plugin``, ``store``)."""
    path = HERE / ("single_tenant.py" if mode == "single" else "multi_tenant.py")
    print(f"== {path.name}")
    return runpy.run_path(str(path), run_name="__main__")


def show_last_turn(model: Any) -> None:
    """Print the memory block the scripted model was shown in its last call."""
    if isinstance(model, ScriptedModel):
        last = model.requests[-1]
        print(f"-- memories the model was shown in the last turn:\n{memory_block(last.system_text())}")


def isolation_demo(snippet: dict[str, Any]) -> None:
    """Another tenant sees nothing of tenant-001, and its credentials cannot reach tenant-001's index."""
    agent, store = snippet["agent"], snippet["store"]
    other = {"tenant_context": {"tenantId": "tenant-002"}, "user_id": "user-456", "conversation_id": "conv-9"}
    reply = agent("What is our Q4 budget?", invocation_state=other)
    print(f"== tenant-002 asks the same question\nagent: {str(reply).strip()}")
    show_last_turn(agent.model)
    creds = store.tvm.credentials("tenant-002")
    intruder = boto3.client(
        "s3vectors",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
    )
    try:
        intruder.list_vectors(vectorBucketName=BUCKET, indexName="memory-tenant-001")
        print("tenant-002 read tenant-001's index: ISOLATION BROKEN")
    except ClientError as exc:
        print(f"tenant-002's credentials on memory-tenant-001: {exc.response['Error']['Code']}")
        print(f"  {exc.response['Error']['Message']}")


def main(argv: list[str] | None = None) -> int:
    """Start the local endpoint, prepare it as an operator would, run the snippet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["single", "multi"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="seed-readme-") as tmp, LocalEndpoint(Path(tmp) / "endpoint") as endpoint:
        os.environ.update(environment(endpoint, Path(tmp) / "store"))
        if os.environ.get(ENV, "").strip() in ("", "scripted"):
            model = example_model(script)
            strands.models.BedrockModel = lambda *a, **k: model  # type: ignore[assignment,misc]
        prepare(args.mode)
        snippet = run_snippet(args.mode)
        print()  # the snippet's agent streamed its replies to stdout
        show_last_turn(snippet["agent"].model)
        if args.mode == "multi":
            isolation_demo(snippet)
        remaining = snippet["plugin"].close()
        print(f"Pending memory jobs after close: {remaining}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
