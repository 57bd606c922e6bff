"""Recipes name folders relative to the repo root (saves/..., models/..., llamafactory_configs/deepspeed/...);
the resolved config names them absolutely, so the launcher and LLaMA-Factory work from any working directory."""

from __future__ import annotations

import os
from typing import Any

from contract.paths import MODELS_DIR, REPO_ROOT, SAVES_DIR

ALWAYS_PATH_KEYS = ("output_dir", "export_dir", "dataset_dir", "deepspeed")
MAYBE_PATH_KEYS = ("model_name_or_path", "adapter_name_or_path")  # hub ids look like relative paths too
# folders of ours that may not exist yet (a run to come, a model to download): paths, not hub ids
OUR_FOLDERS = (f"{SAVES_DIR.name}/", f"{MODELS_DIR.name}/", "./")


def absolute(value: str) -> str:
    return value if os.path.isabs(value) else str((REPO_ROOT / value).resolve())


def absolutize_paths(config: dict[str, Any]) -> None:
    """Make the recipe's repo-relative paths absolute, in place; hub ids stay as they are."""
    for key in ALWAYS_PATH_KEYS:
        if isinstance(config.get(key), str) and config[key]:
            config[key] = absolute(config[key])
    for key in MAYBE_PATH_KEYS:
        value = config.get(key)
        if not isinstance(value, str) or not value or os.path.isabs(value):
            continue
        parts = [absolute(v) if (REPO_ROOT / v).exists() or v.startswith(OUR_FOLDERS) else v
                 for v in value.split(",")]
        config[key] = ",".join(parts)
