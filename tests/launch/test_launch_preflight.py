"""Preflight: each check fails early with an actionable sentence; the memory formula on hand-computed numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import launch
from contract.paths import REPO_ROOT
from launch import memory, preflight
from tests.launch.conftest import base_environ

# A model small enough to count by hand: h=8, 2 layers, MLP 16, vocab 10, 2 heads of 4, 1 KV head, tied, qkv bias.
SMALL = memory.ModelDims(hidden=8, layers=2, intermediate=16, vocab=10, heads=2, kv_heads=1, head_dim=4,
                         tied_embeddings=True, qkv_bias=True)
GIB = 1024**3


def test_param_counts_by_hand():
    # per layer: q 8*8 + k 8*4 + v 8*4 + o 8*8 + gate/up/down 3*8*16 = 576 weights, + qkv bias 8+4+4, + 2 norms of 8
    assert SMALL.linear_weights_per_layer() == 576
    assert SMALL.params_per_layer() == 608
    assert SMALL.total_params() == 10 * 8 + 2 * 608 + 8  # tied embedding + layers + final norm = 1304
    # LoRA r=2 on all seven: 2*(8+8) + 2*(8+4)*2 + 2*(8+8) + 3 * 2*(8+16) = 256 per layer
    assert memory.trainable_params(SMALL, {"finetuning_type": "lora", "lora_rank": 2, "lora_target": "all"}) == 512
    assert memory.trainable_params(SMALL, {"finetuning_type": "lora", "lora_rank": 2,
                                           "lora_target": "q_proj,v_proj"}) == 2 * (32 + 24)
    # DoRA adds one magnitude per output feature: 8+4+4+8+16+16+8 = 64 per layer
    assert memory.trainable_params(SMALL, {"finetuning_type": "lora", "lora_rank": 2, "use_dora": True}) == 512 + 128
    assert memory.trainable_params(SMALL, {"finetuning_type": "freeze", "freeze_trainable_layers": 1}) == 608


def test_lora_estimate_by_hand():
    config = {"finetuning_type": "lora", "lora_rank": 2, "lora_target": "all", "bf16": True,
              "per_device_train_batch_size": 2, "cutoff_len": 16}
    est = memory.estimate(SMALL, config)
    assert est.weights == 1304 * 2 + 512 * 4  # frozen bf16 base + fp32 adapters
    assert est.gradients == 512 * 4 and est.optimizer == 512 * 8
    # b*s = 32 tokens; per token: 2 bytes * (L*h + 8h + 2kv + 4I = 16 + 64 + 8 + 64) + vocab 10 * (2 + 4) bytes
    assert est.activations == 32 * (2 * 152 + 10 * 6)
    assert est.total == 4656 + 2048 + 4096 + 11648 + GIB


def test_full_zero2_and_qlora_by_hand():
    full = memory.estimate(SMALL, {"finetuning_type": "full", "bf16": True, "cutoff_len": 16}, world_size=4,
                           zero_stage=2)
    assert (full.weights, full.gradients, full.optimizer) == (1304 * 4, 1304 * 4 / 4, 1304 * 8 / 4)
    zero3 = memory.estimate(SMALL, {"finetuning_type": "full", "bf16": True}, world_size=4, zero_stage=3)
    assert zero3.weights == 1304 * 4 / 4
    qlora = memory.estimate(SMALL, {"finetuning_type": "lora", "lora_rank": 2, "bf16": True, "quantization_bit": 4,
                                    "double_quantization": True})
    # 1152 decoder linear weights at 4 bits + double-quantized constants; embeddings, norms, biases stay bf16
    assert qlora.weights == pytest.approx(1152 * (0.5 + 1 / 64 + 4 / 16384) + (1304 - 1152) * 2 + 512 * 4)


def test_qwen2_5_0_5b_numbers():
    dims = memory.QWEN2_5_0_5B
    assert dims.total_params() == 494_032_768  # the published 0.49B
    # r=16 on all seven projections: 16 * (2*(896+896) + 2*(896+128) + 3*(896+4864)) = 366,592 per layer
    lora = {"finetuning_type": "lora", "lora_rank": 16, "lora_target": "all"}
    assert memory.trainable_params(dims, lora) == 24 * 366_592
    full = memory.estimate(dims, {"finetuning_type": "full", "bf16": True, "per_device_train_batch_size": 2,
                                  "cutoff_len": 2048})
    assert 8 * GIB < full.total < 14 * GIB  # 16 bytes/param (7.4 GiB) + logits of 2x2048x151936 + context


def test_estimate_reads_the_model_config(tiny_model):
    dims = memory.ModelDims.from_config(json.loads((tiny_model / "config.json").read_text()))
    assert dims.total_params() == 221_952  # what LLaMA-Factory reports for the tiny model (see the runs test)


def plan_for(command="train", target="lora", overrides=None, profile="tiny", **env):
    return launch.build(command, target, overrides or {}, profile, environ=base_environ(**env))


def messages(findings, level="error"):
    return " | ".join(f.message for f in findings if f.level == level)


def test_cuda_required_unless_tiny(monkeypatch):
    monkeypatch.setattr(preflight, "_cuda_available", lambda: False)
    text = messages(preflight.check_cuda(plan_for(profile=None)))
    assert "No CUDA GPU" in text and "--profile tiny" in text
    assert preflight.check_cuda(plan_for(profile="tiny")) == []


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_cli_refuses_to_start_and_runs_nothing(tmp_path):
    if preflight._cuda_available():
        pytest.skip("this machine has a GPU: the CUDA check passes")
    out = tmp_path / "never"
    result = subprocess.run([sys.executable, "-m", "launch", "train", "lora", f"output_dir={out}"],
                            env=base_environ(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "No CUDA GPU" in result.stderr and "nothing was run" in result.stderr
    assert not out.exists()


def test_bitsandbytes_spelling_refused():
    text = messages(preflight.check_quantization({"quantization_bit": 4, "quantization_method": "bitsandbytes"}))
    assert "silently" in text and "quantization_method: bnb" in text
    assert preflight.check_quantization({"quantization_bit": 4, "quantization_method": "bnb"}) == []


def test_bitsandbytes_missing(monkeypatch):
    real = preflight.importlib.util.find_spec
    monkeypatch.setattr(preflight.importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    text = messages(preflight.check_quantization({"quantization_bit": 4, "quantization_method": "bnb"}))
    assert "pip install bitsandbytes" in text


def test_datasets_missing_say_make_data(tmp_path, data_dir):
    plan = plan_for(overrides={"dataset_dir": str(tmp_path)})
    assert "run `make data`" in messages(preflight.check_datasets(plan))
    (tmp_path / "dataset_info.json").write_text(json.dumps({"med_dialog": {"file_name": "data/sft/gone.jsonl"}}))
    text = messages(preflight.check_datasets(plan))
    assert "'med_norm' is not registered" in text and "gone.jsonl, which does not exist" in text
    assert preflight.check_datasets(plan_for(overrides={"dataset_dir": str(data_dir)})) == []


@pytest.mark.parametrize(("content", "said"), [
    ("{not json", "dataset_info.json: line 1: expected a JSON object"),
    ('["med_dialog"]', "dataset_info.json: top level: expected a JSON object; found list"),
    (b"\xff\xfe{}", "dataset_info.json: byte 0: expected UTF-8 JSON"),
])
@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_a_broken_dataset_info_is_one_sentence_naming_it(tmp_path, content, said):
    """As the user meets it: the launcher reads the registration for cutoff_len before preflight runs."""
    info = tmp_path / "dataset_info.json"
    info.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = subprocess.run([sys.executable, "-m", "launch", "train", "lora", "--profile", "tiny",
                             f"dataset_dir={tmp_path}", "--dry-run"],
                            env=base_environ(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert said in result.stderr and "rerun `make data`" in result.stderr
    # preflight says the same where no manifest is read (export/chat configs name no dataset; stage pt does)
    plan = plan_for("train", "pt", {"dataset_dir": str(tmp_path)})
    assert said in messages(preflight.check_datasets(plan))


def test_a_registration_that_is_not_an_entry_is_named(tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({"med_pt": "data/sft/dialog_train.jsonl"}))
    plan = plan_for("train", "pt", {"dataset_dir": str(tmp_path)})
    assert "'med_pt' is not a dataset entry (expected an object with file_name, found str)" in messages(
        preflight.check_datasets(plan))


def test_missing_adapter_says_train_first(tmp_path):
    plan = plan_for("chat", "lora", {"adapter_name_or_path": str(tmp_path / "nothing")})
    assert "train it first" in messages(preflight.check_adapters(plan))


def test_missing_local_model():
    plan = plan_for(profile=None, MODEL=str(REPO_ROOT / "models" / "not-downloaded"))
    assert "run `make model`" in messages(preflight.check_model(plan))


def test_hub_model_offline_and_unreachable_as_the_run_environment_says(monkeypatch):
    """Preflight reads the environment the plan was built from (the run's), not this process's os.environ."""
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)

    def unreachable(self, repo_id, timeout=None):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", unreachable)
    online = {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    for key, value in online.items():  # this process online, the run offline (base_environ: HF_HUB_OFFLINE=1)
        monkeypatch.setenv(key, value)
    plan = plan_for(profile=None)
    assert plan.config["model_name_or_path"] == "Qwen/Qwen2.5-0.5B-Instruct"
    text = messages(preflight.check_model(plan))
    assert "is not downloaded and HF_HUB_OFFLINE is set: run `make model`" in text
    # huggingface_hub falls back to TRANSFORMERS_OFFLINE when HF_HUB_OFFLINE is empty: the sentence names it
    text = messages(preflight.check_model(plan_for(profile=None, HF_HUB_OFFLINE="", TRANSFORMERS_OFFLINE="yes")))
    assert "is not downloaded and TRANSFORMERS_OFFLINE is set" in text

    for key in online:  # this process offline, the run online
        monkeypatch.setenv(key, "1")
    text = messages(preflight.check_model(plan_for(profile=None, **online)))
    assert "neither cached nor reachable" in text and "no route to host" in text
    # ModelScope as LLaMA-Factory reads USE_MODELSCOPE_HUB (true/y/1, any case): no Hugging Face check at all
    for value in ("1", "TRUE", "y"):
        findings = preflight.check_model(plan_for(profile=None, USE_MODELSCOPE_HUB=value, **online))
        assert messages(findings) == "" and "ModelScope" in messages(findings, "info")


def test_memory_warning_before_oom(monkeypatch):
    import torch

    monkeypatch.setattr(preflight, "_cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=0: (2 * GIB, 8 * GIB))
    plan = plan_for("train", "full", {"deepspeed": None}, profile=None)
    findings = preflight.check_memory(plan)
    assert "GPU memory estimate: ~" in messages(findings, "info")
    warning = messages(findings, "warning")
    assert "exceeds the free memory of cuda:0 (2.0 of 8.0 GiB)" in warning and "per_device_train_batch_size" in warning
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=0: (70 * GIB, 80 * GIB))
    assert messages(preflight.check_memory(plan), "warning") == ""


def copied_data(data_dir, tmp_path):
    """A private copy of the prepared set (data/sft is a symlink to its generation folder)."""
    import shutil

    dst = tmp_path / "ds"
    shutil.copytree(data_dir, dst, symlinks=True)
    return dst


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_manifest_cutoff_beyond_the_model_is_refused_with_a_sentence(data_dir, tmp_path):
    from launch.errors import LaunchError

    ds = copied_data(data_dir, tmp_path)
    path = ds / "data" / "sft" / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["recommended_cutoff_len"] <= manifest["max_position_embeddings"] == 4096  # the tiny model's
    path.write_text(json.dumps({**manifest, "recommended_cutoff_len": 33_400_064}))
    with pytest.raises(LaunchError, match=r"recommended_cutoff_len 33400064 is not a usable cutoff_len \(1 to 4096"):
        plan_for(overrides={"dataset_dir": str(ds)}, profile=None)
    result = subprocess.run([sys.executable, "-m", "launch", "train", "lora", f"dataset_dir={ds}", "--dry-run"],
                            env=base_environ(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "33400064 is not a usable cutoff_len" in result.stderr
    assert "Traceback" not in result.stderr
    # an explicit cutoff_len is the user's choice: preflight still checks it against the model
    plan = plan_for(overrides={"dataset_dir": str(ds), "cutoff_len": 8192, "model_name_or_path": "models/tiny-qwen2"},
                    profile=None)
    assert "exceeds the model's max_position_embeddings (4096)" in messages(preflight.check_cutoff(plan))
    plan = plan_for(overrides={"dataset_dir": str(ds), "cutoff_len": 0}, profile=None)
    assert "not a positive number of tokens" in messages(preflight.check_cutoff(plan))


def test_a_set_mixing_two_runs_is_refused(data_dir, tmp_path):
    from launch.errors import LaunchError

    ds = copied_data(data_dir, tmp_path)
    assert plan_for(overrides={"dataset_dir": str(ds)}, profile=None).config["cutoff_len"] > 0  # intact: accepted
    sft = ds / "data" / "sft"
    train = sft / "dialog_train.jsonl"
    text = train.read_text(encoding="utf-8")
    train.unlink()  # hard-linked generations: replace the file, never edit it in place
    train.write_text(text.replace("\n", "\n", 1)[: len(text) // 2], encoding="utf-8")
    with pytest.raises(LaunchError, match="dialog_train.jsonl is not the file manifest.json describes"):
        plan_for(overrides={"dataset_dir": str(ds)}, profile=None)
    train.unlink()
    train.write_text(text, encoding="utf-8")
    info = json.loads((ds / "dataset_info.json").read_text())
    del info["med_norm"]  # the registration of another run
    (ds / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(LaunchError, match="'med_norm' should register .*rerun `make data`"):
        plan_for(overrides={"dataset_dir": str(ds)}, profile=None)
