"""Every benchmark in one run, printed as one table: ``.venv/bin/python -m bench``.

Sections run one after another in this process (the cold start and the RSS probe spawn fresh
ones). Round trips of the floor and the bot are interleaved request by request, so their ratio
is measured under the same noise; read the ratios, not the absolute numbers, on a busy machine.
``--quick`` runs fewer repetitions (a smoke test, not a measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench`
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import roundtrip, scale, slowdisk, startup, team  # noqa: E402
from bench.common import INFO, Row, Timings, fmt_ms, verdict  # noqa: E402

ASK_BUDGET_MS = 25.0
TRIP_FACTOR = 3.0
BURST_SHARE = 0.5
SCALE_MS = 200.0
START_S = 2.0
INGEST_SHARE = 0.85
RSS_MB = 350
ASK_CLI_S = 1.5


def roundtrip_rows(r: roundtrip.RoundTrips) -> list[Row]:
    section = f"Round trip, p50 / p95 (n={len(r.floor)})"
    floor = r.timings("floor")
    limit = TRIP_FACTOR * floor.p95
    rows = [Row(section, "floor: bare PTB echo bot", floor.text(), "", "1.0×")]
    for name, label in [
        ("add", "/add"),
        ("button", "button: Done on an added task"),
        ("tasks_first", "/tasks over 1,000 tasks, first message"),
    ]:
        t = r.timings(name)
        rows.append(
            Row(section, label, t.text(), f"≤ {TRIP_FACTOR:g}× floor p95 = {fmt_ms(limit)} ms",
                f"{t.p95 / floor.p95:.1f}×", verdict(t.p95 <= limit))
        )  # fmt: skip
    whole = r.timings("tasks_all")
    rows.append(
        Row(section, f"/tasks over 1,000 tasks, all {r.tasks_pieces} messages", whole.text(),
            "(the whole list; no target)", f"{whole.p95 / floor.p95:.1f}×")
    )  # fmt: skip
    if r.ask:
        ask = r.timings("ask")
        above = ask.p95 - floor.p95
        rows.append(
            Row(section, "/ask over 10,000 chunks, LLM off", ask.text(),
                f"≤ floor p95 + {ASK_BUDGET_MS:g} ms = {fmt_ms(floor.p95 + ASK_BUDGET_MS)} ms",
                f"floor + {fmt_ms(above)} ms", verdict(above <= ASK_BUDGET_MS))
        )  # fmt: skip
    return rows


def burst_rows(r: roundtrip.RoundTrips, size: int) -> list[Row]:
    section = f"Throughput, burst of {size} (median of {len(r.floor_burst)})"
    floor, add = roundtrip.median(r.floor_burst), roundtrip.median(r.add_burst)
    return [
        Row(section, "floor: bare PTB echo bot", f"{floor:.0f} updates/s", "", "100 %"),
        Row(section, "/add", f"{add:.0f} updates/s", f"≥ {BURST_SHARE:.0%} of floor",
            f"{add / floor:.0%}", verdict(add >= BURST_SHARE * floor)),
    ]  # fmt: skip


def slowdisk_rows(d: slowdisk.SlowDisk) -> list[Row]:
    """A reminder waits for at most one update's own work; an update for at most the tick's."""
    section = (
        f"Slow disk: +{slowdisk.DELAY * 1000:.0f} ms per durable commit, p50 / p95 (n={len(d.own)})"
    )
    own, idle = d.timings("own"), d.timings("reminder_idle")
    busy, in_tick = d.timings("reminder_burst"), d.timings("add_in_tick")
    limit = idle.p50 + own.p50
    return [
        Row(section, "/add round trip, idle: one update's own work", own.text()),
        Row(section, "reminder: due → sent, idle", idle.text()),
        Row(section, f"reminder: due → sent, during a burst of {d.burst} /add", busy.text(),
            f"p50 ≤ idle + one update = {fmt_ms(limit)} ms", f"{busy.p50 / limit:.2f}×",
            verdict(busy.p50 <= limit)),
        Row(section, f"/add round trip as {d.due_at_once} reminders fall due", in_tick.text(),
            f"p50 ≤ 2× one update = {fmt_ms(2 * own.p50)} ms", f"{in_tick.p50 / own.p50:.1f}×",
            verdict(in_tick.p50 <= 2 * own.p50)),
    ]  # fmt: skip


def scale_rows(s: scale.Scale) -> list[Row]:
    section = f"{s.tasks:,} tasks ({s.upcoming:,} due within 7 days), p50 / p95 (n={s.sweep.n})"
    rows = []
    for label, t in [
        ("briefing: BriefingService.compose", s.compose),
        ("briefing, rendered (+ proposals, clients, HTML)", s.render),
        ("reminder sweep: SchedulerService.due_reminders", s.sweep),
    ]:
        rows.append(
            Row(section, label, t.text(), f"≤ {SCALE_MS:g} ms", f"{t.p95 / SCALE_MS:.2f}×",
                verdict(t.p95 <= SCALE_MS))
        )  # fmt: skip
    return rows


def team_rows(t: team.TeamScale) -> list[Row]:
    section = (
        f"Contractors: {t.assigned:,} of {t.tasks:,} tasks assigned, {t.sent:,} sent before, "
        f"p50 / p95 (n={t.sweep.n})"
    )
    label = "contractors' sweep: TeamSweep.due (notices, rungs, daily lists)"
    return [
        Row(section, label, t.sweep.text(), f"≤ {SCALE_MS:g} ms",
            f"{t.sweep.p95 / SCALE_MS:.2f}×", verdict(t.sweep.p95 <= SCALE_MS))
    ]  # fmt: skip


def start_rows(floor: Timings, bot: Timings, again: Timings) -> list[Row]:
    section = f"Start, spawn → first getUpdates (median of {bot.n} runs)"
    rows = [
        Row(section, "floor: bare PTB echo bot, cold start",
            f"{floor.p50 / 1000:.2f} s (max {max(floor.ms) / 1000:.2f})", "", "1.0×"),
    ]  # fmt: skip
    for label, t in [
        ("microdesk run, cold start (fresh data folder)", bot),
        ("microdesk run, restart (database at the head)", again),
    ]:
        seconds = t.p50 / 1000
        rows.append(
            Row(section, label, f"{seconds:.2f} s (max {max(t.ms) / 1000:.2f})",
                f"≤ {START_S:g} s",
                f"{seconds / START_S:.2f}× target, {t.p50 / floor.p50:.1f}× floor",
                verdict(seconds <= START_S))
        )  # fmt: skip
    return rows


def knowledge_rows(k: object) -> list[Row]:
    from bench.knowledge_rows import Knowledge

    assert isinstance(k, Knowledge)
    section = "Knowledge"
    share = k.ingest_per_s / k.raw_per_s
    rows = [
        Row(section, f"raw embedder ({k.ingest_chunks} chunks of ~1,000 chars)",
            f"{k.raw_per_s:.1f} chunks/s"),
        Row(section, "ingest_dir, same texts as Markdown files", f"{k.ingest_per_s:.1f} chunks/s",
            f"≥ {INGEST_SHARE:.0%} of raw", f"{share:.0%}", verdict(share >= INGEST_SHARE)),
    ]  # fmt: skip
    for size, (p50, p95) in k.query.items():
        rows.append(Row(section, f"top-5 search at {size:,} chunks, p50 / p95",
                        f"{fmt_ms(p50)} / {fmt_ms(p95)} ms"))  # fmt: skip
    rows.append(
        Row(section, "RSS, fresh process: 10k index opened + 1 query", f"{k.rss_mb} MB",
            f"≤ {RSS_MB} MB", f"{k.rss_mb / RSS_MB:.2f}×", verdict(k.rss_mb <= RSS_MB))
    )  # fmt: skip
    for label, value, target, ok in k.recall:
        rows.append(Row(section, f"{label} ({k.eval_note})", f"{value:.3f}", target, "",
                        verdict(ok) if ok is not None else ""))  # fmt: skip
    if k.ask_s:
        worst = max(k.ask_s)
        rows.append(
            Row(section, f"`microdesk ask`, fresh process, prepared index (n={len(k.ask_s)})",
                f"{sorted(k.ask_s)[len(k.ask_s) // 2]:.2f} s (max {worst:.2f})",
                f"≤ {ASK_CLI_S:g} s", f"{worst / ASK_CLI_S:.2f}×", verdict(worst <= ASK_CLI_S))
        )  # fmt: skip
    return rows


def knowledge_module() -> Any:
    """bench.knowledge_rows, or None when the knowledge bench scripts it reuses are absent."""
    try:
        from bench import knowledge_rows
    except ImportError:
        return None
    return knowledge_rows


def print_table(rows: list[Row], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name, justify in [
        ("metric", "left"), ("value", "right"), ("target", "left"), ("ratio", "right"),
        ("", "center"),
    ]:  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    section = None
    for row in rows:
        if row.section != section:
            if section is not None:
                table.add_section()
            table.add_row(f"[bold]{row.section}[/bold]", "", "", "", "")
            section = row.section
        style = "red" if row.verdict not in ("pass", INFO) else None
        table.add_row(f"  {row.metric}", row.value, row.target, row.ratio, row.verdict,
                      style=style)  # fmt: skip
    Console(width=140).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    parser.add_argument("--no-knowledge", action="store_true", help="skip the knowledge rows")
    parser.add_argument("--no-calendar", action="store_true", help="skip the calendar rows")
    parser.add_argument("--save", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--only", choices=["dates", "share"], help="run only this section")
    args = parser.parse_args(argv)
    if args.only == "dates":
        from bench import dates_eval

        print_table(dates_eval.rows(), "microdesk benchmarks (dates only)")
        return 0
    if args.only == "share":
        from bench import share

        print_table(share.rows(share.run()), "microdesk benchmarks (document share only)")
        return 0
    quick = args.quick
    rounds, burst, bursts = (30, 100, 1) if quick else (200, 500, 3)
    started = time.perf_counter()
    console = Console(stderr=True)
    rows: list[Row] = []

    know = kr = corpus = None
    if not args.no_knowledge:
        kr = knowledge_module()
        if kr is None:
            console.print("[red]bench/bench_knowledge.py or eval_retrieval.py is missing: "
                          "no /ask and no knowledge rows[/red]")  # fmt: skip
    if kr is not None:
        console.print("knowledge corpus: embedding real texts …")
        embedder, texts, vectors = kr.corpus(10_000 if quick else 50_000, base=32 if quick else 100)
        corpus = (texts[:10_000], vectors[:10_000])
    console.print("round trips and bursts …")
    trips = asyncio.run(
        roundtrip.run(
            rounds=rounds, warmup=10, burst=burst, bursts=bursts, tasks=1_000, corpus=corpus
        )
    )
    console.print("slow disk: reminders and updates with 50 ms per durable commit …")
    slow = asyncio.run(slowdisk.run(rounds=3 if quick else 10))
    console.print("10,000 tasks: briefing and reminder sweep …")
    big = scale.run(10_000, 5 if quick else 25)
    console.print("contractors: the sweep over 10,000 tasks …")
    crew = team.run(10_000, repeat=5 if quick else 25)
    console.print("cold starts …")
    start_floor, starts, restarts = asyncio.run(startup.run(2 if quick else 5))
    if kr is not None:
        console.print("knowledge: embedder vs ingest, search at 1k / 10k / 50k, RSS, recall …")
        know = kr.run(
            embedder, texts, vectors,
            ingest_chunks=16 if quick else 64,
            sizes=(1_000, 10_000) if quick else (1_000, 10_000, 50_000),
            rounds=30 if quick else 200,
            distractors=20 if quick else 100,
        )  # fmt: skip
    rows += roundtrip_rows(trips)
    rows += burst_rows(trips, burst)
    rows += slowdisk_rows(slow)
    rows += scale_rows(big)
    rows += team_rows(crew)
    rows += start_rows(start_floor, starts, restarts)
    from bench import dates_eval

    rows += dates_eval.rows()
    from bench import share

    console.print("document share: 1,000 files on WebDAV, 10 changed …")
    rows += share.rows(share.run())
    if know is not None:
        rows += knowledge_rows(know)
    if not args.no_calendar:
        console.print("calendar sync against Radicale: first sync, quiet rounds …")
        from bench import calendar_rows

        rows += calendar_rows.rows(calendar_rows.run(200 if quick else 1_000))
    minutes = (time.perf_counter() - started) / 60
    print_table(rows, f"microdesk benchmarks ({'quick, ' if quick else ''}{minutes:.1f} min)")
    if args.save:
        args.save.write_text(json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
