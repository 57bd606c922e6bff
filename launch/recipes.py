"""The recipe files: which YAML in llamafactory_configs/ a command or method uses, and loading one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from contract.paths import RECIPE_DIR

from .errors import LaunchError

PREFIX = "qwen2_5_0_5b_"
TRAIN_RECIPES = {  # train <method> -> recipe (PREFIX + this)
    "full": "full_sft_ds2",
    "lora": "lora_sft",
    "qlora": "qlora_sft",
    "freeze": "freeze_sft",
    "dora": "dora_sft",
    "pt": "lora_pt",
}
ADAPTER_METHODS = ("lora", "qlora", "dora", "pt")  # their runs are LoRA adapters
MERGED_RUNS = {  # export <method> -> merged model dir (a complete model: listed under full/ by the web UI)
    "lora": "full/lora_sft-merged",
    "qlora": "full/qlora_sft-merged",
    "dora": "full/dora_sft-merged",
    "pt": "full/lora_pt-merged",
}
DEFAULT_RECIPE = {  # command -> recipe (PREFIX + this) when none is named
    "export": "merge_lora",
    "predict": "lora_predict",
    "chat": "chat",
    "api": "chat",
    "webchat": "chat",
}
MERGE_QLORA = "merge_qlora"  # export qlora: merge onto the unquantized base
# Recipes whose cutoff_len is their model's context (seed 000: n_ctx 300), not the data manifest's.
OWN_CUTOFF_PREFIXES = ("gpt2_",)


def recipe_path(name: str) -> Path:
    """A recipe by file path, by file name (with or without .yaml) in llamafactory_configs/, or short name."""
    for candidate in (Path(name), RECIPE_DIR / name, RECIPE_DIR / f"{name}.yaml", RECIPE_DIR / f"{PREFIX}{name}.yaml"):
        if candidate.is_file():
            return candidate.resolve()
    known = ", ".join(sorted(p.stem for p in RECIPE_DIR.glob("*.yaml")))
    raise LaunchError(f"No recipe named '{name}'. Known recipes in {RECIPE_DIR.name}/: {known}.")


def train_recipe(method: str) -> Path:
    return recipe_path(PREFIX + TRAIN_RECIPES[method])


def load_recipe(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LaunchError(f"{path}: not valid YAML ({exc}).") from exc
    if not isinstance(data, dict):
        raise LaunchError(f"{path}: expected a mapping of LLaMA-Factory arguments, found {type(data).__name__}.")
    return data
