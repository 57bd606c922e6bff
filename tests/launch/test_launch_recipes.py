"""Every shipped recipe goes through LLaMA-Factory's own argument parser (after the tiny profile), and the
recipes keep the conventions the rest of the project relies on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

import launch
from contract.models import BASE_MODEL_NAME, TINY_MODEL
from contract.paths import RECIPE_DIR
from launch.distributed import deepspeed_installed
from launch.prepared import registered_datasets
from launch.recipes import TRAIN_RECIPES
from tests.launch.conftest import base_environ

RECIPES = sorted(RECIPE_DIR.glob("*.yaml"))
# The Qwen rows; the seeds' GPT-2 rows (gpt2_*) have their own checks in test_launch_gpt2.py.
QWEN_RECIPES = [p for p in RECIPES if p.name.startswith("qwen2_5_0_5b_")]
WEBUI_METHODS = ("full", "freeze", "lora", "oft")  # llamafactory.extras.constants.METHODS


def command_for(recipe: dict) -> str:
    if "export_dir" in recipe:
        return "export"
    if recipe.get("do_train"):
        return "train"
    if recipe.get("do_predict"):
        return "predict"
    return "chat"


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_recipes_exist():
    names = {p.stem for p in RECIPES}
    for stem in TRAIN_RECIPES.values():
        assert f"qwen2_5_0_5b_{stem}" in names
    for stem in ("full_sft_ds3", "merge_lora", "merge_qlora", "lora_predict", "chat", "lora_chat",
                 "merged_chat", "lora_chat_4bit"):
        assert f"qwen2_5_0_5b_{stem}" in names
    for zero in ("ds_z2_config.json", "ds_z3_config.json"):
        json.loads((RECIPE_DIR / "deepspeed" / zero).read_text())


@pytest.mark.parametrize("path", QWEN_RECIPES, ids=lambda p: p.stem)
def test_recipe_parses_with_llamafactory(path, data_dir, tmp_path):
    from llamafactory.hparams import get_infer_args, get_train_args

    command = command_for(raw(path))
    overrides = {"dataset_dir": str(data_dir)}
    if command in ("train", "predict"):
        overrides["output_dir"] = str(tmp_path / "out")
    plan = launch.build(command, str(path), overrides, profile="tiny", environ=base_environ())
    config = plan.config
    model = Path(config["model_name_or_path"])  # the tiny model itself, or a tiny-profile run of it
    assert model == TINY_MODEL or model.is_relative_to(TINY_MODEL.parents[1] / "saves" / "tiny-qwen2")
    assert not config.get("bf16")
    # DeepSpeed stays under the tiny profile where it is installed (it runs on CPU), else it is dropped
    assert bool(config.get("deepspeed")) is (bool(raw(path).get("deepspeed")) and deepspeed_installed())
    # (LLaMA-Factory parses a DeepSpeed config only inside torchrun: test_launch_distributed runs those)
    if command in ("train", "predict"):
        model_args, data_args, training_args, finetuning_args, _ = get_train_args(dict(config, deepspeed=None))
        assert finetuning_args.stage == raw(path)["stage"]
        assert training_args.do_train == bool(raw(path).get("do_train"))
        assert data_args.cutoff_len == config["cutoff_len"]
    else:
        model_args, data_args, finetuning_args, generating_args = get_infer_args(dict(config))
        if command == "chat":
            assert generating_args.temperature == 0.7 and generating_args.top_p == 0.8
            assert generating_args.repetition_penalty == 1.1 and data_args.default_system
    if raw(path).get("quantization_bit"):
        assert model_args.quantization_method == "bnb" and model_args.quantization_bit == 4


@pytest.mark.parametrize("path", [p for p in QWEN_RECIPES if command_for(raw(p)) in ("train", "export", "predict")],
                         ids=lambda p: p.stem)
def test_outputs_where_the_web_ui_lists_them(path):
    recipe = raw(path)
    out = Path(recipe.get("export_dir") or recipe["output_dir"])
    assert out.parts[:2] == ("saves", BASE_MODEL_NAME), out
    assert out.parts[2] in WEBUI_METHODS + ("base",), f"{out}: not a finetuning_type the web UI lists"
    if command_for(recipe) == "train":
        assert out.parts[2] == recipe["finetuning_type"]
        assert recipe["plot_loss"] is True and "report_to" in recipe and recipe["dataset_dir"] == "."
        lr = recipe["learning_rate"]
        if recipe["finetuning_type"] == "lora":
            assert 1e-4 <= lr <= 2e-4
        else:
            assert 1e-5 <= lr <= 2e-5
        assert recipe.get("bf16") is True


# The one source of the Qwen chat system prompt and sampling settings: `launch chat|api|webchat <target>` builds
# from it, and the other chat recipes repeat it because each must run alone with `llamafactory-cli chat`.
CHAT_SOURCE = RECIPE_DIR / "qwen2_5_0_5b_chat.yaml"
QWEN_CHAT_RECIPES = [p for p in QWEN_RECIPES if command_for(raw(p)) == "chat" and p != CHAT_SOURCE]


def chat_settings(recipe: dict) -> dict:
    """The system prompt and every generation setting (a field of LLaMA-Factory's GeneratingArguments) it sets."""
    from llamafactory.hparams import GeneratingArguments

    keys = {f.name for f in dataclasses.fields(GeneratingArguments)} | {"default_system"}
    return {key: value for key, value in recipe.items() if key in keys}


def test_the_chat_source_holds_the_system_prompt_and_the_six_sampling_settings():
    assert set(chat_settings(raw(CHAT_SOURCE))) == {"default_system", "do_sample", "temperature", "top_p", "top_k",
                                                     "repetition_penalty", "max_new_tokens"}
    assert len(QWEN_CHAT_RECIPES) == 3


@pytest.mark.parametrize("path", QWEN_CHAT_RECIPES, ids=lambda p: p.stem)
def test_chat_recipes_repeat_the_one_source_exactly(path):
    assert chat_settings(raw(path)) == chat_settings(raw(CHAT_SOURCE))


@pytest.mark.parametrize(("recipe", "target"), [("qwen2_5_0_5b_lora_chat", "lora"),
                                                ("qwen2_5_0_5b_merged_chat", "lora-merged")])
def test_run_chat_recipes_are_what_the_launcher_builds_for_their_run(recipe, target):
    """`python -m launch chat <recipe>` and `make chat ARGS=<target>` give LLaMA-Factory the same arguments."""
    from llamafactory.hparams import get_infer_args

    by_file = launch.build("chat", recipe, environ=base_environ()).config
    by_target = launch.build("chat", target, environ=base_environ()).config
    assert get_infer_args(dict(by_file)) == get_infer_args(dict(by_target))


def test_qlora_differs_from_lora_by_quantization_only():
    lora, qlora = raw(RECIPE_DIR / "qwen2_5_0_5b_lora_sft.yaml"), raw(RECIPE_DIR / "qwen2_5_0_5b_qlora_sft.yaml")
    changed = {k for k in lora.keys() | qlora.keys() if lora.get(k) != qlora.get(k)}
    assert changed == {"quantization_bit", "quantization_method", "quantization_type", "double_quantization",
                       "upcast_layernorm", "output_dir", "learning_rate"}
    assert qlora["quantization_method"] == "bnb" and qlora["double_quantization"] is True
    assert "quantization_bit" not in raw(RECIPE_DIR / "qwen2_5_0_5b_merge_qlora.yaml")  # merge onto full precision


@pytest.mark.parametrize("path", [p for p in RECIPES if registered_datasets(raw(p))], ids=lambda p: p.stem)
def test_recipe_datasets_are_registered_by_data_prep(path, prepared_data):
    info = json.loads((prepared_data / "dataset_info.json").read_text(encoding="utf-8"))
    missing = [name for name in registered_datasets(raw(path)) if name not in info]
    assert not missing, f"{path.name} names datasets data_prep does not register: {missing}"


def test_web_ui_lists_every_run(tmp_path, monkeypatch):
    """LLaMA-Factory's own checkpoint list (web UI, model Qwen2.5-0.5B-Instruct) finds each recipe's output."""
    from llamafactory.webui.control import list_checkpoints

    monkeypatch.chdir(tmp_path)  # the web UI reads ./saves
    expected: dict[str, set[str]] = {}
    for path in QWEN_RECIPES:
        recipe = raw(path)
        if command_for(recipe) not in ("train", "export"):
            continue
        out = Path(recipe.get("export_dir") or recipe["output_dir"])
        out_dir = tmp_path / out
        out_dir.mkdir(parents=True)
        weights = "adapter_model.safetensors" if out.parts[2] == "lora" else "model.safetensors"
        (out_dir / weights).write_bytes(b"")
        expected.setdefault(out.parts[2], set()).add(out.name)
    assert expected["lora"] == {"sft", "qlora_sft", "dora_sft", "pt"}
    for finetuning_type, runs in expected.items():
        listed = set(list_checkpoints(BASE_MODEL_NAME, finetuning_type).choices)
        assert {choice[0] if isinstance(choice, tuple) else choice for choice in listed} == runs
