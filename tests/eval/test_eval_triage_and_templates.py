"""One report for all: a tiny seed-004 BERT classifier trained by launch.triage_bert (scripts/train_triage_bert.py) sits beside
generative checkpoints on triage; every generative checkpoint is prompted with the template and system
prompt of its own saved launch config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eval import EvalOptions, run_eval
from eval.checkpoints import CheckpointError, collect
from eval.metrics_triage import parse_labels
from launch.tiny.bert_gpt2 import build_bert_vocab
from launch.triage_bert import main as train

pytestmark = pytest.mark.slow
LIMIT = 12


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory, prepared_data, repo_root) -> Path:
    """Seed 004's classifier, tiny: a BERT with random weights on a BERT-style vocab of the bundled texts."""
    data = prepared_data / "data" / "sft"
    texts = [json.loads(line)["text"] for name in ("triage_cls_train.jsonl", "triage_cls_test.jsonl")
             for line in (data / name).read_text(encoding="utf-8").splitlines()]
    vocab = build_bert_vocab(tmp_path_factory.mktemp("vocab") / "tiny-bert-vocab", corpus=texts).parent
    out = tmp_path_factory.mktemp("saves") / "tiny-bert" / "cls" / "triage"
    assert train(["--model", str(vocab), "--data-dir", str(data), "--output-dir", str(out), "--epochs", "3",
                  "--batch-size", "32", "--learning-rate", "2e-3"]) == 0
    return out


def test_classifier_run_records_how_it_was_trained(classifier_run, prepared_data):
    record = yaml.safe_load((classifier_run / "launch_config.yaml").read_text(encoding="utf-8"))
    texts = sorted(len(json.loads(line)["text"]) for line in
                   (prepared_data / "data" / "sft" / "triage_cls_train.jsonl").read_text(encoding="utf-8").splitlines())
    assert record["task_type"] == "sequence_classification" and record["from_scratch"] is True
    assert record["problem_type"] == "multi_label_classification" and record["threshold"] == 0.5
    assert record["max_len"] == texts[int(len(texts) * 0.9)] + 2  # the seed's 90th percentile, + [CLS] [SEP]
    label2idx = json.loads((prepared_data / "data" / "sft" / "triage_label2idx.json").read_text(encoding="utf-8"))
    config = json.loads((classifier_run / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "multi_label_classification"
    assert [config["id2label"][str(i)] for i in range(len(label2idx))] == list(label2idx) == record["labels"]
    assert record["num_train_epochs"] == 3 and record["train_samples"] > 100


def test_refuses_to_overwrite_a_finished_run(classifier_run, prepared_data, capsys, repo_root):
    assert train(["--model", str(classifier_run), "--data-dir", str(prepared_data / "data" / "sft"),
                  "--output-dir", str(classifier_run), "--epochs", "1"]) == 2
    assert "a finished run is already there" in capsys.readouterr().err


def with_launch_config(tmp_path: Path, model: Path, config: dict) -> Path:
    """A full-model checkpoint folder (the tiny model's files, linked) with a saved launch config."""
    run = tmp_path / "run"
    run.mkdir()
    for file in model.iterdir():
        (run / file.name).symlink_to(file)
    (run / "launch_config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model, prepared_data, classifier_run):
    tmp = tmp_path_factory.mktemp("ckpts")
    other = with_launch_config(tmp, tiny_model, {"template": "default", "default_system": "你是分诊护士。",
                                                 "finetuning_type": "full", "stage": "sft"})
    out = tmp_path_factory.mktemp("report")
    run_eval(EvalOptions(checkpoints={"base": str(tiny_model), "default-tmpl": str(other), "bert": str(classifier_run)},
                         tasks="triage,norm", data_dir=prepared_data / "data" / "sft", out_dir=out, limit=LIMIT,
                         batch_size=4, max_new_tokens={"triage": 6, "norm": 4}))
    return out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_classifier_is_scored_on_triage_only_beside_the_generative_rows(report, prepared_data):
    summary = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    assert set(summary["checkpoints"]["bert"]["tasks"]) == {"triage"}
    assert set(summary["checkpoints"]["base"]["tasks"]) == {"triage", "norm"}
    assert summary["checkpoints"]["bert"]["backend"] == "classifier"
    text = (report / "report.md").read_text(encoding="utf-8")
    triage_table = text[text.index("### triage"):].split("###")[1]
    norm_table = text[text.index("### norm"):].split("###")[1]
    assert "| bert |" in triage_table and "| bert |" not in norm_table
    # the metrics are the predictions file's label sets scored against the gold sets
    preds = rows(report / "bert" / "triage" / "predictions.jsonl")
    gold = [json.loads(line) for line in (prepared_data / "data" / "sft" / "triage_test.jsonl")
            .read_text(encoding="utf-8").splitlines()][:LIMIT]
    exact = sum(set(parse_labels(p["predict"])) == set(g["labels"]) for p, g in zip(preds, gold, strict=True))
    metrics = summary["checkpoints"]["bert"]["tasks"]["triage"]
    assert metrics["subset_accuracy"] == pytest.approx(100 * exact / LIMIT) and metrics["n"] == LIMIT
    assert metrics["unknown_labels"] == 0 and metrics["labels"] == ["儿科", "内科", "外科", "妇产科", "男科", "肿瘤科"]
    assert set(metrics["per_label"]) == set(metrics["labels"])
    per_label = text[text.index("#### triage per label — bert"):].split("####")[1]
    m = metrics["per_label"]["内科"]
    assert f"| 内科 | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |" in per_label
    assert "| default-tmpl | " in text and "| default, system: 你是分诊护士。 |" in text


def test_classifier_predictions_are_its_own_predict_path(report, classifier_run, prepared_data):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(classifier_run).eval()
    tokenizer = AutoTokenizer.from_pretrained(classifier_run)
    max_len = yaml.safe_load((classifier_run / "launch_config.yaml").read_text(encoding="utf-8"))["max_len"]
    gold = [json.loads(line) for line in (prepared_data / "data" / "sft" / "triage_test.jsonl")
            .read_text(encoding="utf-8").splitlines()][:LIMIT]
    preds = rows(report / "bert" / "triage" / "predictions.jsonl")
    for record, pred in zip(gold, preds, strict=True):  # one at a time, unpadded: the seed's predict()
        ids = tokenizer(record["text"], truncation=True, max_length=max_len, return_tensors="pt")
        with torch.no_grad():
            probs = torch.sigmoid(model(**ids).logits)[0]
        expected = [model.config.id2label[i] for i, p in enumerate(probs.tolist()) if p > 0.5]
        assert parse_labels(pred["predict"]) == expected


def test_each_checkpoint_is_prompted_with_its_own_template(report, tiny_model, prepared_data):
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    record = json.loads((prepared_data / "data" / "sft" / "triage_test.jsonl").read_text(encoding="utf-8")
                        .splitlines()[0])
    for name, template, system in (("base", "qwen", None), ("default-tmpl", "default", "你是分诊护士。")):
        tokenizer = AutoTokenizer.from_pretrained(tiny_model)
        tmpl = get_template_and_fix_tokenizer(tokenizer, DataArguments(template=template))
        messages = [{"role": "user", "content": record["instruction"]}, {"role": "assistant", "content": ""}]
        ids, _ = tmpl.encode_oneturn(tokenizer, messages, system)
        assert rows(report / name / "triage" / "predictions.jsonl")[0]["prompt"] == tokenizer.decode(ids)
    first = rows(report / "default-tmpl" / "triage" / "predictions.jsonl")[0]["prompt"]
    assert first.startswith("System: 你是分诊护士。") and "<|im_start|>" not in first
    settings = json.loads((report / "metrics.json").read_text(encoding="utf-8"))["settings"]["prompt"]
    assert settings == {"base": "qwen, system: template default", "default-tmpl": "default, system: 你是分诊护士。",
                        "bert": "classifier (sigmoid > threshold)"}


def test_unreadable_launch_config_is_a_clear_error(tmp_path, tiny_model):
    run = with_launch_config(tmp_path, tiny_model, {})
    (run / "launch_config.yaml").write_text("template: [qwen\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="launch_config.yaml: not readable YAML"):
        collect([f"x={run}"])
