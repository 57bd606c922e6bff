"""The scale-out path, run as a user runs it: `make train-*` / `python -m launch` with a PATH that does not
hold the venv, on CPU (gloo), the tiny model, several processes, two nodes on one machine, DeepSpeed ZeRO-2/3.

Correctness, not only "it ran": 2 ranks x per-device batch 2 follow the same loss curve and end on the same
weights as 1 rank x batch 4, which holds only if the ranks' gradients are averaged (synchronised)."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import launch
from contract.paths import REPO_ROOT
from launch.distributed import interpreter_bin, torchrun_env
from launch.errors import LaunchError
from tests.conftest import has_cuda
from tests.launch.conftest import base_environ, free_port, launch_cmd, llamafactory_launch

# Same data, same order, constant lr without warmup, no dropout: only the batch split differs between runs.
STEPS = 4
COMPARABLE = {"max_samples": 20, "max_steps": STEPS, "learning_rate": 1e-2, "warmup_ratio": 0.0,
              "lr_scheduler_type": "constant", "lora_dropout": 0.0, "save_steps": 1000,
              "train_sampling_strategy": "random"}  # the same sample order whatever the recipe picks
LOSS_TOLERANCE = 1e-4  # absolute, per logged step (float32 on CPU; seen: < 3e-6)
WEIGHT_TOLERANCE = 1e-3  # absolute, adapter weights after 4 Adam steps (seen: 8e-5; half the data: 9e-2)


def user_path() -> str:
    """The caller's PATH without this venv's bin dir, nor any dir that holds a torchrun."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and Path(d) != interpreter_bin() and not (Path(d) / "torchrun").exists()]
    return os.pathsep.join(keep)


def user_env(**extra: str) -> dict[str, str]:
    env = base_environ(**extra)
    # VERBOSE=1: the ranks' "Process rank: r, world size: w" lines these tests read are LLaMA-Factory INFO lines
    env.update(PATH=user_path(), OMP_NUM_THREADS="1", VERBOSE="1")
    assert shutil.which("torchrun", path=env["PATH"]) is None  # else these tests would prove nothing
    return env


def args_text(values: dict) -> str:
    return " ".join(f"{k}={'null' if v is None else v}" for k, v in values.items())


TEARDOWN_RETRIES = 3


def teardown_abort(log: str) -> bool:
    """A rank died by SIGABRT after the launcher saw the run's last step (torch's teardown on CPU)."""
    return "(SIGABRT)" in log and re.search(r"after step (\d+) of \1;", log) is not None


def make_train(method: str, env: dict[str, str], values: dict) -> subprocess.CompletedProcess:
    """`make train-<method> PROFILE=tiny ARGS=...` from the repo, as the README says (setup is not redone)."""
    make = shutil.which("make", path=env["PATH"])
    assert make, "make is not on PATH"
    cmd = [make, "-s", "-C", str(REPO_ROOT), "-o", ".venv/.medsft-setup", f"train-{method}", "PROFILE=tiny",
           f"PY={sys.executable}", f"ARGS={args_text(values)}"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    for _ in range(TEARDOWN_RETRIES):
        if result.returncode == 0 or not teardown_abort(result.stdout + result.stderr):
            break
        # Reproduced here and seen in CI: every step done, then a rank dies in torch's C++ teardown ("terminate
        # called without an active exception", SIGABRT) and torchrun stops the others. An open issue, not these
        # tests' subject: said as a warning and run again from scratch; only that abort is retried.
        warnings.warn("a rank aborted after the last step; run again with RESTART=1 OVERWRITE=1:\n"
                      + (result.stdout + result.stderr)[-1500:], stacklevel=2)
        result = subprocess.run(cmd, env={**env, "RESTART": "1", "OVERWRITE": "1"}, capture_output=True, text=True,
                                timeout=900)
    return result


def losses(run_dir: Path) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "trainer_log.jsonl").read_text().splitlines()]
    return [row["loss"] for row in rows if "loss" in row]


def header(run_dir: Path) -> str:
    return "".join(line for line in (run_dir / "launch_config.yaml").read_text().splitlines(True)
                   if line.startswith("#"))


def ranks_seen(log: str, world: int) -> set[int]:
    return {r for r in range(world) if f"Process rank: {r}, world size: {world}," in log}


# --- plans (no training) -----------------------------------------------------------------------------------

@given(nproc=st.integers(1, 16), nnodes=st.integers(1, 4), data=st.data(), deepspeed=st.booleans(),
       force=st.sampled_from(["", "0", "1", "true"]))
def test_torchrun_env_rules(nproc, nnodes, data, deepspeed, force):
    rank = data.draw(st.integers(0, nnodes - 1))
    environ = {"PATH": "/usr/bin", "NPROC_PER_NODE": str(nproc), "NNODES": str(nnodes), "NODE_RANK": str(rank),
               "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500", "FORCE_TORCHRUN": force}
    config = {"deepspeed": "ds.json"} if deepspeed else {}
    env, notes = torchrun_env("train", config, environ, gpu_count=lambda: pytest.fail("count given"))
    assert env["PATH"] == f"{interpreter_bin()}{os.pathsep}/usr/bin"
    torchrun = deepspeed or force in ("1", "true") or nproc * nnodes > 1
    assert (env.get("FORCE_TORCHRUN") == "1") is torchrun
    if torchrun:
        assert (env["NPROC_PER_NODE"], env["NNODES"], env["NODE_RANK"]) == (str(nproc), str(nnodes), str(rank))
        assert f"world size {nproc * nnodes} = " in notes[-1]
    assert torchrun_env("export", config, environ) == ({}, [])  # only `llamafactory-cli train` uses torchrun


@pytest.mark.parametrize("gpus", [0, 3])
def test_process_count_defaults_to_the_gpus_visible_else_one(gpus):
    env, notes = torchrun_env("train", {"deepspeed": "ds.json"}, {"PATH": ""}, gpu_count=lambda: gpus)
    assert env["NPROC_PER_NODE"] == str(gpus or 1)  # never LLaMA-Factory's `--nproc_per_node 0`
    assert notes[0] == (f"NPROC_PER_NODE unset: {gpus} process(es) per node ({gpus} GPU(s) visible)" if gpus
                        else "NPROC_PER_NODE unset: 1 process(es) per node (no GPU visible)")
    env, _ = torchrun_env("train", {}, {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"},
                          gpu_count=lambda: gpus)
    assert env["NPROC_PER_NODE"] == str(gpus or 1) and env["FORCE_TORCHRUN"] == "1"


@pytest.mark.parametrize(("environ", "message"), [
    ({"NPROC_PER_NODE": "0"}, "NPROC_PER_NODE=0 is not a whole number >= 1"),
    ({"NPROC_PER_NODE": "two"}, "NPROC_PER_NODE=two is not a whole number >= 1"),
    ({"NNODES": "-1"}, "NNODES=-1 is not a whole number >= 1"),
    ({"NNODES": "2", "NODE_RANK": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"}, "NODE_RANK=2 must be below NNODES=2"),
    ({"NNODES": "2", "NODE_RANK": "1"}, "NNODES=2 needs MASTER_ADDR and MASTER_PORT"),
    ({"FORCE_TORCHRUN": "1", "MASTER_PORT": "70000"}, "MASTER_PORT=70000 is not a TCP port")])
def test_bad_topology_is_one_sentence(environ, message):
    with pytest.raises(LaunchError, match=message):
        launch.build("train", "lora", [], "tiny", environ=base_environ(**environ))


@pytest.mark.parametrize(("recipe", "zero"), [("full", "ds_z2_config.json"), ("qwen2_5_0_5b_full_sft_ds3", "ds_z3_config.json")])
def test_real_deepspeed_recipes_dry_run(recipe, zero, monkeypatch):
    """The exact command and environment of the shipped DeepSpeed recipes on this machine (no GPU, no
    NPROC_PER_NODE, venv not on PATH), then LLaMA-Factory's own launcher turning them into a torchrun line."""
    if has_cuda():
        pytest.skip("expects no GPU: the process count would be the GPUs visible")
    result = subprocess.run(launch_cmd("train", recipe, "--dry-run"), env=user_env(), cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    bin_dir = interpreter_bin()
    lines = result.stdout.splitlines()
    assert {"FORCE_TORCHRUN=1", "NPROC_PER_NODE=1", "NNODES=1", "NODE_RANK=0",
            f"PATH={bin_dir}{os.pathsep}$PATH"} <= set(lines)
    assert "# NPROC_PER_NODE unset: 1 process(es) per node (no GPU visible)" in lines
    plan = launch.build("train", recipe, [], environ=user_env())
    assert f"{bin_dir}/llamafactory-cli train {plan.config_path}" in lines
    assert plan.config["deepspeed"] == str(REPO_ROOT / "llamafactory_configs" / "deepspeed" / zero)
    assert plan.config["bf16"] is True  # the recipe as shipped: no profile

    cmd, child_env = llamafactory_launch(monkeypatch, plan.argv, plan.env_for_child())
    assert " ".join(cmd).startswith("torchrun --nnodes 1 --node_rank 0 --nproc_per_node 1 ")
    # LLaMA-Factory starts torchrun by name: on the child's PATH it is the venv's
    assert shutil.which("torchrun", path=child_env["PATH"]) == str(bin_dir / "torchrun")


def test_in_process_refuses_a_torchrun_plan(data_dir):
    plan = launch.build("train", "lora", {"dataset_dir": str(data_dir)}, "tiny",
                        environ=base_environ(NPROC_PER_NODE="2"))
    with pytest.raises(LaunchError, match="runs under torchrun"):
        launch.run(plan, in_process=True)


# --- real runs on CPU (gloo) -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def two_rank_lora(work, data_dir):
    out = work / "lora-2x2"
    result = make_train("lora", user_env(NPROC_PER_NODE="2"),
                        {"dataset_dir": data_dir, "output_dir": out, "per_device_train_batch_size": 2, **COMPARABLE})
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return out, result.stdout + result.stderr


@pytest.mark.slow
def test_make_train_lora_on_two_processes(two_rank_lora):
    out, log = two_rank_lora
    assert ranks_seen(log, 2) == {0, 1}
    assert "torchrun (several processes asked for): world size 2 = 2 process(es) x 1 node(s)" in header(out)
    assert len(losses(out)) == STEPS  # rank 0 logs; rank 1 adds nothing
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["adapter_model.safetensors"]
    assert yaml.safe_load((out / "launch_config.yaml").read_text())["per_device_train_batch_size"] == 2


@pytest.mark.slow
def test_two_ranks_match_one_rank_with_twice_the_batch(two_rank_lora, work, data_dir):
    import torch
    from safetensors.torch import load_file

    out, _ = two_rank_lora
    reference = launch.build("train", "lora", {"dataset_dir": str(data_dir), "output_dir": str(work / "lora-1x4"),
                                               "per_device_train_batch_size": 4, **COMPARABLE},
                             "tiny", environ=base_environ())
    assert launch.run(reference, in_process=True) == 0
    two, one = losses(out), losses(reference.output_dir)
    assert len(two) == len(one) == STEPS
    assert max(abs(a - b) for a, b in zip(two, one, strict=True)) <= LOSS_TOLERANCE, (two, one)
    assert max(one) - min(one) > 100 * LOSS_TOLERANCE  # the curve moves: the updates are visible in it
    # the same samples per step: the same fraction of an epoch after the same number of steps
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["epoch"] == pytest.approx(json.loads((reference.output_dir / "trainer_state.json").read_text())["epoch"])
    weights2, weights1 = (load_file(str(d / "adapter_model.safetensors")) for d in (out, reference.output_dir))
    assert weights2.keys() == weights1.keys()
    diff = max((weights2[k] - weights1[k]).abs().max().item() for k in weights1)
    assert diff <= WEIGHT_TOLERANCE, diff
    assert all(torch.isfinite(w).all() for w in weights2.values())


@pytest.mark.slow
def test_make_train_full_on_two_processes_without_deepspeed(work, data_dir):
    out = work / "full-2"
    result = make_train("full", user_env(NPROC_PER_NODE="2"),
                        {"dataset_dir": data_dir, "output_dir": out, "deepspeed": None, "max_samples": 20,
                         "save_steps": 1000})
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert ranks_seen(log, 2) == {0, 1}
    assert "world size 2 = 2 process(es) x 1 node(s)" in header(out)
    assert yaml.safe_load((out / "launch_config.yaml").read_text())["deepspeed"] is None
    assert len(losses(out)) == STEPS
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["model.safetensors"]


@pytest.mark.slow
def test_two_nodes_on_one_machine(work, data_dir):
    """Two launches, NNODES=2 and NODE_RANK=0/1, meeting at 127.0.0.1:<free port>; each 'node' has its own
    output folder, as two machines have their own disks: the run's outputs land once, on the rank-0 node."""
    port = str(free_port())
    procs, outs = [], []
    for rank in (0, 1):
        out = work / f"node{rank}"
        outs.append(out)
        env = user_env(NNODES="2", NODE_RANK=str(rank), NPROC_PER_NODE="1", MASTER_ADDR="127.0.0.1",
                       MASTER_PORT=port)
        cmd = launch_cmd("train", "lora", "--profile", "tiny", f"dataset_dir={data_dir}", f"output_dir={out}",
                         "max_samples=20", "save_steps=1000")
        procs.append(subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    logs = [proc.communicate(timeout=900)[0] for proc in procs]
    for rank, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        assert proc.returncode == 0, f"node {rank}:\n{log[-4000:]}"
        assert ranks_seen(log, 2) == {rank}
        assert f"world size 2 = 1 process(es) x 2 node(s), this node's rank {rank}" in header(outs[rank])
    assert (outs[0] / "adapter_model.safetensors").is_file() and len(losses(outs[0])) == STEPS
    assert not list(outs[1].glob("*.safetensors")) and not (outs[1] / "trainer_log.jsonl").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("how", "stage"), [("make train-full", 2), ("python -m launch qwen2_5_0_5b_full_sft_ds3", 3)])
def test_deepspeed_zero_on_cpu(how, stage, work, data_dir, tiny_model):
    """The shipped ZeRO-2/3 recipes through the launcher: FORCE_TORCHRUN, one process (no GPU), torchrun from
    the venv; DeepSpeed's own checkpoint states the stage, and the saved model reloads and differs from the base."""
    pytest.importorskip("deepspeed", reason="make test installs deepspeed (make deepspeed); plain pytest may not")
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    out = work / f"zero{stage}"
    values = {"dataset_dir": data_dir, "output_dir": out, "max_samples": 20}
    if stage == 2:
        result = make_train("full", user_env(), values)
    else:
        result = subprocess.run(launch_cmd("train", "qwen2_5_0_5b_full_sft_ds3", "--profile", "tiny",
                                           *(f"{k}={v}" for k, v in values.items())),
                                env=user_env(), cwd=work, capture_output=True, text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert "Process rank: 0, world size: 1, device: cpu" in log and "distributed training: True" in log
    assert "NPROC_PER_NODE unset: 1 process(es) per node (no GPU visible)" in header(out) or has_cuda()
    (states,) = glob.glob(str(out / "checkpoint-*" / "global_step*" / "*mp_rank_00_model_states.pt"))
    saved = torch.load(states, weights_only=False, map_location="cpu")
    assert saved["ds_config"]["zero_optimization"]["stage"] == stage and saved["ds_version"] == "0.19.8"
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    trained, base = model.state_dict(), load_file(str(tiny_model / "model.safetensors"))
    assert all(trained[name].shape == tensor.shape for name, tensor in base.items())
    assert any(not torch.equal(trained[name], tensor.float()) for name, tensor in base.items())  # it trained
    assert torch.isfinite(model(input_ids=torch.tensor([[1, 2, 3, 4]])).logits).all()
