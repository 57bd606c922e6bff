"""Prepare data into a folder, as LLaMA-Factory then sees it: `<folder>/dataset_info.json` and
`<folder>/data/sft/*.jsonl` (+ manifest.json), so `<folder>` is a `dataset_dir`. For tests, benchmarks and the
demo; runs `python -m data_prep` in a child process (this package imports no data_prep)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .env import OFFLINE_ENV
from .models import TINY_MODEL
from .paths import DATASET_INFO, REPO_ROOT, SFT_DIR


class PrepareFailed(RuntimeError):
    """data_prep exited non-zero; the message ends with its error output."""


def prepare_command(folder: Path, model: Path | str = TINY_MODEL, args: Sequence[str] = ()) -> list[str]:
    """The data_prep command line writing into `folder` (the bundled samples unless `args` name sources)."""
    folder = Path(folder)
    return [sys.executable, "-m", "data_prep", "--out-dir", str(folder / SFT_DIR),
            "--dataset-info", str(folder / DATASET_INFO), "--model", str(model), *args]


def prepare_into(folder: Path, model: Path | str = TINY_MODEL, args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run data_prep into `folder` offline (the environment plus OFFLINE_ENV plus `env`); returns the finished
    process (stdout: its summary table). PrepareFailed when it fails."""
    cmd = prepare_command(folder, model, args)
    result = subprocess.run(cmd, cwd=REPO_ROOT, env={**os.environ, **OFFLINE_ENV, **(env or {})},
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise PrepareFailed(f"`{' '.join(cmd)}` exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result
