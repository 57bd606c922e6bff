"""build(): recipe + overrides + profile -> the exact llamafactory-cli command, environment and config.
run(): write the resolved YAML next to the outputs and run it (subprocess, or in this process for tests)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contract.env import HUB_OFFLINE, env_flag, verbose
from contract.files import write_yaml
from contract.models import BASE_MODEL_NAME, LOCAL_BASE_MODEL, TINY_MODEL, TINY_MODEL_NAME
from contract.paths import LAUNCH_CONFIG, REPO_ROOT, repo_relative
from contract.serving import LIMIT_VARS, LimitError, serve_limits

from .commands import COMMANDS
from .distributed import TORCHRUN_VARS, interpreter_bin, torchrun_env
from .errors import LaunchError
from .masking import mask_value, masked_mapping
from .overrides import parse_overrides
from .private_dir import private_dir
from .profiles import TINY
from .resolve import resolve_config
from .targets import select_recipe
from .webserve import (
    DEFAULT_HOST,
    DEFAULT_LANG,
    LANG_VAR,
    AuthError,
    LangError,
    check_access,
    is_loopback,
    parse_auth,
    parse_lang,
)

# Variables the Makefile exports even when unset (as empty strings); LLaMA-Factory would read "" as a value
# (int("") for NNODES), so empty ones are removed from the child's environment.
PASSTHROUGH = (*TORCHRUN_VARS, "FORCE_TORCHRUN", "USE_MODELSCOPE_HUB", "API_KEY", "WEBUI_AUTH", "MODEL", "HOST", "PORT",
               "CUDA_VISIBLE_DEVICES", *LIMIT_VARS)
DEFAULT_API_PORT = "8000"


@dataclass
class Plan:
    """Everything needed to run one launcher command; `argv` runs with `env_for_child()` in `cwd`."""

    command: str
    recipe: Path | None
    target: str | None
    profile: str | None
    config: dict[str, Any]
    argv: list[str]
    env: dict[str, str]  # variables the launcher sets or passes through (shown by --dry-run)
    config_path: Path | None  # where the resolved YAML is written at run time
    output_dir: Path | None
    cwd: Path = REPO_ROOT
    notes: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))  # what build() was given

    def env_for_child(self) -> dict[str, str]:
        """The environment the command runs in: the one the plan was built from (minus the Makefile's empty
        exports), plus the launcher's variables."""
        env = {k: v for k, v in self.environ.items() if not (k in PASSTHROUGH and not v.strip())}
        env.update(self.env)
        return env

    def env_lines(self) -> list[str]:
        """The launcher's variables as NAME=value, secrets masked, PATH shown as <what we put first>:$PATH."""
        lines, first = [], str(interpreter_bin())
        for key, value in sorted(self.env.items()):
            if key == "PATH" and value.startswith(first + os.pathsep):
                value = f"{first}{os.pathsep}$PATH"
            lines.append(f"{key}={mask_value(key, value)}")
        return lines

    def describe(self) -> str:
        """What --dry-run prints: notes, environment, command and config, with every secret masked."""
        lines = [f"# {self.command}" + (f" ({self.recipe.name})" if self.recipe else "")]
        lines += [f"# {note}" for note in self.notes]
        lines += self.env_lines()
        lines.append(" ".join(self.argv))
        if self.config:
            lines.append(f"# {self.config_path}:")
            lines.append(yaml.safe_dump(masked_mapping(self.config), allow_unicode=True, sort_keys=False).rstrip())
        return "\n".join(lines)


def llamafactory_cli() -> str:
    local = Path(sys.executable).with_name("llamafactory-cli")
    return str(local) if local.exists() else (shutil.which("llamafactory-cli") or "llamafactory-cli")


def _server_env(command: str, target: str | None, environ: dict[str, str]) -> dict[str, str]:
    host = environ.get("HOST", "").strip() or DEFAULT_HOST
    port = environ.get("PORT", "").strip()
    env = {"GRADIO_ANALYTICS_ENABLED": "False"}
    if command == "api":
        if not is_loopback(host) and not environ.get("API_KEY", "").strip():
            raise LaunchError(f"Refusing to serve the API on {host} without API_KEY: anyone on the network could "
                              "use it. Set API_KEY=<secret> (clients send 'Authorization: Bearer <secret>'), "
                              f"or keep the default HOST={DEFAULT_HOST}.")
        env.update(API_HOST=host, API_PORT=port or DEFAULT_API_PORT)
        env["API_MODEL_NAME"] = environ.get("API_MODEL_NAME", "").strip() or f"medsft-{target or 'custom'}"
        if environ.get("API_KEY", "").strip():
            env["API_KEY"] = environ["API_KEY"].strip()
    else:
        env["GRADIO_SERVER_NAME"] = host
        if port:
            env["GRADIO_SERVER_PORT"] = port
    if command in ("api", "webchat"):
        try:  # the request limits the server reads (contract.serving): a malformed one stops us here
            serve_limits(environ)
        except LimitError as exc:
            raise LaunchError(str(exc)) from exc
    if command in ("webui", "webchat"):
        try:
            auth = parse_auth(environ.get("WEBUI_AUTH"))
            check_access(command, host, auth, env_flag("GRADIO_SHARE", environ))
            parse_lang(environ.get(LANG_VAR))
        except (AuthError, LangError) as exc:
            raise LaunchError(str(exc)) from exc
        if auth:
            env["WEBUI_AUTH"] = environ["WEBUI_AUTH"].strip()
    return env


def quiet_env(environ: dict[str, str]) -> dict[str, str]:
    """Unless VERBOSE=1: LLaMA-Factory's and transformers' INFO lines (the model config, every file loaded) and
    deprecation notices stay out of the user's log; warnings that need action and the loss/progress lines stay."""
    if verbose(environ):
        return {}
    return {"LLAMAFACTORY_VERBOSITY": "WARN", "TRANSFORMERS_VERBOSITY": "error",
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning"}


def _run_env(command: str, config: dict[str, Any], target: str | None,
             environ: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    if environ.get("USE_MODELSCOPE_HUB", "").strip():
        env["USE_MODELSCOPE_HUB"] = environ["USE_MODELSCOPE_HUB"].strip()
    if environ.get("CUDA_VISIBLE_DEVICES", "").strip():
        env["CUDA_VISIBLE_DEVICES"] = environ["CUDA_VISIBLE_DEVICES"].strip()
    model = str(config.get("model_name_or_path") or "")
    if model and Path(model).is_dir():
        env.update(HUB_OFFLINE)  # local model: never wait on a hub
    distributed, notes = torchrun_env(command, config, environ)  # train/predict: torchrun, PATH
    env.update(distributed)
    env.update(quiet_env(environ))
    if command in ("api", "webchat", "webui", "chat"):
        env.update(_server_env(command, target, environ))
    return env, notes


def build(
    command: str,
    recipe_or_method: str | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    profile: str | None = None,
    environ: dict[str, str] | None = None,
) -> Plan:
    """Resolve a launcher command into a Plan (nothing is written or run).

    `recipe_or_method`: a method (train: full|lora|qlora|freeze|dora|pt), a run target (chat/api/webchat/
    predict: base|<method>|<method>-merged; export: lora|qlora|dora|pt) or a recipe name/path.
    `overrides`: ["key=value", ...] or a dict, applied after the recipe and profile.
    `environ`: defaults to os.environ (MODEL, HOST, PORT, API_KEY, NPROC_PER_NODE, ... are read from it).
    """
    if command not in COMMANDS:
        raise LaunchError(f"Unknown command '{command}'. Commands: {', '.join(COMMANDS)}, model.")
    environ = dict(os.environ if environ is None else environ)
    extra = overrides if isinstance(overrides, dict) else parse_overrides(list(overrides or []))
    cli = llamafactory_cli()
    web = [sys.executable, "-m", "launch.webserve"]  # LLaMA-Factory's web servers, plus a login (WEBUI_AUTH)
    if command == "webui":
        if recipe_or_method:
            raise LaunchError("webui takes no recipe: pick model, data and checkpoints in the browser.")
        env, _ = _run_env(command, {}, None, environ)
        return Plan(command, None, None, profile, {}, [*web, "webui"], env, None, None, environ=environ)

    recipe, target = select_recipe(command, recipe_or_method)
    config, notes = resolve_config(command, recipe, target, extra, profile, environ)
    env, run_notes = _run_env(command, config, target, environ)
    notes += run_notes
    if config.get("trust_remote_code"):  # off in every recipe: an explicit opt-in
        notes.append("trust_remote_code is on: Python code shipped with the model will run; use it only for a "
                     "model you trust that needs it")
    out_key = {"train": "output_dir", "predict": "output_dir", "export": "export_dir"}.get(command)
    output_dir = Path(config[out_key]) if out_key and config.get(out_key) else None
    if output_dir is not None:
        config_path = output_dir / LAUNCH_CONFIG
    else:  # chat/api/webchat have no output dir: a file named by content (repeats reuse it, no clutter) in a
        # folder only this user can read or write, since the launcher runs whatever config it finds there
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
        config_path = private_dir() / f"{command}_{recipe.stem}_{digest}.yaml"
    # LLaMA-Factory has no `predict` command: prediction is `train` with do_predict in the config
    if command == "webchat":
        argv = [*web, command, str(config_path)]
    elif command == "api":  # LLaMA-Factory's API behind request limits (contract.serving)
        argv = [sys.executable, "-m", "launch.apiserve", str(config_path)]
    else:
        argv = [cli, "train" if command == "predict" else command, str(config_path)]
    return Plan(command, recipe, target, profile, config, argv, env, config_path, output_dir, notes=notes,
                environ=environ)


def write_config(plan: Plan) -> None:
    """Atomically write the resolved config where the command will read it, headed by comments that record
    how it was launched (the notes - world size among them - and the launcher's variables, secrets masked)."""
    if plan.config_path is None:
        return
    header = [f"launched by: python -m launch {plan.command}" + (f" ({plan.recipe.name})" if plan.recipe else "")]
    header += plan.notes + plan.env_lines()
    write_yaml(plan.config_path, plan.config, header=header, sort_keys=False)


def seed_webui_config(plan: Plan) -> Path | None:
    """Preselect our model in LLaMA-Factory's web UI (its per-directory user config), so its checkpoint list shows
    saves/<model>/<type>/ runs with no clicks: Qwen2.5-0.5B-Instruct on the first `make webui` only (a user's later
    choice is kept); the tiny model whenever PROFILE=tiny asks for it (other settings in the file are kept).
    The language: WEBUI_LANG when set, else the one last picked in the browser, else Chinese. (launch.webserve
    registers the tiny model's name with LLaMA-Factory, whose dropdown refuses names it does not know.)"""
    path = plan.cwd / "llamaboard_cache" / "user_config.yaml"
    tiny = plan.profile == TINY
    lang = parse_lang(plan.environ.get(LANG_VAR))
    if path.exists() and not tiny and lang is None:
        return None
    config = {"lang": None, "hub_name": None, "last_model": None, "path_dict": {}, "cache_dir": None}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        config.update(loaded if isinstance(loaded, dict) else {})
    hub = "modelscope" if env_flag("USE_MODELSCOPE_HUB", plan.env) else "huggingface"
    config["hub_name"] = config.get("hub_name") or hub
    config["lang"] = lang or config.get("lang") or DEFAULT_LANG
    if not isinstance(config.get("path_dict"), dict):
        config["path_dict"] = {}
    if tiny:
        name, local = TINY_MODEL_NAME, TINY_MODEL
    elif config.get("last_model"):  # a user config was there and only WEBUI_LANG asked for a change
        name, local = config["last_model"], None
    else:
        name, local = BASE_MODEL_NAME, LOCAL_BASE_MODEL if (LOCAL_BASE_MODEL / "config.json").is_file() else None
    config["last_model"] = name
    if local is not None:
        config["path_dict"][name] = _webui_path(local, plan.cwd)
    write_yaml(path, config)
    return path


def _webui_path(model: Path, cwd: Path) -> str:
    """How the web UI's model path box shows a local model: models/<name> when that resolves where the UI runs
    (the repo root, for make webui), else the absolute path."""
    relative = repo_relative(model)
    return relative if (cwd / relative / "config.json").is_file() else str(model)


def run(plan: Plan, in_process: bool = False, replace_process: bool = False) -> int:
    """Run the plan; returns the exit code.

    in_process=True runs LLaMA-Factory's run_exp/export_model in this Python process (train/predict/export
    only; exceptions propagate, 0 on success) with the plan's environment applied for the duration.
    replace_process=True execs llamafactory-cli in place of this process (the CLI does this, so a server's
    PID is the launcher's PID and signals reach it directly); it does not return. A train run instead stays this
    process's child (supervise.py): Ctrl-C stops its whole process tree and ends with a sentence on resuming.
    """
    write_config(plan)
    if plan.command == "webui":
        seed_webui_config(plan)
    if replace_process and not in_process and plan.command == "train":
        from .supervise import run_training

        return run_training(plan)
    if replace_process and not in_process:
        os.chdir(plan.cwd)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execve(plan.argv[0], plan.argv, plan.env_for_child())
        except FileNotFoundError as exc:
            raise LaunchError(f"{plan.argv[0]} not found: install medsft's dependencies (make setup) "
                              "or activate the environment that has llamafactory.") from exc
    if not in_process:
        import subprocess

        return subprocess.run(plan.argv, env=plan.env_for_child(), cwd=plan.cwd).returncode
    if plan.command not in ("train", "predict", "export"):
        raise LaunchError(f"'{plan.command}' is a server/interactive command: run it as a subprocess.")
    if env_flag("FORCE_TORCHRUN", plan.env):
        raise LaunchError("This plan runs under torchrun (several processes or DeepSpeed): run it as a "
                          "subprocess (in_process=False), not inside this Python process.")
    saved = {k: os.environ.get(k) for k in plan.env}
    os.environ.update(plan.env)
    try:
        if plan.command == "export":
            from llamafactory.train.tuner import export_model

            export_model(dict(plan.config))
        else:
            from llamafactory.train.tuner import run_exp

            run_exp(dict(plan.config))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return 0
