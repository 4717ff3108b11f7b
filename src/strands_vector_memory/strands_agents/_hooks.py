"""``strands.plugins.hook`` typed for methods.

The SDK's stubs type ``@hook`` for one-argument functions, so strict mypy rejects it on
a method; the runtime decorator handles methods fine (it reads the event type from
the annotation). This wrapper keeps the method's own type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from strands.plugins import hook

__all__ = ["on_event"]

F = TypeVar("F", bound=Callable[..., Any])


def on_event(method: F) -> F:
    """Register ``method`` as a hook for the event type its annotation names."""
    return cast(F, hook(cast(Any, method)))
