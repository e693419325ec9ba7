"""The terminal chat: same commands, same buttons (numbered), same data as the bot."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from bot.app import Services
from bot.console.chat import ConsoleChat
from bot.db.outbox import NOTICE
from bot.services.delivery.outbox import Outgoing


async def chat(services: Services, typed: list[str], *, width: int = 120) -> str:
    """Run the terminal chat over `typed` lines (then end of input); what it printed."""
    lines = iter(typed)

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    console = Console(file=out, width=width)
    await ConsoleChat(services, console=console, read=read, tick_seconds=60).run()
    return out.getvalue()


async def test_the_terminal_speaks_the_same_commands(services: Services) -> None:
    text = await chat(
        services, ["/add File VAT return every quarter due Jan 31", "/tasks", "1", "/delete 1"]
    )
    assert "Added: #1 File VAT return — Sun 31 Jan 2027 · every quarter" in text
    assert "‹1› ✓ #1 File VAT return" in text and "‹2› ⏰ Snooze" in text
    # "1" pressed the Done button of the task listed by /tasks
    assert "✓ Done: File VAT return. Next due: Fri 30 Apr 2027." in text
    assert "Delete #1 File VAT return? This can't be undone." in text
    assert services.tasks.get(1).due_at is not None  # not deleted without the confirmation
    assert "<b>" not in text


def run_cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "OWNER", "OPENAI"))}
    env.update(DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def test_with_no_token_the_cli_opens_the_terminal_chat(tmp_path: Path) -> None:
    done = run_cli(tmp_path, stdin="/add Renew licence in 2 weeks\n/tasks\n")
    assert done.returncode == 0, done.stderr
    assert "terminal chat" in done.stdout
    assert "Renew licence" in done.stdout
    assert (tmp_path / "data" / "microdesk.db").exists()


def test_run_refuses_to_start_without_token_or_owner(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "run")
    assert done.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in done.stdout


def test_a_bad_setting_stops_the_start_with_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Mars/Olympus\n")
    done = run_cli(tmp_path, "chat")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("microdesk: Bad setting TIMEZONE: unknown IANA time zone 'Mars/Olympus'")


async def test_the_terminal_pages_a_long_task_list_with_numbered_buttons(
    services: Services,
) -> None:
    for n in range(18):
        services.tasks.add(f"Job {n:02d} in 3 days")
    # 15 tasks × (Done, Snooze) are buttons 1-30; "More ▸" is 31, then "◂ Back" is 7 on page 2
    text = await chat(services, ["/tasks", "31", "7"], width=400)
    first, second, again = text.split("18 open tasks")[1:]
    assert first.startswith(" — the next 15 by due date") and "‹31› More ▸" in first
    assert "#15 Job 14" in first and "#16 Job 15" not in first
    assert second.startswith(" — 16 to 18 by due date") and "#16 Job 15" in second
    assert "‹7› ◂ Back" in second and "More ▸" not in second
    assert again.startswith(" — the next 15 by due date")


async def test_button_rows_never_break_inside_a_label(services: Services) -> None:
    services.tasks.add("Prepare the quarterly VAT return for the accountant friday")
    text = await chat(services, ["/tasks"], width=40)
    lines = text.splitlines()
    assert "‹1› ✓ #1 Prepare the quart…" in lines  # a label is never cut across two lines
    assert "‹2› ⏰ Snooze" in lines


async def test_the_briefing_due_at_start_comes_before_the_first_prompt(services: Services) -> None:
    printed_before_prompt: list[str] = []
    out = io.StringIO()

    def read(prompt: str) -> str:
        printed_before_prompt.append(out.getvalue())
        raise EOFError

    console = Console(file=out, width=100)
    await ConsoleChat(services, console=console, read=read, tick_seconds=60).run()
    assert "Briefing for Wed 25 Nov" in printed_before_prompt[0]


def test_ctrl_d_leaves_the_shell_on_a_new_line(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "chat", stdin="")
    assert done.returncode == 0 and done.stdout.endswith("you › \n")


async def test_tasks_all_adds_what_was_done(services: Services) -> None:
    services.tasks.add("Renew licence friday")
    done = services.tasks.add("Send invoice tomorrow")
    services.tasks.complete(done.id)
    text = await chat(services, ["/tasks", "/tasks all"])
    plain, everything = text.split("1 open task")[1:]
    assert "Send invoice" not in plain and "Done" not in plain
    assert "Renew licence" in everything and "Send invoice" in everything


async def test_autodraft_and_settings_agree(services: Services) -> None:
    text = await chat(services, ["/autodraft off", "/settings", "/autodraft on", "/settings"])
    off, on = text.split("Drafting replies to clients is")[1:]
    assert off.startswith(" off") and "Drafting replies to clients: off" in off
    assert on.startswith(" on") and "Drafting replies to clients: on, but AI is off" in on


async def test_an_error_in_one_tick_does_not_stop_the_next(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """The terminal runs the same supervised loop as Telegram: logged, and the next tick runs."""
    calls: list[int] = []
    ticked_again = threading.Event()

    async def flaky_job() -> int:
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            raise RuntimeError("the first tick's job broke")
        ticked_again.set()
        return int(services.outbox.put(Outgoing(f"test:{len(calls)}", NOTICE, "still ticking")))

    def read(prompt: str) -> str:
        ticked_again.wait(timeout=10)  # the owner types nothing until the next tick has run
        raise EOFError

    out = io.StringIO()
    chat = ConsoleChat(services, console=Console(file=out, width=120), read=read, tick_seconds=0.01)
    chat.conversation.jobs.append(flaky_job)
    await chat.run()
    assert len(calls) >= 2
    assert "still ticking" in out.getvalue()
    assert "scheduled send failed" in caplog.text and "the first tick's job broke" in caplog.text
