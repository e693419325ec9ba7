"""The deployment files start the real console script, keep data in one place, expose no port
(except webhook mode's, through compose.webhook.yaml).

Docker cannot run here, so these read the files: compose.yaml with yaml, the Dockerfile's
instructions, the systemd unit with configparser, against pyproject.toml and the CLI parser.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path

import yaml

from bot.__main__ import _parser
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def console_script() -> str:
    """The one console script pyproject installs, checked to point at the CLI's entry."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [(name, target)] = scripts.items()
    assert target == "bot.__main__:cli"
    return str(name)


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_runs_the_console_script_as_a_user_with_data_in_a_volume() -> None:
    steps = dockerfile()
    [base] = [args for op, args in steps if op == "FROM"]
    assert base == "python:3.11-slim"
    [cmd] = [json.loads(args) for op, args in steps if op == "CMD"]
    assert cmd == [console_script(), "run"]
    _parser().parse_args(cmd[1:])  # a verb the CLI knows
    [user] = [args for op, args in steps if op == "USER"]
    assert user not in ("root", "0")
    assert [json.loads(args) for op, args in steps if op == "VOLUME"] == [["/data"]]
    env = " ".join(args for op, args in steps if op == "ENV")
    assert "DATA_DIR=/data" in env
    assert "pip install ." in " ".join(args for op, args in steps if op == "RUN")
    assert not [args for op, args in steps if op == "EXPOSE"]  # compose.webhook.yaml publishes


def test_the_image_gets_everything_pip_install_needs_and_no_secret() -> None:
    copied = {src for op, args in dockerfile() if op == "COPY" for src in args.split()[:-1]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"], "bot"}
    for patterns in project["tool"]["setuptools"].get("data-files", {}).values():
        needed |= {p.split("/", 1)[0] for p in patterns}
    assert needed <= {c.rstrip("/").removeprefix("./") for c in copied}
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "data/", ".venv/", ".git/"} <= set(ignored)


def test_compose_keeps_data_in_a_volume_and_publishes_no_port() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    [service] = compose["services"].values()
    assert service["build"] == "." and "ports" not in service
    assert service["environment"]["DATA_DIR"] == "/data"
    volume, target = service["volumes"][0].split(":")[:2]
    assert target == "/data" and volume in compose["volumes"]
    assert service["env_file"] == ".env"
    assert service.get("command") is None  # the image's CMD: microdesk run
    assert "compose.webhook.yaml" in (ROOT / "compose.yaml").read_text()


def test_the_webhook_override_publishes_only_webhook_port_on_loopback() -> None:
    base = yaml.safe_load((ROOT / "compose.yaml").read_text())
    override = yaml.safe_load((ROOT / "compose.webhook.yaml").read_text())
    assert override["services"].keys() == base["services"].keys()
    [service] = override["services"].values()
    assert service.keys() == {"ports"}
    [mapping] = service["ports"]
    port = "${WEBHOOK_PORT:-8443}"  # the bot's setting (.env), default as in SPEC
    assert mapping == f"127.0.0.1:{port}:{port}"
    assert str(Settings.model_fields["WEBHOOK_PORT"].default) in port


def test_the_systemd_unit_starts_the_venv_console_script_hardened() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "microdesk.service")
    service = unit["Service"]
    home = service["WorkingDirectory"]
    assert service["ExecStart"] == f"{home}/.venv/bin/{console_script()} run"
    assert service["User"] != "root" and service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"].split() == [f"{home}/data"]  # DATA_DIR=./data in its .env
    assert unit["Install"]["WantedBy"] == "multi-user.target"
