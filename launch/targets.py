"""Run targets: what the argument after a command names (a method, a run, or a recipe), and pointing a
chat/predict/export recipe at that run: base, <method> (adapter or full run), <method>-merged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract.models import BASE_MODEL_ID, BASE_MODEL_NAME
from contract.paths import SAVES_DIR, repo_relative

from .commands import COMMANDS
from .errors import LaunchError
from .recipes import (
    ADAPTER_METHODS,
    DEFAULT_RECIPE,
    MERGE_QLORA,
    MERGED_RUNS,
    PREFIX,
    TRAIN_RECIPES,
    load_recipe,
    recipe_path,
    train_recipe,
)

BASE = "base"
MERGED = "-merged"


def train_run_dir(method: str) -> str:
    """Repo-relative output dir of a method's training recipe (e.g. saves/Qwen2.5-0.5B-Instruct/lora/sft)."""
    return load_recipe(train_recipe(method))["output_dir"]


def is_run_target(target: str) -> bool:
    return target == BASE or target in TRAIN_RECIPES or target.removesuffix(MERGED) in MERGED_RUNS


def select_recipe(command: str, target: str | None) -> tuple[Path, str | None]:
    """(recipe, target) for a command and its optional positional argument (method, run target or recipe)."""
    if command == "train":
        if target is None:
            raise LaunchError(f"train needs a method ({', '.join(TRAIN_RECIPES)}) or a recipe name/path.")
        if target in TRAIN_RECIPES:
            return train_recipe(target), None
        return recipe_path(target), None
    if command == "export":
        target = target or "lora"
        if target in ("full", "freeze"):
            raise LaunchError(f"'{target}' runs are already complete models (saves/.../{target}/...); "
                              "there is nothing to merge. Chat with them directly: python -m launch chat " + target)
        if target == "qlora":
            return recipe_path(PREFIX + MERGE_QLORA), None
        if target in ADAPTER_METHODS:
            return recipe_path(PREFIX + DEFAULT_RECIPE["export"]), target
        return recipe_path(target), None
    if command in DEFAULT_RECIPE:
        if target is None or is_run_target(target):
            return recipe_path(PREFIX + DEFAULT_RECIPE[command]), target or BASE
        return recipe_path(target), None
    raise LaunchError(f"Unknown command '{command}'. Commands: {', '.join(COMMANDS)}, model.")


def apply_target(config: dict[str, Any], command: str, target: str | None) -> None:
    """Point a chat/predict/export recipe at a run, in place (None: the recipe as it is)."""
    if target is None:
        return
    saves = repo_relative(SAVES_DIR / BASE_MODEL_NAME)
    if command == "export":
        config["adapter_name_or_path"] = train_run_dir(target)
        config["export_dir"] = f"{saves}/{MERGED_RUNS[target]}"
        return
    config.pop("adapter_name_or_path", None)
    if target == BASE:
        config["model_name_or_path"] = BASE_MODEL_ID
        run_dir = f"{saves}/{BASE}"
    elif target.endswith(MERGED):
        run_dir = f"{saves}/{MERGED_RUNS[target.removesuffix(MERGED)]}"
        config["model_name_or_path"] = run_dir
    elif target in ADAPTER_METHODS:
        config["model_name_or_path"] = BASE_MODEL_ID
        run_dir = train_run_dir(target)
        config["adapter_name_or_path"] = run_dir
        config["finetuning_type"] = "lora"
    else:  # full / freeze: the run dir is a complete model
        run_dir = train_run_dir(target)
        config["model_name_or_path"] = run_dir
    if command == "predict":
        config["output_dir"] = f"{run_dir}_predict"
