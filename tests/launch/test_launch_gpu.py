"""On a CUDA machine: the recipes run unmodified (bf16, 4-bit QLoRA, DeepSpeed ZeRO-2 under torchrun), only the
model swapped for the tiny one via MODEL= and the run shortened. Skipped with the reason elsewhere."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pytest

from tests.conftest import requires_cuda
from tests.launch.conftest import base_environ, launch_cmd

pytestmark = [pytest.mark.gpu, pytest.mark.slow, requires_cuda]


@pytest.mark.parametrize("method", ["lora", "qlora", "full"])
def test_recipe_unmodified_on_gpu(method, data_dir, tiny_model, tmp_path):
    if method == "full" and importlib.util.find_spec("deepspeed") is None:
        pytest.skip("the full recipe uses DeepSpeed ZeRO-2, and deepspeed is not installed here")
    out = tmp_path / method
    cmd = launch_cmd("train", method, f"dataset_dir={data_dir}", f"output_dir={out}", "max_steps=2",
                     "max_samples=20", "save_steps=1000")
    result = subprocess.run(cmd, env=base_environ(MODEL=str(tiny_model)), cwd=tmp_path, capture_output=True,
                            text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    config = (out / "launch_config.yaml").read_text()
    assert "bf16: true" in config
    if method == "qlora":
        assert "Quantizing model to 4 bit with bitsandbytes." in log
        assert (out / "adapter_config.json").is_file()
    if method == "full":
        assert "deepspeed:" in config and "distributed training: True" in log  # torchrun via FORCE_TORCHRUN
        assert (out / "config.json").is_file()
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 2
