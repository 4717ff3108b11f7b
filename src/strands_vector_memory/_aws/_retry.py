"""Retrying throttled and failing AWS calls with jittered exponential backoff.

One loop for every AWS face (S3 Vectors, Bedrock). Why a layer above botocore's own
retries: botocore (adaptive mode) retries each call a few times within about a
second, which rides out a blip; a throttling storm (an S3 Vectors index takes about
2,500 vectors/s, a Bedrock model a per-minute quota) can last longer. This layer waits longer
between rounds, with full jitter so many writers do not retry in lockstep, and gives up
only after ``max_attempts`` rounds or ``deadline`` seconds, raising a ``RetryableError``:
the caller then knows the write was not acknowledged. Every S3 Vectors write is an
idempotent overwrite or delete by key, and an embedding call has no side effect, so
repeating one is always safe.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..core import RetryableError, VectorMemoryError

__all__ = ["RetryPolicy", "call_with_retries"]

_log = logging.getLogger("strands_vector_memory.aws")

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


def _is_retryable(exc: VectorMemoryError) -> bool:
    return isinstance(exc, RetryableError)


def call_with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    operation: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    retry_if: Callable[[VectorMemoryError], bool] = _is_retryable,
) -> T:
    """Run ``call`` (which raises project errors), retrying those ``retry_if`` accepts per ``policy``.

    By default every ``RetryableError`` is retried; a service whose retryable codes are
    narrower than that (Bedrock's ``ModelErrorException`` is a 5xx worth no retry) passes
    its own test.
    """
    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except VectorMemoryError as exc:
            if not retry_if(exc):
                raise
            attempt += 1
            elapsed = clock() - started
            if attempt >= policy.max_attempts or elapsed >= policy.deadline:
                if attempt > 1:  # keep the exception (and its botocore cause); say how hard we tried
                    exc.args = (f"{exc} (gave up after {attempt} attempts in {elapsed:.1f} s)", *exc.args[1:])
                raise
            wait = min(policy.delay(attempt - 1, rng), max(0.0, policy.deadline - elapsed))
            _log.debug("operation=<%s>, attempt=<%d>, wait=<%.3f> | retrying: %s", operation, attempt, wait, exc)
            sleep(wait)
