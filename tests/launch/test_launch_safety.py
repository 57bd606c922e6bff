"""Safe defaults: no remote model code unless asked, no web server beyond loopback without a login, no
secret printed by --dry-run, resolved chat/api configs in a folder only this user can use."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import launch
from contract.paths import RECIPE_DIR, REPO_ROOT
from launch import private_dir as private_dir_module
from launch.cli import main
from launch.errors import LaunchError
from launch.masking import MASK, is_secret_name
from launch.private_dir import private_dir
from launch.webserve import AuthError, check_access, parse_auth
from tests.launch.conftest import base_environ

QWEN_RECIPES = sorted(RECIPE_DIR.glob("qwen2_5_0_5b_*.yaml"))


@pytest.mark.parametrize("path", QWEN_RECIPES, ids=lambda p: p.stem)
def test_recipes_run_no_remote_code(path):
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["trust_remote_code"] is False


def test_trust_remote_code_is_an_explicit_opt_in():
    plain = launch.build("chat", "base", [], environ=base_environ())
    assert plain.config["trust_remote_code"] is False
    assert not any("trust_remote_code" in note for note in plain.notes)
    opted = launch.build("chat", "base", ["trust_remote_code=true"], environ=base_environ())
    assert opted.config["trust_remote_code"] is True
    assert any(note.startswith("trust_remote_code is on: Python code shipped with the model will run")
               for note in opted.notes)


# --- web UI / web chat login -------------------------------------------------------------------------------

def test_web_servers_beyond_loopback_need_a_login():
    for command, target in (("webui", None), ("webchat", "base")):
        with pytest.raises(LaunchError, match=f"Refusing to serve the {command} on 0.0.0.0 without a login"):
            launch.build(command, target, [], environ=base_environ(HOST="0.0.0.0"))
        with pytest.raises(LaunchError, match="gradio.live"):  # a share link is public whatever the host
            launch.build(command, target, [], environ=base_environ(GRADIO_SHARE="1"))
        open_plan = launch.build(command, target, [], environ=base_environ(HOST="0.0.0.0", WEBUI_AUTH="ann:pw:1"))
        assert open_plan.env["WEBUI_AUTH"] == "ann:pw:1" and open_plan.env["GRADIO_SERVER_NAME"] == "0.0.0.0"
        loopback = launch.build(command, target, [], environ=base_environ(HOST="::1"))
        assert "WEBUI_AUTH" not in loopback.env
    with pytest.raises(LaunchError, match="WEBUI_AUTH must be user:password"):
        launch.build("webui", None, [], environ=base_environ(HOST="0.0.0.0", WEBUI_AUTH="no-colon"))


@given(user=st.text(min_size=1).filter(lambda u: ":" not in u and u.strip() == u),
       password=st.text(min_size=1).filter(lambda p: p.strip() == p))
def test_parse_auth_splits_at_the_first_colon(user, password):
    assert parse_auth(f"{user}:{password}") == (user, password)


@pytest.mark.parametrize("text", [":pw", "ann:", "ann", ":"])
def test_parse_auth_rejects_half_credentials(text):
    with pytest.raises(AuthError):
        parse_auth(text)


@pytest.mark.parametrize(("host", "share", "needs_login"), [
    ("127.0.0.1", False, False), ("localhost", False, False), ("::1", False, False), ("[::1]", False, False),
    ("127.0.0.1", True, True), ("0.0.0.0", False, True), ("[::]", False, True), ("192.168.1.5", False, True),
    ("myhost.example", False, True)])
def test_check_access(host, share, needs_login):
    check_access("webui", host, ("u", "p"), share)  # a login always suffices
    if needs_login:
        with pytest.raises(AuthError):
            check_access("webui", host, None, share)
    else:
        check_access("webui", host, None, share)


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_webserve_itself_refuses_an_open_server():
    """The wrapper applies the rule too, for anyone who runs it directly (LLaMA-Factory's default host: 0.0.0.0)."""
    env = {k: v for k, v in base_environ().items() if k not in ("GRADIO_SERVER_NAME", "WEBUI_AUTH")}
    result = subprocess.run([sys.executable, "-m", "launch.webserve", "webui"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Refusing to serve the webui on 0.0.0.0 without a login" in result.stderr


# --- secrets in --dry-run ----------------------------------------------------------------------------------

SECRET = st.text(alphabet="abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=10, max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(api_key=SECRET, password=SECRET, token=SECRET)
def test_dry_run_masks_every_secret(api_key, password, token, capsys, monkeypatch):
    mark = "Q9x"  # starts every secret; appears nowhere else in the output, so any leak, even a prefix, shows
    monkeypatch.setenv("API_KEY", f"{mark}{api_key}")
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert main(["api", "base", f"hf_hub_token={mark}{token}", f"ms_hub_token={mark}{token}", "--dry-run"]) == 0
    monkeypatch.setenv("WEBUI_AUTH", f"ann:{mark}{password}")
    assert main(["webchat", "base", f"om_hub_token={mark}{token}", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert mark not in printed
    assert f"API_KEY={MASK}" in printed and f"WEBUI_AUTH=ann:{MASK}" in printed
    for key in ("hf_hub_token", "ms_hub_token", "om_hub_token"):
        assert f"{key}: '{MASK}'" in printed


@pytest.mark.parametrize(("name", "secret"), [
    ("API_KEY", True), ("HF_TOKEN", True), ("HUGGING_FACE_HUB_TOKEN", True), ("MODELSCOPE_API_TOKEN", True),
    ("WANDB_API_KEY", True), ("WEBUI_AUTH", True), ("hf_hub_token", True), ("om_hub_token", True),
    ("API_PORT", False), ("TOKENIZERS_PARALLELISM", False), ("MASTER_PORT", False), ("API_MODEL_NAME", False),
    ("FORCE_TORCHRUN", False), ("GRADIO_SERVER_NAME", False), ("max_new_tokens", False)])
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


# --- the private config folder -----------------------------------------------------------------------------

def test_chat_configs_go_to_a_private_per_user_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(private_dir_module.tempfile, "gettempdir", lambda: str(tmp_path))
    plan = launch.build("api", "base", [], environ=base_environ())
    folder = tmp_path / f"medsft-launch-{os.getuid()}"
    assert plan.config_path.parent == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.getuid()
    launch.plan.write_config(plan)
    assert yaml.safe_load(plan.config_path.read_text()) == plan.config


def test_private_dir_refuses_what_is_not_safely_ours(tmp_path, monkeypatch):
    path = private_dir(base=tmp_path)
    assert private_dir(base=tmp_path) == path  # existing and ours: reused
    path.chmod(0o755)
    with pytest.raises(LaunchError, match=r"is open to other users \(mode 755\)"):
        private_dir(base=tmp_path)
    path.chmod(0o700)
    monkeypatch.setattr(private_dir_module.os, "getuid", lambda: os.stat(path).st_uid + 1)
    with pytest.raises(LaunchError, match="belongs to uid"):  # someone else's folder, seen from another uid
        private_dir(base=tmp_path)
    monkeypatch.undo()
    path.rmdir()
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    Path(path).symlink_to(target)
    with pytest.raises(LaunchError, match="is not a directory"):
        private_dir(base=tmp_path)


def test_private_dir_refuses_another_users_folder(tmp_path):
    if os.getuid() != 0:
        pytest.skip("chown to another user needs root")
    path = tmp_path / f"medsft-launch-{os.getuid()}"
    path.mkdir(mode=0o700)
    os.chown(path, 65534, 65534)  # nobody
    with pytest.raises(LaunchError, match="belongs to uid 65534"):
        private_dir(base=tmp_path)
