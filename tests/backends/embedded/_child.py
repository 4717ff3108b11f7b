"""A separate process that uses an embedded bucket, driven by test_durability.py.

Usage: ``python _child.py MODE BUCKET INDEX [ARGS...]``. Every mode writes one line per
acknowledged step to stdout and flushes it, so the parent knows exactly what was
acknowledged before it looks (or kills).

* ``writer PREFIX COUNT SEED``: print ``ready``, wait for a line on stdin, then put COUNT
  records ``PREFIX-<n>`` in batches of 1-20; print ``done``.
* ``ack-loop START``: put one record per call, forever, from ``k<START>`` on; print each
  key only after ``put_vectors`` returned.
* ``serve``: read commands from stdin and answer ``ok ...`` per command:
  ``put KEY X,Y,... [JSON]``, ``delete KEY``, ``query X,Y,...`` (answers the nearest keys),
  ``quit``.
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np

from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.core import MemoryRecord


def writer_vector(prefix: str, n: int, dimension: int) -> np.ndarray:
    return np.random.default_rng([*prefix.encode(), n]).normal(size=dimension).astype(np.float32)


def ack_record(n: int, dimension: int) -> MemoryRecord:
    vector = np.random.default_rng(n).normal(size=dimension).astype(np.float32)
    return MemoryRecord(f"k{n}", vector, {"n": n, "content": f"record {n} " + "x" * 1000})


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> None:
    mode, bucket, index, *args = argv
    backend = EmbeddedBackend(bucket)
    dimension = backend.get_index(index).dimension
    if mode == "writer":
        prefix, count, seed = args[0], int(args[1]), int(args[2])
        rng = random.Random(seed)
        say("ready")
        sys.stdin.readline()
        n = 0
        while n < count:
            size = min(rng.randint(1, 20), count - n)
            batch = [
                MemoryRecord(f"{prefix}-{i}", writer_vector(prefix, i, dimension), {"writer": prefix, "n": i})
                for i in range(n, n + size)
            ]
            backend.put_vectors(index, batch)
            n += size
        say("done")
    elif mode == "ack-loop":
        n = int(args[0])
        while True:
            backend.put_vectors(index, [ack_record(n, dimension)])
            say(f"k{n}")
            n += 1
    elif mode == "serve":
        for line in sys.stdin:
            command, *rest = line.rstrip("\n").split(" ", 3)
            if command == "quit":
                break
            if command == "put":
                vector = [float(x) for x in rest[1].split(",")]
                metadata = json.loads(rest[2]) if len(rest) > 2 else None
                backend.put_vectors(index, [MemoryRecord(rest[0], vector, metadata)])
                say("ok")
            elif command == "delete":
                backend.delete_vectors(index, [rest[0]])
                say("ok")
            elif command == "query":
                vector = [float(x) for x in rest[0].split(",")]
                say("ok " + " ".join(m.key for m in backend.query_vectors(index, vector, top_k=5)))
            else:
                raise SystemExit(f"unknown command {command!r}")
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    backend.close()


if __name__ == "__main__":
    main(sys.argv[1:])
