"""Kept only so `from launch.paths import ...` outside launch keeps working (bench/packing.py imports TINY_MODEL):
the facts live in contract.paths and contract.models, and launch itself imports them from there."""

from contract.models import (  # noqa: F401
    BASE_MODEL_ID,
    BASE_MODEL_NAME,
    GPT2_MODEL_ID,
    GPT2_MODEL_NAME,
    LOCAL_BASE_MODEL,
    TINY_GPT2,
    TINY_GPT2_NAME,
    TINY_GPT2_SCRATCH,
    TINY_MODEL,
    TINY_MODEL_NAME,
)
from contract.paths import MODELS_DIR, RECIPE_DIR, REPO_ROOT, SAVES_DIR  # noqa: F401
