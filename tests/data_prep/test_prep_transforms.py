"""Unit tests of each pure transform and of the shared quality, token-statistics and writer helpers."""

from __future__ import annotations

import json

import pytest

from contract import dataset_info
from contract.datasets import REPORT_FIELDS
from contract.files import write_jsonl
from data_prep import dialog, jsonstream, mrg, norm
from data_prep.quality import cap, dedup, drop_leaked
from data_prep.tally import Tally
from data_prep.tokens import percentile, recommend_cutoff, token_stats

REPORT = {"主诉": "咳嗽三天。", "现病史": "患儿三天前出现咳嗽。", "辅助检查": "暂缺。",
          "既往史": "不详。", "诊断": "支气管炎。", "建议": "雾化治疗。"}


# ---------------------------------------------------------------- dialog
def test_dialog_instruction_is_the_seed_format():
    rec = dialog.to_sft({"instruction": " 咳嗽怎么办\u3000", "input": "孩子咳嗽三天", "output": "您好,建议多喝水。",
                         "history": None})
    assert rec == {"instruction": "主题:咳嗽怎么办\n内容:孩子咳嗽三天", "input": "", "output": "您好,建议多喝水。"}


def test_dialog_keeps_literal_wu_ask_and_none_input():
    assert dialog.to_sft({"instruction": "头痛", "input": "无", "output": "您好。"})["instruction"] == "主题:头痛\n内容:无"
    assert dialog.to_sft({"instruction": "头痛", "input": None, "output": "您好。"})["instruction"] == "主题:头痛\n内容:"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (["a", "b"], "not_an_object"),
        ({"instruction": "a", "output": "b"}, "missing_field"),
        ({"instruction": "a", "input": "b", "output": 3}, "not_a_string"),
        ({"instruction": "a", "input": "b", "output": " \u3000 "}, "empty_field"),
        ({"instruction": " ", "input": "", "output": "答"}, "empty_field"),
    ],
)
def test_dialog_skip_reasons(raw, reason):
    assert dialog.to_sft(raw) == reason


# ---------------------------------------------------------------- norm
def test_norm_prompt_is_the_seeds_and_multi_terms_are_kept_exactly():
    rec = norm.to_sft("左侧阑尾切除术+胆囊切除术。", "阑尾切除术##腹腔镜下胆囊切除术")
    assert rec["output"] == "阑尾切除术##腹腔镜下胆囊切除术"
    assert rec["instruction"] == (
        "你是一个医疗专家,你的任务是临床术语标准化。\n具体来说,针对给出的通用语,转换为相应的标准化医学术语,"
        "确保转换后的内容符合医学专业标准,直接输出转换后的临床标准术语。\n原始词:左侧阑尾切除术+胆囊切除术。\n该词的标准术语为:"
    )


@pytest.mark.parametrize(
    "raw, std, reason",
    [("", "阑尾切除术", "empty_field"), ("阑尾切除", "  ", "empty_field"), (12, "阑尾切除术", "not_a_string"),
     ("阑尾切除", "阑尾切除术####输血", "empty_standard_term")],
)
def test_norm_skip_reasons(raw, std, reason):
    assert norm.to_sft(raw, std) == reason


# ---------------------------------------------------------------- mrg
def sample(**over):
    base = {
        "self_report": "孩子咳嗽三天。",
        "dialogue": [
            {"sentence_id": "1", "speaker": "医生", "sentence": "你好,咳嗽多久了?"},
            {"sentence_id": "2", "speaker": "患者", "sentence": " 三天了 "},
            {"sentence_id": "3", "speaker": "患者", "sentence": ""},
        ],
        "report": [REPORT, {**REPORT, "诊断": "考虑支气管炎。"}],
    }
    base.update(over)
    return base


def test_mrg_prompt_has_self_report_then_dialogue_and_output_is_first_report():
    rec = mrg.to_sft(sample(), with_references=True)
    assert rec["instruction"] == mrg.instruction("孩子咳嗽三天。", ["医生:你好,咳嗽多久了?", "患者:三天了"])
    assert rec["instruction"].startswith("患者自述:\n孩子咳嗽三天。\n问诊对话历史:\n医生:你好,咳嗽多久了?\n患者:三天了\n")
    assert rec["instruction"].endswith("以标准的json格式输出。\n答:")
    assert rec["output"] == json.dumps(REPORT, ensure_ascii=False, indent=2)
    assert [r["诊断"] for r in rec["references"]] == ["支气管炎。", "考虑支气管炎。"]
    assert "references" not in mrg.to_sft(sample())


def test_mrg_report_keys_are_reordered_and_docs_misspellings_accepted():
    shuffled = {"建议": "雾化治疗。", "即往史": "不详。", **{k: v for k, v in REPORT.items() if k not in ("建议", "既往史")}}
    data = sample(report=[shuffled])
    data["self-report"] = data.pop("self_report")
    rec = mrg.to_sft(data, with_references=True)
    assert list(json.loads(rec["output"])) == list(REPORT_FIELDS)
    assert rec["instruction"].startswith("患者自述:\n孩子咳嗽三天。")
    # the official scorer renders the published report as it is (its keys, its order): references keep it
    assert rec["references"] == [shuffled] and list(rec["references"][0]) == list(shuffled)


def test_mrg_reference_with_a_non_string_extra_value_is_a_bad_report():
    assert mrg.to_sft(sample(report=[{**REPORT, "备注": None}]), with_references=True) == "bad_report"


def test_mrg_without_self_report_uses_the_seed_prompt():
    data = sample()
    del data["self_report"]
    assert mrg.to_sft(data)["instruction"].startswith("问诊对话历史:\n医生:")


@pytest.mark.parametrize(
    "over, reason",
    [
        ({"report": []}, "no_report"),
        ({"report": "主诉"}, "no_report"),
        ({"report": [{"主诉": "咳嗽"}]}, "bad_report"),
        ({"report": [REPORT, {**REPORT, "诊断": None}]}, "bad_report"),
        ({"dialogue": {"a": 1}}, "not_a_list"),
        ({"dialogue": [{"speaker": "护士", "sentence": "你好"}]}, "bad_utterance"),
        ({"dialogue": [], "self_report": " "}, "empty_field"),
        ({"self_report": 5}, "not_a_string"),
    ],
)
def test_mrg_skip_reasons(over, reason):
    assert mrg.to_sft(sample(**over)) == reason


def test_mrg_missing_keys_and_non_object():
    assert mrg.to_sft([1]) == "not_an_object"
    assert mrg.to_sft({"dialogue": []}) == "missing_field"


# ---------------------------------------------------------------- quality + tokens + writer
def rec(i, o="o"):
    return {"instruction": i, "input": "", "output": o}


def test_dedup_leakage_and_cap_count_every_drop():
    tally = Tally(read=6)
    recs, ids = dedup([rec("a"), rec("a"), rec("a", "x"), rec("b"), rec("c"), rec("d")], list("123456"), tally)
    assert [r["instruction"] for r in recs] == ["a", "a", "b", "c", "d"]
    recs, ids = drop_leaked(recs, ids, [rec("b", "other answer")], tally)
    assert "b" not in [r["instruction"] for r in recs]
    recs, ids = cap(recs, ids, 3, tally)
    assert ids == ["1", "3", "5"]
    assert dict(tally.skipped) == {"duplicate": 1, "leaked_into_test": 1, "over_limit": 1}
    assert tally.examples["duplicate"] == ["2"]
    assert tally.read == len(recs) + sum(tally.skipped.values())


def test_percentiles_and_cutoff():
    values = list(range(1, 101))
    assert token_stats(values) == {"p50": 50, "p90": 90, "p99": 99, "max": 100}
    assert percentile([], 50) == 0
    assert recommend_cutoff([{"p99": 100}, {"p99": 129}]) == 256
    assert recommend_cutoff([{"p99": 3}]) == 128


def test_write_jsonl_is_atomic_and_hashes_bytes(tmp_path):
    import hashlib

    path = tmp_path / "x.jsonl"
    sha = write_jsonl(path, [rec("主题"), rec("b")])
    data = path.read_bytes()
    assert data.decode("utf-8").splitlines()[0] == '{"instruction": "主题", "input": "", "output": "o"}'
    assert sha == hashlib.sha256(data).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]  # no temp file left behind

    with pytest.raises(TypeError):
        write_jsonl(path, [rec("new"), object()])
    assert path.read_bytes() == data  # the old complete file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]


def test_registry_keeps_foreign_entries_and_paths_are_relative(tmp_path):
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"mine": {"file_name": "x.json"}, "med_norm": {"file_name": "stale"}}), encoding="utf-8")
    out = tmp_path / "data" / "sft" / "dialog_train.jsonl"
    merged = dataset_info.update(info, {"dialog_train": out})
    assert list(merged) == ["mine", "med_dialog", "med_pt"]
    assert merged["med_dialog"]["file_name"] == "data/sft/dialog_train.jsonl"
    # continued pre-training reads the user turn only, so its query column is the doctor's answer
    assert merged["med_pt"] == {"file_name": "data/sft/dialog_train.jsonl",
                                "columns": {"prompt": "instruction", "query": "output"}}


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_json_stream_matches_json_load_at_any_chunk_size(tmp_path, monkeypatch, chunk):
    data = [{"instruction": "标题" * (i + 1), "input": "内容\n\"引号\"", "output": i} for i in range(30)] + [7, "x", []]
    path = tmp_path / "a.json"
    path.write_text("\ufeff" + json.dumps(data, ensure_ascii=False, indent=4), encoding="utf-8")
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    assert [obj for _, obj in jsonstream.iter_json_array(path)] == data


class CharCounter:
    """Stands in for TokenCounter: one token per character, and remembers how many records it saw."""

    def __init__(self):
        self.seen = 0

    def lengths(self, records, desc=""):
        self.seen += len(records)
        return [len(r["instruction"]) + len(r["output"]) for r in records]


def test_token_profile_counts_all_small_splits_and_samples_big_ones():
    from data_prep.tokens import token_profile

    records = [rec("x" * (i % 100 + 1)) for i in range(5000)] + [rec("y" * 999)]
    counter = CharCounter()
    stats, counted = token_profile(counter, records, sample=0, seed=42)
    assert counted == counter.seen == 5001 and stats["max"] == 1000
    counter = CharCounter()
    stats, counted = token_profile(counter, records, sample=500, seed=42)
    assert counter.seen == 520 and 500 <= counted <= 520
    assert stats["max"] == 1000  # the single longest record is always counted
    assert abs(stats["p50"] - 51) <= 6 and abs(stats["p90"] - 91) <= 5  # sample percentiles near the truth


def test_local_tokenizer_fast_path_counts_like_transformers(tiny_model, monkeypatch):
    from data_prep import tokens

    records = [rec("主题:咳嗽\n内容:孩子咳嗽三天", "您好,建议多喝水。"), {**rec("原始词:阑尾切除"), "input": "附加"}]
    fast = tokens.TokenCounter(tiny_model)
    assert not hasattr(fast.backend, "apply_chat_template")  # the tokenizers object, not transformers
    monkeypatch.setattr(tokens, "_load_local", lambda folder: None)
    slow = tokens.TokenCounter(tiny_model)
    assert fast.overhead == slow.overhead > 0
    assert fast.lengths(records) == slow.lengths(records)
