"""The LLM client through the real openai SDK against the fake server: answers and the faults."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db.engine import make_engine, migrate, session_factory
from bot.db.llm import LLMUsage
from bot.llm.client import Limits, LLMClient, RetryPolicy, Timeouts
from bot.llm.completion import Usage
from bot.llm.errors import (
    BudgetExceeded,
    InvalidModelOutput,
    LLMBadResponse,
    LLMDisabled,
    LLMTimeout,
    LLMUnavailable,
)
from bot.llm.structured import (
    ASSISTANT_TOOLS,
    FORCE_RESPOND,
    JSON_MODE,
    AssistantResult,
    SearchDocuments,
    ToolRequests,
    parse_completion,
)
from bot.services.usage import UsageLedger
from tests.fakes.openai_api import FakeOpenAI, Reply, tool_names

KEY = "sk-test-SECRET-key-0123456789abcdef"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
HI = [{"role": "user", "content": "Hi"}]
FAST = Timeouts(connect=1.0, read=0.3, write=1.0, pool=1.0)


class Sleeps(list[float]):
    """An injected sleep: records what the retry policy asked for, sleeps not at all."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def api() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database per module; each test gets a copy (migrating costs ~0.2 s)."""
    path = tmp_path_factory.mktemp("llm") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def sessions(migrated: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    shutil.copy(migrated, tmp_path / "t.db")
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_client(
    api: FakeOpenAI, sessions: sessionmaker[Session], clock: FrozenClock, sleeps: Sleeps
) -> AsyncIterator[Any]:
    built: list[LLMClient] = []

    def make(*, key: str | None = KEY, budget: int = 100_000, **options: Any) -> LLMClient:
        values = {"OPENAI_BASE_URL": api.base_url, "LLM_MONTHLY_TOKEN_BUDGET": str(budget)}
        if key is not None:
            values["OPENAI_API_KEY"] = key
        options.setdefault("timeouts", FAST)
        options.setdefault("sleep", sleeps)
        settings = load_settings(values)
        ledger = UsageLedger(sessions, clock, settings.LLM_MONTHLY_TOKEN_BUDGET)
        client = LLMClient(settings, ledger, **options)
        built.append(client)
        return client

    yield make
    for client in built:
        await client.aclose()


@pytest.fixture
def client(make_client: Any) -> LLMClient:
    result: LLMClient = make_client()
    return result


def usage_rows(sessions: sessionmaker[Session]) -> list[LLMUsage]:
    with sessions() as session:
        return list(session.scalars(select(LLMUsage).order_by(LLMUsage.id)))


async def test_plain_answer_is_returned_and_its_usage_recorded(
    api: FakeOpenAI, client: LLMClient, sessions: sessionmaker[Session]
) -> None:
    api.script(Reply.text("Your VAT return is due Jan 31 [1].", usage=_usage(30, 12)))
    result = await client.complete(HI, purpose="ask")
    assert result.content == "Your VAT return is due Jan 31 [1]."
    assert result.tool_calls == ()
    assert result.usage == Usage(30, 12, 42)
    assert not result.truncated
    [row] = usage_rows(sessions)
    assert (row.purpose, row.model, row.total_tokens, row.ok) == ("ask", "gpt-4o-mini", 42, True)
    assert row.at == NOW


async def test_request_carries_model_messages_caps_and_no_streaming(
    api: FakeOpenAI, client: LLMClient
) -> None:
    api.script(Reply.text("ok"))
    await client.complete(HI, max_tokens=100_000)
    [body] = api.requests
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == HI
    assert body["max_tokens"] == Limits().max_tokens_cap
    assert body["stream"] is False
    assert "tools" not in body
    assert "response_format" not in body
    assert api.headers[0]["Authorization"] == f"Bearer {KEY}"


async def test_local_server_without_key_gets_a_placeholder(
    api: FakeOpenAI, make_client: Any
) -> None:
    api.script(Reply.text("ok"))
    await make_client(key=None).complete(HI)
    assert api.headers[0]["Authorization"] == "Bearer not-needed"


def test_no_endpoint_configured_is_llm_disabled(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    with pytest.raises(LLMDisabled, match="AI features are off"):
        LLMClient(load_settings({}), UsageLedger(sessions, clock, 1))


async def test_native_tool_calls_and_options_are_forwarded(
    api: FakeOpenAI, client: LLMClient
) -> None:
    api.script(Reply.calls(("search_documents", {"query": "VAT"}), ("list_tasks", "{}")))
    tools = [_tool("search_documents"), _tool("list_tasks")]
    choice = {"type": "function", "function": {"name": "search_documents"}}
    result = await client.complete(
        HI, tools=tools, tool_choice=choice, response_format={"type": "json_object"}
    )
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("search_documents", '{"query": "VAT"}'),
        ("list_tasks", "{}"),
    ]
    assert all(c.id.startswith("call_") for c in result.tool_calls)
    assert result.finish_reason == "tool_calls"
    body = api.requests[0]
    assert tool_names(body) == ["search_documents", "list_tasks"]
    assert body["tool_choice"] == choice
    assert body["response_format"] == {"type": "json_object"}


async def test_arguments_sent_as_an_object_become_json_text(
    api: FakeOpenAI, client: LLMClient
) -> None:
    body = _completion_body(tool_calls=[{"id": "c1", "function": {"name": "x", "arguments": {}}}])
    api.script(Reply.garbage(body))
    result = await client.complete(HI)
    assert result.tool_calls[0].arguments == "{}"


async def test_hang_ends_in_llm_timeout_within_the_deadline(
    api: FakeOpenAI, make_client: Any, sessions: sessionmaker[Session]
) -> None:
    api.script(*[Reply.hang_forever()] * 3)
    client = make_client(retry=RetryPolicy(attempts=3, total=0.5))
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as caught:
        await client.complete(HI)
    assert time.monotonic() - started < 1.5
    assert str(caught.value) == "The AI endpoint didn't answer in time; nothing was changed."
    [row] = usage_rows(sessions)
    assert (row.ok, row.total_tokens) == (False, 0)


async def test_each_hung_attempt_times_out_then_the_attempts_run_out(
    api: FakeOpenAI, make_client: Any, sleeps: Sleeps
) -> None:
    api.script(*[Reply.hang_forever()] * 3)
    client = make_client(retry=RetryPolicy(attempts=2, total=10))
    with pytest.raises(LLMTimeout):
        await client.complete(HI)
    assert len(api.requests) == 2
    assert len(sleeps) == 1


async def test_a_slow_answer_inside_the_read_timeout_is_fine(
    api: FakeOpenAI, client: LLMClient
) -> None:
    api.script(Reply.slow(0.05, "late but fine"))
    assert (await client.complete(HI)).content == "late but fine"


async def test_an_answer_slower_than_the_read_timeout_is_retried(
    api: FakeOpenAI, client: LLMClient, sleeps: Sleeps
) -> None:
    api.script(Reply.slow(1.0, "too late"), Reply.text("second try"))
    assert (await client.complete(HI)).content == "second try"
    assert len(api.requests) == 2
    assert len(sleeps) == 1


async def test_429_with_retry_after_then_ok_succeeds_after_waiting_as_told(
    api: FakeOpenAI, client: LLMClient, sleeps: Sleeps, sessions: sessionmaker[Session]
) -> None:
    api.script(Reply.failing(429, retry_after="7"), Reply.text("ok"))
    result = await client.complete(HI)
    assert result.content == "ok"
    assert len(api.requests) == 2
    assert sleeps == [7.0]
    assert [r.ok for r in usage_rows(sessions)] == [True]


async def test_retry_after_is_capped(api: FakeOpenAI, make_client: Any, sleeps: Sleeps) -> None:
    api.script(Reply.failing(429, retry_after="3600"), Reply.text("ok"))
    client = make_client(retry=RetryPolicy(total=1000, retry_after_max=5))
    await client.complete(HI)
    assert sleeps == [5.0]


async def test_retry_stops_when_the_wait_would_pass_the_total_time(
    api: FakeOpenAI, make_client: Any, sleeps: Sleeps
) -> None:
    api.script(Reply.failing(429, retry_after="30"), Reply.text("never asked"))
    client = make_client(retry=RetryPolicy(total=10, retry_after_max=30))
    with pytest.raises(LLMUnavailable, match="rate-limiting"):
        await client.complete(HI)
    assert len(api.requests) == 1
    assert sleeps == []


async def test_500_every_time_ends_in_llm_unavailable_after_the_attempts(
    api: FakeOpenAI, client: LLMClient, sleeps: Sleeps, sessions: sessionmaker[Session]
) -> None:
    api.script(*[Reply.failing(500)] * 3, Reply.text("too late"))
    with pytest.raises(LLMUnavailable) as caught:
        await client.complete(HI)
    assert str(caught.value) == LLMUnavailable.default
    assert len(api.requests) == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= RetryPolicy().backoff_max for s in sleeps)
    assert [(r.ok, r.total_tokens) for r in usage_rows(sessions)] == [(False, 0)]


async def test_503_then_ok_succeeds(api: FakeOpenAI, client: LLMClient) -> None:
    api.script(Reply.failing(503), Reply.text("back"))
    assert (await client.complete(HI)).content == "back"


@pytest.mark.parametrize(
    ("status", "code", "sentence"),
    [
        (400, None, "rejected the request (HTTP 400)"),
        (401, None, "refused the API key; check OPENAI_API_KEY"),
        (404, None, "doesn't offer the model gpt-4o-mini"),
        (429, "insufficient_quota", "run out of credit"),
    ],
)
async def test_errors_that_retrying_cannot_fix_are_not_retried(
    api: FakeOpenAI, client: LLMClient, status: int, code: str | None, sentence: str
) -> None:
    api.script(Reply.failing(status, code=code), Reply.text("never asked"))
    with pytest.raises(LLMUnavailable, match=re.escape(sentence)):
        await client.complete(HI)
    assert len(api.requests) == 1


async def test_unreachable_endpoint_is_llm_unavailable(
    sessions: sessionmaker[Session], clock: FrozenClock, sleeps: Sleeps
) -> None:
    async with FakeOpenAI() as gone:
        url = gone.base_url
    settings = load_settings({"OPENAI_BASE_URL": url})
    ledger = UsageLedger(sessions, clock, settings.LLM_MONTHLY_TOKEN_BUDGET)
    client = LLMClient(settings, ledger, timeouts=FAST, sleep=sleeps)
    with pytest.raises(LLMUnavailable, match="Can't reach the AI endpoint"):
        await client.complete(HI)
    assert len(sleeps) == 2
    await client.aclose()


@pytest.mark.parametrize(
    "body",
    [
        "<html>502 Bad Gateway</html>",
        "{not json",
        '{"object": "chat.completion"}',
        '{"choices": []}',
        '{"choices": [{"message": {"content": 42}}]}',
        '{"choices": [{"message": {"tool_calls": [{"function": {"arguments": "{}"}}]}}]}',
        "[1, 2, 3]",
    ],
)
async def test_garbage_body_is_llm_bad_response(
    api: FakeOpenAI, client: LLMClient, sessions: sessionmaker[Session], body: str
) -> None:
    api.script(Reply.garbage(body))
    with pytest.raises(LLMBadResponse) as caught:
        await client.complete(HI)
    assert "could not be read" in str(caught.value)
    assert len(api.requests) == 1
    assert [r.ok for r in usage_rows(sessions)] == [False]


async def test_a_20000_token_answer_is_cut_and_counted(
    api: FakeOpenAI, client: LLMClient, sessions: sessionmaker[Session]
) -> None:
    api.script(Reply.huge(20_000))
    result = await client.complete(HI)
    assert result.content is not None
    assert len(result.content) <= Limits().max_content_chars
    assert result.truncated
    assert result.usage.total_tokens == 20_050
    assert api.requests[0]["max_tokens"] == Limits().default_max_tokens
    assert [r.total_tokens for r in usage_rows(sessions)] == [20_050]


async def test_huge_tool_arguments_are_refused(api: FakeOpenAI, client: LLMClient) -> None:
    api.script(Reply.calls(("search_documents", {"query": "x" * 20_000})))
    with pytest.raises(LLMBadResponse, match="too long"):
        await client.complete(HI)


async def test_missing_usage_is_estimated_from_characters(
    api: FakeOpenAI, client: LLMClient, sessions: sessionmaker[Session]
) -> None:
    api.script(Reply.text("x" * 400, omit_usage=True))
    result = await client.complete([{"role": "user", "content": "y" * 80}])
    assert result.usage == Usage(20, 100, 120, estimated=True)
    assert [r.total_tokens for r in usage_rows(sessions)] == [120]


async def test_budget_exhausted_refuses_before_any_request(
    api: FakeOpenAI, make_client: Any, sessions: sessionmaker[Session]
) -> None:
    client = make_client(budget=1000)
    client.ledger.record(model="m", purpose="ask", usage=Usage(900, 100, 1000), ok=True)
    api.script(Reply.text("never asked"))
    with pytest.raises(BudgetExceeded) as caught:
        await client.complete(HI)
    assert str(caught.value).startswith("This month's AI budget of 1,000 tokens is used up")
    assert api.requests == []
    assert len(usage_rows(sessions)) == 1


async def test_budget_counts_only_the_current_utc_month(
    api: FakeOpenAI, make_client: Any, clock: FrozenClock
) -> None:
    client = make_client(budget=1000)
    clock.set(datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
    client.ledger.record(model="m", purpose="ask", usage=Usage(0, 5000, 5000), ok=True)
    clock.set(NOW)
    api.script(Reply.text("fresh month"))
    assert (await client.complete(HI)).content == "fresh month"


async def test_a_call_that_crosses_the_budget_is_answered_and_the_next_refused(
    api: FakeOpenAI, make_client: Any
) -> None:
    client = make_client(budget=100)
    api.script(Reply.text("ok", usage=_usage(90, 20)), Reply.text("never asked"))
    await client.complete(HI)
    with pytest.raises(BudgetExceeded):
        await client.complete(HI)
    assert len(api.requests) == 1


async def test_usage_report_sums_this_month(
    api: FakeOpenAI, make_client: Any, clock: FrozenClock
) -> None:
    client = make_client(budget=500)
    api.script(Reply.text("a", usage=_usage(10, 5)), Reply.failing(400))
    await client.complete(HI)
    with pytest.raises(LLMUnavailable):
        await client.complete(HI)
    report = client.usage_report(NOW)
    assert (report.used, report.budget, report.calls, report.remaining) == (15, 500, 2, 485)
    assert report.month_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert client.usage_report(NOW + timedelta(days=10)).calls == 0


async def test_the_api_key_never_reaches_logs_or_messages(
    api: FakeOpenAI, client: LLMClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"Incorrect API key provided: {KEY}."
    api.script(Reply.text("ok"), Reply.failing(401, message=echo), Reply.garbage(KEY))
    await client.complete(HI)
    errors = []
    for _ in range(2):
        with pytest.raises((LLMUnavailable, LLMBadResponse)) as caught:
            await client.complete(HI)
        errors.append(str(caught.value))
    assert api.headers[1]["Authorization"] == f"Bearer {KEY}"
    assert "llm call ok" in caplog.text
    assert "llm call failed" in caplog.text
    assert KEY not in caplog.text
    assert all(KEY not in e for e in errors)


# the model's turn, end to end: fake server -> SDK -> client -> parser

SEARCH = {"query": "VAT deadline"}
RESULT = {"answer": "Proposed.", "proposals": [{"kind": "complete_task", "task_id": 4}]}


async def test_native_and_json_text_tool_calls_parse_the_same(
    api: FakeOpenAI, client: LLMClient
) -> None:
    api.script(
        Reply.calls(("search_documents", SEARCH)),
        Reply.json_text(
            {"name": "search_documents", "arguments": SEARCH}, fence=True, prose="Ok.\n"
        ),
    )
    turns = [parse_completion(await client.complete(HI, tools=ASSISTANT_TOOLS)) for _ in "ab"]
    for turn in turns:
        assert isinstance(turn, ToolRequests)
        assert turn.calls[0].args == SearchDocuments(query="VAT deadline")
    assert tool_names(api.requests[0]) == ["search_documents", "list_tasks", "respond"]


async def test_forced_respond_and_json_mode_give_the_same_result(
    api: FakeOpenAI, client: LLMClient
) -> None:
    api.script(Reply.calls(("respond", RESULT)), Reply.json_text(RESULT))
    forced = await client.complete(HI, tools=ASSISTANT_TOOLS, tool_choice=FORCE_RESPOND)
    json_mode = await client.complete(HI, response_format=JSON_MODE)
    first, second = parse_completion(forced), parse_completion(json_mode, json_mode=True)
    assert isinstance(first, AssistantResult)
    assert first == second
    assert api.requests[0]["tool_choice"] == FORCE_RESPOND
    assert api.requests[1]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("reply", "sentence"),
    [
        (Reply.calls(("search_documents", '{"query": ')), "arguments that are not valid JSON"),
        (Reply.calls(("delete_all_tasks", {})), "a tool that doesn't exist (delete_all_tasks)"),
        (Reply.text("{'answer': 'hi'}"), "was not valid JSON"),
    ],
)
async def test_bad_calls_from_the_server_are_refused_by_the_parser(
    api: FakeOpenAI,
    client: LLMClient,
    sessions: sessionmaker[Session],
    reply: Reply,
    sentence: str,
) -> None:
    api.script(reply)
    completion = await client.complete(HI, tools=ASSISTANT_TOOLS)
    with pytest.raises(InvalidModelOutput, match=re.escape(sentence)):
        parse_completion(completion)
    assert [r.ok for r in usage_rows(sessions)] == [True]


async def test_list_models(api: FakeOpenAI, client: LLMClient) -> None:
    assert await client.list_models() == ["fake-model"]


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool(name: str) -> dict[str, Any]:
    parameters = {"type": "object", "properties": {}}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def _completion_body(**message: Any) -> str:
    import json

    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [choice]})


async def test_list_models_of_an_endpoint_that_talks_nonsense(
    api: FakeOpenAI, client: LLMClient
) -> None:
    api.models_body = "<html>hello</html>"
    with pytest.raises(LLMBadResponse):
        await client.list_models()


def test_only_the_client_imports_openai() -> None:
    root = Path(__file__).resolve().parents[1] / "bot"
    importers = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(import openai|from openai)", path.read_text(), re.MULTILINE)
    }
    assert importers == {"llm/client.py"}
