"""Helpers for the data_prep tests: run the CLI in-process into a temp dataset dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep.cli import main


@pytest.fixture
def prep(tmp_path, tiny_model, capsys):
    """prep(*args) -> (exit code, out_dir, manifest or None, stderr) for a run into tmp_path."""

    def run(*args: str, root: Path | None = None):
        root = root or tmp_path
        out = root / "data" / "sft"
        code = main(["--out-dir", str(out), "--dataset-info", str(root / "dataset_info.json"),
                     "--model", str(tiny_model), *args])
        captured = capsys.readouterr()
        run.stdout = captured.out
        manifest_path = out / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
        return code, out, manifest, captured.err

    return run
