"""AI model servers on this machine: found on their usual ports, their models, a test answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from bot.setup.telegram import SetupError

PROBE_TIMEOUT = 1.5
ANSWER_TIMEOUT = 120.0  # a local server may load the model from disk first


@dataclass(frozen=True)
class Server:
    name: str
    base_url: str  # OpenAI-compatible root, ending in /v1


USUAL_SERVERS = (
    Server("Ollama", "http://127.0.0.1:11434/v1"),
    Server("llama.cpp", "http://127.0.0.1:8080/v1"),
    Server("LM Studio", "http://127.0.0.1:1234/v1"),
)


@dataclass(frozen=True)
class Found:
    server: Server
    models: tuple[str, ...]


def probe(servers: Sequence[Server], transport: httpx.BaseTransport | None = None) -> list[Found]:
    """The servers that answer GET /models like an OpenAI-compatible API, with their models."""
    found = []
    with httpx.Client(timeout=PROBE_TIMEOUT, transport=transport) as http:
        for server in servers:
            models = _models(http, server.base_url)
            if models is not None:
                found.append(Found(server, models))
    return found


def _models(http: httpx.Client, base_url: str) -> tuple[str, ...] | None:
    try:
        response = http.get(f"{base_url}/models")
        data = response.json()["data"] if response.status_code == 200 else None
        return tuple(sorted(str(item["id"]) for item in data)) if data is not None else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def try_model(
    base_url: str,
    model: str,
    api_key: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> float:
    """Seconds the model took to answer a one-word question; SetupError when it does not."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Reply with the single word OK."}],
        "max_tokens": 8,
    }
    started = time.monotonic()
    try:
        with httpx.Client(timeout=ANSWER_TIMEOUT, transport=transport) as http:
            response = http.post(f"{base_url}/chat/completions", json=body, headers=headers)
    except httpx.HTTPError:
        raise SetupError(f"{model} did not answer: is the server still running?") from None
    if response.status_code in (401, 403):
        raise SetupError("the server refused the API key: check it and try again")
    try:
        response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise SetupError(
            f"{model} did not answer (HTTP {response.status_code}): pick another model, or "
            "check the server's log"
        ) from None
    return time.monotonic() - started
