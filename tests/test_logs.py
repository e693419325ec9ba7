"""Every log line has the configured secrets (and token-shaped strings) redacted."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACTED, RedactingFilter, setup_logging


def test_secrets_in_messages_args_and_tracebacks_are_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(["4242:sekrit-token", "sk-local-key"])
    log = logging.getLogger("test.redaction")
    log.warning("POST https://api.telegram.org/bot%s/getMe", "4242:sekrit-token")
    try:
        raise RuntimeError("auth failed for sk-local-key")
    except RuntimeError:
        log.exception("call failed")
    logging.getLogger("httpx").warning("url 1234567:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    err = capsys.readouterr().err
    assert "sekrit" not in err and "sk-local-key" not in err and "AAAAAAAAAA" not in err
    assert err.count(REDACTED) >= 3
    assert "RuntimeError" in err  # the traceback itself is kept


def test_short_strings_are_not_treated_as_secrets() -> None:
    assert RedactingFilter(["ab"]).redact("about abc") == "about abc"
