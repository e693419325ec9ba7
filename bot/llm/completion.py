"""What a chat call returns, as plain data, and the Protocol the services depend on.

Nothing here imports ``openai``: services, parsers and test doubles use these types, and only
:mod:`bot.llm.client` turns SDK objects into them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Message = Mapping[str, Any]
"""One chat message in the Chat Completions shape: ``{"role": "user", "content": "..."}``."""

Tool = Mapping[str, Any]
"""One tool definition in the OpenAI tools format."""


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for; ``arguments`` is the raw JSON text it wrote."""

    name: str
    arguments: str
    id: str = ""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False  # the endpoint sent no usage; counted from characters


@dataclass(frozen=True)
class Completion:
    """One model turn: text and/or tool calls, the tokens it cost, and whether it was cut."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str | None = None
    truncated: bool = False
    model: str = ""


class ChatModel(Protocol):
    """The boundary the assistant talks to: :class:`bot.llm.client.LLMClient` in the app."""

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Tool] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        purpose: str = "chat",
        background: bool = False,
    ) -> Completion: ...

    async def supports_tools(self) -> bool:
        """Whether the model answers tool offers with native calls (learned once)."""
        ...
