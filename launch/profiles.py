"""Profile tiny (`--profile tiny`, `make ... PROFILE=tiny`): any recipe on the offline tiny model, CPU-safe
settings, a few steps, outputs under saves/tiny-qwen2/ (saves/tiny-gpt2/ for the GPT-2 rows), so every command
runs on a laptop exactly as it would on a GPU box. resolve.py applies it; it imports no recipe module back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract.models import (
    BASE_MODEL_ID,
    BASE_MODEL_NAME,
    GPT2_MODEL_ID,
    GPT2_MODEL_NAME,
    TINY_GPT2,
    TINY_GPT2_NAME,
    TINY_GPT2_SCRATCH,
    TINY_MODEL,
    TINY_MODEL_NAME,
)
from contract.paths import REPO_ROOT, SAVES_DIR

from .commands import SERVE_COMMANDS
from .distributed import deepspeed_installed, tiny_deepspeed_note
from .errors import LaunchError

TINY = "tiny"
PROFILES = (TINY,)

# hub model -> offline stand-in (train_from_scratch picks the config-only one), and the saves/<model name>/
# folder -> saves/<tiny name>/
TINY_MODELS = {BASE_MODEL_ID: TINY_MODEL, GPT2_MODEL_ID: TINY_GPT2}
TINY_SCRATCH_MODELS = {GPT2_MODEL_ID: TINY_GPT2_SCRATCH}
TINY_SAVES = {BASE_MODEL_NAME: TINY_MODEL_NAME, GPT2_MODEL_NAME: TINY_GPT2_NAME}

TINY_MAX_STEPS = 4
TINY_CUTOFF = 512
TINY_PREDICT_SAMPLES = 8
TINY_NEW_TOKENS = 32
# Shown before a tiny-profile chat: what a user typing to it should expect, and what shows the demo's learning.
TINY_CHAT_BANNER = ("the tiny model has about 222k parameters and started from random weights; base answers are noise "
                    "and even the demo-trained adapter mostly imitates the style of the training replies (e.g. ask "
                    "'主题:头痛怎么办\n内容:最近总是头痛,需要去医院吗?' and expect a '您好,...建议...' shaped reply). "
                    "It proves the pipeline runs; medical answers need the real model (make model).")


def _rename_model_folder(value: str) -> str:
    parts = Path(value).parts
    if len(parts) > 1 and parts[0] == SAVES_DIR.name and parts[1] in TINY_SAVES:
        return str(Path(SAVES_DIR.name, TINY_SAVES[parts[1]], *parts[2:]))
    return value


def apply_tiny_profile(config: dict[str, Any], command: str) -> None:
    """Offline tiny model, CPU-safe settings, few steps; outputs under saves/tiny-qwen2/ (tiny-gpt2/), in place."""
    model = config.get("model_name_or_path")
    tiny = (TINY_SCRATCH_MODELS if config.get("train_from_scratch") else TINY_MODELS).get(model)
    if tiny is not None:
        config["model_name_or_path"] = str(tiny)
    for key in ("model_name_or_path", "adapter_name_or_path", "output_dir", "export_dir"):
        if isinstance(config.get(key), str):
            config[key] = _rename_model_folder(config[key])
    for key in ("bf16", "fp16", "pure_bf16"):
        if key in config:
            config[key] = False
    if not deepspeed_installed():  # else kept: DeepSpeed trains on CPU too, so tiny runs take the real branch
        config.pop("deepspeed", None)
    config.pop("infer_dtype", None)  # the 4-bit recipe's fp16 compute is for GPUs; CPU picks its own
    if command in ("train", "predict"):
        config["report_to"] = "none"
        config["preprocessing_num_workers"] = None
        config["dataloader_num_workers"] = 0
        config["dataloader_pin_memory"] = False  # CPU: nothing to pin (else a warning on every run)
    if command == "train":
        config["max_steps"] = TINY_MAX_STEPS
        config["logging_steps"] = 1
        config["per_device_train_batch_size"] = 2
        config["gradient_accumulation_steps"] = 1
    if command == "predict":
        config["max_samples"] = TINY_PREDICT_SAMPLES
        config["max_new_tokens"] = TINY_NEW_TOKENS
        config["per_device_eval_batch_size"] = 4
    if command in SERVE_COMMANDS:
        config["max_new_tokens"] = TINY_NEW_TOKENS


def apply_profile(config: dict[str, Any], command: str, profile: str | None) -> list[str]:
    """Apply `profile` (None: none) to the recipe's config in place; returns the notes saying what it did."""
    if not profile:
        return []
    if profile != TINY:
        raise LaunchError(f"Unknown profile '{profile}'; the only profile is '{TINY}'.")
    recipe_deepspeed = config.get("deepspeed")
    apply_tiny_profile(config, command)
    model = Path(str(config.get("model_name_or_path", TINY_MODEL)))
    shown = model.relative_to(REPO_ROOT) if model.is_relative_to(REPO_ROOT) else model
    out = config.get("output_dir") or config.get("export_dir")
    notes = [f"profile tiny: {shown}, no bf16, short run" + (f", outputs in {out}" if out else "")]
    if command in SERVE_COMMANDS:
        notes.append(TINY_CHAT_BANNER)
    if recipe_deepspeed:
        notes.append(tiny_deepspeed_note(recipe_deepspeed, kept=bool(config.get("deepspeed"))))
    return notes


def cap_tiny_cutoff(config: dict[str, Any]) -> list[str]:
    """The tiny profile's longest sequence (a CPU run), unless the user set cutoff_len; notes."""
    if config.get("cutoff_len", TINY_CUTOFF) <= TINY_CUTOFF:
        return []
    config["cutoff_len"] = TINY_CUTOFF
    return [f"profile tiny: cutoff_len capped at {TINY_CUTOFF}"]
