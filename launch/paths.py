"""Where things live: repo root, recipes, models, saves. Everything else resolves relative paths against these."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE_DIR = REPO_ROOT / "llamafactory_configs"
MODELS_DIR = REPO_ROOT / "models"
SAVES_DIR = REPO_ROOT / "saves"

BASE_MODEL_ID = "Qwen/Qwen2.5-0.5B-Instruct"
BASE_MODEL_NAME = "Qwen2.5-0.5B-Instruct"  # the web UI's model name: runs go to saves/<this>/<finetuning_type>/
LOCAL_BASE_MODEL = MODELS_DIR / BASE_MODEL_NAME  # written by `make model`

TINY_MODEL = MODELS_DIR / "tiny-qwen2"  # `make tiny-model`
TINY_MODEL_NAME = "tiny-qwen2"
