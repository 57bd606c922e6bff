"""The API's request limits (launch/apiserve.py, contract/serving.py): absurd requests are refused with a 4xx
and a sentence before they cost anything, a slow one meets its deadline, and the server keeps answering.

The fast tests drive the ASGI layer with a stand-in for LLaMA-Factory's app; the slow one starts the real
server on the tiny model through the launcher."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

import launch
from contract.serving import LimitError, ServeLimits, serve_limits
from launch import LaunchError
from launch.apiserve import RequestLimits, check_settings
from tests.launch.conftest import Server, base_environ, free_port, http

# --- the ASGI layer, with a stand-in app ----------------------------------------------------------------------


class Downstream:
    """Stands in for LLaMA-Factory's app: records the bodies it got, answers 200 (after `delay` seconds)."""

    def __init__(self, delay: float = 0.0):
        self.bodies: list[bytes] = []
        self.delay = delay

    async def __call__(self, scope, receive, send):
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


def call(app, path: str = "/v1/chat/completions", body: dict | bytes | None = None, key: str | None = None,
         method: str = "POST", chunk: int = 1 << 16, content_length: bool = True) -> tuple[int, dict]:
    """(status, JSON) of one request through `app`, the body sent in chunks as a server would."""
    raw = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    headers = [(b"content-type", b"application/json")]
    if content_length:
        headers.append((b"content-length", str(len(raw)).encode()))
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    pieces = [raw[i:i + chunk] for i in range(0, len(raw), chunk)] or [b""]
    sent = []

    async def receive():
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload) if payload else {}


def chat(text: str = "我头痛两天了怎么办", **settings) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **settings}


LIMITS = ServeLimits(max_input_chars=1000, max_new_tokens=64, timeout_s=5.0, context=256)


def test_a_message_over_the_character_cap_is_refused_before_anything_reads_it():
    app = Downstream()
    counted = []
    limits = RequestLimits(app, LIMITS, count_tokens=lambda texts: counted.append(texts) or 0)
    started = time.perf_counter()
    status, reply = call(limits, body=chat("头" * 2_000_000))  # over the byte cap: refused from Content-Length
    assert status == 413 and "at most 1,000 characters" in reply["detail"]
    status, reply = call(limits, body=chat("头" * 2_000_000), content_length=False)  # chunked: stops reading
    assert status == 413
    status, reply = call(limits, body=chat("头" * 1001))  # within the byte cap, over the character cap
    assert status == 413 and "1,001 characters" in reply["detail"] and "SERVE_MAX_INPUT_CHARS" in reply["detail"]
    assert time.perf_counter() - started < 2.0
    assert app.bodies == [] and counted == []  # nothing tokenized, nothing reached LLaMA-Factory
    assert call(limits, body=chat("头" * 1000))[0] == 200 and len(app.bodies) == 1


@pytest.mark.parametrize("value", [1e9, 1_000_000_000, -5, 0, "abc", "64", 2.5, True,
                                   [8], {"n": 8}, 65])
def test_bad_max_tokens_is_a_400_with_a_sentence(value):
    app = Downstream()
    status, reply = call(RequestLimits(app, LIMITS), body=chat(max_tokens=value))
    assert status == 400 and reply["detail"].startswith("max_tokens must be") and reply["detail"].endswith(".")
    assert app.bodies == []


@pytest.mark.parametrize(("settings", "ok"), [
    ({"max_tokens": 64}, True), ({"max_tokens": 8.0}, True), ({"max_tokens": None}, True),
    ({"temperature": 0}, True), ({"temperature": -1}, False), ({"temperature": 2.5}, False),
    ({"temperature": "hot"}, False), ({"top_p": 0}, False), ({"top_p": 1}, True), ({"top_p": 1.5}, False),
    ({"presence_penalty": 0}, False), ({"presence_penalty": 1.1}, True), ({"n": 1000}, False), ({"n": 2}, True),
    ({"n": 0}, False), ({"n": "2"}, False)])
def test_generation_settings_transformers_would_reject_are_refused(settings, ok):
    problem = check_settings(chat(**settings), LIMITS)
    assert (problem is None) is ok, problem
    app = Downstream()
    status, _ = call(RequestLimits(app, LIMITS), body=chat(**settings))
    assert status == (200 if ok else 400) and len(app.bodies) == int(ok)


def test_a_prompt_longer_than_the_context_is_refused_after_counting_bounded_text():
    app = Downstream()
    limits = RequestLimits(app, LIMITS, count_tokens=lambda texts: sum(len(t) for t in texts), default_new_tokens=32)
    status, reply = call(limits, body=chat("头" * 250, max_tokens=10))  # 250 + 10 > 256
    assert status == 400 and "context of 256 tokens" in reply["detail"]
    status, reply = call(limits, body=chat("头" * 230))  # no max_tokens: the default 32 counts
    assert status == 400 and "up to 32 new tokens" in reply["detail"]
    assert call(limits, body=chat("头" * 200))[0] == 200 and len(app.bodies) == 1


def test_media_parts_are_refused_for_a_text_model():
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "看图"}, {"type": "image_url", "image_url": {"url": "http://example.invalid/x.png"}}]}]}
    status, reply = call(RequestLimits(Downstream(), LIMITS), body=body)
    assert status == 400 and "image_url" in reply["detail"]
    assert call(RequestLimits(Downstream(), LIMITS, text_only=False), body=body)[0] == 200


def test_a_request_past_its_deadline_gets_a_504():
    app = Downstream(delay=30)
    limits = RequestLimits(app, ServeLimits(timeout_s=0.3))
    started = time.perf_counter()
    status, reply = call(limits, body=chat())
    assert status == 504 and "SERVE_TIMEOUT" in reply["detail"]
    assert time.perf_counter() - started < 2.0


def test_a_body_nested_too_deeply_is_a_400_not_a_crash():
    status, reply = call(RequestLimits(Downstream(), LIMITS), body=b"[" * 20_000 + b"]" * 20_000)
    assert status == 400 and "nests too deeply" in reply["detail"]


def test_the_key_comes_before_the_body_and_guards_the_docs_beyond_loopback():
    app = Downstream()
    guarded = RequestLimits(app, LIMITS, api_key="s3cret", docs_need_key=True)
    assert call(guarded, body=chat("头" * 2_000_000))[0] == 401  # no key: the body is never read
    assert call(guarded, body=chat(), key="wrong")[0] == 401
    assert call(guarded, body=chat(), key="s3cret")[0] == 200
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert call(guarded, path, method="GET")[0] == 401
        assert call(guarded, path, method="GET", key="s3cret")[0] == 200
    loopback = RequestLimits(app, LIMITS, api_key="s3cret", docs_need_key=False)
    assert call(loopback, "/docs", method="GET")[0] == 200  # on loopback the pages stay open


def test_the_bounds_come_from_the_environment_and_bad_values_are_a_sentence():
    limits = serve_limits({"SERVE_MAX_INPUT_CHARS": "5000", "SERVE_MAX_NEW_TOKENS": " 256 ", "SERVE_TIMEOUT": "30"})
    assert (limits.max_input_chars, limits.max_new_tokens, limits.timeout_s) == (5000, 256, 30.0)
    assert serve_limits({"SERVE_TIMEOUT": ""}) == ServeLimits()  # the Makefile exports unset ones as empty
    for name, value in [("SERVE_TIMEOUT", "abc"), ("SERVE_TIMEOUT", "0"), ("SERVE_TIMEOUT", "nan"),
                        ("SERVE_MAX_NEW_TOKENS", "-5"), ("SERVE_MAX_NEW_TOKENS", "1e9"), ("SERVE_MAX_INPUT_CHARS", "x")]:
        with pytest.raises(LimitError, match=name):
            serve_limits({name: value})
    with pytest.raises(LaunchError, match="SERVE_TIMEOUT='abc'"):
        launch.build("api", "base", [], environ=base_environ(SERVE_TIMEOUT="abc"))
    plan = launch.build("api", "base", [], environ=base_environ())
    assert plan.argv[1:3] == ["-m", "launch.apiserve"]  # LLaMA-Factory's API, behind the limits


# --- the real server ---------------------------------------------------------------------------------------------

PROMPT_BOUND_S = 10.0  # a normal 8-token answer on the tiny model takes about 0.2 s on 2 CPU cores


@pytest.mark.slow
def test_absurd_requests_are_refused_and_the_server_keeps_answering(tmp_path):
    port = free_port()
    env = base_environ(PORT=str(port), API_KEY="s3cret", SERVE_TIMEOUT="2")
    server = Server(["api", "base", "--profile", "tiny"], env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/chat/completions"
    try:
        server.wait_until(lambda: http("GET", f"{base}/v1/models", key="s3cret", timeout=5)[0] == 200)
        started = time.perf_counter()
        status, reply = http("POST", url, chat("头" * 2_000_000), key="s3cret", timeout=30)
        assert status == 413 and "SERVE_MAX_INPUT_CHARS" in reply["detail"]
        assert time.perf_counter() - started < 5.0  # refused, not tokenized (that held the CPU for minutes)
        for value in (1e9, -5, "abc"):
            status, reply = http("POST", url, chat(max_tokens=value), key="s3cret", timeout=30)
            assert status == 400 and reply["detail"].startswith("max_tokens must be"), (value, status, reply)
        status, reply = http("POST", url, chat("头" * 20_000, max_tokens=10), key="s3cret", timeout=30)
        assert status == 400 and "context of 4,096 tokens" in reply["detail"]  # the tiny model's context
        started = time.perf_counter()  # the most tokens allowed: cut at the deadline, not left running
        status, reply = http("POST", url, chat(max_tokens=1024), key="s3cret", timeout=30)
        assert status in (200, 504) and time.perf_counter() - started < 2 + 1.5, (status, reply)
        started = time.perf_counter()
        status, reply = http("POST", url, chat(max_tokens=8), key="s3cret", timeout=PROMPT_BOUND_S)
        elapsed = time.perf_counter() - started
        assert status == 200 and reply["usage"]["completion_tokens"] >= 1 and elapsed < PROMPT_BOUND_S
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and "500 Internal Server Error" not in log


def test_the_wrapped_app_guards_the_docs_beyond_loopback_and_bounds_generation():
    """limited_app around LLaMA-Factory's own create_app (a stand-in engine: no model is loaded)."""
    from types import SimpleNamespace

    from launch.apiserve import limited_app

    def engine():
        return SimpleNamespace(name="huggingface", can_generate=True, tokenizer=None, processor=None, model=None,
                               generating_args={"max_new_tokens": 4096, "max_length": 8192})

    limits = ServeLimits(max_new_tokens=512, timeout_s=10.0)
    public = limited_app(SimpleNamespace(engine=engine()), limits, {"API_HOST": "0.0.0.0", "API_KEY": "s3cret"})
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert call(public, path, method="GET")[0] == 401
    assert call(public, "/openapi.json", method="GET", key="s3cret")[0] == 200
    local_model = SimpleNamespace(engine=engine())
    local = limited_app(local_model, limits, {"API_HOST": "127.0.0.1", "API_KEY": "s3cret"})
    assert call(local, "/openapi.json", method="GET")[0] == 200  # loopback: the pages stay open
    # generation: never more than the cap by default, and stopped before the deadline
    assert local_model.engine.generating_args == {"max_new_tokens": 512, "max_time": 9.0}
    assert call(local, body=chat(max_tokens=513), key="s3cret")[0] == 400
