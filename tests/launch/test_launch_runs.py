"""Real short runs of every training method through the launcher on the tiny model, then export and predict.

LLaMA-Factory runs in-process (seconds) except QLoRA, which goes through `python -m launch` and
`llamafactory-cli` as a user would, from a foreign working directory."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from safetensors import safe_open

import launch
from launch import memory
from tests.launch.conftest import base_environ, launch_cmd

pytestmark = pytest.mark.slow


def tiny_plan(command, target, data_dir, **overrides):
    values = {"dataset_dir": str(data_dir), **overrides}
    if command == "train":
        values.setdefault("max_samples", 40)  # per dataset: a few steps need no more, and tokenizing is the cost
    return launch.build(command, target, values, "tiny", environ=base_environ())


def adapter_param_count(run_dir) -> int:
    with safe_open(str(run_dir / "adapter_model.safetensors"), "pt") as handle:
        return sum(handle.get_tensor(name).numel() for name in handle.keys())


def losses(run_dir) -> list[float]:
    lines = (run_dir / "trainer_log.jsonl").read_text().splitlines()
    return [json.loads(line)["loss"] for line in lines if "loss" in json.loads(line)]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def lora_run(work, data_dir):
    plan = tiny_plan("train", "lora", data_dir, output_dir=str(work / "lora"))
    assert launch.run(plan, in_process=True) == 0
    return plan


@pytest.fixture(scope="module")
def qlora_cli(work, data_dir):
    out = work / "qlora"
    cmd = launch_cmd("train", "qlora", "--profile", "tiny", f"dataset_dir={data_dir}", f"output_dir={out}",
                     "max_samples=40")
    # VERBOSE=1: LLaMA-Factory's INFO line saying it quantizes is one a quiet run leaves out
    result = subprocess.run(cmd, env=base_environ(VERBOSE="1"), cwd=work, capture_output=True, text=True, timeout=300)
    return out, result


def test_lora(lora_run, tiny_model):
    out = lora_run.output_dir
    assert (out / "adapter_config.json").is_file() and (out / "training_loss.png").is_file()
    assert yaml.safe_load((out / "launch_config.yaml").read_text()) == lora_run.config
    assert len(losses(out)) == lora_run.config["max_steps"]
    dims = memory.ModelDims.from_config(json.loads((tiny_model / "config.json").read_text()))
    # the memory model's LoRA parameter count is exactly what LLaMA-Factory trained (rank 16, all 7 projections)
    assert adapter_param_count(out) == memory.trainable_params(dims, lora_run.config) == 45_056


def test_qlora_through_the_cli_quantizes_to_4_bit(qlora_cli):
    out, result = qlora_cli
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "Quantizing model to 4 bit with bitsandbytes." in log
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 16 and (out / "launch_config.yaml").is_file()
    assert yaml.safe_load((out / "launch_config.yaml").read_text())["double_quantization"] is True


@pytest.mark.parametrize("method", ["full", "freeze", "dora", "pt"])
def test_other_methods(method, work, data_dir):
    # in-process runs cannot use torchrun: full without DeepSpeed here (test_launch_distributed runs it)
    extra = {"deepspeed": None} if method == "full" else {}
    plan = tiny_plan("train", method, data_dir, output_dir=str(work / method), **extra)
    assert "FORCE_TORCHRUN" not in plan.env
    assert launch.run(plan, in_process=True) == 0
    out = plan.output_dir
    assert len(losses(out)) == plan.config["max_steps"]
    if method in ("full", "freeze"):
        assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
        assert not (out / "adapter_config.json").exists()
    else:
        adapter = json.loads((out / "adapter_config.json").read_text())
        assert adapter["use_dora"] is (method == "dora")
    if method == "pt":
        assert plan.config["stage"] == "pt" and plan.config["dataset"] == "med_pt"


def _generate(model, tokenizer, text: str):
    import torch

    ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    with torch.no_grad():
        logits = model(**ids).logits
        generated = model.generate(**ids, max_new_tokens=8, do_sample=False)
    return logits, generated[0, ids["input_ids"].shape[1]:]


def test_export_merges_and_the_merged_model_generates(lora_run, work, tiny_model, data_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    plan = tiny_plan("export", "lora", data_dir, adapter_name_or_path=str(lora_run.output_dir),
                     export_dir=str(work / "lora-merged"))
    assert launch.run(plan, in_process=True) == 0
    merged_dir = plan.output_dir
    assert (merged_dir / "config.json").is_file() and not (merged_dir / "adapter_config.json").exists()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
    unmerged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32),
                                         str(lora_run.output_dir))
    prompt = "主题:头痛\n内容:我头痛两天了怎么办"
    merged_logits, new_tokens = _generate(merged, tokenizer, prompt)
    unmerged_logits, _ = _generate(unmerged, tokenizer, prompt)
    assert len(new_tokens) > 0
    # merged weights in the export's dtype reproduce base + adapter
    assert torch.allclose(merged_logits, unmerged_logits, atol=5e-2), (merged_logits - unmerged_logits).abs().max()


def test_qlora_export_merges_onto_the_unquantized_base(qlora_cli, work, data_dir):
    out, result = qlora_cli
    assert result.returncode == 0
    plan = tiny_plan("export", "qlora", data_dir, adapter_name_or_path=str(out), export_dir=str(work / "q-merged"))
    assert "quantization_bit" not in plan.config
    assert launch.run(plan, in_process=True) == 0
    config = json.loads((plan.output_dir / "config.json").read_text())
    assert "quantization_config" not in config
    with safe_open(str(plan.output_dir / "model.safetensors"), "pt") as handle:
        name = next(n for n in handle.keys() if n.endswith("q_proj.weight"))
        assert handle.get_tensor(name).dtype.is_floating_point and handle.get_tensor(name).ndim == 2


def test_predict_writes_generated_predictions(lora_run, work, data_dir):
    plan = tiny_plan("predict", "lora", data_dir, adapter_name_or_path=str(lora_run.output_dir),
                     output_dir=str(work / "predict"), max_samples=2, max_new_tokens=8)
    assert plan.argv[1] == "train" and plan.config["do_predict"] is True
    assert launch.run(plan, in_process=True) == 0
    rows = [json.loads(line) for line in (plan.output_dir / "generated_predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 6  # 2 per test set
    assert all({"prompt", "predict", "label"} <= row.keys() for row in rows)
    results = json.loads((plan.output_dir / "predict_results.json").read_text())
    assert "predict_bleu-4" in results and "predict_rouge-l" in results
