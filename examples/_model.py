"""What the examples share: their model, their store, and a look at what the model saw.

The model is scripted and offline by default, or a real provider.

Set ``STRANDS_MEMORY_EXAMPLE_MODEL`` to run an example against a real LLM:

* unset or ``scripted``: a :class:`ScriptedModel` that plays the example's own
  deterministic script (no network, no credentials);
* a plain model id, e.g. ``us.anthropic.claude-sonnet-4-20250514-v1:0``: Amazon Bedrock;
* ``provider:model_id`` with provider ``bedrock``, ``anthropic``, ``openai``, ``ollama`` or
  ``litellm``, e.g. ``anthropic:claude-sonnet-4-20250514``, ``openai:gpt-4o``,
  ``ollama:llama3.1`` (credentials come from each provider's usual environment variables).
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from strands import Agent
from strands.hooks import BeforeToolCallEvent
from strands.middleware import InvokeModelContext, InvokeModelStage
from strands.models import Model

from strands_vector_memory import VectorMemory
from strands_vector_memory.strands_agents import ModelRequest, ScriptedModel

ENV = "STRANDS_MEMORY_EXAMPLE_MODEL"

# provider -> (module in strands.models, class, pip extra of strands-agents)
PROVIDERS = {
    "bedrock": ("bedrock", "BedrockModel", None),
    "anthropic": ("anthropic", "AnthropicModel", "anthropic"),
    "openai": ("openai", "OpenAIModel", "openai"),
    "ollama": ("ollama", "OllamaModel", "ollama"),
    "litellm": ("litellm", "LiteLLMModel", "litellm"),
}


def example_model(script: Callable[[ModelRequest], Any]) -> Model:
    """The model named by ``$STRANDS_MEMORY_EXAMPLE_MODEL``, or ``script`` played by a scripted model."""
    spec = os.environ.get(ENV, "").strip()
    if spec in ("", "scripted"):
        print(f"Model: scripted (offline, deterministic; set {ENV} to use a real LLM)")
        return ScriptedModel(respond=script)
    provider, _, model_id = spec.partition(":")
    if provider not in PROVIDERS or not model_id:  # Bedrock ids contain ":" too ("...-v1:0")
        provider, model_id = "bedrock", spec
    module_name, class_name, extra = PROVIDERS[provider]
    try:
        module = importlib.import_module(f"strands.models.{module_name}")
    except ImportError as exc:
        raise SystemExit(
            f"{ENV}={spec!r} needs the {provider} provider: pip install 'strands-agents[{extra or provider}]' ({exc})"
        ) from exc
    options: dict[str, Any] = {"model_id": model_id}
    if provider == "anthropic":
        options["max_tokens"] = 1024  # required by the Anthropic API
    if provider == "ollama":
        model = getattr(module, class_name)(os.environ.get("OLLAMA_HOST", "http://localhost:11434"), **options)
    else:
        model = getattr(module, class_name)(**options)
    print(f"Model: {provider} {model_id}")
    return model  # type: ignore[no-any-return]


def record_model_input(agent: Agent) -> list[str]:
    """A list that fills, per model call, with the system prompt and newest user message exactly as sent.

    Input middleware runs in registration order, so registered after the memory
    plugin (or ``MemoryManager``) this sees the memories they added. Works for any model.
    """
    seen: list[str] = []

    def spy(context: InvokeModelContext) -> InvokeModelContext:
        prompt = context.system_prompt
        system = prompt if isinstance(prompt, str) else "\n".join(str(b.get("text", "")) for b in prompt or [])
        users = [m for m in context.messages if m["role"] == "user"]
        user = "\n".join(str(b["text"]) for b in users[-1]["content"] if "text" in b) if users else ""
        seen.append(f"{system}\n{user}")
        return context

    agent.add_middleware(InvokeModelStage.Input, spy)
    return seen


def print_tool_calls(agent: Agent) -> None:
    """Print each tool call ``agent`` makes, as it makes it (long arguments cut short)."""

    def show(event: BeforeToolCallEvent) -> None:
        args = [f"{k}={v if len(str(v)) < 44 else str(v)[:40] + '...'!r}" for k, v in event.tool_use["input"].items()]
        print(f"  -> {event.tool_use['name']}({', '.join(args)})")

    agent.hooks.add_callback(BeforeToolCallEvent, show)


def memory_block(text: str, tag: str = "memories") -> str:
    """The ``<tag>`` block inside ``text`` (``memories``: our plugin's, ``memory``: the SDK's), or a note."""
    start, end = text.find(f"<{tag}>"), text.rfind(f"</{tag}>")
    return text[start : end + len(tag) + 3] if start >= 0 and end > start else "(no memories injected)"


@contextmanager
def example_store(argv: list[str] | None, description: str) -> Iterator[VectorMemory]:
    """The store the example runs on: ``--store PATH``, or a temporary one removed afterwards."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--store", type=Path, help="store directory (default: a temporary one)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="strands-memory-example-") as tmp,
        VectorMemory.open(args.store or Path(tmp) / "store") as memory,
    ):
        yield memory
