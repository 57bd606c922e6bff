"""Recipes: which YAML a command/method uses, and how it is resolved into the config LLaMA-Factory runs.

Resolution order (later wins): recipe YAML -> target (which run a chat/export/predict points at) ->
profile (tiny: offline tiny model, CPU-safe) -> MODEL env (replaces the base model only) ->
key=value overrides -> cutoff_len from the data manifest (unless overridden) -> relative paths made
absolute against the repo root, so the launcher works from any working directory.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from contract import sftset

from .distributed import deepspeed_installed, tiny_deepspeed_note
from .errors import LaunchError
from .paths import (
    BASE_MODEL_ID,
    BASE_MODEL_NAME,
    GPT2_MODEL_ID,
    GPT2_MODEL_NAME,
    LOCAL_BASE_MODEL,
    RECIPE_DIR,
    REPO_ROOT,
    TINY_GPT2,
    TINY_GPT2_NAME,
    TINY_GPT2_SCRATCH,
    TINY_MODEL,
    TINY_MODEL_NAME,
)

COMMANDS = ("train", "export", "predict", "chat", "api", "webchat", "webui")
SERVE_COMMANDS = ("chat", "api", "webchat")

PREFIX = "qwen2_5_0_5b_"
TRAIN_RECIPES = {
    "full": "full_sft_ds2",
    "lora": "lora_sft",
    "qlora": "qlora_sft",
    "freeze": "freeze_sft",
    "dora": "dora_sft",
    "pt": "lora_pt",
}
ADAPTER_METHODS = ("lora", "qlora", "dora", "pt")  # their runs are LoRA adapters
MERGED_RUNS = {  # export <method> -> merged model dir (a complete model: listed under full/ by the web UI)
    "lora": "full/lora_sft-merged",
    "qlora": "full/qlora_sft-merged",
    "dora": "full/dora_sft-merged",
    "pt": "full/lora_pt-merged",
}
DEFAULT_RECIPE = {
    "export": "merge_lora",
    "predict": "lora_predict",
    "chat": "chat",
    "api": "chat",
    "webchat": "chat",
}

# Keys holding paths that are relative to the repo root in recipes.
ALWAYS_PATH_KEYS = ("output_dir", "export_dir", "dataset_dir", "deepspeed")
MAYBE_PATH_KEYS = ("model_name_or_path", "adapter_name_or_path")  # hub ids look like relative paths too

# Profile tiny: hub model -> offline stand-in (train_from_scratch picks the config-only one), and the
# saves/<model name>/ folder -> saves/<tiny name>/.
TINY_MODELS = {BASE_MODEL_ID: TINY_MODEL, GPT2_MODEL_ID: TINY_GPT2}
TINY_SCRATCH_MODELS = {GPT2_MODEL_ID: TINY_GPT2_SCRATCH}
TINY_SAVES = {BASE_MODEL_NAME: TINY_MODEL_NAME, GPT2_MODEL_NAME: TINY_GPT2_NAME}
# Recipes whose cutoff_len is their model's context (seed 000: n_ctx 300), not the data manifest's.
OWN_CUTOFF_PREFIXES = ("gpt2_",)

TINY_MAX_STEPS = 4
# Shown before a tiny-profile chat: what a user typing to it should expect, and what shows the demo's learning.
TINY_CHAT_BANNER = ("the tiny model has about 222k parameters and started from random weights; base answers are noise "
                    "and even the demo-trained adapter mostly imitates the style of the training replies (e.g. ask "
                    "'主题:头痛怎么办\n内容:最近总是头痛,需要去医院吗?' and expect a '您好,...建议...' shaped reply). "
                    "It proves the pipeline runs; medical answers need the real model (make model).")
TINY_CUTOFF = 512
TINY_PREDICT_SAMPLES = 8
TINY_NEW_TOKENS = 32

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def recipe_path(name: str) -> Path:
    """A recipe by file path, by file name (with or without .yaml) in llamafactory_configs/, or short name."""
    for candidate in (Path(name), RECIPE_DIR / name, RECIPE_DIR / f"{name}.yaml", RECIPE_DIR / f"{PREFIX}{name}.yaml"):
        if candidate.is_file():
            return candidate.resolve()
    known = ", ".join(sorted(p.stem for p in RECIPE_DIR.glob("*.yaml")))
    raise LaunchError(f"No recipe named '{name}'. Known recipes in {RECIPE_DIR.name}/: {known}.")


def load_recipe(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LaunchError(f"{path}: not valid YAML ({exc}).") from exc
    if not isinstance(data, dict):
        raise LaunchError(f"{path}: expected a mapping of LLaMA-Factory arguments, found {type(data).__name__}.")
    return data


def parse_value(text: str) -> Any:
    """YAML scalar semantics, plus '1e-4' as a float (YAML 1.1 reads it as a string, LF would not convert)."""
    value = yaml.safe_load(text) if text.strip() else None
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    return value


def parse_overrides(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key or not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", key):
            raise LaunchError(f"Override '{item}' is not of the form key=value (e.g. learning_rate=2e-4).")
        out[key] = parse_value(text)
    return out


def train_run_dir(method: str) -> str:
    """Repo-relative output dir of a method's training recipe (e.g. saves/Qwen2.5-0.5B-Instruct/lora/sft)."""
    return load_recipe(recipe_path(PREFIX + TRAIN_RECIPES[method]))["output_dir"]


def select_recipe(command: str, target: str | None) -> tuple[Path, str | None]:
    """(recipe, target) for a command and its optional positional argument (method, run target or recipe)."""
    if command == "train":
        if target is None:
            raise LaunchError(f"train needs a method ({', '.join(TRAIN_RECIPES)}) or a recipe name/path.")
        if target in TRAIN_RECIPES:
            return recipe_path(PREFIX + TRAIN_RECIPES[target]), None
        return recipe_path(target), None
    if command == "export":
        target = target or "lora"
        if target in ("full", "freeze"):
            raise LaunchError(f"'{target}' runs are already complete models (saves/.../{target}/...); "
                              "there is nothing to merge. Chat with them directly: python -m launch chat " + target)
        if target == "qlora":
            return recipe_path(PREFIX + "merge_qlora"), None
        if target in ADAPTER_METHODS:
            return recipe_path(PREFIX + "merge_lora"), target
        return recipe_path(target), None
    if command in DEFAULT_RECIPE:
        if target is None or is_run_target(target):
            return recipe_path(PREFIX + DEFAULT_RECIPE[command]), target or "base"
        return recipe_path(target), None
    raise LaunchError(f"Unknown command '{command}'. Commands: {', '.join(COMMANDS)}, model.")


def is_run_target(target: str) -> bool:
    return target == "base" or target in TRAIN_RECIPES or target.removesuffix("-merged") in MERGED_RUNS


def apply_target(config: dict[str, Any], command: str, target: str | None) -> None:
    """Point a chat/predict/export recipe at a run: base, <method> (adapter or full run), <method>-merged."""
    if target is None:
        return
    saves = f"saves/{BASE_MODEL_NAME}"
    if command == "export":
        config["adapter_name_or_path"] = train_run_dir(target)
        config["export_dir"] = f"{saves}/{MERGED_RUNS[target]}"
        return
    config.pop("adapter_name_or_path", None)
    if target == "base":
        config["model_name_or_path"] = BASE_MODEL_ID
        run_dir = f"{saves}/base"
    elif target.endswith("-merged"):
        run_dir = f"{saves}/{MERGED_RUNS[target.removesuffix('-merged')]}"
        config["model_name_or_path"] = run_dir
    elif target in ADAPTER_METHODS:
        config["model_name_or_path"] = BASE_MODEL_ID
        run_dir = train_run_dir(target)
        config["adapter_name_or_path"] = run_dir
        config["finetuning_type"] = "lora"
    else:  # full / freeze: the run dir is a complete model
        run_dir = train_run_dir(target)
        config["model_name_or_path"] = run_dir
    if command == "predict":
        config["output_dir"] = f"{run_dir}_predict"


def _rename_model_folder(value: str) -> str:
    parts = Path(value).parts
    if len(parts) > 1 and parts[0] == "saves" and parts[1] in TINY_SAVES:
        return str(Path("saves", TINY_SAVES[parts[1]], *parts[2:]))
    return value


def apply_tiny_profile(config: dict[str, Any], command: str) -> None:
    """Offline tiny model, CPU-safe settings, few steps; outputs under saves/tiny-qwen2/ (tiny-gpt2/)."""
    model = config.get("model_name_or_path")
    tiny = (TINY_SCRATCH_MODELS if config.get("train_from_scratch") else TINY_MODELS).get(model)
    if tiny is not None:
        config["model_name_or_path"] = str(tiny)
    for key in ("model_name_or_path", "adapter_name_or_path", "output_dir", "export_dir"):
        if isinstance(config.get(key), str):
            config[key] = _rename_model_folder(config[key])
    for key in ("bf16", "fp16", "pure_bf16"):
        if key in config:
            config[key] = False
    if not deepspeed_installed():  # else kept: DeepSpeed trains on CPU too, so tiny runs take the real branch
        config.pop("deepspeed", None)
    config.pop("infer_dtype", None)  # the 4-bit recipe's fp16 compute is for GPUs; CPU picks its own
    if command in ("train", "predict"):
        config["report_to"] = "none"
        config["preprocessing_num_workers"] = None
        config["dataloader_num_workers"] = 0
        config["dataloader_pin_memory"] = False  # CPU: nothing to pin (else a warning on every run)
    if command == "train":
        config["max_steps"] = TINY_MAX_STEPS
        config["logging_steps"] = 1
        config["per_device_train_batch_size"] = 2
        config["gradient_accumulation_steps"] = 1
    if command == "predict":
        config["max_samples"] = TINY_PREDICT_SAMPLES
        config["max_new_tokens"] = TINY_NEW_TOKENS
        config["per_device_eval_batch_size"] = 4
    if command in SERVE_COMMANDS:
        config["max_new_tokens"] = TINY_NEW_TOKENS


def registered_datasets(config: dict[str, Any]) -> list[str]:
    names = []
    for key in ("dataset", "eval_dataset"):
        value = config.get(key)
        if isinstance(value, str):
            names += [n.strip() for n in value.split(",") if n.strip()]
        elif isinstance(value, list):
            names += [str(n) for n in value]
    return names


def read_dataset_info(dataset_dir: Path) -> dict[str, Any] | None:
    path = dataset_dir / "dataset_info.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LaunchError(f"{path}: not valid JSON ({exc}); rerun `make data`.") from exc


# Beyond any model's context: a manifest recommending more was made from broken data (one huge record).
MAX_SANE_CUTOFF = 1 << 20


def manifest_cutoff(config: dict[str, Any]) -> tuple[int, Path, str] | None:
    """(recommended_cutoff_len, manifest path, tokenizer it was counted with) from the manifest next to the
    first registered dataset's file, if any. LaunchError when that folder is not one complete data_prep
    output (files of two runs, a cut-short file, registrations of another run) or the cutoff is absurd."""
    dataset_dir = Path(config.get("dataset_dir") or REPO_ROOT)
    info = read_dataset_info(dataset_dir) or {}
    for name in registered_datasets(config):
        file_name = (info.get(name) or {}).get("file_name")
        if not file_name:
            continue
        data_dir = (dataset_dir / file_name).parent
        path = data_dir / sftset.MANIFEST
        if not path.is_file():
            return None
        problems = sftset.verify(data_dir, [dataset_dir / "dataset_info.json"])
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise LaunchError(f"{data_dir} is not one complete data_prep output: {problems[0]}{more}; "
                              f"{sftset.FIX}.")
        data, _ = sftset.read_manifest(data_dir)
        value, limit = data.get("recommended_cutoff_len"), data.get("max_position_embeddings")
        bound = limit if isinstance(limit, int) and limit > 0 else MAX_SANE_CUTOFF
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= bound:
            raise LaunchError(f"{path}: recommended_cutoff_len {value!r} is not a usable cutoff_len (1 to {bound}, "
                              "the model's max_position_embeddings): rerun `make data`, or pass cutoff_len=N.")
        return value, path, str(data.get("tokenizer", ""))
    return None


def _absolute(value: str) -> str:
    return value if os.path.isabs(value) else str((REPO_ROOT / value).resolve())


def absolutize_paths(config: dict[str, Any]) -> None:
    for key in ALWAYS_PATH_KEYS:
        if isinstance(config.get(key), str) and config[key]:
            config[key] = _absolute(config[key])
    for key in MAYBE_PATH_KEYS:
        value = config.get(key)
        if not isinstance(value, str) or not value or os.path.isabs(value):
            continue
        # a repo-relative run/model dir, or one that will exist (saves/ and models/ are ours); else a hub id
        parts = [_absolute(v) if (REPO_ROOT / v).exists() or v.startswith(("saves/", "models/", "./"))
                 else v for v in value.split(",")]
        config[key] = ",".join(parts)


def resolve_config(
    command: str,
    recipe: Path,
    target: str | None,
    overrides: dict[str, Any],
    profile: str | None,
    env: dict[str, str],
) -> tuple[dict[str, Any], list[str]]:
    """The config LLaMA-Factory will run, and notes on each decision the launcher made."""
    notes: list[str] = []
    config = load_recipe(recipe)
    apply_target(config, command, target)
    if profile == "tiny":
        recipe_deepspeed = config.get("deepspeed")
        apply_tiny_profile(config, command)
        tiny_model = Path(str(config.get("model_name_or_path", TINY_MODEL)))
        shown = tiny_model.relative_to(REPO_ROOT) if tiny_model.is_relative_to(REPO_ROOT) else tiny_model
        out = config.get("output_dir") or config.get("export_dir")
        notes.append(f"profile tiny: {shown}, no bf16, short run" + (f", outputs in {out}" if out else ""))
        if command in SERVE_COMMANDS:
            notes.append(TINY_CHAT_BANNER)
        if recipe_deepspeed:
            notes.append(tiny_deepspeed_note(recipe_deepspeed, kept=bool(config.get("deepspeed"))))
    elif profile:
        raise LaunchError(f"Unknown profile '{profile}'; the only profile is 'tiny'.")
    model = env.get("MODEL", "").strip()
    if config.get("model_name_or_path") in (BASE_MODEL_ID, str(TINY_MODEL)) and model:
        config["model_name_or_path"] = model
        notes.append(f"model from MODEL={model}")
    elif config.get("model_name_or_path") == BASE_MODEL_ID and (LOCAL_BASE_MODEL / "config.json").is_file():
        config["model_name_or_path"] = str(LOCAL_BASE_MODEL)
        notes.append(f"model: local copy {LOCAL_BASE_MODEL} (make model)")
    config.update(overrides)
    absolutize_paths(config)
    own_cutoff = recipe.name.startswith(OWN_CUTOFF_PREFIXES)
    if command in ("train", "predict") and "cutoff_len" not in overrides and not own_cutoff:
        found = manifest_cutoff(config) if config.get("stage", "sft") == "sft" else None  # pt: block length
        if found:
            config["cutoff_len"] = found[0]
            notes.append(f"cutoff_len {found[0]} from {found[1]}")
            if Path(found[2]).name == TINY_MODEL_NAME and profile != "tiny":
                notes.append(f"warning: that cutoff_len was counted with the tiny model's tokenizer; for "
                             f"{config.get('model_name_or_path')} rerun `make data ARGS=\"--model <that model>\"`")
        if profile == "tiny" and config.get("cutoff_len", TINY_CUTOFF) > TINY_CUTOFF:
            config["cutoff_len"] = TINY_CUTOFF
            notes.append(f"profile tiny: cutoff_len capped at {TINY_CUTOFF}")
    return config, notes
