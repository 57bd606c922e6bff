"""Dry-run command lines: multi-GPU / multi-node env, DeepSpeed, overrides, profiles, `make model` arguments."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import launch
from contract.models import BASE_MODEL_ID, TINY_MODEL
from contract.paths import RECIPE_DIR, REPO_ROOT
from launch import download
from launch.cli import main
from launch.errors import LaunchError
from tests.launch.conftest import base_environ, llamafactory_launch

MULTI_NODE = {"NPROC_PER_NODE": "8", "NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.1.2.3",
              "MASTER_PORT": "29500"}


def test_full_sft_two_nodes_deepspeed():
    plan = launch.build("train", "full", [], environ=base_environ(**MULTI_NODE))
    out = REPO_ROOT / "saves" / "Qwen2.5-0.5B-Instruct" / "full" / "sft"
    assert plan.output_dir == out
    assert plan.argv[1:] == ["train", str(out / "launch_config.yaml")]
    assert Path(plan.argv[0]).name == "llamafactory-cli"
    assert plan.env["FORCE_TORCHRUN"] == "1"
    for key, value in MULTI_NODE.items():
        assert plan.env[key] == value
    assert plan.config["deepspeed"] == str(RECIPE_DIR / "deepspeed" / "ds_z2_config.json")
    assert plan.config["model_name_or_path"] == BASE_MODEL_ID and plan.config["bf16"] is True
    ds3 = launch.build("train", "qwen2_5_0_5b_full_sft_ds3", [], environ=base_environ())
    assert ds3.config["deepspeed"].endswith("ds_z3_config.json") and ds3.env["FORCE_TORCHRUN"] == "1"


def test_llamafactory_launcher_turns_the_env_into_torchrun(monkeypatch, tmp_path):
    """Feed our plan's argv/env to LLaMA-Factory's own launcher with subprocess stubbed: the torchrun line."""
    plan = launch.build("train", "full", [], environ=base_environ(**MULTI_NODE))
    cmd = " ".join(llamafactory_launch(monkeypatch, plan.argv, plan.env)[0])
    assert cmd.startswith("torchrun --nnodes 2 --node_rank 1 --nproc_per_node 8 --master_addr 10.1.2.3 "
                          "--master_port 29500 ")
    assert cmd.endswith(f"launcher.py {plan.config_path}")


def test_single_gpu_lora_has_no_torchrun_and_empty_make_vars_are_dropped(monkeypatch):
    empty = {k: "" for k in MULTI_NODE} | {"MODEL": "", "API_KEY": ""}  # what `export VAR` in make gives
    plan = launch.build("train", "lora", [], environ=base_environ(**empty))
    assert "FORCE_TORCHRUN" not in plan.env and not set(MULTI_NODE) & set(plan.env)
    for key, value in empty.items():
        monkeypatch.setenv(key, value)
    child = plan.env_for_child()
    assert not {"NNODES", "NODE_RANK", "MASTER_PORT", "MODEL", "API_KEY"} & set(child)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.sampled_from(["1", "0", "true", "TRUE", "True", "y", "Y", "yes", "on", " 1", "1 ", ""]),
                       st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=5)))
def test_force_torchrun_is_read_as_llamafactory_reads_it(value, monkeypatch):
    """LLaMA-Factory goes through torchrun exactly when its is_env_enabled says so; the plan must agree."""
    from llamafactory.extras.misc import is_env_enabled

    from launch.distributed import torchrun_env

    monkeypatch.setenv("FORCE_TORCHRUN", value)
    env, _ = torchrun_env("train", {}, {"FORCE_TORCHRUN": value}, gpu_count=lambda: 0)
    assert ("FORCE_TORCHRUN" in env) is is_env_enabled("FORCE_TORCHRUN")


def test_overrides_and_cutoff_from_manifest(data_dir):
    manifest = json.loads((data_dir / "data" / "sft" / "manifest.json").read_text())
    plan = launch.build("train", "lora", ["learning_rate=2e-4", "num_train_epochs=3", "report_to=tensorboard",
                                          f"dataset_dir={data_dir}"], environ=base_environ())
    assert plan.config["learning_rate"] == 2e-4 and isinstance(plan.config["learning_rate"], float)
    assert plan.config["num_train_epochs"] == 3 and plan.config["report_to"] == "tensorboard"
    assert plan.config["cutoff_len"] == manifest["recommended_cutoff_len"]
    # prepared with the tiny tokenizer but trained on the real model: the plan says the count may not fit
    assert manifest["tokenizer"].endswith("tiny-qwen2")
    assert any(n.startswith("warning: that cutoff_len was counted with the tiny model's tokenizer") for n in plan.notes)
    tiny = launch.build("train", "lora", [f"dataset_dir={data_dir}"], "tiny", environ=base_environ())
    assert not any(n.startswith("warning:") for n in tiny.notes)
    pinned = launch.build("train", "lora", [f"dataset_dir={data_dir}", "cutoff_len=300"], environ=base_environ())
    assert pinned.config["cutoff_len"] == 300
    with pytest.raises(LaunchError, match="key=value"):
        launch.build("train", "lora", ["=3"], environ=base_environ())


def test_tiny_profile(data_dir):
    plan = launch.build("train", "full", [f"dataset_dir={data_dir}", "max_steps=50"], "tiny", environ=base_environ())
    config = plan.config
    assert config["model_name_or_path"] == str(TINY_MODEL)
    assert plan.output_dir == REPO_ROOT / "saves" / "tiny-qwen2" / "full" / "sft"
    assert config["bf16"] is False
    # the recipe's DeepSpeed is kept where deepspeed is installed (it runs on CPU), and never dropped silently
    if importlib.util.find_spec("deepspeed"):
        assert config["deepspeed"] == str(RECIPE_DIR / "deepspeed" / "ds_z2_config.json")
        assert plan.env["FORCE_TORCHRUN"] == "1" and plan.env["NPROC_PER_NODE"] == "1"
        assert "profile tiny: DeepSpeed (ds_z2_config.json) kept: it runs on CPU too, under torchrun (gloo)" in plan.notes
    else:
        assert "deepspeed" not in config and "FORCE_TORCHRUN" not in plan.env
        assert any(n.startswith("profile tiny: DeepSpeed (ds_z2_config.json) dropped") for n in plan.notes)
    plain = launch.build("train", "full", [f"dataset_dir={data_dir}", "deepspeed=null"], "tiny", environ=base_environ())
    assert plain.config["deepspeed"] is None and "FORCE_TORCHRUN" not in plain.env
    assert config["max_steps"] == 50 and config["report_to"] == "none"  # the demo's training-length knob
    assert config["cutoff_len"] <= 512
    assert plan.env["HF_HUB_OFFLINE"] == "1"  # a local model: never wait on the hub


def test_targets_for_chat_export_predict():
    env = base_environ()
    lora_chat = launch.build("chat", "lora", [], environ=env)
    assert lora_chat.config["adapter_name_or_path"] == str(REPO_ROOT / "saves/Qwen2.5-0.5B-Instruct/lora/sft")
    assert lora_chat.config["model_name_or_path"] == BASE_MODEL_ID
    full_chat = launch.build("webchat", "full", [], environ=env)
    assert full_chat.config["model_name_or_path"] == str(REPO_ROOT / "saves/Qwen2.5-0.5B-Instruct/full/sft")
    assert "adapter_name_or_path" not in full_chat.config
    merged = launch.build("api", "qlora-merged", [], environ=env)
    assert merged.config["model_name_or_path"].endswith("saves/Qwen2.5-0.5B-Instruct/full/qlora_sft-merged")
    qlora_export = launch.build("export", "qlora", [], environ=env)
    assert "quantization_bit" not in qlora_export.config
    assert qlora_export.config["adapter_name_or_path"].endswith("lora/qlora_sft")
    dora_export = launch.build("export", "dora", [], environ=env)
    assert dora_export.config["adapter_name_or_path"].endswith("lora/dora_sft")
    assert dora_export.output_dir == REPO_ROOT / "saves/Qwen2.5-0.5B-Instruct/full/dora_sft-merged"
    with pytest.raises(LaunchError, match="already complete models"):
        launch.build("export", "full", [], environ=env)
    predict = launch.build("predict", "freeze", [], environ=env)
    assert predict.argv[1] == "train"  # LLaMA-Factory predicts through `train` with do_predict
    assert predict.output_dir == REPO_ROOT / "saves/Qwen2.5-0.5B-Instruct/freeze/sft_predict"
    assert predict.config["eval_dataset"] == "med_dialog_test,med_norm_test,med_mrg_test"
    with_model = launch.build("chat", "lora", [], environ=base_environ(MODEL="/models/other"))
    assert with_model.config["model_name_or_path"] == "/models/other"  # MODEL= replaces the base only
    merged_with_model = launch.build("chat", "lora-merged", [], environ=base_environ(MODEL="/x"))
    assert merged_with_model.config["model_name_or_path"].endswith("lora_sft-merged")


def test_local_base_model_preferred(monkeypatch, tmp_path):
    from launch import resolve

    local = tmp_path / "Qwen2.5-0.5B-Instruct"
    local.mkdir()
    (local / "config.json").write_text("{}")
    monkeypatch.setattr(resolve, "LOCAL_BASE_MODEL", local)
    plan = launch.build("train", "lora", [], environ=base_environ())
    assert plan.config["model_name_or_path"] == str(local) and plan.env["HF_HUB_OFFLINE"] == "1"


def test_servers_bind_loopback_and_api_needs_key_beyond_it():
    api = launch.build("api", None, [], environ=base_environ())
    assert api.env["API_HOST"] == "127.0.0.1" and api.env["API_PORT"] == "8000"
    webui = launch.build("webui", None, [], environ=base_environ(PORT="7999"))
    assert webui.env["GRADIO_SERVER_NAME"] == "127.0.0.1" and webui.env["GRADIO_SERVER_PORT"] == "7999"
    assert webui.argv == [sys.executable, "-m", "launch.webserve", "webui"] and webui.cwd == REPO_ROOT
    with pytest.raises(LaunchError, match="without API_KEY"):
        launch.build("api", None, [], environ=base_environ(HOST="0.0.0.0"))
    open_api = launch.build("api", None, [], environ=base_environ(HOST="0.0.0.0", API_KEY="s3cret"))
    assert open_api.env["API_HOST"] == "0.0.0.0" and open_api.env["API_KEY"] == "s3cret"


def test_cli_dry_run_prints_and_writes_nothing(capsys, monkeypatch, tmp_path):
    for key, value in MULTI_NODE.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "run"
    assert main(["train", "full", f"output_dir={out}", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "FORCE_TORCHRUN=1" in printed and "NNODES=2" in printed and "MASTER_ADDR=10.1.2.3" in printed
    assert f"llamafactory-cli train {out}/launch_config.yaml" in printed
    config = yaml.safe_load(printed.split(f"# {out}/launch_config.yaml:\n", 1)[1])
    assert config["deepspeed"].endswith("ds_z2_config.json") and config["finetuning_type"] == "full"
    assert not out.exists()


def test_model_download_arguments(monkeypatch, tmp_path):
    plan = download.download_plan(base_environ())
    assert plan == {"repo_id": BASE_MODEL_ID, "hub": "huggingface",
                    "local_dir": str(REPO_ROOT / "models" / "Qwen2.5-0.5B-Instruct")}
    ms = download.download_plan(base_environ(USE_MODELSCOPE_HUB="1", MODEL="Qwen/Qwen2.5-1.5B-Instruct"))
    assert ms["hub"] == "modelscope" and ms["local_dir"].endswith("models/Qwen2.5-1.5B-Instruct")
    with pytest.raises(LaunchError, match="owner/name"):
        download.download_plan(base_environ(MODEL="/some/local/dir"))

    calls = []
    import huggingface_hub

    def fake_snapshot(repo_id, local_dir):
        calls.append((repo_id, local_dir))
        os.makedirs(local_dir, exist_ok=True)
        Path(local_dir, "config.json").write_text("{}")
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(download, "MODELS_DIR", tmp_path)
    download.download(base_environ(), dry_run=True)
    assert calls == [] and not any(tmp_path.iterdir())  # dry run: no network, nothing written


def test_model_download_calls_the_hub(monkeypatch, tmp_path):
    import huggingface_hub

    calls = []

    def fake_snapshot(repo_id, local_dir):
        calls.append((repo_id, local_dir))
        Path(local_dir).mkdir(parents=True)
        Path(local_dir, "config.json").write_text("{}")
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(download, "MODELS_DIR", tmp_path)
    path = download.download(base_environ())
    assert calls == [(BASE_MODEL_ID, str(tmp_path / "Qwen2.5-0.5B-Instruct"))] and path.name == "Qwen2.5-0.5B-Instruct"
