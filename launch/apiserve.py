"""python -m launch.apiserve <config.yaml>: LLaMA-Factory's OpenAI-style API behind request limits.

LLaMA-Factory 0.9.5 (llamafactory.api.app.run_api) serves whatever a request asks for: a 2,000,000-character
message held the CPU for minutes while it was tokenized, max_tokens 1e9 held the server for a minute and -5
was a 500. This does what run_api does - ChatModel(), create_app(), uvicorn.run() - with the app wrapped in
RequestLimits (an ASGI layer, contract.serving's bounds) and generation given transformers' max_time:

- the body of a chat request is read up to a byte cap (413 beyond), its message text counted in characters
  (413 beyond SERVE_MAX_INPUT_CHARS) before anything tokenizes it, then in tokens against the model's context;
- max_tokens, n, temperature, top_p and presence_penalty are checked (400 with a sentence, never a 500) and
  max_tokens capped at SERVE_MAX_NEW_TOKENS;
- a request that has no answer after SERVE_TIMEOUT seconds gets a 504, and generation itself stops then;
- beyond loopback, /docs, /redoc and /openapi.json need the API key like every other route.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import os
import sys
from collections.abc import Callable

from contract.models import max_positions
from contract.serving import LimitError, ServeLimits, serve_limits

from .webserve import is_loopback

CHAT_PATH = "/v1/chat/completions"
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")  # FastAPI's defaults
MAX_CHOICES = 4  # n: each choice is a whole generation
BODY_SLACK = 64 * 1024  # JSON keys, roles, settings around the messages' text
# A body over the cap is read and dropped up to this size, so the client reads the 413 instead of a reset
# connection (a server that closes with unread data resets it); beyond it the connection is just closed.
DRAIN_LIMIT = 64 * 1024 * 1024
DEADLINE_SHARE = 0.9  # generation stops at this share of SERVE_TIMEOUT: a long answer comes back cut, not a 504


def _texts(value) -> list[str]:
    """Every string inside `value`, walked without recursion: a deeply nested body must not overflow the stack."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _prompt_texts(body: dict) -> list[str]:
    """The text that becomes the prompt: each message's content (a string, or the text of its parts), its tool
    calls, and the tool descriptions; not the roles, part types or settings."""
    messages = body.get("messages")
    found = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            found += [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        else:
            found += _texts(content)
        found += _texts(message.get("tool_calls"))
    return found + _texts(body.get("tools"))


def _media_parts(messages) -> str:
    """The non-text part types in `messages` (OpenAI's content lists), comma-separated; "" when none."""
    kinds = {part.get("type") for m in (messages if isinstance(messages, list) else [])
             if isinstance(m, dict) and isinstance(m.get("content"), list)
             for part in m["content"] if isinstance(part, dict)}
    return ", ".join(sorted(str(k) for k in kinds - {"text"}))


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def check_settings(body: dict, limits: ServeLimits) -> str | None:
    """A sentence for the first generation setting a model could not run with (LLaMA-Factory turns those into
    a 500 from transformers), or None."""
    _, problem = limits.check_max_tokens(body.get("max_tokens"))
    if problem:
        return problem
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CHOICES:
        return f"n must be a whole number from 1 to {MAX_CHOICES}, not {n!r:.40}."
    checks = (("temperature", 0.0, 2.0, "from 0 to 2"), ("top_p", 0.0, 1.0, "above 0 and at most 1"),
              # LLaMA-Factory passes presence_penalty to transformers as repetition_penalty (1 = none)
              ("presence_penalty", 0.0, 2.0, "above 0 and at most 2 (it is used as repetition_penalty; 1 = none)"))
    for name, low, high, says in checks:
        if body.get(name) is None:
            continue
        value = _number(body[name])
        if value is None or value > high or value < low or (value == low and name != "temperature"):
            return f"{name} must be a number {says}, not {body[name]!r:.40}."
    return None


class RequestLimits:
    """ASGI app around LLaMA-Factory's: bounds on chat requests, a deadline, the key on the doc pages."""

    def __init__(self, app, limits: ServeLimits, count_tokens: Callable[[list[str]], int] | None = None,
                 default_new_tokens: int | None = None, api_key: str | None = None, docs_need_key: bool = False,
                 text_only: bool = True):
        self.app, self.limits, self.count_tokens = app, limits, count_tokens
        self.default_new_tokens = min(default_new_tokens or limits.max_new_tokens, limits.max_new_tokens)
        self.api_key, self.docs_need_key = api_key or None, docs_need_key and bool(api_key)
        self.text_only = text_only
        # every character may be a 6-byte JSON escape (\\uXXXX); anything longer cannot pass the character cap
        self.max_body = limits.max_input_chars * 6 + BODY_SLACK

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: LLaMA-Factory's app starts and stops as it would alone
            await self.app(scope, receive, send)
            return
        path = scope["path"][len(scope.get("root_path", "")):] if scope.get("root_path") else scope["path"]
        if self.docs_need_key and path in DOC_PATHS and not self._authorized(scope):
            await _reply(send, 401, "Invalid API key.")  # LLaMA-Factory's own wording for the other routes
            return
        if path != CHAT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.api_key and not self._authorized(scope):  # before reading a body nobody may send
            await _reply(send, 401, "Invalid API key.")
            return
        body, status, problem = await self._read_body(scope, receive)
        if problem is None:
            status, problem = self._check(body)
        if problem is not None:
            await _reply(send, status, problem)
            return
        await self._answer(scope, _replay(body, receive), send)

    def _authorized(self, scope) -> bool:
        header = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.api_key.encode())

    async def _read_body(self, scope, receive) -> tuple[bytes, int, str | None]:
        too_big = (413, f"The request body is more than {self.max_body:,} bytes; this server accepts at most "
                        f"{self.limits.max_input_chars:,} characters of messages per request (SERVE_MAX_INPUT_CHARS).")
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            if int(length) <= DRAIN_LIMIT:  # never parsed; read off so the client gets the answer
                await _drain(receive, DRAIN_LIMIT)
            return b"", *too_big
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", 400, "The client went away before the request body was complete."
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_body:
                if more:
                    await _drain(receive, DRAIN_LIMIT - size)
                return b"", *too_big
            chunks.append(chunk)
            if not more:
                return b"".join(chunks), 200, None

    def _check(self, raw: bytes) -> tuple[int, str | None]:
        try:
            body = json.loads(raw)
        except RecursionError:
            return 400, "The request body nests too deeply to be read."
        except ValueError:
            return 200, None  # not JSON: LLaMA-Factory's own validation answers it (422)
        if not isinstance(body, dict):
            return 200, None
        texts = _prompt_texts(body)
        problem = self.limits.check_chars(sum(map(len, texts)))
        if problem:
            return 413, problem
        problem = check_settings(body, self.limits)
        if problem:
            return 400, problem
        if self.text_only and _media_parts(body.get("messages")):
            # LLaMA-Factory would fetch an image_url (any size) before finding the model cannot see it
            return 400, f"This server's model reads text only: message parts of type {_media_parts(body['messages'])} are not accepted."
        if self.count_tokens is not None and self.limits.context is not None:
            new_tokens = self.limits.check_max_tokens(body.get("max_tokens"))[0] or self.default_new_tokens
            # the messages' own tokens: the chat template adds a few dozen more, not counted here
            problem = self.limits.check_tokens(self.count_tokens(texts), new_tokens)
            if problem:
                return 400, problem
        return 200, None

    async def _answer(self, scope, receive, send) -> None:
        started = False

        async def tracking(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking), self.limits.timeout_s)
        except asyncio.TimeoutError:
            if not started:  # a streamed answer already under way just ends
                await _reply(send, 504, f"No answer within {self.limits.timeout_s:g} s (SERVE_TIMEOUT); the "
                                        "server may be busy with other requests: try again, or ask for fewer tokens.")


async def _drain(receive, budget: int) -> None:
    while budget > 0:
        message = await receive()
        budget -= len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _replay(body: bytes, receive):
    """A receive() that hands LLaMA-Factory's app the body already read, then the client's disconnect."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def limited_app(chat_model, limits: ServeLimits, environ=None):
    """LLaMA-Factory's app for `chat_model`, wrapped in RequestLimits; the HF engine's generation stops at the
    deadline (transformers' max_time) and never makes more than the cap by default."""
    from llamafactory.api.app import create_app

    environ = os.environ if environ is None else environ
    engine = chat_model.engine
    generating = getattr(engine, "generating_args", None)
    default_new = None
    if isinstance(generating, dict) and getattr(engine, "name", None) == "huggingface":
        # transformers' MaxTimeCriteria: the answer so far comes back (finish_reason "length") before the
        # deadline; it also ends a generation whose client already got the 504 after waiting in the queue
        generating["max_time"] = limits.timeout_s * DEADLINE_SHARE
        default_new = generating.get("max_new_tokens")
        if not default_new or default_new > limits.max_new_tokens:
            generating["max_new_tokens"] = limits.max_new_tokens
            generating.pop("max_length", None)
    tokenizer = getattr(engine, "tokenizer", None)
    config = getattr(getattr(engine, "model", None), "config", None)
    context = max_positions(config.to_dict()) if hasattr(config, "to_dict") else None
    limits = ServeLimits(limits.max_input_chars, limits.max_new_tokens, limits.timeout_s, context)

    def count_tokens(texts: list[str]) -> int:
        return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0

    host = environ.get("API_HOST", "0.0.0.0")
    return RequestLimits(create_app(chat_model), limits, count_tokens if tokenizer is not None else None,
                         default_new, environ.get("API_KEY"), docs_need_key=not is_loopback(host),
                         text_only=getattr(engine, "processor", None) is None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m launch.apiserve <config.yaml>", file=sys.stderr)
        return 2
    try:
        limits = serve_limits()
    except LimitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.argv = [sys.argv[0], *argv]  # LLaMA-Factory reads its config from sys.argv[1]
    import uvicorn
    from llamafactory.chat import ChatModel

    app = limited_app(ChatModel(), limits)
    host, port = os.getenv("API_HOST", "0.0.0.0"), int(os.getenv("API_PORT", "8000"))
    print(f"Visit http://localhost:{port}/docs for API document. Limits: {limits.max_input_chars:,} characters "
          f"of messages, max_tokens up to {limits.max_new_tokens}, {limits.timeout_s:g} s per request.")
    uvicorn.run(app, host=host, port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
