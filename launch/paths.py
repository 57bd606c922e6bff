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

# Seeds 000/002: GPT-2 with a BERT Chinese vocab. Their runs go to saves/<GPT2_MODEL_NAME>/full/<run>.
GPT2_MODEL_ID = "uer/gpt2-chinese-cluecorpussmall"
GPT2_MODEL_NAME = "gpt2-chinese-cluecorpussmall"
TINY_GPT2 = MODELS_DIR / "tiny-gpt2-chinese"  # `make tiny-gpt2`: pretrained-shaped (weights saved)
TINY_GPT2_SCRATCH = MODELS_DIR / "tiny-gpt2-scratch"  # config + tokenizer only, for train_from_scratch
TINY_GPT2_NAME = "tiny-gpt2"
