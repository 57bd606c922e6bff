"""What a newcomer hits with `make eval` (issue 13): the base model not downloaded yet, no checkpoints, a
hub id offline, data prepared from the dialog JSON alone (no triage file), a task no checkpoint scored on,
and log lines printed twice. Each case runs the user's command and checks the sentence they get."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval import checkpoints
from eval.__main__ import main
from eval.inputs import InputError
from eval.report import chart_figure, render_report
from eval.runner import select_tasks
from eval.tasks import TASKS
from tests.fixtures.checkout import copy_checkout, make

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data_prep" / "samples"
# A port nothing listens on: the hub is "there" (not offline) but unreachable, like a machine without
# network, and no test can ever start a real download.
DEAD_HUB = "http://127.0.0.1:9"


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: no offline switches (tests/conftest.py sets them for the suite),
    an empty hub cache, no MODEL or VERBOSE."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "MODEL", "VERBOSE")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_ENDPOINT=DEAD_HUB, OMP_NUM_THREADS="1", **extra)
    return env


def make_eval(cwd: Path, env: dict[str, str], *variables: str) -> subprocess.CompletedProcess:
    """`make eval ...` as typed in a working directory `cwd` (data/ and saves/ are looked up there, as in the repo
    root). Where `cwd` is a copied checkout (tests.fixtures.checkout) its Makefile and packages run, so the base
    model is looked up in its own, empty models/; elsewhere the repo's, with the base model in the repo's models/.
    -o keeps make from rebuilding the tiny model, which this working copy may look newer than."""
    tiny = REPO / "models" / "tiny-qwen2"
    source = cwd if (cwd / "Makefile").is_file() else REPO
    return make(source, "-o", str(tiny / "config.json"), "eval", f"TINY_MODEL={tiny}", *variables, env=env, cwd=cwd)


def no_repeated_lines(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip() and "it/s]" not in line and "sample/s]" not in line]
    return all(a != b for a, b in pairwise(lines))  # a doubled line came right after itself


@pytest.fixture
def checkout(tmp_path, prepared_data) -> Path:
    """A fresh checkout after `make data` (bundled samples) and before `make model`: a models/ folder of its own
    with no base model in it (whether or not `make model` ran in this repo), no saves/."""
    root = copy_checkout(tmp_path / "checkout")
    shutil.copytree(prepared_data / "data" / "sft", root / "data" / "sft")
    return root


def test_a_copied_checkout_runs_its_own_packages(tmp_path):
    """What makes the copy a checkout of its own: run from its folder, Python imports its packages, whose
    paths (models/ included) are the copy's, not this repo's."""
    code = "import importlib.util, contract.paths; print(contract.paths.MODELS_DIR); print(importlib.util.find_spec('eval').origin)"
    checkout = copy_checkout(tmp_path / "checkout")
    out = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [str(checkout / "models"), str(checkout / "eval" / "__init__.py")]


@pytest.mark.slow  # `make eval` / `python -m eval` in a child process: left out of make test-fast
def test_make_eval_before_make_model_says_what_to_run(checkout):
    start = time.monotonic()
    result = make_eval(checkout, user_env(checkout))
    elapsed = time.monotonic() - start
    err = result.stderr
    assert result.returncode != 0 and "eval] Error 2" in err  # the eval command itself exited 2
    assert ("error: base model: models/Qwen2.5-0.5B-Instruct does not exist, and Qwen/Qwen2.5-0.5B-Instruct is "
            "not in the local cache and the hub did not answer for it (ConnectError): run `make model`") in err
    assert "`make eval PROFILE=tiny` for the offline tiny model" in err
    assert "no checkpoints under saves/ (the folder does not exist): train one with `make train-lora`" in err
    assert "Traceback" not in err and "Retry" not in err and no_repeated_lines(err)
    assert elapsed < 30, f"took {elapsed:.0f}s"  # the hub client's retries alone took 51s
    assert not (checkout / "reports").exists()


@pytest.mark.slow  # `make eval` / `python -m eval` in a child process: left out of make test-fast
def test_offline_make_eval_does_not_ask_the_hub(checkout):
    run = checkout / "saves" / "Qwen2.5-0.5B-Instruct" / "lora" / "sft"  # a checkpoint, so only the base is missing
    run.mkdir(parents=True)
    (run / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "models/Qwen2.5-0.5B-Instruct"}))
    result = make_eval(checkout, user_env(checkout, HF_HUB_OFFLINE="1"))
    err = result.stderr
    assert "eval] Error 2" in err
    assert ("error: base model: models/Qwen2.5-0.5B-Instruct does not exist, and Qwen/Qwen2.5-0.5B-Instruct is "
            "not in the local cache and the hub is offline (HF_HUB_OFFLINE): run `make model`") in err
    assert "no checkpoints under" not in err
    assert "Traceback" not in err and "Retry" not in err and "127.0.0.1" not in err


def test_hub_id_offline_fails_at_once(tmp_path, capsys, prepared_data):
    """tests/conftest.py has the hub offline, as HF_HUB_OFFLINE=1 does for a user."""
    start = time.monotonic()
    code = main(["run", "--checkpoint", "hub=nobody/no-such-model", "--tasks", "norm",
                 "--data-dir", str(prepared_data / "data" / "sft"), "--out", str(tmp_path / "r")])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 2, elapsed
    assert ("error: checkpoint 'hub': model nobody/no-such-model is not a local directory, and as a hub id it is "
            "not in the local cache and the hub is offline (HF_HUB_OFFLINE): run `make model`") in err
    assert "Retry" not in err and not (tmp_path / "r").exists()


@pytest.mark.slow  # `make eval` / `python -m eval` in a child process: left out of make test-fast
def test_unreachable_hub_id_is_one_sentence_without_retries(tmp_path, prepared_data):
    cmd = [sys.executable, "-m", "eval", "run", "--checkpoint", "hub=nobody/no-such-model", "--tasks", "norm",
           "--data-dir", str(prepared_data / "data" / "sft"), "--out", str(tmp_path / "r")]
    result = subprocess.run(cmd, cwd=tmp_path, env=user_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: checkpoint 'hub': model nobody/no-such-model is not a local directory, and as a hub id it is not in "
        "the local cache and the hub did not answer for it (ConnectError): run `make model`, or pass a local "
        "directory")


def test_base_and_data_both_missing_are_reported_together(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODEL", raising=False)
    monkeypatch.setattr(checkpoints, "LOCAL_BASE_MODEL", REPO / "models" / "not-downloaded")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    files = ", ".join(spec.test_file for spec in TASKS.values())  # every task, e.g. norm_test.jsonl, mrg_test.jsonl
    assert f"error: data/sft: no test files ({files}): run `make data`" in err and "triage_test.jsonl" in files
    assert "\nbase model: models/not-downloaded does not exist" in err  # named repo-relative


@pytest.fixture(scope="module")
def dialog_only(tmp_path_factory, tiny_model) -> Path:
    """A checkout where `make data` saw only the ModelScope dialog JSON (the README's real-run download),
    so data/sft has dialog files and no norm, mrg or triage test file."""
    root = tmp_path_factory.mktemp("dialog-only")
    shutil.copytree(SAMPLES / "Chinese-medical-dialogue", root / "raw" / "Chinese-medical-dialogue")
    subprocess.run([sys.executable, "-m", "data_prep", "--raw-dir", "raw", "--out-dir", "data/sft",
                    "--dataset-info", "dataset_info.json", "--model", str(tiny_model)],
                   cwd=root, check=True, capture_output=True, env=user_env(root, HF_HUB_OFFLINE="1"))
    assert sorted(p.name for p in (root / "data" / "sft").glob("*_test.jsonl")) == ["dialog_test.jsonl"]
    return root


@pytest.mark.slow
def test_make_eval_leaves_out_default_tasks_without_a_test_file(dialog_only):
    result = make_eval(dialog_only, user_env(dialog_only), "PROFILE=tiny", "ARGS=--limit 2 --max-new-tokens dialog=8")
    err = result.stderr
    assert result.returncode == 0, err
    left_out = [task for task in TASKS if task != "dialog"]  # norm, mrg, triage (and qa, where eval has it)
    assert {"norm", "mrg", "triage"} <= set(left_out)
    for task in left_out:
        note = f"WARNING eval.runner: {task}: not evaluated: data/sft/{task}_test.jsonl not found (`make data` writes"
        assert err.count(note) == 1
    assert err.count("no checkpoints under saves/ (the folder does not exist)") == 1
    assert err.count("INFO eval.runner: loading base") == 1 and no_repeated_lines(err)
    assert "loading configuration file" not in err  # transformers' INFO stays quiet by default
    summary = json.loads((dialog_only / "reports" / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert summary["tasks"] == ["dialog"] and list(summary["not_evaluated"]) == left_out
    report = (dialog_only / "reports" / "eval" / "report.md").read_text(encoding="utf-8")
    assert "- **triage** was not evaluated: data/sft/triage_test.jsonl not found" in report

    verbose = make_eval(dialog_only, user_env(dialog_only), "PROFILE=tiny", "VERBOSE=1",
                        "ARGS=--limit 2 --max-new-tokens dialog=8")
    assert verbose.returncode == 0 and "[transformers] loading configuration file" in verbose.stderr


@pytest.mark.slow  # `make eval` / `python -m eval` in a child process: left out of make test-fast
def test_make_eval_asked_for_a_task_without_its_file_is_an_error(dialog_only):
    result = make_eval(dialog_only, user_env(dialog_only), "PROFILE=tiny", "ARGS=--tasks dialog,triage")
    err = result.stderr
    assert "eval] Error 2" in err and "Traceback" not in err
    assert "error: data/sft/triage_test.jsonl: test file not found (run `make data`" in err
    assert not (dialog_only / "reports" / "eval" / "metrics.json").exists() or "triage" not in json.loads(
        (dialog_only / "reports" / "eval" / "metrics.json").read_text(encoding="utf-8"))["tasks"]


@settings(max_examples=40, deadline=None)
@given(present=st.sets(st.sampled_from(list(TASKS))), asked=st.none() | st.lists(st.sampled_from(list(TASKS)),
                                                                                   min_size=1, unique=True))
def test_task_selection(present, asked):
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        for task in present:
            (data_dir / TASKS[task].test_file).write_text("{}\n", encoding="utf-8")
        if asked is not None:  # asked for by name: exactly those (a missing file is the loader's error)
            assert select_tasks(",".join(asked), data_dir) == (asked, {})
        elif not present:
            with pytest.raises(InputError, match="no test files .*run `make data`"):
                select_tasks(None, data_dir)
        else:
            tasks, left_out = select_tasks(None, data_dir)
            assert tasks == [t for t in TASKS if t in present]
            assert set(left_out) == set(TASKS) - present
            for task, why in left_out.items():
                assert why.startswith(f"{data_dir / TASKS[task].test_file} not found")


def _summary(norm_f1: float) -> dict:
    def metrics(task, value, zero_scored):
        return {**{m: value for m in TASKS[task].headline}, "n": 4, "zero_scored": zero_scored}

    return {"base": "base", "tasks": ["norm", "dialog"], "not_evaluated": {"triage": "data/sft/triage_test.jsonl not found"},
            "checkpoints": {"base": {"path": "b", "base": None, "tasks": {"norm": metrics("norm", 0.0, {"truncated": 4}),
                                                                          "dialog": metrics("dialog", 5.0, {})}},
                            "lora": {"path": "l", "base": "b", "tasks": {"norm": metrics("norm", norm_f1, {}),
                                                                         "dialog": metrics("dialog", 9.0, {})}}},
            "settings": {}}


def test_a_task_no_checkpoint_scored_on_is_explained(tmp_path):
    summary = _summary(norm_f1=0.0)
    report = render_report(summary)
    assert ("- **norm**: no checkpoint scored above 0 on exact_match, micro_f1, micro_precision, micro_recall, which "
            "is why its chart panel is empty. Answers set to 0 as unusable (see below): base 4 of 4 (truncated 4); "
            "lora 0 of 4; every other answer was compared with the reference and matched nothing.") in report
    assert "- **triage** was not evaluated: data/sft/triage_test.jsonl not found." in report
    assert "**dialog**" not in report  # it has scores: nothing to explain
    figure = chart_figure(summary)
    panels = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in figure.axes}
    assert panels == {"norm": ["every checkpoint scored 0 on norm\n(see report.md)"], "dialog": [],
                      "triage": ["triage not evaluated:\nno triage_test.jsonl\n(see report.md)"]}

    scored = _summary(norm_f1=12.5)
    assert "**norm**" not in render_report(scored)
    assert {ax.get_title(): [t.get_text() for t in ax.texts] for ax in chart_figure(scored).axes}["norm"] == []


@pytest.mark.slow  # `make eval` / `python -m eval` in a child process: left out of make test-fast
@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("ci", [False, True])
def test_each_log_line_once_and_third_party_info_only_when_verbose(tmp_path, verbose, ci):
    """huggingface_hub (and transformers when $CI is set) print through their own handler and propagate too:
    with a plain handler on the root logger every one of their lines came out twice."""
    script = (
        "import logging, eval.logs as logs\n"
        f"logs.configure({verbose})\n"
        "from huggingface_hub.utils import logging as hub_logging\n"
        "from transformers.utils import logging as tf_logging\n"
        "hub_logging.get_logger('huggingface_hub.utils._http').warning('hub retry warning')\n"
        "tf_logging.get_logger('transformers.modeling_utils').warning('transformers warning')\n"
        "logging.getLogger('eval.runner').info('eval info')\n"
        "logging.getLogger('httpx').info('third-party info')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    err = result.stderr
    assert result.returncode == 0, err
    assert err.count("hub retry warning") == 1 and err.count("transformers warning") == 1
    assert err.count("eval info") == 1
    assert err.count("third-party info") == (1 if verbose else 0)


@pytest.mark.slow  # `make eval` / `python -m eval` in a child process: left out of make test-fast
def test_unreachable_bertscore_model_is_a_skip_without_retries(tmp_path, prepared_data):
    test_file = prepared_data / "data" / "sft" / "mrg_test.jsonl"
    records = [json.loads(line) for line in test_file.read_text(encoding="utf-8").splitlines()[:2]]
    predictions = tmp_path / "generated_predictions.jsonl"
    predictions.write_text("".join(json.dumps({"prompt": "", "predict": r["output"], "label": r["output"]},
                                              ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    cmd = [sys.executable, "-m", "eval", "score", "--task", "mrg", "--predictions", str(predictions), "--test",
           str(test_file), "--bertscore-model", "bert-base-chinese", "--bertscore-layers", "8"]
    result = subprocess.run(cmd, cwd=tmp_path, env=user_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Retry" not in result.stderr and "Traceback" not in result.stderr
    assert ("bertscore_f1 skipped: could not load bert-base-chinese: it is not in the local cache and the hub did "
            "not answer for it (ConnectError)") in result.stdout
