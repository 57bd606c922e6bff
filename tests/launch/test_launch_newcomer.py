"""A newcomer's first mistakes, run as the user runs them: one sentence naming what to fix, no traceback,
and nothing a finished run wrote is touched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from launch import download, validate
from launch.errors import LaunchError
from tests.conftest import REPO_ROOT
from tests.fixtures.checkout import copy_checkout, make
from tests.launch.conftest import base_environ, launch_cmd


def run_make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=REPO_ROOT, env=env or base_environ(), capture_output=True,
                          text=True, timeout=600)


def finished_run(folder: Path) -> str:
    """A folder that looks like a finished LoRA run; returns its launch config text."""
    folder.mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    config = "learning_rate: 0.0001\n"
    (folder / "launch_config.yaml").write_text(config)
    return config


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_bad_override_is_one_sentence_and_the_finished_run_is_untouched(tmp_path):
    out = tmp_path / "lora"
    config = finished_run(out)
    result = run_make("train-lora", "PROFILE=tiny", f"ARGS=learning_rate=abc output_dir={out}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "error: learning_rate=abc: expected a number (e.g. 2e-4), got 'abc'." in result.stderr
    assert (out / "launch_config.yaml").read_text() == config


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_typo_gets_a_close_match_also_in_dry_run():
    result = subprocess.run(launch_cmd("train", "lora", "--profile", "tiny", "learnin_rate=2e-4", "--dry-run"),
                            cwd=REPO_ROOT, env=base_environ(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "'learnin_rate' is not a LLaMA-Factory argument for train. Did you mean 'learning_rate'?" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("command", "item", "sentence"), [
    ("train", "lr_scheduler_type=cosin", "'cosin' is not one of: linear, cosine"),
    ("train", "bf16=maybe", "expected true or false"),
    ("train", "num_train_epochs=0", "must be greater than 0"),
    ("train", "warmup_ratio=1.5", "must be at most 1"),
    ("train", "cutoff_len=null", "cannot be empty"),
    ("chat", "learning_rate=1e-4", "'learning_rate' is not a LLaMA-Factory argument for chat"),
    ("chat", "top_p=-1", "must be at least 0"),
    ("train", "learning_rate=nan", "must be a finite number"),
    ("train", "weight_decay=inf", "must be a finite number"),
])
def test_each_kind_of_bad_value_is_named(command, item, sentence):
    found = validate.problems(command, [item])
    assert len(found) == 1 and item.split("=")[0] in found[0] and sentence in found[0]


def test_good_overrides_pass():
    assert validate.problems("train", ["learning_rate=2e-4", "num_train_epochs=3", "bf16=false", "max_samples=null",
                                       "lr_scheduler_type=cosine", "finetuning_type=lora", "deepspeed=null"]) == []


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_a_finished_run_is_refused_unless_overwrite_is_asked(tmp_path):
    out = tmp_path / "lora"
    config = finished_run(out)
    refused = run_make("train-lora", "PROFILE=tiny", f"ARGS=output_dir={out}")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert f"{out} already holds a finished run (adapter_model.safetensors)" in refused.stderr
    assert f"output_dir={out}-2" in refused.stderr and "OVERWRITE=1" in refused.stderr
    assert (out / "launch_config.yaml").read_text() == config
    allowed = subprocess.run(launch_cmd("--overwrite", "train", "lora", "--profile", "tiny", f"output_dir={out}",
                                        "--dry-run"), cwd=REPO_ROOT, env=base_environ(), capture_output=True,
                             text=True, timeout=300)
    assert allowed.returncode == 0 and "would be refused" not in allowed.stderr


def test_model_download_without_network_is_one_sentence_and_leaves_nothing(monkeypatch, tmp_path):
    def unreachable(repo_id: str, hub: str, local_dir: str) -> str:
        Path(local_dir).mkdir(parents=True)  # hub clients create the folder before they fail
        (Path(local_dir) / ".cache").mkdir()
        raise ConnectionError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(download, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(download, "snapshot", unreachable)
    with pytest.raises(LaunchError) as info:
        download.download(base_environ(USE_MODELSCOPE_HUB="1"))
    message = str(info.value)
    assert message.startswith("Could not download Qwen/Qwen2.5-0.5B-Instruct from modelscope: the hub is unreachable")
    assert "MODEL=<that folder>" in message and "Hugging Face" in message
    assert not (tmp_path / "Qwen2.5-0.5B-Instruct").exists()


def test_make_model_offline_as_a_user_runs_it(tmp_path):
    """The first download, in a fresh checkout with a models/ folder of its own (this repo's may hold the model)."""
    checkout = copy_checkout(tmp_path / "checkout")
    target = checkout / "models" / "Qwen2.5-0.5B-Instruct"
    result = make(checkout, "-s", "model", env=base_environ(HF_HUB_OFFLINE="1"), timeout=600)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "error: Could not download Qwen/Qwen2.5-0.5B-Instruct from huggingface" in result.stderr
    assert not target.exists()


def test_webui_with_the_tiny_profile_lists_the_tiny_runs(tmp_path, monkeypatch):
    """What LLaMA-Factory's web UI shows at start: the model its user config preselects, and that model's
    checkpoint list as the UI computes it, with a default-model config already there from an earlier run."""
    from llamafactory.webui.common import get_model_path, load_config
    from llamafactory.webui.control import list_checkpoints

    import launch
    from launch.plan import seed_webui_config

    monkeypatch.chdir(tmp_path)  # the web UI reads ./llamaboard_cache and ./saves
    (tmp_path / "saves" / "tiny-qwen2" / "lora" / "sft").mkdir(parents=True)
    (tmp_path / "saves" / "tiny-qwen2" / "lora" / "sft" / "adapter_model.safetensors").write_bytes(b"")
    default = launch.build("webui", environ=base_environ())
    default.cwd = tmp_path
    seed_webui_config(default)
    assert load_config()["last_model"] == "Qwen2.5-0.5B-Instruct"
    tiny = launch.build("webui", profile="tiny", environ=base_environ())
    tiny.cwd = tmp_path
    seed_webui_config(tiny)
    last = load_config()["last_model"]
    assert last == "tiny-qwen2"
    assert get_model_path(last) == str(REPO_ROOT / "models" / "tiny-qwen2")
    listed = list_checkpoints(last, "lora").choices
    assert [c[0] if isinstance(c, tuple) else c for c in listed] == ["sft"]


def test_tiny_chat_says_what_to_expect():
    result = subprocess.run(launch_cmd("chat", "lora", "--profile", "tiny", "--dry-run"), cwd=REPO_ROOT,
                            env=base_environ(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    assert "the tiny model has about 222k parameters and started from random weights" in result.stdout


@pytest.mark.slow  # a make target / LLaMA-Factory in a child process: left out of make test-fast
def test_a_run_is_quiet_by_default_and_verbose_on_request(data_dir, tmp_path):
    from launch.plan import quiet_env

    result = subprocess.run(launch_cmd("train", "lora", "--profile", "tiny", "max_steps=2",
                                       f"output_dir={tmp_path / 'run'}", f"dataset_dir={data_dir}"),
                            cwd=REPO_ROOT, env=base_environ(), capture_output=True, text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "'loss'" in log and "train_loss" in log  # progress stays
    assert "[INFO|" not in log and "Model config Qwen2Config" not in log  # 190+ lines of INFO do not
    assert "pin_memory" not in log
    assert quiet_env({"VERBOSE": "1"}) == {}
    assert quiet_env({})["LLAMAFACTORY_VERBOSITY"] == "WARN"
