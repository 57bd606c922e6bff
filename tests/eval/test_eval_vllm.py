"""The vLLM backend: eval drives vLLM's own environment (`make vllm`) as a worker process.

Without that environment (CI): the backend choice, and every way the worker can fail ends in one sentence.
With it (`make vllm tiny-vllm-model`, then `.venv/bin/python -m pytest -m vllm tests/eval/test_eval_vllm.py`):
`eval run --backend vllm` on the base model, a LoRA adapter and its merged export gives the transformers
backend's answers and scores on the same prompts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from contract.models import TINY_VLLM_HIDDEN, TINY_VLLM_MODEL
from eval import EvalOptions, run_eval
from eval.__main__ import main as eval_main
from eval.backends import resolve_backend
from eval.checkpoints import Checkpoint
from eval.vllm_generator import VLLM_PYTHON, VllmError, VllmGenerator, vllm_python

needs_vllm = pytest.mark.skipif(vllm_python() is None, reason="vLLM's environment is not built (make vllm)")


def test_auto_picks_transformers_on_cpu_and_vllm_is_refused_without_its_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(VLLM_PYTHON, sys.executable)  # an environment is "there"
    assert resolve_backend("auto", "cpu") == "transformers"
    assert resolve_backend("auto", "cuda") == "vllm"
    monkeypatch.setenv(VLLM_PYTHON, str(tmp_path / "nowhere" / "python"))
    assert resolve_backend("auto", "cuda") == "transformers"
    with pytest.raises(ValueError, match=r"VLLM_PYTHON=.* is not a file\): run `make vllm`"):
        resolve_backend("vllm", "cpu")


def test_cli_without_the_environment_is_one_sentence(monkeypatch, tmp_path, capsys, tiny_model, prepared_data):
    monkeypatch.setenv(VLLM_PYTHON, str(tmp_path / "python"))
    code = eval_main(["run", "--backend", "vllm", "--checkpoint", f"base={tiny_model}", "--data-dir", str(prepared_data / "data" / "sft"), "--out", str(tmp_path / "out"),
                      "--tasks", "norm", "--limit", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --backend vllm: vLLM's environment is missing")
    assert "run `make vllm`" in err and len(err.strip().splitlines()) == 1


def test_a_worker_that_cannot_start_vllm_says_why(monkeypatch, tiny_model):
    """This environment's python has no vLLM: the worker answers with the error, and the client raises it."""
    from transformers import AutoTokenizer

    monkeypatch.setenv(VLLM_PYTHON, sys.executable)
    with pytest.raises(VllmError, match="the vLLM engine did not start: ModuleNotFoundError: No module named 'vllm'"):
        VllmGenerator(Checkpoint("tiny", str(tiny_model)), AutoTokenizer.from_pretrained(tiny_model), [0], "cpu",
                      "float32")


def test_a_worker_that_dies_is_named_with_its_last_lines(monkeypatch, tmp_path, tiny_model):
    from transformers import AutoTokenizer

    dying = tmp_path / "python"
    dying.write_text("#!/bin/sh\necho 'out of memory, says the worker' >&2\nexit 137\n")
    dying.chmod(0o755)
    monkeypatch.setenv(VLLM_PYTHON, str(dying))
    with pytest.raises(VllmError, match=r"exited \(status 137\) without answering; its last lines:\nout of memory"):
        VllmGenerator(Checkpoint("tiny", str(tiny_model)), AutoTokenizer.from_pretrained(tiny_model), [0], "cpu",
                      "float32")


@pytest.fixture(scope="module")
def vllm_tiny(tmp_path_factory) -> Path:
    """The tiny Qwen2 at head_dim 32 (`make tiny-vllm-model`), built on demand."""
    if not (TINY_VLLM_MODEL / "config.json").is_file():
        from launch.tiny.qwen2 import build

        build(TINY_VLLM_MODEL, hidden=TINY_VLLM_HIDDEN)
    return TINY_VLLM_MODEL


@pytest.fixture(scope="module")
def vllm_checkpoints(tmp_path_factory, vllm_tiny, prepared_data) -> dict[str, str]:
    """base, a LoRA adapter after 3 LLaMA-Factory steps, and that adapter merged (peft, as `make export`)."""
    from llamafactory.train.tuner import run_exp
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    saves = tmp_path_factory.mktemp("vllm-saves")
    adapter = saves / "lora"
    run_exp({
        "model_name_or_path": str(vllm_tiny), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_target": "all", "lora_rank": 4, "dataset": "med_norm,med_dialog", "dataset_dir": str(prepared_data),
        "template": "qwen", "cutoff_len": 256, "max_samples": 32, "output_dir": str(adapter),
        "overwrite_output_dir": True, "per_device_train_batch_size": 4, "max_steps": 3, "learning_rate": 1e-2,
        "save_strategy": "no", "report_to": "none", "use_cpu": True, "disable_tqdm": True, "logging_steps": 10,
    })
    merged = saves / "lora-merged"
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(vllm_tiny), adapter).merge_and_unload() \
        .save_pretrained(merged)
    AutoTokenizer.from_pretrained(adapter).save_pretrained(merged)
    return {"base": str(vllm_tiny), "lora": str(adapter), "lora-merged": str(merged)}


@pytest.mark.vllm
@pytest.mark.slow
@needs_vllm
def test_vllm_backend_gives_the_transformers_answers_and_scores(tmp_path, vllm_checkpoints, prepared_data):
    """Greedy, fp32, same prompts: every answer, finish reason and score of the vLLM backend equals the
    transformers backend's, for the base model, the adapter (merged before vLLM loads it) and the export."""
    reports = {}
    for backend in ("transformers", "vllm"):
        out = run_eval(EvalOptions(checkpoints=vllm_checkpoints, tasks="norm,dialog", limit=6, backend=backend,
                                   data_dir=prepared_data / "data" / "sft", out_dir=tmp_path / backend,
                                   dtype="float32", max_new_tokens="norm=24,dialog=24"))
        reports[backend] = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for name in vllm_checkpoints:
        assert reports["vllm"]["checkpoints"][name]["backend"] == "vllm"
        for task in ("norm", "dialog"):
            rows = {b: [json.loads(line) for line in (tmp_path / b / name / task / "predictions.jsonl")
                        .read_text(encoding="utf-8").splitlines()] for b in reports}
            assert [(r["predict"], r["finish_reason"], r["new_tokens"]) for r in rows["vllm"]] == \
                   [(r["predict"], r["finish_reason"], r["new_tokens"]) for r in rows["transformers"]], (name, task)
            assert reports["vllm"]["checkpoints"][name]["tasks"][task] == \
                   reports["transformers"]["checkpoints"][name]["tasks"][task]
