"""The assistant's structured result, its tools, and the pure parsers of a model turn.

A turn is either read-only tool requests (``search_documents``, ``list_tasks``) for the
assistant to run and send back, or the final :class:`AssistantResult`. Models deliver it in
several ways; each becomes the same typed value:

    native tool calls      Completion.tool_calls: read tools, or ``respond`` with the result
    a call as JSON text    {"name": "list_tasks", "arguments": {...}}  ("parameters" too),
                           {"function": {...}}, {"tool_calls": [...]}, or a list of calls
    the result as JSON     {"answer": "...", "proposals": [...]} (all of JSON mode)
    plain prose            an answer without proposals (refused in JSON mode)

JSON text may be the whole content, inside a ```json fence, or follow some prose. Python-style
dicts (single quotes) are not JSON and are refused. Anything invalid or unknown (a tool that
was not offered, arguments that are not JSON or break the schema, an unknown kind of proposal,
an extra field, a wrong type) raises :class:`InvalidModelOutput` with one sentence, and nothing
of the turn is used: a turn is accepted whole or not at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from bot.llm.completion import Completion, ToolCall
from bot.llm.errors import InvalidModelOutput

MAX_CALLS = 8
UNCHANGED = "nothing was changed."


class _Strict(BaseModel):
    """No coercion, no extra fields: what the model wrote must already be right."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, str_strip_whitespace=True)


def _blank_is_none(value: Any) -> Any:
    """Small models write "" for "not given"; that one case is read as null."""
    return None if isinstance(value, str) and not value.strip() else value


Title = Annotated[str, Field(min_length=1, max_length=300)]
Short = Annotated[str, Field(min_length=1, max_length=100)]
TaskId = Annotated[int, Field(gt=0)]
MaybeShort = Annotated[Short | None, BeforeValidator(_blank_is_none)]

# The docstrings below are sent to the model as the schema's descriptions.


class CreateTask(_Strict):
    """Save a new task. due: as the owner said it ("Jan 31", "next Friday") or ISO."""

    kind: Literal["create_task"]
    title: Title
    due: MaybeShort = None
    repeat: MaybeShort = None
    assignee: Annotated[
        Annotated[str, Field(min_length=1, max_length=64)] | None, BeforeValidator(_blank_is_none)
    ] = None


class UpdateTask(_Strict):
    """Change the title and/or the due date of an existing task."""

    kind: Literal["update_task"]
    task_id: TaskId
    title: Annotated[Title | None, BeforeValidator(_blank_is_none)] = None
    due: MaybeShort = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateTask:
        if self.title is None and self.due is None:
            raise ValueError("update_task needs a new title or a new due date")
        return self


class CompleteTask(_Strict):
    """Mark an existing task done."""

    kind: Literal["complete_task"]
    task_id: TaskId


class DraftReply(_Strict):
    """A reply to a client, in full; client_ref names the client it answers."""

    # The recipient is always taken from the stored client record, never from client_ref.
    kind: Literal["draft_reply"]
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    client_ref: MaybeShort = None


class MessageContractor(_Strict):
    """A message to one of the owner's contractors, in full; contractor: their @NAME."""

    # The recipient is always taken from the stored contractor record.
    kind: Literal["message_contractor"]
    contractor: Annotated[str, Field(min_length=1, max_length=65)]
    text: Annotated[str, Field(min_length=1, max_length=2000)]


Proposal = Annotated[
    CreateTask | UpdateTask | CompleteTask | DraftReply | MessageContractor,
    Field(discriminator="kind"),
]
PROPOSAL_KINDS = (
    "create_task",
    "update_task",
    "complete_task",
    "draft_reply",
    "message_contractor",
)


class AssistantResult(_Strict):
    """The end of the assistant's turn: an answer, proposals, or both."""

    answer: Annotated[str, Field(max_length=8000)] | None = None
    proposals: Annotated[list[Proposal], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _not_empty(self) -> AssistantResult:
        if not self.answer and not self.proposals:
            raise ValueError("neither an answer nor a proposal")
        return self


class SearchDocuments(_Strict):
    """Find passages in the owner's documents."""

    query: Annotated[str, Field(min_length=1, max_length=500)]


class ListTasks(_Strict):
    """List the owner's tasks, due first."""

    filter: Annotated[str, Field(pattern=r"^(today|week|overdue|all|done|@[\w.-]{1,64})$")] = "all"


READ_TOOLS: dict[str, type[SearchDocuments | ListTasks]] = {
    "search_documents": SearchDocuments,
    "list_tasks": ListTasks,
}
RESPOND = "respond"


def _tool(name: str, description: str, model: type[BaseModel]) -> dict[str, Any]:
    parameters = model.model_json_schema()
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


SEARCH_DOCUMENTS_TOOL = _tool(
    "search_documents",
    "Search the owner's documents; returns numbered passages with their file names.",
    SearchDocuments,
)
LIST_TASKS_TOOL = _tool(
    "list_tasks",
    "List tasks: filter is today, week, overdue, all, done, or @NAME for one contractor.",
    ListTasks,
)
RESPOND_TOOL = _tool(
    RESPOND,
    "Finish the turn: the answer to the owner and/or proposals the owner must approve.",
    AssistantResult,
)
ASSISTANT_TOOLS = (SEARCH_DOCUMENTS_TOOL, LIST_TASKS_TOOL, RESPOND_TOOL)
FORCE_RESPOND = {"type": "function", "function": {"name": RESPOND}}
JSON_MODE = {"type": "json_object"}


@dataclass(frozen=True)
class ToolRequest:
    """A read-only tool the model wants run; ``id`` answers it in a ``tool`` message."""

    name: str
    args: SearchDocuments | ListTasks
    id: str = ""


@dataclass(frozen=True)
class ToolRequests:
    calls: tuple[ToolRequest, ...]


Turn = AssistantResult | ToolRequests


def parse_completion(completion: Completion, *, json_mode: bool = False) -> Turn:
    """The turn in a completion (see :func:`parse_turn`)."""
    return parse_turn(completion.content, completion.tool_calls, json_mode=json_mode)


def parse_turn(
    content: str | None, tool_calls: Sequence[ToolCall] = (), *, json_mode: bool = False
) -> Turn:
    """Native tool calls win; else JSON in the content; else (not in JSON mode) prose."""
    if tool_calls:
        return _from_calls([(c.name, c.arguments, c.id) for c in tool_calls])
    text = (content or "").strip()
    if not text:
        raise _invalid("The AI returned an empty answer", "empty content")
    found = find_json(text)
    if found is None:
        if json_mode:
            raise _invalid("The AI's answer was not JSON", "prose in JSON mode")
        return AssistantResult(answer=text)
    shape = _shape(found)
    if shape == "result":
        return _result(found)
    if shape == "calls":
        return _from_calls(_calls_of(found))
    raise _invalid("The AI's answer had a structure that isn't understood", _keys(found))


def parse_result(content: str | None) -> AssistantResult:
    """JSON mode with no tools: the content must be exactly an AssistantResult."""
    turn = parse_turn(content, json_mode=True)
    if not isinstance(turn, AssistantResult):
        raise _invalid("The AI asked for a tool where none was offered", "call in JSON mode")
    return turn


_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_OPENER = re.compile(r"[{\[]\s*['\"{\[]")
_CALL_KEYS = frozenset({"name", "arguments", "parameters", "id", "type"})


def find_json(text: str) -> Any | None:
    """The structured JSON value in `text`, or None when the text is prose.

    The whole text, or a ```json (or bare ```) fence, is taken as meant to be JSON: invalid
    JSON there raises. After prose, the first ``{`` or ``[`` that decodes to one of our shapes
    counts; other JSON in prose stays prose. Prose that plainly starts JSON (``{"``, ``{'``,
    ``[{``) which then fails to decode raises too. Fences in other languages are not searched.
    """
    for fence in _FENCE.finditer(text):
        language, body = fence.group(1).lower(), fence.group(2).strip()
        if language in ("", "json") and body.startswith(("{", "[")):
            return _loads(body, 0)
    if text.startswith(("{", "[")):
        return _loads(text, 0)
    prose = _FENCE.sub(" ", text)
    for start in (m.start() for m in re.finditer(r"[{\[]", prose)):
        try:
            value = _loads(prose, start)
        except InvalidModelOutput:
            continue
        if _shape(value) is not None:
            return value
    for opener in _OPENER.finditer(prose):
        _loads(prose, opener.start())  # raises when an attempt at JSON fails to decode
    return None


def _loads(text: str, start: int) -> Any:
    """The JSON value starting at `start`; trailing prose after it is ignored."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    try:
        return decoder.raw_decode(text, start)[0]
    except ValueError:
        raise _invalid("The AI's answer was not valid JSON", "json decode error") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shape(value: Any) -> Literal["calls", "result"] | None:
    """Which of our shapes a decoded JSON value is, if any."""
    if isinstance(value, list):
        return "calls" if value and all(_is_call(item) for item in value) else None
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("tool_calls"), list) or _is_call(value):
        return "calls"
    if "answer" in value or "proposals" in value:
        return "result"
    return None


def _is_call(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if isinstance(item.get("function"), dict):
        return True
    named = isinstance(item.get("name"), str)
    return named and ("arguments" in item or "parameters" in item or set(item) <= _CALL_KEYS)


def _calls_of(value: Any) -> list[tuple[str, Any, str]]:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    return [_call_of(item) for item in items]


def _call_of(item: Any) -> tuple[str, Any, str]:
    """(name, arguments, id) of a call written as JSON in any of the shapes we accept."""
    if isinstance(item, dict) and isinstance(item.get("function"), dict):
        item = {**item["function"], "id": item.get("id", "")}
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise _invalid("The AI wrote a tool call without a tool name", "call without name")
    unknown = set(item) - _CALL_KEYS
    if unknown:
        raise _invalid("The AI wrote a tool call with unexpected fields", ",".join(sorted(unknown)))
    arguments = item.get("arguments", item.get("parameters", {}))
    return item["name"], arguments, str(item.get("id") or "")


def _from_calls(calls: Sequence[tuple[str, Any, str]]) -> Turn:
    if len(calls) > MAX_CALLS:
        raise _invalid("The AI asked for too many tools at once", f"{len(calls)} calls")
    names = [name for name, _, _ in calls]
    if RESPOND in names:
        if len(calls) != 1:
            raise _invalid("The AI mixed its final result with other tool calls", str(names))
        return _result(_arguments(calls[0][1], RESPOND))
    return ToolRequests(tuple(_request(name, args, call_id) for name, args, call_id in calls))


def _request(name: str, arguments: Any, call_id: str) -> ToolRequest:
    model = READ_TOOLS.get(name)
    if model is None:
        raise _invalid(f"The AI asked for a tool that doesn't exist ({_shown(name)})", name)
    values = _arguments(arguments, name)
    try:
        return ToolRequest(name=name, args=model.model_validate(values), id=call_id)
    except ValidationError as exc:
        message = f"The AI called {name} with invalid arguments ({_first(exc)})"
        raise _invalid(message, name) from None


def _arguments(arguments: Any, name: str) -> dict[str, Any]:
    """Arguments as a dict: native calls carry JSON text, calls written as JSON an object."""
    if isinstance(arguments, str):
        if not arguments.strip():
            return {}
        try:
            arguments = json.loads(arguments, parse_constant=_no_constant)
        except ValueError:
            message = f"The AI called {_shown(name)} with arguments that are not valid JSON"
            raise _invalid(message, "arguments not JSON") from None
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise _invalid(f"The AI called {_shown(name)} with arguments that are not an object", name)
    return arguments


def _result(value: Mapping[str, Any]) -> AssistantResult:
    try:
        return AssistantResult.model_validate(value)
    except ValidationError as exc:
        raise _invalid(f"The AI's result was invalid ({_first(exc)})", _keys(value)) from None


def _first(exc: ValidationError) -> str:
    """The first validation error, short: 'proposals.0.create_task.title: Field required'."""
    error = exc.errors()[0]
    if error["type"] == "union_tag_not_found":
        return f"{_where(error['loc'])}: a proposal without a kind"
    if error["type"] == "union_tag_invalid":
        tag = str(error.get("ctx", {}).get("tag", "?"))
        return f"unknown kind of proposal {_shown(tag)}; known: {', '.join(PROPOSAL_KINDS)}"
    where = _where(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    text = f"{where}: {message}" if where else message
    return text[:160]


def _where(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _shown(name: str) -> str:
    """A model-written name, safe to put in a sentence."""
    cleaned = re.sub(r"[^\w.@-]", "", name)[:40]
    return cleaned or "?"


def _keys(value: Any) -> str:
    return ",".join(sorted(str(k) for k in value)[:10]) if isinstance(value, dict) else "?"


def _invalid(sentence: str, detail: str) -> InvalidModelOutput:
    return InvalidModelOutput(f"{sentence}; {UNCHANGED}", detail=detail[:200])
