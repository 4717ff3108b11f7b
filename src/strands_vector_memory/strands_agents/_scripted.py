"""A Strands ``Model`` that plays back scripted replies and records what it was sent.

The only thing our tests and offline examples script is the LLM itself: everything
else (the ``Agent``, its hooks, tools, middleware and conversation manager) runs for
real. The recorded requests let a test assert what the model actually saw.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strands.models import Model

__all__ = ["ModelRequest", "ScriptedModel", "ToolCall"]

T = TypeVar("T")


@dataclass(frozen=True)
class ToolCall:
    """A tool the scripted model asks to call."""

    name: str
    input: dict[str, Any] = field(default_factory=dict)
    tool_use_id: str | None = None


Reply = str | ToolCall | Sequence[str | ToolCall] | BaseException
"""Text, one tool call, several blocks, or an exception the model call raises."""


@dataclass(frozen=True)
class ModelRequest:
    """One call the agent (or anybody else) made to the model."""

    messages: list[dict[str, Any]]
    system_prompt: str | None
    system_prompt_content: list[dict[str, Any]] | None
    tool_names: list[str]

    def system_text(self) -> str:
        """The system prompt as one string, whichever form it was sent in."""
        if self.system_prompt_content:
            return "\n".join(str(block.get("text", "")) for block in self.system_prompt_content)
        return self.system_prompt or ""

    def text(self) -> str:
        """Everything the model was shown (system prompt and message text) as one string."""
        parts = [self.system_text()]
        for message in self.messages:
            for block in message.get("content", []):
                if "text" in block:
                    parts.append(str(block["text"]))
                elif "toolResult" in block:
                    for inner in block["toolResult"].get("content", []):
                        if "text" in inner:
                            parts.append(str(inner["text"]))
                        elif "json" in inner:
                            parts.append(json.dumps(inner["json"]))
        return "\n".join(parts)

    def last_user_text(self) -> str:
        """The text blocks of the newest user message."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return "\n".join(str(b["text"]) for b in message.get("content", []) if "text" in b)
        return ""


class ScriptedModel(Model):
    """Plays back ``replies`` in order, or asks ``respond`` for each request.

    Args:
        replies: What to answer, one per model call: text, a :class:`ToolCall`, a list of
            those (one message with several blocks), or an exception to raise.
        respond: Called with each :class:`ModelRequest` instead of popping ``replies``;
            lets one model serve an agent and a background summariser deterministically.

    Thread-safe: the memory plugin's summariser calls the model from its own thread.
    """

    def __init__(self, replies: Iterable[Reply] = (), *, respond: Callable[[ModelRequest], Reply] | None = None):
        self._replies = list(replies)
        self._respond = respond
        self._lock = threading.Lock()
        self.requests: list[ModelRequest] = []
        self._config: dict[str, Any] = {"model_id": "scripted"}
        self._tool_counter = 0

    def update_config(self, **model_config: Any) -> None:
        """Merge ``model_config`` into the config."""
        self._config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """The config (only ``model_id`` unless updated)."""
        return dict(self._config)

    def structured_output(
        self, output_model: type[T], prompt: Any, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        """Not scripted: our code never asks for structured output."""
        raise NotImplementedError("ScriptedModel does not script structured output")

    def _next(self, request: ModelRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._respond is not None:
                return self._respond(request)
            if not self._replies:
                raise AssertionError(f"ScriptedModel ran out of replies at call {len(self.requests)}")
            return self._replies.pop(0)

    def _tool_id(self) -> str:
        with self._lock:
            self._tool_counter += 1
            return f"tooluse_{self._tool_counter}"

    async def stream(  # type: ignore[override]
        self,
        messages: Any,
        tool_specs: list[Any] | None = None,
        system_prompt: str | None = None,
        *,
        system_prompt_content: list[Any] | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yield the scripted reply as Bedrock-style stream events."""
        request = ModelRequest(
            messages=copy.deepcopy(list(messages)),
            system_prompt=system_prompt,
            system_prompt_content=copy.deepcopy(system_prompt_content),
            tool_names=[str(spec.get("name")) for spec in tool_specs or []],
        )
        reply = self._next(request)
        if isinstance(reply, BaseException):
            raise reply
        blocks: list[str | ToolCall] = [reply] if isinstance(reply, str | ToolCall) else list(reply)
        yield {"messageStart": {"role": "assistant"}}
        for block in blocks:
            if isinstance(block, ToolCall):
                tool_use = {"name": block.name, "toolUseId": block.tool_use_id or self._tool_id()}
                yield {"contentBlockStart": {"start": {"toolUse": tool_use}}}
                yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(block.input)}}}}
            else:
                yield {"contentBlockStart": {"start": {}}}
                yield {"contentBlockDelta": {"delta": {"text": block}}}
            yield {"contentBlockStop": {}}
        stop = "tool_use" if any(isinstance(b, ToolCall) for b in blocks) else "end_turn"
        yield {"messageStop": {"stopReason": stop}}
