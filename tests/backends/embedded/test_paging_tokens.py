"""Embedded paging tokens: forged or damaged tokens are ValidationErrors, never crashes.

The contract suite checks foreign and garbage tokens on every backend; these rows build
tokens in the embedded engine's own format, which only this engine can be tested with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.backends._checks import encode_token
from strands_vector_memory.core import MemoryRecord, ValidationError

SCOPE = {"index": "idx", "segments": 1, "segment": 0}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(SCOPE, id="no-position"),
        pytest.param({**SCOPE, "after": "3"}, id="position-is-text"),
        pytest.param({**SCOPE, "after": None}, id="position-is-null"),
        pytest.param({**SCOPE, "after": 2.5}, id="position-is-float"),
        pytest.param({**SCOPE, "after": True}, id="position-is-bool"),
        pytest.param({**SCOPE, "index": "other", "after": 3}, id="other-index"),
        pytest.param({**SCOPE, "segments": 2, "after": 3}, id="other-segments"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
def test_forged_tokens_are_rejected(tmp_path: Path, payload: Any) -> None:
    with EmbeddedBackend(tmp_path / "bucket") as backend:
        backend.create_index("idx", dimension=2)
        backend.put_vectors("idx", [MemoryRecord(f"k{i}", [1.0, float(i)]) for i in range(5)])
        with pytest.raises(ValidationError) as info:
            backend.list_vectors("idx", max_results=2, next_token=encode_token(payload))  # type: ignore[arg-type]
        assert info.value.field == "next_token"


def test_a_genuine_token_round_trips(tmp_path: Path) -> None:
    with EmbeddedBackend(tmp_path / "bucket") as backend:
        backend.create_index("idx", dimension=2)
        backend.put_vectors("idx", [MemoryRecord(f"k{i}", [1.0, float(i)]) for i in range(5)])
        first = backend.list_vectors("idx", max_results=2)
        assert first.next_token is not None
        second = backend.list_vectors("idx", max_results=2, next_token=first.next_token)
        assert [r.key for r in first.records + second.records] == ["k0", "k1", "k2", "k3"]
