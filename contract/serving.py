"""The bounds a served model puts on one request (the OpenAI-style API and the web chat share them).

A request's text is measured in characters before anything tokenizes it (tokenizing a 2,000,000-character
message alone held a CPU for minutes), then in tokens against the model's context; the number of new tokens
is validated and capped; a request has a deadline. Each bound is set by an environment variable."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_INPUT_CHARS_VAR = "SERVE_MAX_INPUT_CHARS"
MAX_NEW_TOKENS_VAR = "SERVE_MAX_NEW_TOKENS"
TIMEOUT_VAR = "SERVE_TIMEOUT"
LIMIT_VARS = (MAX_INPUT_CHARS_VAR, MAX_NEW_TOKENS_VAR, TIMEOUT_VAR)

DEFAULT_MAX_INPUT_CHARS = 32_000  # all the messages of one request; a long clinical note is a few thousand
DEFAULT_MAX_NEW_TOKENS = 1024  # the chat recipes' max_new_tokens
DEFAULT_TIMEOUT_S = 120.0


class LimitError(ValueError):
    """A bound's environment variable is malformed (the message is one sentence naming it)."""


@dataclass(frozen=True)
class ServeLimits:
    max_input_chars: int = DEFAULT_MAX_INPUT_CHARS
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    timeout_s: float = DEFAULT_TIMEOUT_S
    context: int | None = None  # the model's max positions (contract.models.max_positions), when known

    def check_chars(self, n_chars: int) -> str | None:
        """A sentence when `n_chars` characters of message text are more than one request may send."""
        if n_chars > self.max_input_chars:
            return (f"The messages are {n_chars:,} characters; this server accepts at most "
                    f"{self.max_input_chars:,} per request ({MAX_INPUT_CHARS_VAR}).")
        return None

    def check_max_tokens(self, value: object) -> tuple[int | None, str | None]:
        """(the number of new tokens asked for, or None when absent; a sentence when it is not a whole number
        from 1 to max_new_tokens). JSON's 100.0 counts as 100; true/false, text and fractions do not."""
        if value is None:
            return None, None
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"max_tokens must be a whole number from 1 to {self.max_new_tokens}, not {_show(value)}."
        if not 1 <= value <= self.max_new_tokens:
            return None, (f"max_tokens must be from 1 to {self.max_new_tokens} on this server "
                          f"({MAX_NEW_TOKENS_VAR}), not {value}.")
        return value, None

    def check_tokens(self, prompt_tokens: int, new_tokens: int) -> str | None:
        """A sentence when the prompt plus the new tokens do not fit the model's context."""
        if self.context is not None and prompt_tokens + new_tokens > self.context:
            return (f"The prompt is {prompt_tokens:,} tokens and up to {new_tokens:,} new tokens were asked for: "
                    f"more than the model's context of {self.context:,} tokens; send a shorter conversation "
                    "or a smaller max_tokens.")
        return None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read(environ: Mapping[str, str], name: str, default, kind, low, high):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not (low <= value <= high) or (kind is float and not math.isfinite(value)):
        unit = "a whole number" if kind is int else "a number of seconds"
        raise LimitError(f"{name}={raw!r} must be {unit} from {low:,} to {high:,} (unset: {default:g}).")
    return value


def serve_limits(environ: Mapping[str, str] | None = None, context: int | None = None) -> ServeLimits:
    """The bounds set by SERVE_MAX_INPUT_CHARS, SERVE_MAX_NEW_TOKENS and SERVE_TIMEOUT in `environ` (default
    os.environ), for a model whose context is `context` tokens. LimitError when a variable is malformed."""
    environ = os.environ if environ is None else environ
    return ServeLimits(
        max_input_chars=_read(environ, MAX_INPUT_CHARS_VAR, DEFAULT_MAX_INPUT_CHARS, int, 1, 10_000_000),
        max_new_tokens=_read(environ, MAX_NEW_TOKENS_VAR, DEFAULT_MAX_NEW_TOKENS, int, 1, 1_000_000),
        timeout_s=_read(environ, TIMEOUT_VAR, DEFAULT_TIMEOUT_S, float, 1, 86_400),
        context=context,
    )
