"""What can go wrong with the LLM, each as one sentence fit for the owner.

    MicrodeskError                       (bot.errors)
    ├── SettingsError
    │   └── PromptError                  a prompt file is missing or its variables are wrong
    └── ServiceUnavailableError
        ├── LLMDisabled                  no endpoint configured
        ├── LLMTimeout                   the endpoint did not answer in time
        ├── LLMUnavailable               down, rate-limited, refusing the key or the request
        ├── LLMBadResponse               a body that is not a chat completion
        │   └── InvalidModelOutput       a completion whose result breaks the schema
        └── BudgetExceeded               this month's token budget is used up

Details for the log travel in ``detail`` (never the API key, never message bodies).
"""

from __future__ import annotations

from bot.errors import ServiceUnavailableError, SettingsError


class PromptError(SettingsError):
    """A prompt template cannot be used; raised when prompts are loaded at start."""


class LLMError(ServiceUnavailableError):
    """Base of the LLM failures; ``str(exc)`` is the owner-facing sentence."""

    default = "The AI endpoint failed; nothing was changed."

    def __init__(
        self, message: str | None = None, *, detail: str = "", status: int | None = None
    ) -> None:
        super().__init__(message or self.default)
        self.detail = detail
        self.status = status  # the endpoint's HTTP status, when it answered with an error


class LLMDisabled(LLMError):
    default = "AI features are off: set OPENAI_API_KEY or OPENAI_BASE_URL to turn them on."


class LLMTimeout(LLMError):
    default = "The AI endpoint didn't answer in time; nothing was changed."


class LLMUnavailable(LLMError):
    default = "The AI endpoint is unavailable right now; nothing was changed."


class LLMBadResponse(LLMError):
    default = "The AI endpoint sent an answer that could not be read; nothing was changed."


class InvalidModelOutput(LLMBadResponse):
    default = "The AI's answer did not match the expected format; nothing was changed."


class BudgetExceeded(LLMError):
    """Raised before a call when the month's tokens are used up."""

    def __init__(self, budget: int, used: int) -> None:
        super().__init__(
            f"This month's AI budget of {budget:,} tokens is used up ({used:,} used); "
            "raise LLM_MONTHLY_TOKEN_BUDGET or wait for next month.",
            detail=f"used={used} budget={budget}",
        )
        self.budget = budget
        self.used = used
