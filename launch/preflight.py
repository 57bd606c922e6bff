"""Checks that fail early, before minutes of model loading, with a sentence the user can act on."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contract import dataset_info
from contract.dataset_info import DatasetInfoError
from contract.env import env_flag, hub_offline_by
from contract.models import BASE_MODEL_ID, max_positions
from contract.paths import DATASET_INFO, MODELS_DIR, SAVES_DIR

from . import memory
from .checkpoints import final_save_interrupted
from .prepared import dataset_dir, registered_datasets
from .profiles import TINY

if TYPE_CHECKING:
    from .plan import Plan

VALID_QUANTIZATION_METHODS = ("bnb", "gptq", "awq", "aqlm", "quanto", "eetq", "hqq", "mxfp4", "fp8")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    message: str


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def check_cuda(plan: Plan) -> list[Finding]:
    if plan.command not in ("train", "predict") or plan.profile == TINY or _cuda_available():
        return []
    return [Finding("error", "No CUDA GPU is visible (torch.cuda.is_available() is False), and this recipe "
                             "trains/generates with Qwen2.5-0.5B in bf16. Run it on a machine with an NVIDIA "
                             "GPU, or add --profile tiny (make ... PROFILE=tiny) to exercise it on CPU with the "
                             "offline tiny model.")]


def check_quantization(config: dict) -> list[Finding]:
    out = []
    method = config.get("quantization_method")
    if method is not None and str(method) not in VALID_QUANTIZATION_METHODS:
        hint = " Write `quantization_method: bnb` for bitsandbytes." if "bits" in str(method) else ""
        out.append(Finding("error", f"quantization_method '{method}' is not one of {VALID_QUANTIZATION_METHODS}: "
                                    f"LLaMA-Factory would silently load the model unquantized.{hint}"))
    if config.get("quantization_bit") and str(method or "bnb") == "bnb":
        if importlib.util.find_spec("bitsandbytes") is None:
            out.append(Finding("error", "quantization_bit is set (QLoRA / 4-bit inference) but bitsandbytes is "
                                        "not installed: pip install bitsandbytes (make setup installs it)."))
    return out


def check_deepspeed(plan: Plan) -> list[Finding]:
    path = plan.config.get("deepspeed")
    if not path or plan.command != "train":
        return []
    out = []
    if not Path(path).is_file():
        out.append(Finding("error", f"DeepSpeed config {path} does not exist (recipes ship "
                                    "llamafactory_configs/deepspeed/ds_z2_config.json and ds_z3_config.json)."))
    if importlib.util.find_spec("deepspeed") is None:
        out.append(Finding("error", "This recipe uses DeepSpeed, which is not installed: `make deepspeed` installs "
                                    "the pinned version, or train on one GPU without it: add deepspeed=null."))
    if any(ch.isspace() for ch in str(plan.config_path)):
        out.append(Finding("error", f"LLaMA-Factory's torchrun launcher splits its arguments on spaces, so the "
                                    f"config path '{plan.config_path}' cannot contain whitespace: move the repo "
                                    "or set output_dir= to a path without spaces."))
    return out


def check_torchrun(plan: Plan) -> list[Finding]:
    """LLaMA-Factory starts `torchrun` by name: it must be on the child's PATH (the launcher puts this
    interpreter's bin dir first, which holds it in a venv)."""
    if not env_flag("FORCE_TORCHRUN", plan.env):
        return []
    if shutil.which("torchrun", path=plan.env_for_child().get("PATH")) is not None:
        return []
    return [Finding("error", f"This run goes through torchrun ({plan.env['NPROC_PER_NODE']} process(es) x "
                             f"{plan.env['NNODES']} node(s)), but no torchrun is next to {sys.executable} or on "
                             "PATH: run the launcher with the Python that has torch installed (.venv/bin/python).")]


def _is_local(value: str) -> bool:
    ours = (".", f"{SAVES_DIR.name}/", f"{MODELS_DIR.name}/")
    return os.path.isabs(value) or value.startswith(ours) or Path(value).exists()


def check_model(plan: Plan) -> list[Finding]:
    value = plan.config.get("model_name_or_path")
    if not value:
        return [Finding("error", "The recipe has no model_name_or_path.")] if plan.command != "webui" else []
    if _is_local(value):
        if not (Path(value) / "config.json").is_file():
            hint = ("train or export it first (make train-<method> / make export)" if SAVES_DIR.name in Path(value).parts
                    else "run `make model` (or `make tiny-model` for the tiny profile), or set MODEL= to a model dir")
            return [Finding("error", f"Model directory {value} has no config.json: {hint}.")]
        return []
    return check_hub_model(value, plan.env_for_child())


def check_hub_model(repo_id: str, environ: dict[str, str]) -> list[Finding]:
    """A hub id is fine when cached; otherwise it must be reachable, unless downloads are off in `environ` (the
    run's environment: what LLaMA-Factory and huggingface_hub will obey)."""
    if env_flag("USE_MODELSCOPE_HUB", environ):
        return [Finding("info", f"{repo_id} will be fetched from ModelScope (USE_MODELSCOPE_HUB=1) if not cached.")]
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
        return []
    offline = hub_offline_by(environ)
    if offline:
        return [Finding("error", f"{repo_id} is not downloaded and {offline} is set: run `make model` on a "
                                 "connected machine (it saves to models/, which the launcher then uses), or set "
                                 "MODEL= to a local model directory.")]
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(repo_id, timeout=10)
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        return [Finding("error", f"{repo_id} is neither cached nor reachable on the Hugging Face hub "
                                 f"({type(exc).__name__}: {exc}). Run `make model` where the hub is reachable, "
                                 "use USE_MODELSCOPE_HUB=1, or set MODEL= to a local model directory.")]
    return [Finding("info", f"{repo_id} is not cached: it will be downloaded on first use (or run `make model`).")]


def check_adapters(plan: Plan) -> list[Finding]:
    value = plan.config.get("adapter_name_or_path")
    if not value:
        return []
    out = []
    for path in str(value).split(","):
        if _is_local(path) and not (Path(path) / "adapter_config.json").is_file():
            out.append(Finding("error", f"Adapter {path} has no adapter_config.json: train it first "
                                        "(make train-lora / train-qlora / train-dora, or PROFILE=tiny), "
                                        "or point adapter_name_or_path= at an existing run."))
    return out


def check_datasets(plan: Plan) -> list[Finding]:
    names = registered_datasets(plan.config)
    if not names:
        return []
    folder = dataset_dir(plan.config)
    info_path = folder / DATASET_INFO
    if not info_path.is_file():
        return [Finding("error", f"{info_path} does not exist: run `make data` to prepare and register the med_* "
                                 "datasets.")]
    try:
        info = dataset_info.read(info_path)
    except (DatasetInfoError, OSError) as exc:
        return [Finding("error", f"{exc}: run `make data`.")]
    out = []
    for name in names:
        entry = info.get(name)
        if entry is None:
            out.append(Finding("error", f"Dataset '{name}' is not registered in {info_path} "
                                        f"(registered: {', '.join(sorted(info)) or 'none'}): run `make data`."))
        elif not isinstance(entry, dict):
            out.append(Finding("error", f"{info_path}: '{name}' is not a dataset entry (expected an object with "
                                        f"file_name, found {type(entry).__name__}): run `make data`."))
        elif isinstance(entry.get("file_name"), str) and not (folder / entry["file_name"]).exists():
            out.append(Finding("error", f"Dataset '{name}' points at {folder / entry['file_name']}, which does "
                                        "not exist: run `make data`."))
    return out


def _config_path(value: str) -> Path | None:
    """config.json of a local model folder, or of the base model in the hub cache; None when neither is there."""
    path = Path(value) / "config.json"
    if path.is_file():
        return path
    if value == BASE_MODEL_ID:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(value, "config.json")
        if isinstance(cached, str):
            return Path(cached)
    return None


def _model_dims(value: str) -> memory.ModelDims | None:
    path = _config_path(value)
    if path is None:
        return memory.QWEN2_5_0_5B if value == BASE_MODEL_ID else None  # not downloaded yet: its known shape
    return memory.ModelDims.from_config(json.loads(path.read_text(encoding="utf-8")))


QWEN2_5_0_5B_MAX_POSITIONS = 32768  # its config.json, for when the model is not downloaded yet


def _max_positions(value: str) -> int | None:
    path = _config_path(value)
    if path is None:
        return QWEN2_5_0_5B_MAX_POSITIONS if value == BASE_MODEL_ID else None
    try:
        return max_positions(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def check_cutoff(plan: Plan) -> list[Finding]:
    """cutoff_len must be a positive length the model can attend over (LLaMA-Factory would pad/cut to it)."""
    cutoff = plan.config.get("cutoff_len")
    if plan.command not in ("train", "predict") or cutoff is None:
        return []
    if not isinstance(cutoff, int) or isinstance(cutoff, bool) or cutoff <= 0:
        return [Finding("error", f"cutoff_len {cutoff!r} is not a positive number of tokens: set cutoff_len=N "
                                 "(the data manifest's recommended_cutoff_len, or 2048).")]
    limit = _max_positions(str(plan.config.get("model_name_or_path") or ""))
    if limit and cutoff > limit and not plan.config.get("rope_scaling"):
        return [Finding("error", f"cutoff_len {cutoff} exceeds the model's max_position_embeddings ({limit}): "
                                 f"set cutoff_len={limit} or less (or rope_scaling=linear / dynamic to stretch the "
                                 "context), and check the data for absurdly long records (`make data` skips them "
                                 "as too_long).")]
    return []


def world_size(env: dict[str, str]) -> int:
    def number(key: str, default: int) -> int:
        value = env.get(key, "").strip()
        return int(value) if value.isdigit() else default

    devices = 1
    if _cuda_available():
        import torch

        devices = torch.cuda.device_count()
    return number("NPROC_PER_NODE", devices) * number("NNODES", 1)


def zero_stage(config: dict) -> int:
    path = config.get("deepspeed")
    if not path or not Path(path).is_file():
        return 0
    return int(json.loads(Path(path).read_text(encoding="utf-8")).get("zero_optimization", {}).get("stage", 0))


def memory_estimate(plan: Plan) -> memory.MemoryEstimate | None:
    if plan.command != "train" or not plan.config.get("model_name_or_path"):
        return None
    dims = _model_dims(str(plan.config["model_name_or_path"]))
    if dims is None:
        return None
    devices = 1 if plan.profile == TINY else world_size(plan.env_for_child())  # tiny: CPU, skip importing torch
    return memory.estimate(dims, plan.config, devices, zero_stage(plan.config))


def check_memory(plan: Plan) -> list[Finding]:
    try:
        est = memory_estimate(plan)
    except (KeyError, ValueError) as exc:
        return [Finding("info", f"No GPU memory estimate: {exc}.")]
    if est is None:
        return []
    findings = [Finding("info", f"GPU memory estimate: {est.describe()}.")]
    if plan.profile != TINY and _cuda_available():
        import torch

        free, total = torch.cuda.mem_get_info(0)
        if est.total > free:
            findings.append(Finding("warning", f"The estimate ({est.total / memory.GIB:.1f} GiB) exceeds the free "
                                               f"memory of cuda:0 ({free / memory.GIB:.1f} of "
                                               f"{total / memory.GIB:.1f} GiB): expect an out-of-memory error. "
                                               "Lower per_device_train_batch_size (raise "
                                               "gradient_accumulation_steps to keep the batch) or cutoff_len, "
                                               "or use qlora."))
    return findings


def run_checks(plan: Plan) -> list[Finding]:
    findings = check_cuda(plan) + check_quantization(plan.config)
    if plan.command != "webui":
        findings += check_deepspeed(plan) + check_torchrun(plan) + check_model(plan) + check_adapters(plan) + check_datasets(plan)
        findings += check_cutoff(plan) + check_memory(plan)
    return findings


# Files a run leaves only when it got far enough to produce something a user may rely on.
FINISHED_MARKERS = ("adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json",
                    "all_results.json", "generated_predictions.jsonl")


def finished_run_refusal(plan: Plan) -> str | None:
    """A sentence when the run would overwrite a finished run's outputs and launch config, else None."""
    out = plan.output_dir
    if plan.command not in ("train", "predict", "export") or out is None or not out.is_dir():
        return None
    found = [name for name in FINISHED_MARKERS if (out / name).exists()]
    if not found:
        return None  # empty, or a run that died before saving anything: nothing to protect
    if plan.command == "train" and final_save_interrupted(out):
        return None  # stopped while writing its final model after a complete checkpoint: it resumes (resume.py)
    key = "export_dir" if plan.command == "export" else "output_dir"
    return (f"{out} already holds a finished run ({found[0]}); it would be overwritten together with its "
            f"{plan.config_path.name if plan.config_path else 'config'}. Choose a new folder with "
            f"ARGS=\"{key}={out}-2\", or add --overwrite (make ... OVERWRITE=1) to replace it.")
