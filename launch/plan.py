"""build(): recipe + overrides + profile -> the exact llamafactory-cli command, environment and config.
run(): write the resolved YAML next to the outputs and run it (subprocess, or in this process for tests)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import LaunchError
from .paths import BASE_MODEL_NAME, LOCAL_BASE_MODEL, REPO_ROOT
from .recipes import COMMANDS, parse_overrides, resolve_config, select_recipe

RESOLVED_NAME = "launch_config.yaml"
# Variables the Makefile exports even when unset (as empty strings); LLaMA-Factory would read "" as a value
# (int("") for NNODES), so empty ones are removed from the child's environment.
PASSTHROUGH = ("NPROC_PER_NODE", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "USE_MODELSCOPE_HUB",
               "API_KEY", "MODEL", "HOST", "PORT", "CUDA_VISIBLE_DEVICES")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
DEFAULT_HOST = "127.0.0.1"
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

    def env_for_child(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not (k in PASSTHROUGH and not v.strip())}
        env.update(self.env)
        return env

    def describe(self) -> str:
        lines = [f"# {self.command}" + (f" ({self.recipe.name})" if self.recipe else "")]
        lines += [f"# {note}" for note in self.notes]
        lines += [f"{k}={v}" for k, v in sorted(self.env.items())]
        lines.append(" ".join(self.argv))
        if self.config:
            lines.append(f"# {self.config_path}:")
            lines.append(yaml.safe_dump(self.config, allow_unicode=True, sort_keys=False).rstrip())
        return "\n".join(lines)


def llamafactory_cli() -> str:
    local = Path(sys.executable).with_name("llamafactory-cli")
    return str(local) if local.exists() else (shutil.which("llamafactory-cli") or "llamafactory-cli")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    return env


def _run_env(command: str, config: dict[str, Any], target: str | None, environ: dict[str, str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for key in PASSTHROUGH:
        if key in ("HOST", "PORT", "API_KEY", "MODEL"):
            continue  # translated below / already applied to the config
        if environ.get(key, "").strip():
            env[key] = environ[key].strip()
    model = str(config.get("model_name_or_path") or "")
    if model and Path(model).is_dir():
        env.update(OFFLINE)  # local model: never wait on a hub
    if command == "train" and config.get("deepspeed"):
        env["FORCE_TORCHRUN"] = "1"  # LLaMA-Factory only starts DeepSpeed under torchrun
    if command in ("api", "webchat", "webui", "chat"):
        env.update(_server_env(command, target, environ))
    return env


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
    if command == "webui":
        if recipe_or_method:
            raise LaunchError("webui takes no recipe: pick model, data and checkpoints in the browser.")
        env = _run_env(command, {}, None, environ)
        return Plan(command, None, None, profile, {}, [cli, "webui"], env, None, None)

    recipe, target = select_recipe(command, recipe_or_method)
    config, notes = resolve_config(command, recipe, target, extra, profile, environ)
    env = _run_env(command, config, target, environ)
    out_key = {"train": "output_dir", "predict": "output_dir", "export": "export_dir"}.get(command)
    output_dir = Path(config[out_key]) if out_key and config.get(out_key) else None
    if output_dir is not None:
        config_path = output_dir / RESOLVED_NAME
    else:  # chat/api/webchat have no output dir: a temp file named by content (repeats reuse it, no clutter)
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
        config_path = Path(tempfile.gettempdir()) / "medsft-launch" / f"{command}_{recipe.stem}_{digest}.yaml"
    # LLaMA-Factory has no `predict` command: prediction is `train` with do_predict in the config
    argv = [cli, "train" if command == "predict" else command, str(config_path)]
    return Plan(command, recipe, target, profile, config, argv, env, config_path, output_dir, notes=notes)


def write_config(plan: Plan) -> None:
    """Atomically write the resolved config where the command will read it."""
    if plan.config_path is None:
        return
    write_yaml_atomic(plan.config_path, plan.config, sort_keys=False)


def write_yaml_atomic(path: Path, data: dict, **dump_options) -> None:
    """Write YAML to a temp file beside `path` and rename it into place; no half-written file on error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, allow_unicode=True, **dump_options)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def seed_webui_config(plan: Plan) -> Path | None:
    """First `make webui` only: preselect our model in LLaMA-Factory's web UI (its per-directory user config),
    so the checkpoint list shows saves/Qwen2.5-0.5B-Instruct/<type>/ runs with no clicks. Never overwrites."""
    path = plan.cwd / "llamaboard_cache" / "user_config.yaml"
    if path.exists():
        return None
    hub = "modelscope" if plan.env.get("USE_MODELSCOPE_HUB") in ("1", "true", "True") else "huggingface"
    local = LOCAL_BASE_MODEL if (LOCAL_BASE_MODEL / "config.json").is_file() else None
    config = {"lang": None, "hub_name": hub, "last_model": BASE_MODEL_NAME,
              "path_dict": {BASE_MODEL_NAME: str(local)} if local else {}, "cache_dir": None}
    write_yaml_atomic(path, config)
    return path


def run(plan: Plan, in_process: bool = False, replace_process: bool = False) -> int:
    """Run the plan; returns the exit code.

    in_process=True runs LLaMA-Factory's run_exp/export_model in this Python process (train/predict/export
    only; exceptions propagate, 0 on success) with the plan's environment applied for the duration.
    replace_process=True execs llamafactory-cli in place of this process (the CLI does this, so a server's
    PID is the launcher's PID and signals reach it directly); it does not return.
    """
    write_config(plan)
    if plan.command == "webui":
        seed_webui_config(plan)
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
