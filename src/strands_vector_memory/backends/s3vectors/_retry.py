"""Retrying throttled and failing S3 Vectors calls with jittered exponential backoff.

Why a layer above botocore's own retries: botocore (adaptive mode) retries each call
a few times within about a second, which rides out a blip; a throttling storm on a
busy index (about 2,500 vectors/s per index) can last longer. This layer waits longer
between rounds, with full jitter so many writers do not retry in lockstep, and gives up
only after ``max_attempts`` rounds or ``deadline`` seconds, raising a ``RetryableError``:
the caller then knows the write was not acknowledged. Every S3 Vectors write is an
idempotent overwrite or delete by key, so repeating one is always safe.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ...core import RetryableError

__all__ = ["RetryPolicy", "call_with_retries"]

_log = logging.getLogger("strands_vector_memory.backends.s3vectors")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep retrying a throttled or failing call.

    Args:
        max_attempts: Rounds in all, the first included (each round is one botocore call,
            which may itself retry).
        base_delay: Upper bound of the first wait, seconds; doubled every round.
        max_delay: Cap on any one wait, seconds.
        deadline: Give up once this many seconds have passed since the first attempt.
    """

    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 10.0
    deadline: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not (0 <= self.base_delay <= self.max_delay) or self.deadline <= 0:
            raise ValueError("need 0 <= base_delay <= max_delay and deadline > 0")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempt)]."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**attempt)))


NO_RETRIES = RetryPolicy(max_attempts=1)


def call_with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    operation: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Run ``call`` (which raises project errors), retrying ``RetryableError``s per ``policy``."""
    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except RetryableError as exc:
            attempt += 1
            elapsed = clock() - started
            if attempt >= policy.max_attempts or elapsed >= policy.deadline:
                if attempt > 1:  # keep the exception (and its botocore cause); say how hard we tried
                    exc.args = (f"{exc} (gave up after {attempt} attempts in {elapsed:.1f} s)", *exc.args[1:])
                raise
            wait = min(policy.delay(attempt - 1, rng), max(0.0, policy.deadline - elapsed))
            _log.debug("operation=<%s>, attempt=<%d>, wait=<%.3f> | retrying: %s", operation, attempt, wait, exc)
            sleep(wait)
