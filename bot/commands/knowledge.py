"""/ask, /docs, plain questions, and documents the owner sends (indexed, then cited)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.commands.render import when
from bot.commands.reply import Reply, bold, esc
from bot.services.delivery import keys
from bot.services.knowledge.index import Progress
from bot.services.knowledge.service import DocStatus, Passage

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

SHOWN_PASSAGES = 3
PASSAGE_CHARS = 500
NOT_FOUND = "Not in your documents: I found nothing about that. /docs lists what I have read."
STATUS_MARK = {"indexed": "✓", "skipped": "–", "failed": "✗"}


class KnowledgeCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.links = services.links

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
        return [passages_reply(await self.s.knowledge.asearch(question, SHOWN_PASSAGES))]

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
            lines.append(f"{mark} {esc(doc.name)} — {doc.status}: {detail} · {self._origin(doc)}")
        return [Reply("\n".join(lines))]

    def _origin(self, doc: DocStatus) -> str:
        """Where a document came from and when it was last read: one short phrase."""
        settings = self.s.settings
        if doc.source != "folder":
            where = "sent in the chat"
        elif self.s.share is not None and doc.path.startswith(str(self.s.share.mirror)):
            where = "from the WebDAV share (KNOWLEDGE_URL)"
        elif doc.path.startswith(str(settings.KNOWLEDGE_DIR.expanduser().resolve())):
            where = "from the folder (KNOWLEDGE_DIR)"
        else:
            where = "from a folder"
        read = when(doc.updated_at, True, self.s.prefs.tz, self.s.clock.now())
        return f"{where}, read {read}"

    async def sync_share(self) -> int:
        """The tick's job: poll KNOWLEDGE_URL when due; a failure is told once (1 queued)."""
        if self.s.share is None:
            return 0
        failure = await self.s.share.due()
        if failure is None:
            return 0
        return int(self.s.outbox.put(keys.share_failed(self.s.clock.now(), esc(failure))))

    async def upload(self, name: str, data: bytes, progress: Progress | None) -> Reply:
        """A document the owner sent: index it and say how it went."""
        result = await self.s.knowledge.aingest_file(name, data, progress)
        if result.status in ("indexed", "unchanged"):
            passages = f"{result.chunks} passages"
            return Reply(f"📄 {bold(result.name)}: read, {passages}. Ask me about it with /ask.")
        return Reply(f"📄 {bold(result.name)}: {result.status}. {esc(result.reason or '')}")


def passages_reply(passages: Sequence[Passage]) -> Reply:
    """The best passages, each under its source (what the owner gets with the AI off)."""
    if not passages:
        return Reply(NOT_FOUND)
    lines = ["<b>From your documents:</b>"]
    for passage in passages:
        text = (
            passage.text
            if len(passage.text) <= PASSAGE_CHARS
            else passage.text[:PASSAGE_CHARS] + "…"
        )
        lines += ["", f"📄 <b>{esc(passage.source)}</b>", esc(text)]
    return Reply("\n".join(lines))
