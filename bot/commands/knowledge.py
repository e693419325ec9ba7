"""/ask, /docs, plain questions, and documents the owner sends (indexed, then cited)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from bot.commands import callbacks
from bot.commands.callbacks import Callback
from bot.commands.render import when
from bot.commands.reply import Button, Reply, bold, esc
from bot.services.delivery import keys
from bot.services.knowledge.index import Progress
from bot.services.knowledge.service import DocStatus, Findings, Passage

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

SHOWN_PASSAGES = 3
PASSAGE_CHARS = 500
NOT_FOUND = "Not in your documents: I found nothing about that. /docs lists what I have read."
NOT_IN_DOCUMENTS = "Not in your documents: nothing I have read answers that."
STATUS_MARK = {"indexed": "✓", "skipped": "–", "failed": "✗"}
PAGE_CHARS = 3800  # a /docs page stays under Telegram's 4,096 characters
NEWEST_PROBLEMS = 8
REASON_CHARS = 160
# skipped files are counted per kind, not listed one by one
KINDS = {
    "images": ({".png", ".jpg", ".jpeg", ".gif", ".webp", ".heic", ".bmp", ".tif", ".tiff",
                ".svg", ".ico", ".raw"}, "pictures aren't read yet"),
    "audio files": ({".mp3", ".m4a", ".wav", ".ogg", ".flac", ".aac"}, "sound isn't read"),
    "videos": ({".mp4", ".mov", ".avi", ".mkv", ".webm"}, "videos aren't read"),
    "archives": ({".zip", ".tar", ".gz", ".7z", ".rar"}, "unpack them first to have them read"),
}  # fmt: skip


class KnowledgeCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.links = services.links

    def register(self, router: Router) -> None:
        router.command("ask", "answer from your documents, with sources", self.ask)
        router.command("docs", "your documents and whether each was read", self.docs)
        router.on_callback("dp", self.press_docs_page)

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
        """Counts by status, the newest problems, then every document a page at a time."""
        docs = await self.s.knowledge.alist_documents()
        if not docs:
            folder = esc(str(self.s.settings.KNOWLEDGE_DIR))
            return [
                Reply(
                    f"No documents yet. Send me a file, or put files in {folder} and run "
                    "<code>microdesk ingest</code>."
                )
            ]
        return [docs_summary(docs, self._origin)]

    async def press_docs_page(self, cb: Callback) -> list[Reply]:
        offset = cb.args[0]
        if not (offset.isascii() and offset.isdigit()) or len(offset) > 7:
            raise callbacks.BadCallback()
        docs = await self.s.knowledge.alist_documents()
        return [docs_page(docs, int(offset), self._origin)]

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


# --- documents at scale: counts, groups, pages ------------------------------------------------


def kind_of(name: str) -> tuple[str, str | None]:
    """('images', "pictures aren't read yet") for photo.png; ('.xyz files', None) otherwise."""
    suffix = PurePath(name).suffix.lower()
    for kind, (suffixes, why) in KINDS.items():
        if suffix in suffixes:
            return kind, why
    return (f"{suffix} files" if suffix else "files without an extension"), None


def skipped_groups(skipped: Iterable[tuple[str, str | None]]) -> list[str]:
    """'190 images skipped: pictures aren't read yet', one line per kind, most first."""
    counts: Counter[tuple[str, str]] = Counter()
    for name, reason in skipped:
        kind, why = kind_of(name)
        counts[(kind, why or _short(reason or "not a kind of file I read"))] += 1
    return [f"{n:,} {_counted(kind, n)} skipped: {why}" for (kind, why), n in counts.most_common()]


def _counted(kind: str, n: int) -> str:
    """'images' for many, 'image' for one ('files without …' -> 'file without …')."""
    if n != 1:
        return kind
    return kind.replace("files", "file", 1) if "files" in kind else kind.removesuffix("s")


Origin = Callable[[DocStatus], str]  # where a document came from, and when it was read


def docs_summary(docs: Sequence[DocStatus], origin: Origin) -> Reply:
    """Page one of /docs: counts by status, the newest problems; the list when it fits."""
    by_status = Counter(d.status for d in docs)
    passages = sum(d.chunks for d in docs if d.status == "indexed")
    lines = [f"<b>Documents</b> — {len(docs):,}"]
    lines.append(f"✓ {by_status['indexed']:,} indexed ({passages:,} passages)")
    skipped = [(d.name, d.reason) for d in docs if d.status == "skipped"]
    lines += [f"– {esc(line)}" for line in skipped_groups(skipped)]
    if by_status["failed"]:
        lines.append(f"✗ {by_status['failed']:,} failed")
    everything = [*lines, *(_doc_line(d, origin) for d in docs)]
    if len("\n".join(everything)) <= PAGE_CHARS:
        return Reply("\n".join(everything))
    failed = sorted((d for d in docs if d.status == "failed"), key=lambda d: d.updated_at)
    if failed:
        lines += [
            "",
            "<b>Newest problems</b>",
            *(_doc_line(d, origin) for d in failed[::-1][:NEWEST_PROBLEMS]),
        ]
    lines += ["", "More ▸ lists every document."]
    return Reply("\n".join(lines), buttons=((Button("More ▸", callbacks.encode("dp", 0)),),))


def docs_page(docs: Sequence[DocStatus], offset: int, origin: Origin) -> Reply:
    """Every document by name, from `offset`, as many as fit in one message."""
    offset = min(offset, max(0, len(docs) - 1))
    lines: list[str] = []
    used = 100
    for doc in docs[offset:]:
        line = _doc_line(doc, origin)
        if lines and used + len(line) + 1 > PAGE_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    end = offset + len(lines)
    header = f"<b>Documents</b> — {offset + 1:,} to {end:,} of {len(docs):,}"
    nav = []
    if offset > 0:
        back = max(0, offset - len(lines))
        nav.append(Button("◂ Back", callbacks.encode("dp", back)))
    if end < len(docs):
        nav.append(Button("More ▸", callbacks.encode("dp", end)))
    return Reply("\n".join([header, *lines]), buttons=(tuple(nav),) if nav else (), edit=True)


def _doc_line(doc: DocStatus, origin: Origin) -> str:
    mark = STATUS_MARK.get(doc.status, "·")
    if doc.status == "indexed":
        return f"{mark} {esc(doc.name)} — indexed: {doc.chunks} passages · {origin(doc)}"
    return f"{mark} {esc(doc.name)} — {doc.status}: {esc(_short(doc.reason or ''))} · {origin(doc)}"


def _short(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS] + "…"
