"""The assistant with an LLM: small steps a 1.5B model can do, proposals — never actions.

A turn, for models without good native tools (probed once per endpoint and model, see
:meth:`bot.llm.client.LLMClient.supports_tools`), is split into steps, each one small flat JSON
schema sent as ``response_format``:

    classify   the message is a question, a task, a change to a task, a reply to a client, or
               other; with a short title (prompts/classify.md, no variables: a stable prefix)
    answer     a question: the answer and the numbers of the passages it uses
    write      a reply to a client: the text

Dates never come from the model: they are read from the owner's own words by the date reader
(:mod:`bot.services.tasks.dates`, through :class:`TaskService`). The rule assistant's request
detector
is the floor: a message it reads as a request becomes a card whatever the model says.

Models that do tools well keep the tool loop: read-only ``search_documents`` and ``list_tasks``,
then an :class:`~bot.llm.structured.AssistantResult` whose proposals are resolved (all or
nothing) and stored as pending proposals.

Either way, a request ends in a card or in one honest sentence saying nothing was done and why;
model prose claiming something was done, sent, scheduled or saved is never shown as the
outcome. An answer from the documents shows its sources, or, citing none or not matching the
passages it cites (a made-up or hijacked answer), is replaced by "⚠️ Not found in your
documents" and the closest passages.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.clock import Clock
from bot.db.proposals import Proposal
from bot.errors import UserInputError
from bot.llm import structured as st
from bot.llm.citations import claims_action, grounded, parse_cited
from bot.llm.completion import ChatModel, Completion
from bot.llm.errors import InvalidModelOutput, LLMError
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
from bot.services.proposals.rule_assistant import RuleAssistant
from bot.services.tasks import dates
from bot.services.tasks.service import DateChoiceNeeded, TaskService

log = logging.getLogger(__name__)
MAX_TOOL_ROUNDS = 3
PASSAGES = 5  # for the search tool and drafts
ANSWER_PASSAGES = 3
WINDOW_CHARS = 450  # of each passage, around its best sentence: ≈ 350 tokens for all three
SHOWN_PASSAGES = 3
SHOWN_CHARS = 300
NO_CLIENT = "(no client chosen: copy the text)"

# max_tokens per step: enough for the fields, never a runaway
CLASSIFY_TOKENS = 48
ANSWER_TOKENS = 320
WRITE_TOKENS = 300
DRAFT_TOKENS = 450
TOOL_TURN_TOKENS = 600

Kind = Literal["question", "task", "change", "reply", "other"]
KINDS: tuple[Kind, ...] = ("question", "task", "change", "reply", "other")
_SYNONYMS: Mapping[str, Kind] = {
    "task request": "task",
    "request": "task",
    "new task": "task",
    "change to a task": "change",
    "reply to a client": "reply",
    "client reply": "reply",
}

NOT_FOUND = "⚠️ Not found in your documents"
NOTHING_DONE = "Nothing was done"
UNSURE_CHANGE = (
    "I couldn't tell which of your open tasks you mean, so nothing was changed; /tasks lists "
    "them, and /done ID or /edit ID TEXT changes one."
)
UNREAD_CHANGE = (
    "I couldn't read what to change (a new date, or that it is done), so nothing was changed; "
    "/edit ID TEXT or /done ID does it."
)
OTHER = (
    "I didn't read a question or a request in that, so nothing was done. Ask me something "
    "about your documents, or tell me what to remember (“remind me to … on Friday”)."
)
TASK_VERBS = frozenset(
    [
        "pay",
        "send",
        "call",
        "renew",
        "file",
        "book",
        "check",
        "update",
        "email",
        "order",
        "make",
        "write",
        "ask",
        "review",
        "submit",
        "prepare",
        "chase",
        "deliver",
        "collect",
        "draft",
        "invoice",
        "remind",
        "meet",
        "buy",
        "get",
    ]
)  # "Pay rent" and "Pay the insurance premium" are not the same task
DONE_WORDS = re.compile(
    r"\b(?:done|finished|completed?|paid|sent|filed|renewed|submitted|delivered|"
    r"mark(?:ed)?\s+\w+(?:\s+\w+)?\s+(?:as\s+)?(?:done|complete))\b",
    re.IGNORECASE,
)


_QUESTION = re.compile(
    r"^\s*(?:how|what|what's|when|where|who|whom|whose|why|which|is|are|am|can|could|do|does|"
    r"did|should|will|would|have|has|wie|was|wann|wo|wer|warum|welche[rsmn]?|gibt|kann|muss|"
    r"ist|sind)\b|\?\s*$",
    re.IGNORECASE,
)


_CHANGE = re.compile(
    r"^\s*(?:please\s+)?(?:move|push|postpone|reschedule|shift|delay|rename|change|update|"
    r"bring|put\s+off|cancel|mark)\b",
    re.IGNORECASE,
)


def _changes(text: str) -> bool:
    """Words that change something that exists ("move …", "mark … done")."""
    return _CHANGE.search(text) is not None or DONE_WORDS.search(text) is not None


def looks_like_question(text: str) -> bool:
    """A question in form: it ends with "?" or starts with a question word."""
    return _QUESTION.search(text) is not None


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
    flagged: bool = False  # an answer replaced by "not found" (unsupported or hijacked)


@dataclass(frozen=True)
class Draft:
    text: str
    sources: tuple[str, ...]


def _schema(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """A small flat JSON schema as ``response_format`` (strict: every field required)."""
    schema = {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


CLASSIFY_FORMAT = _schema(
    "classify",
    {"kind": {"type": "string", "enum": list(KINDS)}, "title": {"type": "string"}},
)
ANSWER_FORMAT = _schema(
    "answer",
    {"answer": {"type": "string"}, "sources": {"type": "array", "items": {"type": "integer"}}},
)
WRITE_FORMAT = _schema("reply", {"text": {"type": "string"}})


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Classified(_Lenient):
    kind: str
    title: str | None = ""


class _Answered(_Lenient):
    answer: str
    sources: list[int] = []


class _Written(_Lenient):
    text: str


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
        self._rules = RuleAssistant(tasks, proposals, prefs)

    # --- the owner's message -------------------------------------------------------------------

    async def turn(self, text: str) -> AITurn:
        """Answer, or propose; nothing here changes tasks or sends anything."""
        floor = self._rules.wants_task(text)
        try:
            if await self._model.supports_tools():
                result = await self._tool_turn(text)
            else:
                result = await self._step_turn(text, floor)
        except DateChoiceNeeded:
            raise  # the date reads two ways: the owner picks (the command layer asks)
        except (LLMError, UserInputError) as exc:
            if floor is None:
                raise
            log.info("model failed (%s); the rule reader makes the card", type(exc).__name__)
            return self._task_card(floor, None)
        return self._floored(result, floor)

    def _floored(self, result: AITurn, floor: str | None) -> AITurn:
        """The rule detector's request becomes a card when the model made none."""
        if floor is None or any(_is_new_task(row) for row in result.proposals):
            return result
        card = self._task_card(floor, None)
        return AITurn(card.answer, [], card.proposals + result.proposals)

    # --- small steps -----------------------------------------------------------------------------

    async def _step_turn(self, text: str, floor: str | None) -> AITurn:
        kind, title = await self.classify(text)
        kind = self._checked(kind, text, floor)
        log.info("assistant step kind=%s", kind)
        if kind == "task":
            return self._task_card(floor or text, title)
        if kind == "change":
            return self._change_card(text, title)
        if kind == "reply":
            return await self._reply_card(text)
        if kind == "question":
            return await self.answer(text)
        return AITurn(OTHER)

    def _checked(self, kind: Kind, text: str, floor: str | None) -> Kind:
        """The model's kind, overruled where the words leave no doubt (small models slip):
        the rule detector's requests are tasks; a question in form, without a date, is a
        question; a "question" or "other" that is not one in form but names a date is a task."""
        if floor is not None:
            return "task"
        asked = looks_like_question(text)
        dated = self._date_in(text) is not None
        if asked and not dated:
            return "question"
        if kind in ("question", "other") and not asked and dated:
            return "task"
        if kind == "other" and asked:
            return "question"
        return kind

    async def classify(self, text: str) -> tuple[Kind, str]:
        """The message's kind and a short title, from the model (schema-enforced when the
        endpoint can); anything else is refused with one sentence."""
        completion = await self._model.complete(
            [
                {"role": "system", "content": self._prompts.render("classify")},
                {"role": "user", "content": text},
            ],
            response_format=CLASSIFY_FORMAT,
            max_tokens=CLASSIFY_TOKENS,
            purpose="classify",
        )
        found = _json_object(completion.content, _Classified)
        raw = found.kind if found is not None else (completion.content or "")
        kind = _kind(raw)
        if kind is None:
            raise InvalidModelOutput(
                "The AI's answer couldn't be read as a question or a request; nothing was done."
            )
        title = " ".join((found.title or "").split()) if found is not None else ""
        return kind, title[:200]

    def _task_card(self, words: str, model_title: str | None) -> AITurn:
        """A new-task card: the date and repeat read from the owner's words, never the model's."""
        try:
            draft = self._tasks.draft(words)
            title = self._title(model_title, draft.title, words)
            payload = self._proposals.task_from_draft(replace(draft, title=title))
        except DateChoiceNeeded:
            raise
        except UserInputError as exc:
            return AITurn(f"{NOTHING_DONE}: {exc}")
        return AITurn(None, [], [self._proposals.propose(payload, "assistant")])

    def _title(self, model_title: str | None, read: str, words: str) -> str:
        """The model's short title when it comes from the owner's words; else the reader's."""
        if not model_title:
            return read
        try:
            title = dates.parse_task_text(model_title, self._clock.now(), self._prefs.tz).title
        except dates.DateParseError:
            return read
        said = {_stem(w) for w in _words(words)}
        mine = [_stem(w) for w in _words(title)]
        if not mine or len(title) > 120:
            return read
        if sum(w in said for w in mine) < 0.75 * len(mine):
            return read  # the model invented words: keep the owner's
        return title[0].upper() + title[1:]

    def _change_card(self, text: str, ref: str) -> AITurn:
        """Done, or a new date, for the open task the words name; else one sentence."""
        task = self._find_task(ref or text) or self._find_task(text)
        if task is None and self._date_in(text) is not None and not _changes(text):
            return self._task_card(text, None)  # no such task: a new one, as the words say
        if task is None:
            return AITurn(UNSURE_CHANGE)
        try:
            if DONE_WORDS.search(text):
                payload: p.Payload = self._proposals.finish_of(task.id)
            else:
                due = self._date_in(text)
                if due is None:
                    return AITurn(UNREAD_CHANGE)
                payload = self._proposals.change_from(task.id, self._tasks.change_of(None, due))
        except UserInputError as exc:
            return AITurn(f"{NOTHING_DONE}: {exc}")
        return AITurn(None, [], [self._proposals.propose(payload, "assistant")])

    def _find_task(self, words: str) -> Any | None:
        """The open task most of whose words (not its verb) the owner's words name."""
        said = {_stem(w) for w in _words(words)}
        best, best_score = None, 0.0
        for task in self._tasks.list():
            title = [_stem(w) for w in _words(task.title) if w not in TASK_VERBS]
            if not title:
                continue
            score = sum(w in said for w in title) / len(title)
            if score > best_score:
                best, best_score = task, score
        return best if best_score >= 0.5 else None

    def _date_in(self, text: str) -> dates.Due | None:
        try:
            return dates.parse_task_text(text, self._clock.now(), self._prefs.tz).due
        except dates.DateParseError:
            return None

    async def _reply_card(self, text: str) -> AITurn:
        """A reply the owner wants written to a client, as a card to copy or approve."""
        prompt = self._prompts.render("write_reply", instruction=data_block("question", text))
        completion = await self._model.complete(
            [{"role": "user", "content": prompt}],
            response_format=WRITE_FORMAT,
            max_tokens=WRITE_TOKENS,
            purpose="write",
        )
        found = _json_object(completion.content, _Written)
        written = (found.text if found is not None else _prose(completion.content)).strip()
        if not written or completion.truncated:
            raise InvalidModelOutput("The AI wrote no usable reply; nothing was done.")
        payload = p.ReplyDraft(text=written[: p.MAX_REPLY_CHARS], recipient=NO_CLIENT)
        return AITurn(None, [], [self._proposals.propose(payload, "assistant")])

    # --- the tool loop (models that do tools well) ---------------------------------------------

    async def _tool_turn(self, text: str) -> AITurn:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._system()},
            {"role": "user", "content": text},
        ]
        passages: list[PassageLike] = []
        result = await self._run(messages, passages)
        payloads = [self._resolve(item) for item in result.proposals]  # all or nothing
        rows = [self._proposals.propose(payload, "assistant") for payload in payloads]
        if not result.answer:
            return AITurn(None, [], rows)
        if claims_action(result.answer):
            return AITurn(_unclaimed(rows), [], rows)
        if passages:  # a documents answer: grounded, or marked
            shown = self._grounded(result.answer, [], text, passages)
            return replace(shown, proposals=rows)
        return AITurn(result.answer, [], rows)

    async def _run(
        self, messages: list[dict[str, Any]], found: list[PassageLike]
    ) -> st.AssistantResult:
        for _ in range(MAX_TOOL_ROUNDS):
            completion = await self._model.complete(
                messages, tools=st.ASSISTANT_TOOLS, max_tokens=TOOL_TURN_TOKENS, purpose="assistant"
            )
            turn = self._parse(completion)
            if isinstance(turn, st.AssistantResult):
                return turn
            await self._answer_tools(messages, completion, turn, found)
        forced = await self._model.complete(
            messages,
            tools=st.ASSISTANT_TOOLS,
            tool_choice=st.FORCE_RESPOND,
            max_tokens=TOOL_TURN_TOKENS,
            purpose="assistant",
        )
        turn = self._parse(forced)
        if isinstance(turn, st.AssistantResult):
            return turn
        raise InvalidModelOutput(
            "The AI kept asking for tools without answering; nothing was changed."
        )

    def _parse(self, completion: Completion) -> st.Turn:
        if completion.truncated and not completion.tool_calls:
            raise InvalidModelOutput("The AI's answer was cut off; nothing was changed.")
        return st.parse_completion(completion)

    async def _answer_tools(
        self,
        messages: list[dict[str, Any]],
        completion: Completion,
        turn: st.ToolRequests,
        found: list[PassageLike],
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
            output = await self._tool(request, found)
            if native:
                call_id = completion.tool_calls[i].id if i < len(completion.tool_calls) else ""
                messages.append(
                    {"role": "tool", "tool_call_id": call_id or f"call_{i}", "content": output}
                )
            else:
                results.append(output)
        if results:
            messages.append({"role": "user", "content": "\n\n".join(results)})

    async def _tool(self, request: st.ToolRequest, found: list[PassageLike]) -> str:
        args = request.args
        if isinstance(args, st.SearchDocuments):
            passages = await self._passages(args.query)
            start = len(found)
            found.extend(passages)
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
        """A grounded answer with its sources, or "⚠️ Not found" and the closest passages."""
        passages = list(await self._passages(question))[:ANSWER_PASSAGES]
        if not passages:
            return AITurn("Not in your documents: I found nothing about that.")
        prompt = render_answer_question(
            self._prompts,
            today=self._today(),
            question=question,
            passages=[(p_.source, window(p_.text, question)) for p_ in passages],
        )
        completion = await self._model.complete(
            [{"role": "user", "content": prompt}],
            response_format=ANSWER_FORMAT,
            max_tokens=ANSWER_TOKENS,
            purpose="answer",
        )
        found = _json_object(completion.content, _Answered)
        text = found.answer if found is not None else _prose(completion.content)
        listed = found.sources if found is not None else []
        return self._grounded(text, listed, question, passages)

    def _grounded(
        self,
        text: str,
        listed: Sequence[int],
        question: str,
        passages: Sequence[PassageLike],
    ) -> AITurn:
        cited = parse_cited(text, len(passages))
        numbers = list(dict.fromkeys([*cited.sources, *listed]))
        used = [n for n in numbers if 1 <= n <= len(passages)]
        body = cited.text.strip()
        if body and used and grounded(body, [passages[n - 1].text for n in used], question):
            return AITurn(body, list(dict.fromkeys(passages[n - 1].source for n in used)))
        log.info("answer not grounded: cited=%s chars=%d", used, len(body))
        return AITurn(_not_found(passages), [], [], flagged=True)

    async def draft_reply(
        self,
        client_name: str,
        message: str,
        thread: Sequence[tuple[str, str]] = (),
        examples: Sequence[tuple[str, str]] = (),
    ) -> Draft:
        """A reply in the owner's voice, grounded in the documents and the client's thread;
        a background job: it waits behind the owner's turns and may take LLM_DRAFT_TIMEOUT."""
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
            [{"role": "user", "content": prompt}],
            max_tokens=DRAFT_TOKENS,
            purpose="draft",
            background=True,
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
            return p.ReplyDraft(text=item.text, recipient=NO_CLIENT)
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


# --- reading what the model wrote ---------------------------------------------------------------

_M = TypeVar("_M", bound=BaseModel)


def _json_object(content: str | None, model: type[_M]) -> _M | None:
    """The first JSON object in `content` that fits `model` (extra fields ignored), or None."""
    text = (content or "").strip()
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if not isinstance(value, dict):
            continue
        try:
            return model.model_validate(value)
        except ValidationError:
            continue
    return None


def _prose(content: str | None) -> str:
    """Text that is not JSON at all; JSON of the wrong shape is not an answer."""
    text = (content or "").strip()
    if text.startswith(("{", "[", "```")):
        return ""
    return text


def _kind(raw: str) -> Kind | None:
    word = " ".join(raw.lower().replace("_", " ").split()).strip(" .\"'")
    if word in KINDS:
        return word
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    return None


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[^\W_]{3,}", text)]


def _stem(word: str) -> str:
    return word[:5]


def _is_new_task(row: Proposal) -> bool:
    return isinstance(p.load(row.payload), p.NewTask)


def _unclaimed(rows: Sequence[Proposal]) -> str:
    """What replaces model prose that claims an action: the honest state."""
    if rows:
        return "Nothing is done yet: the card below does it when you tap Approve."
    return f"{NOTHING_DONE}: the AI said it had acted, but it can only propose, and made no card."


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n{2,}")


def window(text: str, question: str, limit: int = WINDOW_CHARS) -> str:
    """The sentences of `text` around the one that best matches `question`, within `limit`
    characters: what a small model needs to read, not the whole passage."""
    if len(text) <= limit:
        return text
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    asked = {_stem(w) for w in _words(question)}
    scores = [sum(_stem(w) in asked for w in _words(s)) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    start = end = best
    size = len(sentences[best])
    while True:
        grown = False
        for i in (end + 1, start - 1):
            if 0 <= i < len(sentences) and size + len(sentences[i]) + 1 <= limit:
                start, end = min(start, i), max(end, i)
                size += len(sentences[i]) + 1
                grown = True
        if not grown:
            break
    return " ".join(sentences[start : end + 1])[:limit]


def _not_found(passages: Sequence[PassageLike]) -> str:
    lines = [
        f"{NOT_FOUND}: the AI's answer didn't match them, so it isn't shown. Closest passages:"
    ]
    for passage in passages[:SHOWN_PASSAGES]:
        text = " ".join(passage.text.split())
        if len(text) > SHOWN_CHARS:
            text = text[:SHOWN_CHARS].rsplit(" ", 1)[0] + " …"
        lines += ["", f"📄 {passage.source}", text]
    return "\n".join(lines)
