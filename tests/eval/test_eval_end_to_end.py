"""End to end on the tiny model: base vs a LoRA adapter trained for a few steps -> predictions,
metrics, report; an interrupted run resumes without regenerating; `make eval` discovery."""

import json
from dataclasses import replace

import pytest

import eval.routes as routes
from eval import EvalOptions, markdown_table, run_eval
from eval.__main__ import main

BUDGET = {"norm": 8, "mrg": 24, "dialog": 16}
LIMIT = 4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model, lora_adapter, prepared_data, tiny_bert):
    out = tmp_path_factory.mktemp("report")
    run_eval(EvalOptions(checkpoints={"base": str(tiny_model), "lora": str(lora_adapter)}, tasks="norm,mrg,dialog",
                         data_dir=prepared_data / "data" / "sft", out_dir=out, limit=LIMIT, batch_size=3,
                         max_new_tokens=BUDGET, bertscore_model=str(tiny_bert), bertscore_layers=2))
    return out


def predictions(folder):
    return [json.loads(line) for line in folder.read_text(encoding="utf-8").splitlines()]


def test_report_files_and_metrics(report):
    for name in ("report.md", "metrics.json", "chart.png", "worst_samples.md"):
        assert (report / name).stat().st_size > 0, name
    assert (report / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    assert summary["base"] == "base" and list(summary["checkpoints"]) == ["base", "lora"]
    expected = {"norm": {"exact_match", "micro_f1"},
                "mrg": {"json_valid_rate", "field_exact_match", "field_rouge_l", "cblue_rouge", "cblue_rouge-1",
                        "cblue_rouge-2", "cblue_rouge-l", "bertscore_f1"},
                "dialog": {"bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "mean_length"}}
    for info in summary["checkpoints"].values():
        for task, keys in expected.items():
            metrics = info["tasks"][task]
            assert keys <= set(metrics) and metrics["n"] == LIMIT
            assert isinstance(metrics["bertscore_f1"], float) if task == "mrg" else True
    assert summary["settings"]["max_new_tokens"] == BUDGET
    assert summary["settings"]["test_files"]["mrg"]["samples"] == LIMIT
    text = (report / "report.md").read_text(encoding="utf-8")
    # the lora row shows its value and its delta against the base row, from metrics.json
    lora, base = (summary["checkpoints"][n]["tasks"]["dialog"]["distinct-1"] for n in ("lora", "base"))
    dialog_table = text[text.index("### dialog"):]
    lora_row = next(line for line in dialog_table.splitlines() if line.startswith("| lora |"))
    assert f"{lora:.2f} ({lora - base:+.2f})" in lora_row
    assert markdown_table(report) in text
    worst = (report / "worst_samples.md").read_text(encoding="utf-8")
    assert worst.count("## ") == 6 and worst.count("**#") == 6 * LIMIT  # fewer than five samples exist


def test_predictions_follow_the_contract(report, prepared_data):
    for name in ("base", "lora"):
        for task in BUDGET:
            rows = predictions(report / name / task / "predictions.jsonl")
            assert [r["index"] for r in rows] == list(range(LIMIT))
            test = [json.loads(line) for line in (prepared_data / "data" / "sft" / f"{task}_test.jsonl")
                    .read_text(encoding="utf-8").splitlines()][:LIMIT]
            assert [r["label"] for r in rows] == [t["output"] for t in test]
            assert all(r["prompt"].startswith("<|im_start|>system\n") and r["prompt"].endswith(
                "<|im_start|>assistant\n") for r in rows)
            assert all(r["new_tokens"] <= BUDGET[task] for r in rows)
    base = [r["predict"] for t in BUDGET for r in predictions(report / "base" / t / "predictions.jsonl")]
    lora = [r["predict"] for t in BUDGET for r in predictions(report / "lora" / t / "predictions.jsonl")]
    assert base != lora  # the adapter really is applied


def test_interrupted_run_resumes(tmp_path, monkeypatch, tiny_model, lora_adapter, prepared_data):
    real_make = routes.make_generator
    log = {"calls": 0, "samples": 0, "fail_on": 2}

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def generate(self, batch, max_new_tokens):
            log["calls"] += 1
            if log["calls"] == log["fail_on"]:
                raise KeyboardInterrupt  # like Ctrl-C in the middle of a run
            log["samples"] += len(batch)
            return self.inner.generate(batch, max_new_tokens)

        def close(self):
            self.inner.close()

    monkeypatch.setattr(routes, "make_generator", lambda *a: Counting(real_make(*a)))
    options = EvalOptions(checkpoints={"lora": str(lora_adapter)}, tasks="norm", data_dir=prepared_data / "data" / "sft",
                          out_dir=tmp_path, limit=LIMIT, batch_size=2, max_new_tokens=BUDGET)
    with pytest.raises(KeyboardInterrupt):
        run_eval(options)
    assert len(predictions(tmp_path / "lora" / "norm" / "predictions.jsonl")) == 2

    log.update(calls=0, samples=0, fail_on=None)
    run_eval(options)
    assert log["samples"] == LIMIT - 2  # only what the interrupted run had not finished
    assert (tmp_path / "report.md").is_file()

    log.update(calls=0, samples=0)
    run_eval(options)
    assert log["calls"] == 0  # all cached

    run_eval(replace(options, max_new_tokens={**BUDGET, "norm": 9}))  # other settings: no reuse
    assert log["samples"] == LIMIT


def test_make_eval_discovers_base_and_saves(tmp_path, tiny_model, lora_adapter, prepared_data):
    saves = lora_adapter.parents[2]  # <saves>/tiny-qwen2/lora/sft
    out = run_eval(EvalOptions(tasks="norm", data_dir=prepared_data / "data" / "sft", out_dir=tmp_path, limit=2,
                               base=str(tiny_model), saves_dir=saves, max_new_tokens=BUDGET))
    summary = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert list(summary["checkpoints"]) == ["base", "tiny-qwen2/lora/sft"]
    assert summary["checkpoints"]["tiny-qwen2/lora/sft"]["base"] == str(tiny_model)


def test_cli_errors_before_generating(tmp_path, capsys, tiny_model):
    code = main(["run", "--checkpoint", f"base={tiny_model}", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")])
    assert code == 2 and "no test files (norm_test.jsonl, mrg_test.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
