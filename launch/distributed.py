"""How many processes a train/predict run starts, and the environment that makes LLaMA-Factory's torchrun
path work from a venv that is not activated.

LLaMA-Factory (`llamafactory-cli train`) re-launches itself under `torchrun` when FORCE_TORCHRUN is set or
more than one GPU is visible; it finds torchrun by name on PATH and, without NPROC_PER_NODE, asks for one
process per GPU (0 on a CPU machine). So: asking for several processes or nodes implies torchrun, the process
count defaults to the GPUs visible (else 1), and this interpreter's bin dir goes first on the child's PATH."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.env import env_flag

from .errors import LaunchError

TORCHRUN_COMMANDS = ("train", "predict")  # both run `llamafactory-cli train`, the only command that uses torchrun
TORCHRUN_VARS = ("NPROC_PER_NODE", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT")


def visible_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def interpreter_bin() -> Path:
    """The folder of the running interpreter: a venv's bin/, which holds its torchrun and llamafactory-cli.
    Not resolved: .venv/bin/python is a symlink to the base interpreter, whose folder has neither."""
    return Path(sys.executable).parent


def child_path(environ: dict[str, str]) -> str:
    inherited = environ.get("PATH", "")
    first = str(interpreter_bin())
    return first if not inherited else f"{first}{os.pathsep}{inherited}"


def _whole_number(environ: dict[str, str], key: str, minimum: int) -> int | None:
    text = environ.get(key, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < minimum:
        raise LaunchError(f"{key}={text} is not a whole number >= {minimum}.")
    return int(text)


def torchrun_env(
    command: str,
    config: dict[str, Any],
    environ: dict[str, str],
    gpu_count: Callable[[], int] = visible_gpus,
) -> tuple[dict[str, str], list[str]]:
    """(variables for the child, notes for the plan) of a train/predict run; ({}, []) for other commands."""
    if command not in TORCHRUN_COMMANDS:
        return {}, []
    env = {"PATH": child_path(environ)}
    nproc = _whole_number(environ, "NPROC_PER_NODE", 1)
    nnodes = _whole_number(environ, "NNODES", 1) or 1
    node_rank = _whole_number(environ, "NODE_RANK", 0) or 0
    port = _whole_number(environ, "MASTER_PORT", 1)
    if node_rank >= nnodes:
        raise LaunchError(f"NODE_RANK={node_rank} must be below NNODES={nnodes} (ranks count from 0).")
    if port is not None and port > 65535:
        raise LaunchError(f"MASTER_PORT={port} is not a TCP port (1-65535).")
    addr = environ.get("MASTER_ADDR", "").strip()
    if nnodes > 1 and (not addr or port is None):
        raise LaunchError(f"NNODES={nnodes} needs MASTER_ADDR and MASTER_PORT, the same on every node "
                          "(the address and a free port of the NODE_RANK=0 machine).")

    if config.get("deepspeed"):
        reason = "DeepSpeed runs under torchrun"
    elif env_flag("FORCE_TORCHRUN", environ):  # as LLaMA-Factory reads it, which then acts on it
        reason = "FORCE_TORCHRUN is set"
    elif (nproc or 1) > 1 or nnodes > 1:
        reason = "several processes asked for"
    else:
        # one process: LLaMA-Factory still goes through torchrun on its own when it sees several GPUs
        return env, []

    notes = []
    if nproc is None:
        gpus = gpu_count()
        nproc = gpus or 1
        notes.append(f"NPROC_PER_NODE unset: {nproc} process(es) per node "
                     f"({f'{gpus} GPU(s) visible' if gpus else 'no GPU visible'})")
    env.update(FORCE_TORCHRUN="1", NPROC_PER_NODE=str(nproc), NNODES=str(nnodes), NODE_RANK=str(node_rank))
    if addr:
        env["MASTER_ADDR"] = addr
    if port is not None:
        env["MASTER_PORT"] = str(port)
    notes.append(f"torchrun ({reason}): world size {nproc * nnodes} = {nproc} process(es) x {nnodes} node(s), "
                 f"this node's rank {node_rank}")
    return env, notes


def deepspeed_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("deepspeed") is not None


def tiny_deepspeed_note(recipe_deepspeed: str, kept: bool) -> str:
    """What the tiny profile did with a recipe's DeepSpeed config, for the plan's notes."""
    name = Path(recipe_deepspeed).name
    if kept:
        return f"profile tiny: DeepSpeed ({name}) kept: it runs on CPU too, under torchrun (gloo)"
    return (f"profile tiny: DeepSpeed ({name}) dropped because deepspeed is not installed; `make deepspeed` "
            "installs it, and the tiny run then takes the DeepSpeed branch on CPU")
