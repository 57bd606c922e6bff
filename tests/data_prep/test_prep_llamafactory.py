"""Every registered dataset loads through LLaMA-Factory's own data loader (template qwen, tiny tokenizer),
prompt tokens are masked, and our token statistics equal the lengths LLaMA-Factory produces."""

from __future__ import annotations

import json

import pytest
from prep_helpers import read_jsonl


@pytest.fixture(scope="module")
def lf_loader():
    from llamafactory.train.test_utils import load_dataset_module

    return load_dataset_module


def registered(prepared_data):
    return json.loads((prepared_data / "dataset_info.json").read_text(encoding="utf-8"))


def test_every_registered_dataset_loads_with_prompt_masked(prepared_data, tiny_model, lf_loader, tmp_path):
    from data_prep.tokens import TokenCounter

    manifest = json.loads((prepared_data / "data" / "sft" / "manifest.json").read_text(encoding="utf-8"))
    by_file = {d["path"]: (name, d) for name, d in manifest["datasets"].items()}
    counter = TokenCounter(tiny_model)
    info = registered(prepared_data)
    assert len(info) == 11  # dialog, norm, mrg, qa, triage (+ _test each) and pt
    for name, entry in info.items():
        if name == "med_pt":  # continued pre-training text, loaded by the next test
            continue
        split, stats = by_file[entry["file_name"]]
        module = lf_loader(
            stage="sft", do_train=True, finetuning_type="lora", template="qwen", model_name_or_path=str(tiny_model),
            dataset=name, dataset_dir=str(prepared_data), cutoff_len=4096, overwrite_cache=True,
            output_dir=str(tmp_path / name), report_to="none",
        )
        ds = module["train_dataset"]
        assert len(ds) == stats["written"], name
        records = read_jsonl(prepared_data / entry["file_name"])
        lengths = [len(ids) for ids in ds["input_ids"]]
        # LLaMA-Factory tokenizes exactly what we counted: template + prompt + response, record by record
        assert lengths == counter.lengths(records), name
        assert max(lengths) == stats["tokens"]["max"]
        for labels, ids, record in zip(ds["labels"][:20], ds["input_ids"][:20], records[:20], strict=True):
            n_masked = next(i for i, label in enumerate(labels) if label != -100)
            assert n_masked > 10 and all(label == -100 for label in labels[:n_masked])
            # single turn: everything after the prompt is trained; with history (med_qa) every answer is
            # trained and later prompts are masked again, so each label is either masked or the token itself
            assert all(label in (-100, token) for label, token in zip(labels, ids, strict=True))
            assert labels[-1] == ids[-1]
            if not record.get("history"):
                assert labels[n_masked:] == ids[n_masked:]


def test_pretraining_text_is_question_then_answer(prepared_data, tiny_model, lf_loader, tmp_path):
    """med_pt feeds stage pt: each dialog record becomes plain text holding both the question and the answer."""
    from transformers import AutoTokenizer

    module = lf_loader(
        stage="pt", do_train=True, finetuning_type="lora", template="qwen", model_name_or_path=str(tiny_model),
        dataset="med_pt", dataset_dir=str(prepared_data), cutoff_len=512, overwrite_cache=True,
        output_dir=str(tmp_path / "pt"), report_to="none",
    )
    # stage pt packs the corpus into blocks of cutoff_len tokens: rejoin them to read the text back
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    text = "".join(tokenizer.decode(ids) for ids in module["train_dataset"]["input_ids"])
    records = read_jsonl(prepared_data / "data" / "sft" / "dialog_train.jsonl")
    for record in records[:5]:
        assert record["instruction"] in text and record["output"] in text


def test_mrg_test_with_references_loads_and_keeps_references_on_disk(prepared_data, tiny_model, lf_loader, tmp_path):
    module = lf_loader(
        stage="sft", do_predict=True, predict_with_generate=True, finetuning_type="lora", template="qwen",
        model_name_or_path=str(tiny_model), eval_dataset="med_mrg_test", dataset_dir=str(prepared_data),
        cutoff_len=4096, overwrite_cache=True, output_dir=str(tmp_path / "p"), report_to="none",
    )
    assert len(module["eval_dataset"]) == 100
    records = read_jsonl(prepared_data / "data" / "sft" / "mrg_test.jsonl")
    assert all(len(r["references"]) == 2 for r in records)
