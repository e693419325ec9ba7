"""The owner's first hour, timed: a fresh clone → `./scripts/start setup` → `./scripts/start` →
the first `/add` answered in Telegram (the fake Bot API stands in for it). No file is edited by
hand: setup's answers are typed into its terminal, and the owner's code is sent from the fake.

    .venv/bin/python -m bench.first_hour [--repo PATH]

Not part of the table (it installs a whole venv: minutes, and heavy on a shared machine).
The AI step probes a closed port, so no model server on this machine is asked anything.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.fakes.botapi import FakeBotAPI
from tests.terminal_driver import TerminalDriver

OWNER = 424242
TOKEN = "4242:first-hour-token-for-the-fake-api"  # shaped like no real token
TARGET_SECONDS = 180.0


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


async def first_hour(repo: Path, work: Path) -> dict[str, float]:
    marks: dict[str, float] = {}
    started = time.monotonic()
    clone = work / "microdesk"
    cloning = ["git", "clone", "--quiet", str(repo), str(clone)]
    await asyncio.to_thread(subprocess.run, cloning, check=True)
    async with FakeBotAPI(token=TOKEN) as api:
        env = {"TELEGRAM_API_BASE_URL": api.base_url}
        start = [str(clone / "scripts" / "start")]
        setup = TerminalDriver(clone, "setup", "--probe", closed_port_url(), env=env, command=start)
        try:
            await setup.expect("Bot token: ", within=900)
            marks["installed"] = time.monotonic() - started
            setup.type(TOKEN)
            code = (await setup.expect(r"\n    (\d{3} \d{3})\n")).group(1)
            api.send_message(code, user_id=OWNER, first_name="Olga")
            await setup.expect(r"Time zone \[")
            for _ in range(4):  # zone, country, briefing, AI: the suggestions as they are
                setup.type("")
            await setup.expect("Next: ./scripts/start", within=120)
            assert await setup.exit_code() == 0
        finally:
            setup.kill()
        marks["set up"] = time.monotonic() - started
        bot = TerminalDriver(clone, env=env, command=start)
        try:
            await api.wait_for(lambda: api.calls_to("getUpdates"), timeout=120)
            api.send_message("/add Call the accountant friday 10am", user_id=OWNER)
            answer = await api.wait_for_message(OWNER, contains="Added", timeout=60)
            assert re.search(r"Call the accountant", answer["text"])
            marks["first /add answered"] = time.monotonic() - started
        finally:
            bot.kill()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="microdesk-first-hour-") as work:
        marks = asyncio.run(first_hour(args.repo, Path(work)))
    for what, seconds in marks.items():
        print(f"{what:>22}: {seconds:6.1f} s")
    total = marks["first /add answered"]
    verdict = "pass" if total <= TARGET_SECONDS else "MISS"
    target = f"target {TARGET_SECONDS:.0f} s"
    print(f"fresh clone to a first /add answered: {total:.1f} s ({target}) {verdict}")


if __name__ == "__main__":
    main()
