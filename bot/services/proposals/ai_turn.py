"""The assistant with an LLM: read-only tools, a validated result, proposals — never actions.

One turn: the model may call ``search_documents`` and ``list_tasks`` (read-only, run here), then
ends with an :class:`~bot.llm.structured.AssistantResult`. Each proposal in it is resolved
(dates read in the business's zone, task ids checked) and stored as a pending proposal; if any
part is invalid the whole turn is refused with one sentence and nothing is stored. Models that
do not finish on their own are forced to (``tool_choice`` naming ``respond``); models that
cannot use tools at all get one retry in JSON mode.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.clock import Clock
from bot.db.proposals import Proposal
from bot.errors import UserInputError
from bot.llm import structured as st
from bot.llm.citations import parse_cited
from bot.llm.completion import ChatModel, Completion
from bot.llm.errors import InvalidModelOutput
from bot.llm.prompts import (
    Prompts,
    data_block,
    render_answer_question,
    render_assistant_system,
    render_draft_reply,
)
from bot.services.prefs import Preferences
from bot.services.proposals import payloads as p
from bot.services.proposals.approval import ProposalService
from bot.services.tasks import dates
from bot.services.tasks.service import TaskService

log = logging.getLogger(__name__)
MAX_TOOL_ROUNDS = 3
PASSAGES = 5


class PassageLike(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def source(self) -> str: ...


Search = Callable[[str, int], Awaitable[Sequence[PassageLike]]]


@dataclass
class AITurn:
    answer: str | None = None
    sources: list[str] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)


@dataclass(frozen=True)
class Draft:
    text: str
    sources: tuple[str, ...]


class AIAssistant:
    def __init__(
        self,
        model: ChatModel,
        prompts: Prompts,
        tasks: TaskService,
        proposals: ProposalService,
        prefs: Preferences,
        clock: Clock,
        search: Search | None = None,
        team_notes: Callable[[], str] | None = None,
    ) -> None:
        self._model = model
        self._prompts = prompts
        self._tasks = tasks
        self._proposals = proposals
        self._prefs = prefs
        self._clock = clock
        self._search = search
        self._team_notes = team_notes  # contractors' notes: quoted data inside list_tasks

    # --- the owner's message -------------------------------------------------------------------

    async def turn(self, text: str) -> AITurn:
        """Answer and/or propose; nothing here changes tasks or sends anything."""
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._system()},
            {"role": "user", "content": text},
        ]
        cited: list[str] = []
        result = await self._run(messages, cited)
        payloads = [self._resolve(item) for item in result.proposals]  # all or nothing
        rows = [self._proposals.propose(payload, "assistant") for payload in payloads]
        answer, sources = self._cite(result.answer, cited)
        return AITurn(answer, sources, rows)

    async def _run(self, messages: list[dict[str, Any]], cited: list[str]) -> st.AssistantResult:
        for _ in range(MAX_TOOL_ROUNDS):
            completion = await self._model.complete(
                messages, tools=st.ASSISTANT_TOOLS, purpose="assistant"
            )
            turn = self._parse(completion)
            if isinstance(turn, st.AssistantResult):
                return turn
            await self._answer_tools(messages, completion, turn, cited)
        forced = await self._model.complete(
            messages, tools=st.ASSISTANT_TOOLS, tool_choice=st.FORCE_RESPOND, purpose="assistant"
        )
        turn = self._parse(forced)
        if isinstance(turn, st.AssistantResult):
            return turn
        raise InvalidModelOutput(
            "The AI kept asking for tools without answering; nothing was changed."
        )

    def _parse(self, completion: Completion) -> st.Turn:
        return st.parse_completion(completion)

    async def _answer_tools(
        self,
        messages: list[dict[str, Any]],
        completion: Completion,
        turn: st.ToolRequests,
        cited: list[str],
    ) -> None:
        native = bool(completion.tool_calls)
        if native:
            messages.append(
                {
                    "role": "assistant",
                    "content": completion.content or "",
                    "tool_calls": [
                        {
                            "id": call.id or f"call_{i}",
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                        for i, call in enumerate(completion.tool_calls)
                    ],
                }
            )
        else:
            messages.append({"role": "assistant", "content": completion.content or ""})
        results = []
        for i, request in enumerate(turn.calls):
            output = await self._tool(request, cited)
            if native:
                call_id = completion.tool_calls[i].id if i < len(completion.tool_calls) else ""
                messages.append(
                    {"role": "tool", "tool_call_id": call_id or f"call_{i}", "content": output}
                )
            else:
                results.append(output)
        if results:
            messages.append({"role": "user", "content": "\n\n".join(results)})

    async def _tool(self, request: st.ToolRequest, cited: list[str]) -> str:
        args = request.args
        if isinstance(args, st.SearchDocuments):
            passages = await self._passages(args.query)
            start = len(cited)
            cited.extend(passage.source for passage in passages)
            body = (
                "\n\n".join(
                    f"[{start + i + 1}] ({passage.source}) {passage.text}"
                    for i, passage in enumerate(passages)
                )
                or "No passage matched."
            )
            return data_block("tool_result", body, tool="search_documents")
        listed = (
            self._tasks.list(None if args.filter == "all" else args.filter)
            if args.filter != "done"
            else []
        )
        lines = [self._task_line(task) for task in listed[:50]] or ["No tasks."]
        if self._team_notes is not None:
            lines.append(self._team_notes())
        return data_block("tool_result", "\n".join(lines), tool="list_tasks")

    def _task_line(self, task: Any) -> str:
        due = dates.to_local(task.due_at, self._prefs.tz).isoformat() if task.due_at else "no date"
        who = f" @{task.assignee}" if task.assignee else ""
        return json.dumps({"task_id": task.id, "title": task.title, "due": due}) + who

    # --- answers and drafts --------------------------------------------------------------------

    async def answer(self, question: str) -> AITurn:
        """A grounded answer with its sources, or "Not in your documents."."""
        passages = await self._passages(question)
        prompt = render_answer_question(
            self._prompts,
            today=self._today(),
            question=question,
            passages=[(p_.source, p_.text) for p_ in passages],
        )
        completion = await self._model.complete(
            [{"role": "user", "content": prompt}], purpose="answer"
        )
        answer, sources = self._cite(completion.content, [p_.source for p_ in passages])
        return AITurn(answer, sources)

    async def draft_reply(
        self,
        client_name: str,
        message: str,
        thread: Sequence[tuple[str, str]] = (),
        examples: Sequence[tuple[str, str]] = (),
    ) -> Draft:
        """A reply in the owner's voice, grounded in the documents and the client's thread."""
        passages = await self._passages(message)
        prompt = render_draft_reply(
            self._prompts,
            today=self._today(),
            client_name=client_name,
            client_message=message,
            thread=thread,
            passages=[(p_.source, p_.text) for p_ in passages],
            examples=examples,
        )
        completion = await self._model.complete(
            [{"role": "user", "content": prompt}], purpose="draft"
        )
        if not (completion.content or "").strip():
            raise InvalidModelOutput("The AI returned an empty draft; nothing was changed.")
        cited = parse_cited(completion.content or "", len(passages))
        sources = tuple(dict.fromkeys(passages[n - 1].source for n in cited.sources))
        return Draft(cited.text[: p.MAX_REPLY_CHARS], sources)

    # --- internals -----------------------------------------------------------------------------

    async def _passages(self, query: str) -> Sequence[PassageLike]:
        if self._search is None:
            return []
        return await self._search(query, PASSAGES)

    def _cite(self, text: str | None, cited: Sequence[str]) -> tuple[str | None, list[str]]:
        if not text:
            return None, []
        found = parse_cited(text, len(cited))
        sources = list(dict.fromkeys(cited[n - 1] for n in found.sources))
        return found.text, sources

    def _resolve(self, item: st.Proposal) -> p.Payload:
        """The model's proposal as an exact payload; UserInputError refuses the whole turn."""
        try:
            if isinstance(item, st.CreateTask):
                draft = self._tasks.draft_parts(item.title, item.due, item.repeat, item.assignee)
                return self._proposals.task_from_draft(draft)
            if isinstance(item, st.UpdateTask):
                due = self._tasks.read_change(item.due).due if item.due else None
                change = self._tasks.change_of(item.title, due)
                return self._proposals.change_from(item.task_id, change)
            if isinstance(item, st.CompleteTask):
                return self._proposals.finish_of(item.task_id)
            if isinstance(item, st.MessageContractor):
                return self._proposals.message_to(item.contractor, item.text)
            return p.ReplyDraft(text=item.text, recipient="(no client chosen: copy the text)")
        except UserInputError as exc:
            raise InvalidModelOutput(
                f"The AI proposed something I can't use ({exc}); nothing was changed."
            ) from exc

    def _system(self) -> str:
        return render_assistant_system(
            self._prompts, today=self._today(), timezone=self._prefs.timezone_name
        )

    def _today(self) -> str:
        return dates.to_local(self._clock.now(), self._prefs.tz).strftime("%A %d %B %Y")
