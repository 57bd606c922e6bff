"""Fixtures for the launcher tests: a clean environment, the prepared data, servers stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import OFFLINE_ENV, REPO_ROOT

# What the Makefile may export; a test must not inherit a developer's MODEL=/HOST=/NNODES=...
LAUNCH_VARS = ("MODEL", "HOST", "PORT", "API_KEY", "API_HOST", "API_PORT", "API_MODEL_NAME", "NPROC_PER_NODE",
               "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "FORCE_TORCHRUN", "USE_MODELSCOPE_HUB",
               "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "SERVE_MAX_INPUT_CHARS", "SERVE_MAX_NEW_TOKENS", "SERVE_TIMEOUT")


@pytest.fixture(autouse=True)
def clean_launch_env(monkeypatch):
    for key in LAUNCH_VARS:
        monkeypatch.delenv(key, raising=False)


def base_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def data_dir(prepared_data) -> Path:
    """The prepared data (data_prep registers med_* and med_pt)."""
    return prepared_data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "launch", *args]


def http(method: str, url: str, body: dict | None = None, key: str | None = None, timeout: float = 60):
    """(status, parsed JSON or text) for one loopback request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as err:
        text, status = err.read().decode("utf-8", "replace"), err.code
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


class Server:
    """A launcher server in its own process group, so stopping it by PID also stops its children."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.handle = open(log, "wb")
        self.proc = subprocess.Popen(launch_cmd(*args), env=env, cwd=REPO_ROOT, stdout=self.handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until(self, probe, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if probe():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"server not up after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM to the whole group, SIGKILL for what is left after 20 s; returns the server's exit code."""
        if group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (self.proc.poll() is None or group_alive(self.proc.pid)):
            time.sleep(0.2)
        if group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)
        self.handle.close()
        return self.proc.returncode


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def llamafactory_launch(monkeypatch, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict]:
    """Run LLaMA-Factory's own launcher on a plan's argv and environment with its subprocess stubbed:
    (the command it would start, the environment it would give it)."""
    from llamafactory import launcher

    seen = {}

    class Done:
        returncode = 0

    def fake_run(cmd, env=None, check=False):
        seen["cmd"], seen["env"] = cmd, env
        return Done()

    monkeypatch.setattr(launcher.subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "argv", ["llamafactory-cli", *argv[1:]])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit):
        launcher.launch()
    return seen["cmd"], seen["env"]
