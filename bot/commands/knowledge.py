"""/ask, /docs, plain questions, and documents the owner sends (indexed, then cited)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.commands.reply import Reply, bold, esc
from bot.services.knowledge.index import Progress
from bot.services.knowledge.service import Findings, Passage
from bot.services.proposals.links import LinkGuard

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

SHOWN_PASSAGES = 3
PASSAGE_CHARS = 500
NOT_FOUND = "Not in your documents: I found nothing about that. /docs lists what I have read."
NOT_IN_DOCUMENTS = "Not in your documents: nothing I have read answers that."
STATUS_MARK = {"indexed": "✓", "skipped": "–", "failed": "✗"}


class KnowledgeCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.links = LinkGuard(services.sessions)

    def register(self, router: Router) -> None:
        router.command("ask", "answer from your documents, with sources", self.ask)
        router.command("docs", "your documents and whether each was read", self.docs)

    async def ask(self, args: str) -> list[Reply]:
        """Answer a question from the documents, naming the sources."""
        question = args.strip()
        if not question:
            return [Reply("Ask a question after the command, e.g. /ask What is the refund policy?")]
        return await self.answer(question)

    async def answer(self, question: str) -> list[Reply]:
        """A grounded answer (AI on), or the best passages with their sources (AI off)."""
        if self.s.ai is not None:
            turn = await self.s.ai.answer(question)
            text = esc(turn.answer or "Not in your documents.")
            if turn.sources:
                text += "\n\n<i>Sources: " + esc("; ".join(turn.sources)) + "</i>"
            text += "".join("\n" + esc(note) for note in self.links.notes(turn.answer or ""))
            return [Reply(text)]
        return [findings_reply(await self.s.knowledge.alookup(question, SHOWN_PASSAGES))]

    async def docs(self, args: str) -> list[Reply]:
        """Every document with its status: indexed, skipped or failed, and why."""
        docs = await self.s.knowledge.alist_documents()
        if not docs:
            folder = esc(str(self.s.settings.KNOWLEDGE_DIR))
            return [
                Reply(
                    f"No documents yet. Send me a file, or put files in {folder} and run "
                    "<code>microdesk ingest</code>."
                )
            ]
        lines = [f"<b>Documents</b> — {len(docs)}"]
        for doc in docs:
            mark = STATUS_MARK.get(doc.status, "·")
            detail = f"{doc.chunks} passages" if doc.status == "indexed" else esc(doc.reason or "")
            lines.append(f"{mark} {esc(doc.name)} — {doc.status}: {detail}")
        return [Reply("\n".join(lines))]

    async def upload(self, name: str, data: bytes, progress: Progress | None) -> Reply:
        """A document the owner sent: index it and say how it went."""
        result = await self.s.knowledge.aingest_file(name, data, progress)
        if result.status in ("indexed", "unchanged"):
            passages = f"{result.chunks} passages"
            return Reply(f"📄 {bold(result.name)}: read, {passages}. Ask me about it with /ask.")
        return Reply(f"📄 {bold(result.name)}: {result.status}. {esc(result.reason or '')}")


def findings_reply(findings: Findings) -> Reply:
    """The passages that answer (AI off), or "not in your documents" and what they are about."""
    if not findings.passages:
        return Reply(NOT_FOUND)
    if not findings.matched:
        about = "".join(f"\n• {esc(topic)}" for topic in findings.topics)
        return Reply(f"{NOT_IN_DOCUMENTS}\nThey are about, among others:{about}")
    return passages_reply(findings.passages)


def passages_reply(passages: Sequence[Passage]) -> Reply:
    """The best passages, each under its source: the sentences around the best match."""
    if not passages:
        return Reply(NOT_FOUND)
    lines = ["<b>From your documents:</b>"]
    for passage in passages:
        text = passage.excerpt or passage.text
        if len(text) > PASSAGE_CHARS:
            text = text[:PASSAGE_CHARS] + "…"
        lines += ["", f"📄 <b>{esc(passage.source)}</b>", esc(text)]
    return Reply("\n".join(lines))
