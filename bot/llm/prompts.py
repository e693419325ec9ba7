"""Prompts as files in ``prompts/``, loaded by name at start, with their variables checked.

Each ``prompts/NAME.md`` is a :class:`string.Template` (``$variable`` or ``${variable}``;
``$$`` is a literal dollar). :data:`PROMPT_VARIABLES` says which variables the code supplies to
each prompt; :func:`load_prompts` refuses, at start, a file that is missing, empty, not UTF-8,
has a malformed placeholder, or whose variables differ from that list either way. Rendering
then needs exactly those values.

Documents, client messages and tool results go into the prompts through :func:`data_block`
and the ``format_*`` helpers: delimited sections the prompts declare to be data, never
instructions, with any of our delimiters inside the text defused.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from bot.hidden import untagged
from bot.llm.errors import PromptError

SOURCE_DIR = Path(__file__).resolve().parents[2] / "prompts"  # a checkout or editable install
INSTALLED_DIR = Path(sys.prefix) / "share" / "microdesk" / "prompts"  # pyproject data-files
DEFAULT_DIR = SOURCE_DIR if SOURCE_DIR.is_dir() else INSTALLED_DIR

PROMPT_VARIABLES: Mapping[str, frozenset[str]] = {
    "assistant_system": frozenset({"today", "timezone"}),
    "answer_question": frozenset({"today", "question", "documents"}),
    "draft_reply": frozenset(
        {"today", "client_name", "client_thread", "client_message", "documents", "owner_examples"}
    ),
    "classify": frozenset(),
    "write_reply": frozenset({"instruction"}),
}

DATA_TAGS = (
    "documents",
    "document",
    "client_thread",
    "client_message",
    "owner_examples",
    "example",
    "question",
    "tool_result",
)
_DELIMITER = re.compile(r"<(/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Prompt:
    """One loaded template and the exact variables it takes."""

    name: str
    template: Template
    variables: frozenset[str]

    def render(self, **values: str) -> str:
        given = frozenset(values)
        if given != self.variables:
            raise PromptError(f"Prompt {self.name} {_difference(self.variables, given)}.")
        return self.template.substitute(values)


class Prompts:
    """The loaded prompts, by name."""

    def __init__(self, prompts: Mapping[str, Prompt]) -> None:
        self._prompts = dict(prompts)

    def __getitem__(self, name: str) -> Prompt:
        try:
            return self._prompts[name]
        except KeyError:
            raise PromptError(f"There is no prompt named {name}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._prompts

    def render(self, name: str, **values: str) -> str:
        return self[name].render(**values)


def load_prompts(
    directory: Path | None = None,
    variables: Mapping[str, frozenset[str]] = PROMPT_VARIABLES,
) -> Prompts:
    """Every prompt in `variables`, from `directory` (default: the repo's ``prompts/``)."""
    folder = directory or DEFAULT_DIR
    if not folder.is_dir():
        raise PromptError(f"The prompts folder {folder} is missing.")
    return Prompts({name: load_prompt(folder, name, needed) for name, needed in variables.items()})


def load_prompt(folder: Path, name: str, variables: frozenset[str]) -> Prompt:
    """One prompt file, checked: readable, not empty, well-formed, exactly `variables`."""
    template = Template(_read(folder / f"{name}.md"))
    if not template.is_valid():
        raise PromptError(f"Prompt {name}.md has a malformed $ placeholder (write $$ for a $).")
    used = frozenset(template.get_identifiers())
    if used != variables:
        raise PromptError(f"Prompt {name}.md {_difference(variables, used)}.")
    return Prompt(name=name, template=template, variables=variables)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"The prompt file {path} is missing.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"The prompt file {path} can't be read ({type(exc).__name__}).") from None
    if not text.strip():
        raise PromptError(f"The prompt file {path} is empty.")
    return text


def _difference(expected: frozenset[str], got: frozenset[str]) -> str:
    missing = ", ".join(f"${v}" for v in sorted(expected - got))
    extra = ", ".join(f"${v}" for v in sorted(got - expected))
    parts = [f"lacks {missing}" if missing else "", f"has unknown {extra}" if extra else ""]
    return " and ".join(p for p in parts if p) + f" (expected: {_names(expected)})"


def _names(variables: frozenset[str]) -> str:
    return ", ".join(f"${v}" for v in sorted(variables)) or "none"


def defuse(text: str) -> str:
    """`text` with anything that could close or open one of our data sections neutralised.

    Invisible tag characters go too: they can spell instructions the owner never sees.
    """
    return _DELIMITER.sub(r"‹\1", untagged(text))


def data_block(tag: str, text: str, **attributes: str) -> str:
    """``<tag a="...">text</tag>``: a delimited data section, its content defused."""
    if tag not in DATA_TAGS:
        raise ValueError(f"unknown data tag {tag!r}")
    attrs = "".join(f' {key}="{_attribute(value)}"' for key, value in attributes.items())
    return f"<{tag}{attrs}>\n{defuse(text).strip()}\n</{tag}>"


def _attribute(value: str) -> str:
    cleaned = value.replace("&", "&amp;").replace('"', "&quot;")
    return cleaned.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")[:200]


def _one_line(text: str, limit: int) -> str:
    return " ".join(defuse(text).split())[:limit]


def format_documents(passages: Sequence[tuple[str, str]]) -> str:
    """(source, text) passages as ``<documents>``, numbered from 1 for citations."""
    if not passages:
        return "<documents>\n(no matching passages)\n</documents>"
    inner = "\n".join(
        data_block("document", text, id=str(number), source=source)
        for number, (source, text) in enumerate(passages, start=1)
    )
    return f"<documents>\n{inner}\n</documents>"


def format_thread(messages: Sequence[tuple[str, str]]) -> str:
    """(speaker, text) messages, oldest first, as ``<client_thread>``."""
    lines = [f"{_one_line(speaker, 60)}: {text.strip()}" for speaker, text in messages]
    return data_block("client_thread", "\n".join(lines) or "(no earlier messages)")


def format_examples(pairs: Sequence[tuple[str, str]]) -> str:
    """(AI draft, what the owner actually sent) pairs as ``<owner_examples>``."""
    if not pairs:
        return "<owner_examples>\n(none yet)\n</owner_examples>"
    inner = "\n".join(
        data_block("example", f"DRAFT:\n{draft.strip()}\nSENT:\n{sent.strip()}")
        for draft, sent in pairs
    )
    return f"<owner_examples>\n{inner}\n</owner_examples>"


def render_assistant_system(prompts: Prompts, *, today: str, timezone: str) -> str:
    """The assistant's system message."""
    return prompts.render("assistant_system", today=today, timezone=timezone)


def render_answer_question(
    prompts: Prompts, *, today: str, question: str, passages: Sequence[tuple[str, str]]
) -> str:
    """A grounded answer request: numbered passages, the question, both as data."""
    return prompts.render(
        "answer_question",
        today=today,
        question=data_block("question", question),
        documents=format_documents(passages),
    )


def render_draft_reply(
    prompts: Prompts,
    *,
    today: str,
    client_name: str,
    client_message: str,
    thread: Sequence[tuple[str, str]] = (),
    passages: Sequence[tuple[str, str]] = (),
    examples: Sequence[tuple[str, str]] = (),
) -> str:
    """A reply request; `client_name` comes from the stored client record."""
    return prompts.render(
        "draft_reply",
        today=today,
        client_name=_one_line(client_name, 80),
        client_thread=format_thread(thread),
        client_message=data_block("client_message", client_message),
        documents=format_documents(passages),
        owner_examples=format_examples(examples),
    )
