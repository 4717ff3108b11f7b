"""Measure what each retrieval technique adds on a LoCoMo-format file (the README table).

Usage: python scripts/locomo_ablation.py PATH [--limit N] [--json OUT]

Each row is one ``run_locomo`` call, i.e. exactly one ``strands-memory eval locomo``
command (printed beside the row), starting from plain retrievers and adding one
technique at a time up to the defaults, then a few alternatives to the defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from strands_vector_memory.embedders import MiniLMEmbedder
from strands_vector_memory.evals import EvalConfig, run_locomo

_OFF = {"name_boost": 0, "time_boost": 0, "conversation_boost": 0}

ROWS: list[tuple[str, dict[str, Any]]] = [
    ("BM25 (FTS5, porter)", {"retriever": "bm25", "neighbours": 0}),
    ("dense (MiniLM)", {"retriever": "dense", "neighbours": 0}),
    ("RRF fusion", {"retriever": "rrf", "neighbours": 0}),
    ("weighted fusion", {"retriever": "weighted", "neighbours": 0}),
    ("+ neighbouring turns as context (1 each side)", {"retriever": "weighted", "neighbours": 1}),
    ("+ neighbouring turns as context (2 each side)", {"retriever": "weighted", "neighbours": 2}),
    ("+ speaker named in the question", {"options": {"time_boost": 0, "conversation_boost": 0}}),
    ("+ month/year named in the question", {"options": {"conversation_boost": 0}}),
    ("+ same-conversation boost (defaults)", {}),
    ("defaults, RRF instead of weighted", {"options": {"fusion": "rrf"}}),
    ("defaults, 1 neighbour each side", {"neighbours": 1}),
    ("defaults + MMR diversity 0.2", {"options": {"diversity": 0.2}}),
    ("defaults + recency (half-life 30 days)", {"options": {"recency_half_life_days": 30}}),
    ("defaults, units = observations", {"units": "observations"}),
    ("defaults, units = summaries", {"units": "summaries"}),
]

_COLUMNS = ("any@5", "any@10", "any@20", "all@10", "mrr", "session_any@5")


def command(settings: dict[str, Any]) -> str:
    """The CLI command that reproduces one row."""
    parts = ["strands-memory eval locomo --data PATH"]
    for name in ("units", "retriever", "neighbours"):
        if name in settings:
            parts.append(f"--{name} {settings[name]}")
    parts.extend(f"--option {k}={json.dumps(v)}" for k, v in settings.get("options", {}).items())
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", dest="json_out", default=None, help="also write every report to this file")
    args = parser.parse_args(argv)
    embedder = MiniLMEmbedder()
    reports = []
    print("| technique | " + " | ".join(_COLUMNS) + " | by category any@10 (1/2/3/4) | command |")
    print("|---" * (len(_COLUMNS) + 3) + "|")
    for label, settings in ROWS:
        config = EvalConfig(limit=args.limit, **settings)
        report = run_locomo(args.path, config, embedder=embedder)
        reports.append({"label": label, "command": command(settings), **report})
        overall = report["overall"]
        cats = "/".join(f"{report['by_category'][c]['any@10']:.3f}" for c in sorted(report["by_category"]))
        cells = " | ".join(f"{overall[c]:.3f}" for c in _COLUMNS)
        print(f"| {label} | {cells} | {cats} | `{command(settings)}` |", flush=True)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(reports, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
