"""The structured-output parsers: native tool calls, JSON text, JSON mode, and refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.llm.citations import parse_cited
from bot.llm.completion import Completion, ToolCall, Usage
from bot.llm.errors import InvalidModelOutput, LLMBadResponse
from bot.llm.structured import (
    ASSISTANT_TOOLS,
    FORCE_RESPOND,
    PROPOSAL_KINDS,
    AssistantResult,
    CompleteTask,
    CreateTask,
    DraftReply,
    ListTasks,
    SearchDocuments,
    ToolRequests,
    UpdateTask,
    parse_completion,
    parse_result,
    parse_turn,
)

CREATE = {"kind": "create_task", "title": "File VAT return", "due": "Jan 31", "repeat": None}
RESULT = {"answer": "Saved for approval.", "proposals": [CREATE]}
SEARCH = {"name": "search_documents", "arguments": {"query": "VAT deadline"}}


def native(*calls: tuple[str, Any]) -> list[ToolCall]:
    return [
        ToolCall(name=name, arguments=a if isinstance(a, str) else json.dumps(a), id=f"c{i}")
        for i, (name, a) in enumerate(calls)
    ]


def refused(content: str | None, calls: list[ToolCall] | None = None, **kw: Any) -> str:
    with pytest.raises(InvalidModelOutput) as caught:
        parse_turn(content, calls or [], **kw)
    message = str(caught.value)
    assert message.endswith("; nothing was changed.")
    assert "\n" not in message
    return message


def requests(turn: object) -> list[tuple[str, Any]]:
    assert isinstance(turn, ToolRequests)
    return [(c.name, c.args) for c in turn.calls]


# native tool calls


def test_native_read_tool_calls_become_requests_in_order() -> None:
    turn = parse_turn(None, native(("search_documents", {"query": "VAT"}), ("list_tasks", {})))
    assert requests(turn) == [
        ("search_documents", SearchDocuments(query="VAT")),
        ("list_tasks", ListTasks(filter="all")),
    ]
    assert isinstance(turn, ToolRequests)
    assert [c.id for c in turn.calls] == ["c0", "c1"]


@pytest.mark.parametrize("arguments", ["", "  ", "null", "{}"])
def test_empty_arguments_take_the_defaults(arguments: str) -> None:
    assert requests(parse_turn(None, native(("list_tasks", arguments)))) == [
        ("list_tasks", ListTasks(filter="all"))
    ]


@pytest.mark.parametrize("value", ["today", "week", "overdue", "all", "done", "@anna"])
def test_list_tasks_filters(value: str) -> None:
    [(_, args)] = requests(parse_turn(None, native(("list_tasks", {"filter": value}))))
    assert args == ListTasks(filter=value)


def test_native_respond_is_the_result() -> None:
    turn = parse_turn("ignored prose", native(("respond", RESULT)))
    assert turn == AssistantResult(
        answer="Saved for approval.",
        proposals=[CreateTask(kind="create_task", title="File VAT return", due="Jan 31")],
    )


def test_native_calls_win_over_content() -> None:
    turn = parse_turn(json.dumps(RESULT), native(("list_tasks", {})))
    assert isinstance(turn, ToolRequests)


def test_respond_mixed_with_other_calls_is_refused() -> None:
    message = refused(None, native(("search_documents", {"query": "x"}), ("respond", RESULT)))
    assert "mixed its final result" in message


def test_unknown_tool_name_is_refused() -> None:
    message = refused(None, native(("delete_everything", {})))
    assert message == (
        "The AI asked for a tool that doesn't exist (delete_everything); nothing was changed."
    )


def test_proposal_kinds_are_not_tools() -> None:
    assert "create_task" in refused(None, native(("create_task", CREATE)))


def test_a_hostile_tool_name_is_shortened_and_cleaned_in_the_message() -> None:
    message = refused(None, native(("<b>x</b>" + "y" * 200, {})))
    assert "<" not in message
    assert len(message) < 140


def test_invalid_json_arguments_are_refused() -> None:
    message = refused(None, native(("search_documents", '{"query": "VAT"')))
    assert "search_documents with arguments that are not valid JSON" in message


@pytest.mark.parametrize("arguments", ["[1, 2]", '"text"', "42"])
def test_arguments_that_are_not_an_object_are_refused(arguments: str) -> None:
    assert "not an object" in refused(None, native(("search_documents", arguments)))


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"query": 5}, "query: Input should be a valid string"),
        ({"query": ""}, "query"),
        ({}, "query: Field required"),
        ({"query": "x", "limit": 3}, "limit: Extra inputs are not permitted"),
        ({"q": "x"}, "query: Field required"),
    ],
)
def test_search_arguments_are_checked(arguments: dict[str, Any], fragment: str) -> None:
    message = refused(None, native(("search_documents", arguments)))
    assert "search_documents with invalid arguments" in message
    assert fragment in message


@pytest.mark.parametrize("value", ["everything", "@", "today; drop", 3])
def test_bad_list_filters_are_refused(value: object) -> None:
    refused(None, native(("list_tasks", {"filter": value})))


def test_too_many_calls_at_once_are_refused() -> None:
    assert "too many" in refused(None, native(*[("list_tasks", {})] * 9))


def test_one_bad_call_refuses_the_whole_turn() -> None:
    refused(None, native(("list_tasks", {}), ("search_documents", {"query": 1})))


# JSON text in the content


def test_result_as_the_whole_content() -> None:
    turn = parse_turn(json.dumps(RESULT))
    assert isinstance(turn, AssistantResult)
    assert turn.proposals[0] == CreateTask(
        kind="create_task", title="File VAT return", due="Jan 31"
    )


@pytest.mark.parametrize(
    "content",
    [
        f"Sure! Here is the result:\n```json\n{json.dumps(RESULT, indent=2)}\n```",
        f"```\n{json.dumps(RESULT)}\n```\nLet me know if you need more.",
        f"```JSON {json.dumps(RESULT)}```",
        f"Here you go: {json.dumps(RESULT)}",
        f"{json.dumps(RESULT)}\n\nI proposed one task.",
        f"  \n{json.dumps(RESULT)}  ",
    ],
)
def test_result_in_fences_after_prose_and_before_prose(content: str) -> None:
    turn = parse_turn(content)
    assert isinstance(turn, AssistantResult)
    assert turn.answer == "Saved for approval."


@pytest.mark.parametrize(
    "value",
    [
        SEARCH,
        {"name": "search_documents", "parameters": {"query": "VAT deadline"}},
        {"name": "search_documents", "arguments": json.dumps({"query": "VAT deadline"})},
        {"type": "function", "function": SEARCH},
        {"id": "call_1", "type": "function", "function": SEARCH},
        {"tool_calls": [{"type": "function", "function": SEARCH}]},
        {"role": "assistant", "content": None, "tool_calls": [SEARCH]},
        [SEARCH],
    ],
)
def test_a_call_written_as_json_text(value: Any) -> None:
    assert requests(parse_turn(json.dumps(value))) == [
        ("search_documents", SearchDocuments(query="VAT deadline"))
    ]


def test_calls_in_a_list_after_prose_are_taken_whole() -> None:
    content = f'I\'ll look: [{json.dumps(SEARCH)}, {{"name": "list_tasks"}}]'
    assert [name for name, _ in requests(parse_turn(content))] == [
        "search_documents",
        "list_tasks",
    ]


def test_hermes_style_tool_call_tags() -> None:
    content = f"<tool_call>\n{json.dumps(SEARCH)}\n</tool_call>"
    assert requests(parse_turn(content))[0][0] == "search_documents"


def test_respond_written_as_json_text_is_the_result() -> None:
    turn = parse_turn(json.dumps({"name": "respond", "arguments": RESULT}))
    assert isinstance(turn, AssistantResult)
    assert len(turn.proposals) == 1


def test_unknown_tool_written_as_json_text_is_refused() -> None:
    content = 'On it. {"name": "send_email", "arguments": {"to": "x@y.z"}}'
    assert "doesn't exist (send_email)" in refused(content)


def test_call_with_unexpected_fields_is_refused() -> None:
    content = json.dumps({**SEARCH, "confidence": 0.9})
    assert "unexpected fields" in refused(content)


@pytest.mark.parametrize(
    "content",
    [
        "{'answer': 'hi', 'proposals': []}",
        "Here: {'name': 'list_tasks', 'arguments': {}}",
        "```json\n{'answer': 'hi'}\n```",
        '{"answer": "hi", "proposals": [}',
        '{"answer": "unterminated',
        "[{'name': 'list_tasks'}]",
    ],
)
def test_text_that_tried_to_be_json_and_is_not_is_refused(content: str) -> None:
    assert "not valid JSON" in refused(content)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant: str) -> None:
    content = f'{{"name": "list_tasks", "arguments": {{"filter": {constant}}}}}'
    refused(content)


def test_whole_json_of_an_unknown_shape_is_refused() -> None:
    message = refused('{"reply": "hello", "actions": []}')
    assert "structure that isn't understood" in message


@pytest.mark.parametrize("content", ["[]", "[1, 2]", '[{"a": 1}]'])
def test_json_lists_that_are_not_calls_are_refused(content: str) -> None:
    refused(content)


@pytest.mark.parametrize("content", ["42", '"just a string"', "null", "true"])
def test_json_scalars_are_refused_in_json_mode(content: str) -> None:
    refused(content, json_mode=True)


def test_empty_content_is_refused() -> None:
    assert "empty answer" in refused("   ")
    assert "empty answer" in refused(None)


# prose


@pytest.mark.parametrize(
    "content",
    [
        "Your VAT return is due on Jan 31 [1].",
        "Use the {client} placeholder in the template [2].",
        'The config says {"port": 8080}, so the server listens there.',
        "Here is the snippet:\n```python\nprint({'a': 1})\n```\nRun it daily.",
        "See sections [1] and [2, 3].",
    ],
)
def test_prose_is_a_plain_answer(content: str) -> None:
    assert parse_turn(content) == AssistantResult(answer=content)


# JSON mode


def test_json_mode_accepts_the_result() -> None:
    assert parse_result(json.dumps(RESULT)).answer == "Saved for approval."


def test_json_mode_refuses_prose() -> None:
    assert "was not JSON" in refused("Your VAT return is due Jan 31.", json_mode=True)


def test_json_mode_without_tools_refuses_a_call() -> None:
    with pytest.raises(InvalidModelOutput, match="asked for a tool where none was offered"):
        parse_result(json.dumps(SEARCH))


def test_parse_completion_uses_content_and_calls() -> None:
    completion = Completion(content=json.dumps(RESULT), tool_calls=(), usage=Usage())
    assert isinstance(parse_completion(completion, json_mode=True), AssistantResult)


# the result's schema


@pytest.mark.parametrize(
    ("proposal", "expected"),
    [
        (
            {"kind": "create_task", "title": " Pay rent ", "assignee": "anna"},
            CreateTask(kind="create_task", title="Pay rent", assignee="anna"),
        ),
        (
            {"kind": "update_task", "task_id": 7, "due": "next Friday"},
            UpdateTask(kind="update_task", task_id=7, due="next Friday"),
        ),
        ({"kind": "complete_task", "task_id": 3}, CompleteTask(kind="complete_task", task_id=3)),
        (
            {"kind": "draft_reply", "text": "Hi Tom, ...", "client_ref": None},
            DraftReply(kind="draft_reply", text="Hi Tom, ..."),
        ),
        (
            {"kind": "create_task", "title": "Call", "due": "", "repeat": " ", "assignee": ""},
            CreateTask(kind="create_task", title="Call"),
        ),
    ],
)
def test_every_proposal_kind(proposal: dict[str, Any], expected: object) -> None:
    result = parse_result(json.dumps({"answer": None, "proposals": [proposal]}))
    assert result.proposals == [expected]


@pytest.mark.parametrize(
    ("proposal", "fragment"),
    [
        ({"kind": "delete_task", "task_id": 1}, "unknown kind of proposal delete_task"),
        ({"kind": "send_email", "text": "x"}, "known: create_task, update_task"),
        ({"title": "no kind"}, "proposals.1: a proposal without a kind"),
        ({"kind": "create_task"}, "title: Field required"),
        ({"kind": "create_task", "title": ""}, "title"),
        ({"kind": "create_task", "title": "x", "priority": 1}, "priority"),
        ({"kind": "create_task", "title": 42}, "valid string"),
        ({"kind": "complete_task", "task_id": "5"}, "valid integer"),
        ({"kind": "complete_task", "task_id": True}, "valid integer"),
        ({"kind": "complete_task", "task_id": 0}, "greater than 0"),
        ({"kind": "complete_task", "task_id": 1.5}, "valid integer"),
        ({"kind": "update_task", "task_id": 2}, "needs a new title or a new due date"),
        ({"kind": "update_task", "task_id": 2, "due": ""}, "needs a new title or a new due date"),
        ({"kind": "create_task", "title": "x", "due": 31}, "due"),
        ({"kind": "draft_reply", "text": "x" * 4001}, "text"),
    ],
)
def test_invalid_proposals_are_refused(proposal: dict[str, Any], fragment: str) -> None:
    content = json.dumps({"answer": "ok", "proposals": [CREATE, proposal]})
    message = refused(content)
    assert message.startswith("The AI's result was invalid (")
    assert fragment in message


@pytest.mark.parametrize(
    "result",
    [
        {"answer": None, "proposals": []},
        {"answer": "", "proposals": []},
        {"answer": "ok", "proposals": [CREATE], "confidence": 1},
        {"answer": ["not", "text"]},
        {"answer": "ok", "proposals": CREATE},
        {"answer": "ok", "proposals": [CREATE] * 11},
    ],
)
def test_invalid_results_are_refused(result: dict[str, Any]) -> None:
    refused(json.dumps(result))
    with pytest.raises(InvalidModelOutput):
        parse_turn(None, native(("respond", result)))


def test_an_answer_alone_is_a_result() -> None:
    assert parse_result('{"answer": "Done."}') == AssistantResult(answer="Done.")


def test_the_refusal_is_a_bad_response_for_the_edge() -> None:
    with pytest.raises(LLMBadResponse):
        parse_turn("{'a': 1}")


# tool definitions


def test_tools_are_in_the_openai_format() -> None:
    names = [tool["function"]["name"] for tool in ASSISTANT_TOOLS]
    assert names == ["search_documents", "list_tasks", "respond"]
    for tool in ASSISTANT_TOOLS:
        assert tool["type"] == "function"
        assert tool["function"]["description"]
        assert tool["function"]["parameters"]["type"] == "object"
        assert tool["function"]["parameters"]["additionalProperties"] is False
        json.dumps(tool)
    assert FORCE_RESPOND == {"type": "function", "function": {"name": "respond"}}


def test_read_tool_schemas_are_small() -> None:
    search = ASSISTANT_TOOLS[0]["function"]["parameters"]
    assert search["required"] == ["query"]
    assert set(search["properties"]) == {"query"}
    filters = ASSISTANT_TOOLS[1]["function"]["parameters"]["properties"]["filter"]
    assert filters["default"] == "all"


def test_respond_schema_lists_every_proposal_kind() -> None:
    schema = json.dumps(ASSISTANT_TOOLS[2]["function"]["parameters"])
    for kind in PROPOSAL_KINDS:
        assert f'"{kind}"' in schema


# citations


def test_cited_answer_keeps_markers_and_lists_sources() -> None:
    cited = parse_cited("Due Jan 31 [2]. Late fee applies [1, 2]. See [9].", available=3)
    assert cited.text == "Due Jan 31 [2]. Late fee applies [1, 2]. See [9]."
    assert cited.sources == (2, 1)
    assert cited.unknown_sources == (9,)
    assert not cited.not_found


def test_a_trailing_sources_line_is_removed() -> None:
    cited = parse_cited("Hi Tom,\n\nThe logo costs 500 EUR.\n\nBest, Ann\nSources: [1], [3]", 3)
    assert cited.text == "Hi Tom,\n\nThe logo costs 500 EUR.\n\nBest, Ann"
    assert cited.sources == (1, 3)


def test_not_in_your_documents() -> None:
    cited = parse_cited("Not in your documents. Nothing covers refunds.", available=2)
    assert cited.not_found
    assert cited.sources == ()
