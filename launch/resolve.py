"""Resolve a recipe into the config LLaMA-Factory runs, noting each decision the launcher made.

Order (later wins): recipe YAML -> target (which run a chat/export/predict points at) -> profile (tiny: offline
tiny model, CPU-safe) -> MODEL env (replaces the base model only) -> key=value overrides -> relative paths made
absolute against the repo root -> cutoff_len from the data manifest (unless overridden or the recipe's own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract.models import BASE_MODEL_ID, LOCAL_BASE_MODEL, TINY_MODEL, TINY_MODEL_NAME

from .prepared import manifest_cutoff, mix_note
from .profiles import TINY, apply_profile, cap_tiny_cutoff
from .recipes import OWN_CUTOFF_PREFIXES, load_recipe
from .repo_paths import absolutize_paths
from .targets import apply_target


def _base_model(config: dict[str, Any], env: dict[str, str]) -> list[str]:
    """MODEL= replaces the base model (the hub id, or the tiny model); else `make model`'s local copy is used."""
    model = env.get("MODEL", "").strip()
    if config.get("model_name_or_path") in (BASE_MODEL_ID, str(TINY_MODEL)) and model:
        config["model_name_or_path"] = model
        return [f"model from MODEL={model}"]
    if config.get("model_name_or_path") == BASE_MODEL_ID and (LOCAL_BASE_MODEL / "config.json").is_file():
        config["model_name_or_path"] = str(LOCAL_BASE_MODEL)
        return [f"model: local copy {LOCAL_BASE_MODEL} (make model)"]
    return []


def _cutoff(config: dict[str, Any], profile: str | None) -> list[str]:
    """cutoff_len from the data manifest (sft only: pt's is a block length); the tiny profile's cap."""
    notes = []
    found = manifest_cutoff(config) if config.get("stage", "sft") == "sft" else None
    if found:
        config["cutoff_len"] = found[0]
        notes.append(f"cutoff_len {found[0]} from {found[1]}")
        if Path(found[2]).name == TINY_MODEL_NAME and profile != TINY:
            notes.append(f"warning: that cutoff_len was counted with the tiny model's tokenizer; for "
                         f"{config.get('model_name_or_path')} rerun `make data ARGS=\"--model <that model>\"`")
    if profile == TINY:
        notes += cap_tiny_cutoff(config)
    return notes


def resolve_config(
    command: str,
    recipe: Path,
    target: str | None,
    overrides: dict[str, Any],
    profile: str | None,
    env: dict[str, str],
) -> tuple[dict[str, Any], list[str]]:
    """The config LLaMA-Factory will run, and notes on each decision the launcher made."""
    config = load_recipe(recipe)
    apply_target(config, command, target)
    notes = apply_profile(config, command, profile)
    notes += _base_model(config, env)
    config.update(overrides)
    absolutize_paths(config)
    own_cutoff = recipe.name.startswith(OWN_CUTOFF_PREFIXES)
    if command in ("train", "predict") and "cutoff_len" not in overrides and not own_cutoff:
        notes += _cutoff(config, profile)
    if command == "train" and config.get("stage", "sft") == "sft" and (note := mix_note(config)):
        notes.append(note)  # the general:domain mix it trains on, in launch_config.yaml (issue 19)
    return config, notes
