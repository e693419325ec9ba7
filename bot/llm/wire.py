"""The Chat Completions body as we read it: validated, capped, turned into plain data.

Only the fields we use are modelled; anything else in the body is ignored, so OpenAI, Ollama,
llama.cpp and vLLM answers all pass. A body that is not JSON, or lacks what we need, raises
:class:`LLMBadResponse`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bot.llm.completion import Completion, Message, ToolCall, Usage
from bot.llm.errors import LLMBadResponse, LLMUnavailable

CHARS_PER_TOKEN = 4
TOO_LONG = "The AI's answer was too long to use; nothing was changed."


class _Function(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    arguments: str | dict[str, Any] = ""


class _ToolCall(BaseModel):
    id: str | None = None
    function: _Function


class _Message(BaseModel):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class _Usage(BaseModel):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)


class Body(BaseModel):
    """A chat completion: at least one choice; usage when the endpoint reports it."""

    model: str | None = None
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


class _ModelId(BaseModel):
    id: str


class _ModelList(BaseModel):
    data: list[_ModelId]


def read_body(text: str) -> Body:
    try:
        return Body.model_validate_json(text)
    except ValidationError as exc:
        raise LLMBadResponse(detail=f"body: {exc.error_count()} validation errors") from None


def read_model_ids(text: str) -> list[str]:
    try:
        return [model.id for model in _ModelList.model_validate_json(text).data]
    except ValidationError:
        raise LLMBadResponse(detail="models: not a model list") from None


def usage_of(body: Body, messages: Sequence[Message]) -> Usage:
    """The reported usage; estimated from characters when the endpoint sent none."""
    if body.usage is not None:
        u = body.usage
        total = u.total_tokens or u.prompt_tokens + u.completion_tokens
        return Usage(u.prompt_tokens, u.completion_tokens, total)
    prompt = sum(len(str(m.get("content") or "")) for m in messages) // CHARS_PER_TOKEN
    message = body.choices[0].message
    written = len(message.content or "") + sum(
        len(str(c.function.arguments)) for c in message.tool_calls or []
    )
    completion = written // CHARS_PER_TOKEN
    return Usage(prompt, completion, prompt + completion, estimated=True)


def completion_of(body: Body, usage: Usage, *, max_chars: int, model: str) -> Completion:
    """The first choice as a Completion: content cut at `max_chars`, oversized calls refused."""
    choice = body.choices[0]
    content, cut = _capped(choice.message.content, max_chars)
    calls = tuple(_tool_call(c) for c in choice.message.tool_calls or [])
    if any(len(c.arguments) > max_chars for c in calls):
        raise LLMBadResponse(TOO_LONG, detail="tool arguments over the cap")
    return Completion(
        content=content,
        tool_calls=calls,
        usage=usage,
        finish_reason=choice.finish_reason,
        truncated=cut or choice.finish_reason == "length",
        model=body.model or model,
    )


def _tool_call(raw: _ToolCall) -> ToolCall:
    arguments = raw.function.arguments
    if not isinstance(arguments, str):  # some local servers send an object
        arguments = json.dumps(arguments)
    return ToolCall(name=raw.function.name, arguments=arguments, id=raw.id or "")


def _capped(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + "…", True


class _DeltaFunction(BaseModel):
    name: str | None = None
    arguments: str | None = None


class _DeltaCall(BaseModel):
    index: int = 0
    id: str | None = None
    function: _DeltaFunction | None = None


class _Delta(BaseModel):
    content: str | None = None
    tool_calls: list[_DeltaCall] | None = None


class _ChunkChoice(BaseModel):
    index: int = 0
    delta: _Delta = Field(default_factory=_Delta)
    finish_reason: str | None = None


class _Chunk(BaseModel):
    model: str | None = None
    choices: list[_ChunkChoice] = Field(default_factory=list)
    usage: _Usage | None = None
    error: dict[str, Any] | None = None


class StreamReader:
    """Server-sent chunks of a streamed chat completion, put together into one :class:`Body`.

    :meth:`feed` takes one line and says whether to stop reading: at ``[DONE]``, or once the
    text passed `max_chars` (the caller then hangs up, so the server stops generating).
    """

    def __init__(self, max_chars: int) -> None:
        self._max = max_chars
        self._model: str | None = None
        self._text: list[str] = []
        self._chars = 0
        self._calls: dict[int, dict[str, str]] = {}
        self._finish: str | None = None
        self._usage: _Usage | None = None
        self._chunks = 0

    def feed(self, line: str) -> bool:
        line = line.strip()
        if not line.startswith("data:"):
            return False  # blank lines, comments, event names
        data = line[5:].strip()
        if data == "[DONE]":
            return True
        try:
            chunk = _Chunk.model_validate_json(data)
        except ValidationError:
            raise LLMBadResponse(detail="stream: a chunk that is not JSON") from None
        if chunk.error is not None:
            raise LLMUnavailable(detail="stream: the endpoint sent an error")
        self._chunks += 1
        self._model = chunk.model or self._model
        self._usage = chunk.usage or self._usage
        for choice in chunk.choices[:1]:
            self._finish = choice.finish_reason or self._finish
            if choice.delta.content:
                self._text.append(choice.delta.content)
                self._chars += len(choice.delta.content)
            for call in choice.delta.tool_calls or []:
                self._add_call(call)
        if self._chars > self._max or self._call_chars() > self._max:
            self._finish = "length"
            return True
        return False

    def _add_call(self, call: _DeltaCall) -> None:
        slot = self._calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
        slot["id"] = call.id or slot["id"]
        if call.function is not None:
            slot["name"] += call.function.name or ""
            slot["arguments"] += call.function.arguments or ""

    def _call_chars(self) -> int:
        return sum(len(c["arguments"]) for c in self._calls.values())

    def body(self) -> Body:
        """What arrived, as one completion; no chunk at all is a bad response."""
        if not self._chunks:
            raise LLMBadResponse(detail="stream: no chunks")
        calls = [
            _ToolCall(
                id=c["id"] or None, function=_Function(name=c["name"], arguments=c["arguments"])
            )
            for _, c in sorted(self._calls.items())
            if c["name"]
        ]
        message = _Message(content="".join(self._text) or None, tool_calls=calls or None)
        choice = _Choice(message=message, finish_reason=self._finish)
        return Body(model=self._model, choices=[choice], usage=self._usage)
