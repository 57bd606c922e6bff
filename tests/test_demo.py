"""The CI-sized `make demo`: every stage wired end to end on the tiny model (fewest steps)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_demo_ci_runs_every_stage(tmp_path, tiny_model):
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--ci", "--workdir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    report = tmp_path / "reports" / "demo"
    assert f"Report: {report / 'report.md'}" in out
    assert "| checkpoint |" in out  # the table is printed, not only written

    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    trained = set(metrics["checkpoints"]) - {"base"}
    assert {"lora", "lora-merged"} <= trained
    assert "qlora" in trained or "QLoRA skipped" in out
    for name, info in metrics["checkpoints"].items():
        assert set(info["tasks"]) == {"dialog", "norm", "mrg"}, name
    assert (report / "chart.png").stat().st_size > 0

    # LLaMA-Factory's merged export must behave exactly like eval's in-memory merge of base + adapter.
    for task in ("dialog", "norm", "mrg"):
        adapter = [json.loads(line)["predict"] for line in (report / "lora" / task / "predictions.jsonl").open()]
        merged = [json.loads(line)["predict"] for line in (report / "lora-merged" / task / "predictions.jsonl").open()]
        assert adapter == merged, task

    # Outputs went to the workdir, and the adapters are real LoRA adapters.
    adapters = list((tmp_path / "saves" / "tiny-qwen2").rglob("adapter_config.json"))
    assert len(adapters) >= 1
