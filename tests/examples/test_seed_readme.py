"""The old plugin's two README snippets run unchanged but for the import line, offline, in CI.

Each runs as its own process through ``examples/seed_readme/run_offline.py``: a local
S3 Vectors + STS + IAM endpoint, the tenant role made by our set-up code, the scripted
model in place of ``BedrockModel()``, and the bundled embedder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "examples" / "seed_readme"


def run_offline(mode: str, tmp_path: Path) -> str:
    drop = ("STRANDS_MEMORY_EXAMPLE_MODEL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "S3_VECTOR_TVM_ROLE_ARN")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AWS_ENDPOINT_URL")}
    home = tmp_path / "home"
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        TMPDIR=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, str(SNIPPETS / "run_offline.py"), mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("Model: scripted")
    assert "Pending memory jobs after close: 0" in done.stdout
    return done.stdout


def last_memory_block(out: str, header: str = "-- memories the model was shown in the last turn:") -> str:
    tail = out[out.index(header) :]
    return tail[: tail.index("</memories>") + len("</memories>")] if "</memories>" in tail else tail.splitlines()[1]


def test_the_single_tenant_snippet_recalls_the_first_conversation(tmp_path: Path) -> None:
    out = run_offline("single", tmp_path)
    assert "Your favourite framework is Strands Agents." in out
    assert '"My favourite framework is Strands Agents."' in last_memory_block(out)


def test_the_multi_tenant_snippet_runs_on_tenant_credentials_and_stays_isolated(tmp_path: Path) -> None:
    out = run_offline("multi", tmp_path)
    assert "Tenant role: arn:aws:iam::123456789012:role/strands-memory-tenants" in out
    assert "Your Q4 budget is $2M." in out
    assert '"Our Q4 budget is $2M."' in last_memory_block(out)
    other = out[out.index("== tenant-002 asks the same question") :]
    assert "agent: I don't know that yet." in other
    assert "(no memories injected)" in other
    assert "tenant-002's credentials on memory-tenant-001: AccessDeniedException" in other
    assert "assumed-role/strands-memory-tenants/strands-memory-tenant-002 is not authorized" in other


@pytest.mark.parametrize("name", ["single_tenant.py", "multi_tenant.py"])
def test_the_snippets_import_only_the_compat_layer_of_this_library(name: str) -> None:
    imports = [line for line in (SNIPPETS / name).read_text().splitlines() if line.startswith(("import ", "from "))]
    ours = [line for line in imports if "strands_vector_memory" in line]
    assert len(ours) == 1 and ours[0].startswith("from strands_vector_memory.compat import ")
    assert "from strands.models import BedrockModel" in imports
