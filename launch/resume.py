"""Rerunning the same training command after an interruption continues it: the launcher picks the last complete
checkpoint in output_dir (checkpoints.py says what complete means) and hands it to LLaMA-Factory as
resume_from_checkpoint, so transformers restores the weights, optimizer, scheduler, RNG state and position in
the data. A half-written checkpoint is never loaded: it is named and removed. RESTART=1 (--restart) starts over
on purpose, and a finished run is still refused unless OVERWRITE=1 (preflight.finished_run_refusal), which then
starts over too.

What is set: the recipes say `overwrite_output_dir: true` (LLaMA-Factory then deletes trainer_log.jsonl and
never looks for checkpoints) and `resume_from_checkpoint: null`. Resuming sets the checkpoint's path and
overwrite_output_dir=false (the loss log is kept, cut back to the checkpoint's step); starting over keeps both as
the recipes have them and removes the earlier run's checkpoint folders, so none of them is mistaken for this
run's later.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from contract.files import write_text

from .checkpoints import checkpoint_folders, checkpoint_problem, has_optimizer_state, last_complete, step_of
from .errors import LaunchError

if TYPE_CHECKING:
    from .plan import Plan

TRAINER_LOG = "trainer_log.jsonl"  # LLaMA-Factory's loss log: one JSON line per logged step
RESTART_HINT = "RESTART=1 or --restart starts over"


@dataclass
class Resume:
    """What a train run does with its output_dir: resume from `checkpoint` (None: start at step 0) after
    removing `remove` (half-written checkpoints, or every checkpoint of the earlier run on a restart)."""

    run_dir: Path
    checkpoint: Path | None = None
    remove: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None  # a sentence: this run must not start


def _set(plan: Plan, checkpoint: Path | None) -> None:
    plan.config["resume_from_checkpoint"] = None if checkpoint is None else str(checkpoint)
    plan.config["overwrite_output_dir"] = checkpoint is None
    if checkpoint is not None and plan.env.get("FORCE_TORCHRUN") == "1" and not plan.config.get("deepspeed"):
        from .distributed import visible_gpus

        if not visible_gpus():
            # several CPU processes: accelerate names each one's device 'cpu:0', transformers 5.6 loads the optimizer
            # state with map_location='cpu:0', and torch.load refuses that location; plain 'cpu' is the same device
            plan.env["ACCELERATE_TORCH_DEVICE"] = "cpu"


def decide(plan: Plan, restart: bool = False) -> Resume | None:
    """Decide (reading only) how a train plan treats its output_dir, and set resume_from_checkpoint and
    overwrite_output_dir in plan.config accordingly; None for other commands."""
    if plan.command != "train" or plan.output_dir is None:
        return None
    out = plan.output_dir
    folders = checkpoint_folders(out)
    chosen = plan.config.get("resume_from_checkpoint")
    if chosen:  # the user's own choice (key=value or their recipe)
        if restart:
            return Resume(out, refusal=f"--restart (RESTART=1) and resume_from_checkpoint={chosen} contradict "
                                       "each other: drop one.")
        path = Path(str(chosen))
        problem = checkpoint_problem(path) if path.is_dir() else None
        if problem:
            return Resume(out, refusal=f"resume_from_checkpoint={chosen} is incomplete ({problem}): point it at "
                                       "a complete checkpoint, or leave it unset to use the last complete one.")
        _set(plan, path)
        return Resume(out, path, notes=[f"resuming from {chosen} (resume_from_checkpoint as given)"])
    if restart:
        _set(plan, None)
        notes = [f"starting over: the {len(folders)} checkpoint folder(s) of the earlier run in {out} are removed"
                 ] if folders else []
        return Resume(out, None, folders, notes)
    if plan.config.get("save_only_model") and any(not has_optimizer_state(f) for f in folders):
        return Resume(out, refusal=f"{out} holds checkpoints of an interrupted run saved with save_only_model=true: "
                                   "they keep no optimizer state, so training cannot continue where it stopped. "
                                   f"Start over with RESTART=1 (--restart), or choose a new folder with "
                                   f"ARGS=\"output_dir={out}-2\".")
    checkpoint, skipped = last_complete(out)
    notes = [f"{folder.name} is incomplete ({why}): skipped, and removed before training" for folder, why in skipped]
    _set(plan, checkpoint)
    if checkpoint is None:
        if skipped:
            notes.append(f"no complete checkpoint in {out}: training starts at step 0")
        return Resume(out, None, [f for f, _ in skipped], notes)
    notes.append(f"resuming from {checkpoint.name} (step {step_of(checkpoint)}), the last complete checkpoint in "
                 f"{out}: optimizer, scheduler, RNG and data position included; {RESTART_HINT}")
    return Resume(out, checkpoint, [f for f, _ in skipped], notes)


def trim_log(run_dir: Path, step: int) -> None:
    """Keep the loss log's lines up to `step` (the checkpoint resumed from): LLaMA-Factory appends the resumed
    steps, which would otherwise follow the lines the interrupted run logged after that checkpoint. A line the
    kill cut off is dropped."""
    path = run_dir / TRAINER_LOG
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("current_steps"), int) and row["current_steps"] <= step:
            kept.append(line + "\n")
    write_text(path, "".join(kept))


def apply(decision: Resume) -> None:
    """Carry out a decision on disk: remove what it names, cut the loss log back to the checkpoint's step."""
    for folder in decision.remove:
        shutil.rmtree(folder, ignore_errors=True)
    if decision.checkpoint is not None and decision.checkpoint.parent == decision.run_dir:
        trim_log(decision.run_dir, step_of(decision.checkpoint) or 0)


_held: list[int] = []  # lock descriptors, open until this process exits


def claim(plan: Plan) -> None:
    """One launcher per output folder and node: a second `make train-*` on a folder a run is writing to is
    refused (it would remove the checkpoint the first one is saving). The lock is an flock on
    <output_dir>/.launch-node<N>.lock, held while this process lives; a killed launcher releases it."""
    out = plan.output_dir
    if plan.command != "train" or out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / f".launch-node{plan.env.get('NODE_RANK', '0')}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise LaunchError(f"Another training run is writing to {out} (launcher pid {holder}): let it finish or "
                          "stop it (Ctrl-C in its terminal) before starting this one.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held.append(fd)


def last_logged_step(run_dir: Path) -> tuple[int, int] | None:
    """(step, total steps) of the loss log's last complete line, None when nothing was logged."""
    path = run_dir / TRAINER_LOG
    if not path.is_file():
        return None
    for line in reversed(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        try:
            row = json.loads(line)
            return int(row["current_steps"]), int(row["total_steps"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def stopped_sentence(plan: Plan, how: str) -> str:
    """One sentence for a run that stopped before the end (`how`: "interrupted", "training failed (exit 1)"):
    where it got to and what rerunning the same command will do."""
    out = plan.output_dir
    logged = last_logged_step(out) if out else None
    at = f"after step {logged[0]} of {logged[1]}" if logged else "before its first logged step"
    checkpoint = last_complete(out)[0] if out else None
    if checkpoint is not None:
        return (f"{how} {at}; rerun the same command to resume from {checkpoint.name} in {out} "
                f"({RESTART_HINT}).")
    return (f"{how} {at}, before its first complete checkpoint (save_steps={plan.config.get('save_steps')}): "
            "rerunning the same command starts over.")
