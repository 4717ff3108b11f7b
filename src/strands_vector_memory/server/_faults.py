"""Injected throttling, so retry and backoff code can be exercised without AWS.

S3 Vectors answers ``429 TooManyRequestsException`` when an index is written faster
than about 1,000 requests per second; code that talks to it must retry. A seeded
:class:`FaultInjection` answers a chosen share of calls to chosen operations with that
error, before the operation runs, so a throttled write has written nothing, as on AWS.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Mapping

from ._operations import OPERATIONS

__all__ = ["ANY_OPERATION", "FaultInjection"]

#: The operation name that stands for every operation.
ANY_OPERATION = "*"


class FaultInjection:
    """Answer a share of calls with ``TooManyRequestsException``, reproducibly.

    Args:
        rates: Operation name (``"PutVectors"``, or ``"*"`` for every operation) to the
            share of its calls to throttle, in 0..1. A named operation's rate wins over ``"*"``.
        seed: Seeds the draws, so a test sees the same calls throttled on every run
            (given the same order of calls).

    Raises:
        ValueError: An unknown operation name or a rate outside 0..1.
    """

    def __init__(self, rates: Mapping[str, float], *, seed: int | None = None) -> None:
        for operation, rate in rates.items():
            if operation != ANY_OPERATION and operation not in OPERATIONS:
                known = ", ".join(sorted(OPERATIONS))
                raise ValueError(f"unknown operation {operation!r} for fault injection: use '*' or one of {known}")
            if not isinstance(rate, int | float) or not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate for {operation} must be in 0..1, got {rate!r}")
        self.rates = dict(rates)
        self.seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, specs: Iterable[str], *, seed: int | None = None) -> FaultInjection:
        """From ``OP=RATE`` strings, as the ``--fault`` option takes them (``PutVectors=0.3``)."""
        rates: dict[str, float] = {}
        for spec in specs:
            operation, sep, rate = spec.partition("=")
            try:
                rates[operation.strip()] = float(rate)
            except ValueError:
                sep = ""
            if not sep:
                raise ValueError(f"{spec!r} is not OP=RATE (e.g. PutVectors=0.3)")
        return cls(rates, seed=seed)

    def __repr__(self) -> str:
        return f"FaultInjection({self.rates!r}, seed={self.seed!r})"

    def throttles(self, operation: str) -> bool:
        """Whether this call to ``operation`` is answered with a 429 (one draw per call)."""
        rate = self.rates.get(operation, self.rates.get(ANY_OPERATION, 0.0))
        if rate <= 0.0:
            return False
        with self._lock:
            return self._random.random() < rate
