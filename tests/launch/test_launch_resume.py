"""A killed or interrupted training run resumes where it stopped (issue 20), as a user sees it.

Fast: what a complete checkpoint is (real safetensors / torch / JSON files, cut at any byte), the launcher's
decision (resume, skip and remove the half-written, restart, refuse), the loss log cut back, one launcher per folder.
Slow: real runs on the tiny model, killed at chosen moments (tests/launch/pause_hook pauses the training process
exactly there; the kill itself is real), rerun with the same command, and compared with an uninterrupted run of
the same seed: the final weights and the loss curve (trainer_state.json's log_history).
  - LoRA, one process: SIGKILL of everything in the middle of saving checkpoint-8 (its weights written, nothing
    after): the rerun skips and removes checkpoint-8, resumes from checkpoint-4.
  - LoRA, two processes (torchrun, gloo) through `make train-lora`: Ctrl-C between saves; one sentence, exit 130,
    no traceback, no process left; the rerun resumes from checkpoint-4.
  - full fine-tuning, DeepSpeed ZeRO-2, two processes: SIGKILL of the launcher alone while DeepSpeed saves
    checkpoint-8 (shards written, `latest` not yet): guard.py takes the tree down; the rerun resumes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

import launch
from contract.paths import REPO_ROOT
from launch.checkpoints import checkpoint_problem, final_save_interrupted, last_complete
from launch.errors import LaunchError
from launch.guard import dead, descendants
from launch.preflight import finished_run_refusal
from launch.resume import RESTART_HINT, apply, claim, decide, last_logged_step, trim_log
from tests.launch.conftest import base_environ, launch_cmd

STEPS, SAVE_EVERY = 12, 4
HOOK = Path(__file__).with_name("pause_hook")
# The same seed, data and settings: a resumed run restores weights, optimizer, scheduler, RNG and data position, so
# it repeats the uninterrupted run's arithmetic. Seen: 0.0 for every comparison below (bit-identical on CPU). The
# allowance covers a float32 reduction order that may differ between processes (thread count), far below what a
# lost optimizer state, a skipped or repeated batch or a wrong learning rate step do (differences of 1e-3 to 1e-1).
TOLERANCE = 1e-6


# --- checkpoints on disk (fast) ----------------------------------------------------------------------------

def write_checkpoint(run_dir: Path, step: int, deepspeed: bool = False) -> Path:
    """A checkpoint folder in the formats a transformers 5.6 Trainer writes (small tensors)."""
    folder = run_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    if deepspeed:
        save_file({"w": torch.ones(8, 8)}, str(folder / "model.safetensors"))
        states = folder / f"global_step{step}"
        states.mkdir()
        torch.save({"module": {"w": torch.ones(8, 8)}}, states / "mp_rank_00_model_states.pt")
        for rank in (0, 1):
            torch.save({"optimizer_state_dict": {"m": torch.zeros(32)}}, states / f"zero_pp_rank_{rank}_mp_rank_00_optim_states.pt")
            torch.save({"cpu": torch.get_rng_state()}, folder / f"rng_state_{rank}.pth")
        (folder / "latest").write_text(f"global_step{step}")
    else:
        save_file({"lora_A": torch.ones(4, 16), "lora_B": torch.zeros(16, 4)}, str(folder / "adapter_model.safetensors"))
        (folder / "adapter_config.json").write_text(json.dumps({"r": 4, "peft_type": "LORA"}))
        torch.save({"state": {0: {"exp_avg": torch.zeros(64)}}}, folder / "optimizer.pt")
        torch.save({"cpu": torch.get_rng_state()}, folder / "rng_state.pth")
    torch.save({"last_epoch": step}, folder / "scheduler.pt")
    torch.save({"seed": 42}, folder / "training_args.bin")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}, indent=2) + "\n")
    return folder


def loaded_files(folder: Path) -> list[Path]:
    """The files a resume reads (and training_args.bin): each must be whole."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".pt", ".pth", ".bin", ".json"))


def test_complete_checkpoints_pass(tmp_path):
    assert checkpoint_problem(write_checkpoint(tmp_path / "lora", 4)) is None
    assert checkpoint_problem(write_checkpoint(tmp_path / "ds", 4, deepspeed=True)) is None


@pytest.mark.parametrize("deepspeed", [False, True], ids=["lora", "deepspeed"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_file_cut_short_makes_the_checkpoint_incomplete(tmp_path_factory, deepspeed, data):
    """A kill while writing leaves a prefix of a file: whichever file, wherever cut, the checkpoint is refused."""
    folder = write_checkpoint(tmp_path_factory.mktemp("cut"), 8, deepspeed)
    victim = data.draw(st.sampled_from(loaded_files(folder)), label="file")
    content = victim.read_bytes()
    keep = data.draw(st.integers(0, len(content.rstrip()) - 1), label="bytes kept")  # a lost final newline loses nothing
    victim.write_bytes(content[:keep])
    problem = checkpoint_problem(folder)
    assert problem is not None and (victim.name in problem or victim.name == "trainer_state.json"), problem


@pytest.mark.parametrize(("change", "why"), [
    (lambda f: (f / "trainer_state.json").unlink(), "no trainer_state.json: the run stopped while saving it"),
    (lambda f: (f / "trainer_state.json").write_text('{"global_step": 4}'), "is not the state of step 8"),
    (lambda f: (f / "optimizer.pt").unlink(), "no optimizer.pt / scheduler.pt"),
    (lambda f: (f / "adapter_model.safetensors").unlink(), "no model weights"),
    (lambda f: (f / "rng_state.pth").unlink(), "no rng_state*.pth")])
def test_each_missing_piece_is_named(tmp_path, change, why):
    folder = write_checkpoint(tmp_path, 8)
    change(folder)
    assert why in checkpoint_problem(folder)


@pytest.mark.parametrize(("change", "why"), [
    (lambda f: (f / "latest").unlink(), "no `latest` file (the save did not finish)"),
    (lambda f: (f / "latest").write_text("global_step4"), "`latest` names 'global_step4', which is not a folder"),
    (lambda f: [p.unlink() for p in (f / "global_step8").glob("*optim_states.pt")], "lacks its model or optimizer")])
def test_deepspeed_states_must_be_committed(tmp_path, change, why):
    folder = write_checkpoint(tmp_path, 8, deepspeed=True)
    change(folder)
    assert why in checkpoint_problem(folder)


def tiny_train_plan(out: Path, **extra):
    return launch.build("train", "lora", {"output_dir": str(out), "dataset_dir": str(out.parent), **extra}, "tiny",
                        environ=base_environ())


def test_resume_from_the_newest_complete_checkpoint(tmp_path):
    out = tmp_path / "run"
    for step in (4, 8, 12):
        write_checkpoint(out, step)
    (out / "checkpoint-12" / "trainer_state.json").unlink()  # killed while saving 12
    log = [{"current_steps": s, "total_steps": 20, "loss": 1.0} for s in range(1, 14)]
    (out / "trainer_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log) + '{"current_ste')
    plan = tiny_train_plan(out)
    decision = decide(plan)
    assert decision.checkpoint == out / "checkpoint-8" and decision.remove == [out / "checkpoint-12"]
    assert plan.config["resume_from_checkpoint"] == str(out / "checkpoint-8")
    assert plan.config["overwrite_output_dir"] is False  # else LLaMA-Factory deletes the loss log
    assert decision.notes == [
        "checkpoint-12 is incomplete (no trainer_state.json: the run stopped while saving it): skipped, and removed "
        "before training",
        f"resuming from checkpoint-8 (step 8), the last complete checkpoint in {out}: optimizer, scheduler, RNG and "
        f"data position included; {RESTART_HINT}"]
    apply(decision)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-4", "checkpoint-8", "trainer_log.jsonl"]
    assert last_logged_step(out) == (8, 20)  # the lines after step 8 and the cut one are gone


def test_nothing_complete_starts_at_step_zero(tmp_path):
    out = tmp_path / "run"
    write_checkpoint(out, 4)
    (out / "checkpoint-4" / "optimizer.pt").write_bytes(b"PK\x03\x04")
    plan = tiny_train_plan(out)
    decision = decide(plan)
    assert decision.checkpoint is None and decision.remove == [out / "checkpoint-4"]
    assert plan.config["resume_from_checkpoint"] is None and plan.config["overwrite_output_dir"] is True
    assert decision.notes[-1] == f"no complete checkpoint in {out}: training starts at step 0"
    assert decide(tiny_train_plan(tmp_path / "fresh")).notes == []  # a new folder: nothing to say


def test_restart_removes_every_earlier_checkpoint(tmp_path):
    out = tmp_path / "run"
    for step in (4, 8):
        write_checkpoint(out, step)
    plan = tiny_train_plan(out)
    decision = decide(plan, restart=True)
    assert decision.checkpoint is None and sorted(decision.remove) == [out / "checkpoint-4", out / "checkpoint-8"]
    assert plan.config["resume_from_checkpoint"] is None and plan.config["overwrite_output_dir"] is True
    assert decision.notes == [f"starting over: the 2 checkpoint folder(s) of the earlier run in {out} are removed"]


def test_refusals_are_sentences(tmp_path):
    out = tmp_path / "run"
    write_checkpoint(out, 4)
    (out / "checkpoint-4" / "optimizer.pt").unlink()
    assert "save_only_model=true: they keep no optimizer state" in decide(tiny_train_plan(out, save_only_model=True)).refusal
    chosen = str(out / "checkpoint-4")
    assert "is incomplete (no optimizer.pt" in decide(tiny_train_plan(out, resume_from_checkpoint=chosen)).refusal
    assert "contradict" in decide(tiny_train_plan(out, resume_from_checkpoint=chosen), restart=True).refusal


def test_a_run_killed_in_its_final_save_resumes_and_a_finished_one_is_refused(tmp_path):
    out = tmp_path / "run"
    write_checkpoint(out, 12)
    shutil.copy(out / "checkpoint-12" / "adapter_model.safetensors", out)  # the final save had begun
    assert final_save_interrupted(out) and finished_run_refusal(tiny_train_plan(out)) is None
    (out / "all_results.json").write_text("{}")  # written after the final model: the run finished
    assert "already holds a finished run" in finished_run_refusal(tiny_train_plan(out))


def test_one_launcher_per_output_folder(tmp_path):
    plan = tiny_train_plan(tmp_path / "run")
    claim(plan)
    with pytest.raises(LaunchError, match=rf"Another training run is writing to .*run \(launcher pid {os.getpid()}\)"):
        claim(plan)


def test_trim_log_keeps_the_steps_up_to_the_checkpoint(tmp_path):
    rows = [{"current_steps": s, "total_steps": 9} for s in (1, 2, 3, 3, 4)] + [{"current_steps": "x"}]
    (tmp_path / "trainer_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    trim_log(tmp_path, 3)
    assert [json.loads(line)["current_steps"] for line in (tmp_path / "trainer_log.jsonl").read_text().splitlines()] == [1, 2, 3, 3]


def test_make_restart_dry_run_says_it_starts_over_and_removes_nothing(tmp_path):
    out = tmp_path / "run"
    write_checkpoint(out, 4)
    result = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "-o", ".venv/.medsft-setup", "train-lora",
                             "PROFILE=tiny", "RESTART=1", f"PY={sys.executable}", f"ARGS=output_dir={out} --dry-run"],
                            env=base_environ(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"# starting over: the 1 checkpoint folder(s) of the earlier run in {out} are removed" in result.stdout
    assert "resume_from_checkpoint: null" in result.stdout and (out / "checkpoint-4").is_dir()


# --- real runs, killed and resumed (slow) ------------------------------------------------------------------

def run_values(data_dir: Path, out: Path, **extra) -> dict:
    return {"max_steps": STEPS, "save_steps": SAVE_EVERY, "max_samples": 40, "dataset_dir": str(data_dir),
            "output_dir": str(out), **extra}


def as_args(values: dict) -> list[str]:
    return [f"{key}={value}" for key, value in values.items()]


def paused_env(flags: Path, **pause: str) -> dict[str, str]:
    """The run's environment with the pause hook loaded in every Python process it starts."""
    flags.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(p for p in (str(HOOK), os.environ.get("PYTHONPATH", "")) if p)
    return base_environ(PYTHONPATH=path, MEDSFT_PAUSED=str(flags), **pause)


class Run:
    """A launcher command started in its own session (as from a terminal), its output in a log file."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path):
        self.log = log
        with open(log, "wb") as handle:
            self.proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_paused(self, flags: Path, processes: int = 1, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while len(list(flags.iterdir())) < processes:
            assert self.proc.poll() is None, f"the run ended ({self.proc.returncode}) before pausing:\n{self.text()[-4000:]}"
            assert time.monotonic() < deadline, f"no pause after {timeout}s:\n{self.text()[-4000:]}"
            time.sleep(0.2)

    def tree(self) -> list[int]:
        return [self.proc.pid, *descendants(self.proc.pid)]

    def finish(self, timeout: float = 600) -> int:
        return self.proc.wait(timeout=timeout)


def finished_run(cmd: list[str], env: dict[str, str], log: Path) -> str:
    run = Run(cmd, env, log)
    assert run.finish() == 0, run.text()[-4000:]
    return run.text()


def all_gone(pids: list[int], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(dead(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


def curve(run_dir: Path) -> list[tuple[int, float]]:
    history = json.loads((run_dir / "trainer_state.json").read_text())["log_history"]
    return [(row["step"], row["loss"]) for row in history if "loss" in row]


def compare(resumed: Path, reference: Path, weights: str) -> tuple[float, float]:
    """(max abs weight difference, max abs loss difference) between two finished runs; the curves must cover the
    same steps, every one of them, and the loss log must not repeat the steps redone after the resume."""
    a, b = load_file(str(resumed / weights)), load_file(str(reference / weights))
    assert a.keys() == b.keys()
    weight_diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    ca, cb = curve(resumed), curve(reference)
    assert [s for s, _ in ca] == [s for s, _ in cb] == list(range(1, STEPS + 1))
    loss_diff = max(abs(x - y) for (_, x), (_, y) in zip(ca, cb, strict=True))
    logged = [json.loads(line)["current_steps"] for line in (resumed / "trainer_log.jsonl").read_text().splitlines()]
    assert logged[:STEPS] == list(range(1, STEPS + 1)), logged
    assert len({loss for _, loss in cb}) > 1  # the curve moves: a frozen run would match anything
    return weight_diff, loss_diff


def report(name: str, diffs: tuple[float, float]) -> None:
    print(f"{name}: max |weight diff| {diffs[0]:.3g}, max |loss diff| {diffs[1]:.3g}")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("resume")


@pytest.mark.slow
def test_lora_killed_while_saving_resumes_to_the_same_adapter(work, data_dir):
    reference = launch.build("train", "lora", run_values(data_dir, work / "lora-ref"), "tiny", environ=base_environ())
    assert launch.run(reference, in_process=True) == 0

    out, flags = work / "lora", work / "lora-flags"
    cmd = launch_cmd("train", "lora", "--profile", "tiny", *as_args(run_values(data_dir, out)))
    killed = Run(cmd, paused_env(flags, MEDSFT_PAUSE_OPEN="checkpoint-8/adapter_config.json"), work / "lora-1.log")
    killed.wait_paused(flags)
    pids = killed.tree()  # launcher, guard, llamafactory-cli: the machine went down
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert all_gone(pids)
    assert (out / "checkpoint-8" / "adapter_model.safetensors").is_file()  # killed mid-save, really
    assert not (out / "checkpoint-8" / "trainer_state.json").exists()

    log = finished_run(cmd, base_environ(), work / "lora-2.log")  # the same command again
    assert "launch: checkpoint-8 is incomplete (no trainer_state.json: the run stopped while saving it): skipped, and " \
           "removed before training" in log
    assert f"launch: resuming from checkpoint-4 (step 4), the last complete checkpoint in {out}" in log
    diffs = compare(out, reference.output_dir, "adapter_model.safetensors")
    report("lora, 1 process, killed while saving checkpoint-8", diffs)
    assert max(diffs) <= TOLERANCE, diffs


@pytest.mark.slow
def test_ctrl_c_on_two_processes_says_how_to_resume_and_the_rerun_does(work, data_dir):
    out, flags = work / "ddp", work / "ddp-flags"
    values = run_values(data_dir, out)

    def make_cmd(target_out: Path) -> list[str]:
        args = " ".join(as_args({**values, "output_dir": str(target_out)}))
        return ["make", "-s", "-C", str(REPO_ROOT), "-o", ".venv/.medsft-setup", "train-lora", "PROFILE=tiny",
                f"PY={sys.executable}", f"ARGS={args}"]

    two = {"NPROC_PER_NODE": "2", "OMP_NUM_THREADS": "1"}
    reference = work / "ddp-ref"
    finished_run(make_cmd(reference), base_environ(**two), work / "ddp-ref.log")

    interrupted = Run(make_cmd(out), paused_env(flags, MEDSFT_PAUSE_STEP="7", **two), work / "ddp-1.log")
    interrupted.wait_paused(flags, processes=2)  # both ranks ended step 7: logged up to 6, checkpoint-4 saved
    pids = interrupted.tree()
    os.killpg(interrupted.proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its foreground process group
    interrupted.finish(timeout=120)
    text = interrupted.text()
    assert f"launch: interrupted after step 6 of {STEPS}; rerun the same command to resume from checkpoint-4 in " \
           f"{out} (RESTART=1 or --restart starts over)." in text
    # the launcher's exit code, as make reports it (make[1] when make itself runs under make, as in `make test`)
    assert re.search(r"make(\[\d+\])?: \*\*\* \[Makefile:\d+: train-lora\] Error 130", text), text[-500:]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert all_gone(pids)  # launcher, guard, llamafactory-cli, torchrun and both ranks

    log = finished_run(make_cmd(out), base_environ(**two), work / "ddp-2.log")
    assert f"launch: resuming from checkpoint-4 (step 4), the last complete checkpoint in {out}" in log
    diffs = compare(out, reference, "adapter_model.safetensors")
    report("lora, 2 processes, Ctrl-C after step 6", diffs)
    assert max(diffs) <= TOLERANCE, diffs


@pytest.mark.slow
def test_deepspeed_zero2_launcher_killed_while_saving_resumes(work, data_dir):
    pytest.importorskip("deepspeed", reason="make test installs deepspeed (make deepspeed); plain pytest may not")
    out, flags = work / "zero2", work / "zero2-flags"
    two = {"NPROC_PER_NODE": "2", "OMP_NUM_THREADS": "1"}

    def cmd(target_out: Path) -> list[str]:
        return launch_cmd("train", "full", "--profile", "tiny", *as_args(run_values(data_dir, target_out)))

    reference = work / "zero2-ref"
    finished_run(cmd(reference), base_environ(**two), work / "zero2-ref.log")

    killed = Run(cmd(out), paused_env(flags, MEDSFT_PAUSE_OPEN="checkpoint-8/latest", **two), work / "zero2-1.log")
    killed.wait_paused(flags)  # rank 0 commits `latest` once both ranks' shards are written
    pids = killed.tree()
    os.kill(killed.proc.pid, signal.SIGKILL)  # `kill -9 <launcher pid>`: nothing else is signalled
    assert all_gone(pids)  # guard.py got the parent-death signal and took torchrun and both ranks down
    assert len(list((out / "checkpoint-8" / "global_step8").glob("*optim_states.pt"))) == 2
    assert last_complete(out)[0] == out / "checkpoint-4"

    log = finished_run(cmd(out), base_environ(**two), work / "zero2-2.log")
    assert "launch: checkpoint-8 is incomplete (no trainer_state.json" in log
    assert f"launch: resuming from checkpoint-4 (step 4), the last complete checkpoint in {out}" in log
    diffs = compare(out, reference, "model.safetensors")
    report("full, DeepSpeed ZeRO-2, 2 processes, launcher killed while saving checkpoint-8", diffs)
    assert max(diffs) <= TOLERANCE, diffs
