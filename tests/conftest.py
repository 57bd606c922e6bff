"""Shared test setup: offline, CPU-only, and the locally built tiny Qwen2 model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract.env import OFFLINE_ENV
from contract.models import TINY_MODEL
from contract.paths import REPO_ROOT
from contract.prepare import prepare_into

# Nothing in the test suite may reach a hub; set before transformers/datasets are imported.
os.environ.update(OFFLINE_ENV)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """Path of the offline tiny Qwen2 model (`make tiny-model`); built on demand if missing."""
    if not (TINY_MODEL / "config.json").exists():
        from launch.tiny.qwen2 import build

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
    out = tmp_path_factory.mktemp("prepared")
    prepare_into(out, tiny_model)
    return out
