"""Shared test setup: offline, CPU-only, and the locally built tiny Qwen2 model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = REPO_ROOT / "models" / "tiny-qwen2"

# Nothing in the test suite may reach a hub; set before transformers/datasets are imported.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "WANDB_DISABLED": "true",
    "WANDB_MODE": "disabled",
    "DISABLE_VERSION_CHECK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENV)
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """Path of the offline tiny Qwen2 model (`make tiny-model`); built on demand if missing."""
    if not (TINY_MODEL / "config.json").exists():
        sys.path.insert(0, str(REPO_ROOT / "scripts"))
        from build_tiny_model import build

        build(TINY_MODEL)
    return TINY_MODEL


def has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


requires_cuda = pytest.mark.skipif(not has_cuda(), reason="needs a CUDA GPU; none is visible on this machine")


@pytest.fixture(scope="session")
def prepared_data(tmp_path_factory, tiny_model) -> Path:
    """A dataset dir prepared by `python -m data_prep` from the bundled samples, as LLaMA-Factory sees it:
    `<dir>/dataset_info.json` + `<dir>/data/sft/*.jsonl`; use it as `dataset_dir`."""
    import subprocess

    out = tmp_path_factory.mktemp("prepared")
    cmd = [
        sys.executable, "-m", "data_prep",
        "--out-dir", str(out / "data" / "sft"),
        "--dataset-info", str(out / "dataset_info.json"),
        "--model", str(tiny_model),
    ]
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, env={**os.environ, **OFFLINE_ENV})
    return out
