"""The OpenAI-style API and the web UI, started through the launcher on 127.0.0.1 and a free port,
queried over loopback only, and stopped by their process group id."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from contract.paths import REPO_ROOT
from tests.launch.conftest import Server, base_environ, free_port, group_alive, http, launch_cmd, port_closed

pytestmark = pytest.mark.slow


def test_api_answers_and_checks_the_key(tmp_path):
    port = free_port()
    env = base_environ(PORT=str(port), API_KEY="s3cret")
    server = Server(["api", "base", "--profile", "tiny"], env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: http("GET", f"{base}/v1/models", key="s3cret", timeout=5)[0] == 200)
        status, models = http("GET", f"{base}/v1/models", key="s3cret")
        assert status == 200 and models["data"][0]["id"] == "medsft-base"
        assert http("GET", f"{base}/v1/models", key="wrong")[0] == 401
        assert http("GET", f"{base}/v1/models")[0] == 401
        body = {"model": "medsft-base", "max_tokens": 8,
                "messages": [{"role": "user", "content": "主题:头痛\n内容:我头痛两天了怎么办"}]}
        assert http("POST", f"{base}/v1/chat/completions", body, key="wrong")[0] == 401
        status, reply = http("POST", f"{base}/v1/chat/completions", body, key="s3cret", timeout=120)
        assert status == 200, reply
        assert reply["choices"][0]["message"]["role"] == "assistant"
        assert reply["usage"]["completion_tokens"] >= 1
    finally:
        server.stop()
    assert not group_alive(server.proc.pid) and port_closed(port)
    assert "Uvicorn running on http://127.0.0.1:" in server.log.read_text()  # bound to loopback only


def test_api_beyond_loopback_without_key_is_refused(tmp_path):
    result = subprocess.run(launch_cmd("api", "--profile", "tiny"), env=base_environ(HOST="0.0.0.0"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Refusing to serve the API on 0.0.0.0 without API_KEY" in result.stderr


def test_webui_answers_on_loopback(tmp_path):
    seeded = REPO_ROOT / "llamaboard_cache" / "user_config.yaml"
    created = not seeded.exists()
    port = free_port()
    env = base_environ(PORT=str(port), BROWSER="true")  # LLaMA-Factory asks to open a browser; make that a no-op
    server = Server(["webui"], env, tmp_path / "webui.log")
    try:
        server.wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/", timeout=5)[0] == 200, timeout=180)
        status, page = http("GET", f"http://127.0.0.1:{port}/")
        assert status == 200 and "gradio" in str(page).lower()
    finally:
        server.stop()
    assert not group_alive(server.proc.pid) and port_closed(port)
    if created:  # first start on this checkout: our model is preselected, so the UI lists saves/<model>/ runs
        assert yaml.safe_load(seeded.read_text())["last_model"] == "Qwen2.5-0.5B-Instruct"
        shutil.rmtree(seeded.parent)


def _login(base: str, user: str, password: str):
    """(status, opener holding the session cookie) for gradio's /login form."""
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        with opener.open(urllib.request.Request(f"{base}/login", data=form, method="POST"), timeout=30) as reply:
            return reply.status, opener
    except urllib.error.HTTPError as err:
        return err.code, opener


def test_webchat_with_a_login_refuses_strangers(tmp_path):
    """WEBUI_AUTH puts gradio's login in front of the web chat (served through launch.webserve)."""
    port = free_port()
    env = base_environ(PORT=str(port), WEBUI_AUTH="ann:pw-s3cret", BROWSER="true")
    server = Server(["webchat", "base", "--profile", "tiny"], env, tmp_path / "webchat.log")
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: http("GET", f"{base}/", timeout=5)[0] == 200, timeout=180)
        assert http("GET", f"{base}/config")[0] == 401  # the app itself needs a session
        assert http("GET", f"{base}/gradio_api/info")[0] == 401
        assert _login(base, "ann", "wrong")[0] == 400
        assert _login(base, "bob", "pw-s3cret")[0] == 400
        status, opener = _login(base, "ann", "pw-s3cret")
        assert status == 200
        with opener.open(f"{base}/config", timeout=30) as reply:
            assert reply.status == 200 and "components" in reply.read().decode()
    finally:
        server.stop()
    assert not group_alive(server.proc.pid) and port_closed(port)
    assert "Running on local URL:  http://127.0.0.1:" in server.log.read_text()


def test_webchat_beyond_loopback_without_login_is_refused():
    result = subprocess.run(launch_cmd("webchat", "--profile", "tiny"), env=base_environ(HOST="0.0.0.0"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Refusing to serve the webchat on 0.0.0.0 without a login" in result.stderr
