"""Which checkpoint-N folders of a training run can be resumed from: complete ones, not ones a kill cut short.

What a transformers 5.6 Trainer writes into checkpoint-N, in this order (Trainer._save_checkpoint), so a kill
leaves a prefix of it:
  1. the model: adapter_model.safetensors + adapter_config.json (LoRA, QLoRA, DoRA), or model.safetensors /
     model-*.safetensors + model.safetensors.index.json (full, freeze; under ZeRO-3 only with
     stage3_gather_16bit_weights_on_model_save), config.json; training_args.bin; the tokenizer files
  2. the optimizer: optimizer.pt + scheduler.pt (rank 0), or with DeepSpeed global_stepN/ (every rank's ZeRO
     shards and mp_rank_00_model_states.pt), then `latest` naming it once every rank has saved, and
     scheduler.pt when LLaMA-Factory's own scheduler is used
  3. the RNG state: rng_state.pth, or rng_state_<rank>.pth from each process
  4. trainer_state.json (rank 0), last
So a checkpoint is complete when trainer_state.json parses and names step N, the model weights and the optimizer
state are there, and every file written before it is whole: safetensors' header and data add up to the file's
size, torch files (.pt/.pth/.bin: zip archives) keep their central directory, JSON parses. A file cut by a kill
fails these checks; no tensor is loaded to find out.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")  # transformers' PREFIX_CHECKPOINT_DIR + "-" + global step
TRAINER_STATE = "trainer_state.json"
WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "model.safetensors.index.json",
           "pytorch_model.bin", "pytorch_model.bin.index.json")
DEEPSPEED_LATEST = "latest"
TORCH_SUFFIXES = (".pt", ".pth", ".bin")
# What LLaMA-Factory writes at the end of a finished training run (Trainer.save_metrics), after the final weights.
RUN_RESULTS = ("all_results.json", "train_results.json")


def step_of(folder: Path) -> int | None:
    match = CHECKPOINT_NAME.match(folder.name)
    return int(match.group(1)) if match else None


def checkpoint_folders(run_dir: Path) -> list[Path]:
    """The run's checkpoint-N folders, newest (highest N) first."""
    if not run_dir.is_dir():
        return []
    found = [p for p in run_dir.iterdir() if p.is_dir() and step_of(p) is not None]
    return sorted(found, key=step_of, reverse=True)


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{path.name} is cut off ({size} bytes)"
        (length,) = struct.unpack("<Q", head)
        if 8 + length > size:
            return f"{path.name} is cut off (its header alone needs {8 + length} bytes, the file has {size})"
        try:
            header = json.loads(handle.read(length))
            end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        except (ValueError, KeyError, TypeError, IndexError):
            return f"{path.name} has an unreadable header"
    if 8 + length + end != size:
        return f"{path.name} is cut off ({size} of {8 + length + end} bytes)"
    return None


def _torch_file_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return f"{path.name} is cut off (no complete torch archive)"
    return None


def _json_problem(path: Path) -> str | None:
    try:
        json.loads(path.read_bytes())
    except (ValueError, OSError):
        return f"{path.name} is cut off (not valid JSON)"
    return None


def _file_problem(path: Path) -> str | None:
    if path.suffix == ".safetensors":
        return _safetensors_problem(path)
    if path.suffix in TORCH_SUFFIXES:
        return _torch_file_problem(path)
    if path.suffix == ".json":
        return _json_problem(path)
    return None


def _deepspeed_problem(folder: Path) -> str | None:
    """None when `latest` names a global_step folder holding model states and optimizer shards."""
    latest = folder / DEEPSPEED_LATEST
    if not latest.is_file():
        return f"its DeepSpeed state has no `{DEEPSPEED_LATEST}` file (the save did not finish)"
    tag = latest.read_text(encoding="utf-8", errors="replace").strip()
    states = folder / tag
    if not tag or "/" in tag or not states.is_dir():
        return f"`{DEEPSPEED_LATEST}` names {tag!r}, which is not a folder of the checkpoint"
    if not list(states.glob("*model_states.pt")) or not list(states.glob("*optim_states.pt")):
        return f"{tag}/ lacks its model or optimizer states"
    return None


def checkpoint_problem(folder: Path) -> str | None:
    """Why `folder` (checkpoint-N) cannot be resumed from, or None when it is complete."""
    state_path = folder / TRAINER_STATE
    if not state_path.is_file():
        return f"no {TRAINER_STATE}: the run stopped while saving it"
    try:
        state = json.loads(state_path.read_bytes())
    except (ValueError, OSError):
        return f"{TRAINER_STATE} is cut off"
    if not isinstance(state, dict) or state.get("global_step") != step_of(folder):
        return f"{TRAINER_STATE} is not the state of step {step_of(folder)}"
    deepspeed = any(folder.glob("global_step*"))
    if not deepspeed and not any((folder / name).is_file() for name in WEIGHTS):
        return "no model weights"
    if deepspeed:
        problem = _deepspeed_problem(folder)
        if problem:
            return problem
    elif not ((folder / "optimizer.pt").is_file() and (folder / "scheduler.pt").is_file()):
        return "no optimizer.pt / scheduler.pt (saved with save_only_model=true, or cut short)"
    if not any(folder.glob("rng_state*.pth")):
        return "no rng_state*.pth"
    index = folder / "model.safetensors.index.json"
    if index.is_file() and not _json_problem(index):
        shards = set(json.loads(index.read_bytes()).get("weight_map", {}).values())
        missing = sorted(s for s in shards if not (folder / s).is_file())
        if missing:
            return f"weight shard {missing[0]} is missing"
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        problem = _file_problem(path)
        if problem:
            return problem
    return None


def has_optimizer_state(folder: Path) -> bool:
    return (folder / "optimizer.pt").is_file() or any(folder.glob("global_step*"))


def last_complete(run_dir: Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """(the newest complete checkpoint or None, [(newer checkpoint, why it is incomplete), ...])."""
    skipped = []
    for folder in checkpoint_folders(run_dir):
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder, skipped
        skipped.append((folder, problem))
    return None, skipped


def final_save_interrupted(run_dir: Path) -> bool:
    """True when a run stopped while writing its final model (weights at the top, no results yet) after a
    complete checkpoint: it is resumable, not finished."""
    if any((run_dir / name).exists() for name in RUN_RESULTS):
        return False
    return last_complete(run_dir)[0] is not None
