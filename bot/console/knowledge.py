"""`microdesk ingest [PATH] [--rebuild]` (with a progress bar) and `microdesk ask "QUESTION"`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import Services

if TYPE_CHECKING:  # rich loads only when a verb prints, not for every start of the bot
    from rich.console import Console

    from bot.services.knowledge.ingest import DocResult

KNOWLEDGE_VERBS = ("ingest", "ask")
SHOWN_FAILURES = 20


def add_knowledge_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ingest = verbs.add_parser("ingest", help="index KNOWLEDGE_DIR (or PATH), incrementally")
    ingest.add_argument("path", nargs="?", type=Path, help="a folder other than KNOWLEDGE_DIR")
    ingest.add_argument(
        "--rebuild", action="store_true", help="rebuild the vector index from stored text"
    )
    ask = verbs.add_parser("ask", help="one answer from your documents, with sources")
    ask.add_argument("question", help="the question, in quotes")


def run_knowledge_verb(
    services: Services, args: argparse.Namespace, console: Console | None = None
) -> int:
    from rich.console import Console

    console = console or Console()
    if args.verb == "ask":
        return asyncio.run(_ask(services, args.question, console))
    return _ingest(services, args.path, args.rebuild, console)


def _ingest(services: Services, path: Path | None, rebuild: bool, console: Console) -> int:
    from rich import progress as bars

    columns = (
        bars.TextColumn("{task.description}"),
        bars.BarColumn(),
        bars.MofNCompleteColumn(),
        bars.TimeElapsedColumn(),
    )
    with bars.Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Reading", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total or None, description=label[:40])

        if rebuild:
            count = services.knowledge.rebuild_index(progress)
            console.print(f"Rebuilt the index from {count} stored passages.")
            return 0
        report = services.knowledge.ingest_dir(path, progress)
    for line in problem_lines(report.results):
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Documents: {report.summary}.", markup=False, highlight=False)
    return 0


def problem_lines(results: Sequence[DocResult]) -> list[str]:
    """Failed files one by one (the first few), skipped ones counted per kind."""
    from bot.commands.knowledge import skipped_groups

    failed = [r for r in results if r.status == "failed"]
    lines = [f"failed: {r.name} — {r.reason}" for r in failed[:SHOWN_FAILURES]]
    if len(failed) > SHOWN_FAILURES:
        lines.append(f"… and {len(failed) - SHOWN_FAILURES:,} more failed: /docs lists them all")
    skipped = [(r.name, r.reason) for r in results if r.status == "skipped"]
    return lines + skipped_groups(skipped)


async def _ask(services: Services, question: str, console: Console) -> int:
    from bot.commands.build import build_conversation
    from bot.console.chat import to_rich

    conversation = build_conversation(services)
    await services.knowledge.aingest_dir()  # incremental: only new or changed files are read
    try:
        for reply in await conversation.router.run_command("ask", question):
            console.print(to_rich(reply.text))
    finally:
        await services.aclose()
    return 0
