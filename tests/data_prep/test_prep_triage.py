"""triage: Toyhom folder/column labels, repeats merged into multi-label records, the seed's jsonl format, skips."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prep_helpers import read_jsonl

from contract.datasets import LABEL_SEP
from data_prep.discover import SAMPLES_DIR
from data_prep.tally import Tally
from data_prep.triage import folder_label, merge, question_text

TOYHOM = SAMPLES_DIR / "Chinese-medical-dialogue-data"
FOLDERS = ["儿科", "内科", "外科", "妇产科", "男科", "肿瘤科"]


def toyhom_questions(level: str) -> dict[str, set[str]]:
    """An independent reading of the bundled CSVs: cleaned question text -> every label it was posted under."""
    out: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TOYHOM.rglob("*.csv")):
        for dept, title, ask, _ in list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))[1:]:
            ask = ask.strip()
            text = title.strip() if ask in ("", "无") else f"{title.strip()}\n{ask}"
            out[text].add(path.parent.name.split("_")[1] if level == "folder" else dept.strip())
    return out


def triage_outputs(out: Path) -> tuple[list[dict], list[dict], list[dict], list[dict], dict]:
    return (read_jsonl(out / "triage_train.jsonl"), read_jsonl(out / "triage_test.jsonl"),
            read_jsonl(out / "triage_cls_train.jsonl"), read_jsonl(out / "triage_cls_test.jsonl"),
            json.loads((out / "triage_label2idx.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("level", ["folder", "department"])
def test_toyhom_labels_merge_repeats_into_multi_label_records(prep, level):
    code, out, manifest, err = prep("--only", "triage", "--triage-level", level)
    assert code == 0, err
    train, test, cls_train, cls_test, label2idx = triage_outputs(out)
    expected = toyhom_questions(level)
    gold = {r["text"]: set(r["label"]) for r in cls_train + cls_test}
    assert gold == {text: labels for text, labels in expected.items() if text in gold}
    assert len(gold) == len(cls_train) + len(cls_test) == len(expected)  # one record per question, none lost
    assert not {r["text"] for r in cls_train} & {r["text"] for r in cls_test}
    assert sum(len(labels) > 1 for labels in gold.values()) >= 9  # the samples' re-posted questions
    if level == "folder":
        assert list(label2idx) == FOLDERS
    else:
        assert {"消化科", "肝病科", "心血管科", "神经科"} <= set(label2idx) and len(label2idx) > 6
    assert list(label2idx.values()) == list(range(len(label2idx)))
    # the alpaca answer is the label set in label2idx order joined by 、; the classifier files hold the same records
    for alpaca, cls in zip(train + test, cls_train + cls_test, strict=True):
        assert alpaca["output"] == LABEL_SEP.join(cls["label"])
        assert [label2idx[x] for x in cls["label"]] == sorted(label2idx[x] for x in cls["label"])
        assert cls["text"] in alpaca["instruction"] and LABEL_SEP.join(label2idx) in alpaca["instruction"]
    assert all(r["text"] == c["text"] and r["labels"] == c["label"] for r, c in zip(test, cls_test, strict=True))
    assert all(set(r) == {"instruction", "input", "output"} for r in train)
    # every CSV row is accounted for: one kept record per question, each repeat a counted skip
    d_train, d_test = manifest["datasets"]["triage_train"], manifest["datasets"]["triage_test"]
    assert d_train["read"] + d_test["read"] == 240 + 15 + 12
    assert d_test["read"] == 100
    skipped = d_train["skipped"]
    assert skipped["merged_label"] + skipped["duplicate_question"] == 27
    assert skipped["merged_label"] == (9 if level == "folder" else 12)  # same-folder re-posts add a sub-department
    src = manifest["sources"]["triage"]
    assert src["level"] == level and src["labels"] == len(label2idx)
    assert set(src["classifier_files"]) == {"triage_cls_train.jsonl", "triage_cls_test.jsonl", "triage_label2idx.json"}


def test_registered_for_llamafactory(prep, tmp_path):
    prep("--only", "triage")
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["med_triage"]["file_name"] == "data/sft/triage_train.jsonl"
    assert info["med_triage_test"]["file_name"] == "data/sft/triage_test.jsonl"


def write_lines(path: Path, lines: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines),
                    encoding="utf-8")
    return path


def test_seed_format_folder_with_label2idx_and_every_skip(prep, tmp_path):
    seed = tmp_path / "seed"
    write_lines(seed / "train.json", [
        {"text": "头痛三天", "label": ["神经科"]},
        {"text": "头痛三天", "label": ["内科"]},  # same question, another label -> merged
        {"text": "头痛三天", "label": ["神经科"]},  # nothing new -> duplicate_question
        {"text": "腹痛伴发热", "label": ["外科", "内科"]},
        "{not json",
        ["a", "list"],
        {"text": "咳嗽"},
        {"text": "  ", "label": ["内科"]},
        {"text": "没有科室", "label": []},
        {"text": "火星来的", "label": ["火星科"]},
        {"text": "两个科室写在一起", "label": ["内科,外科"]},
        {"text": 3, "label": ["内科"]},
        {"text": "咳嗽有痰", "label": "内科"},
        {"text": "测试里也有", "label": ["内科"]},
    ])
    write_lines(seed / "test.json", [{"text": "测试里也有", "label": ["内科"]}, {"text": "胸痛", "label": ["外科"]},
                                     {"text": "皮疹", "label": ["皮肤科"]}])
    (seed / "label2idx.json").write_text(json.dumps({"外科": 0, "内科": 1, "神经科": 2}, ensure_ascii=False),
                                         encoding="utf-8")
    code, out, manifest, err = prep("--only", "triage", "--triage", str(seed))
    assert code == 0, err
    train, test, cls_train, cls_test, label2idx = triage_outputs(out)
    assert label2idx == {"外科": 0, "内科": 1, "神经科": 2}  # the user's label2idx is kept as given
    assert cls_train == [{"text": "头痛三天", "label": ["内科", "神经科"]}, {"text": "腹痛伴发热", "label": ["外科", "内科"]}]
    assert [r["output"] for r in train] == ["内科、神经科", "外科、内科"]
    assert cls_test == [{"text": "测试里也有", "label": ["内科"]}, {"text": "胸痛", "label": ["外科"]}]
    d = manifest["datasets"]
    assert d["triage_train"]["read"] == 14 and d["triage_test"]["read"] == 3
    assert d["triage_train"]["skipped"] == {
        "duplicate_question": 1, "empty_field": 1, "label_has_separator": 1, "label_not_a_list": 1,
        "leaked_into_test": 1, "merged_label": 1, "missing_field": 1, "no_label": 1, "not_a_string": 1,
        "not_an_object": 1, "not_json": 1, "unknown_label": 1}
    assert d["triage_train"]["skip_examples"]["not_json"] == ["train.json line 5"]
    assert d["triage_test"]["skipped"] == {"unknown_label": 1}


def test_seed_single_file_is_split_and_label2idx_built_sorted(prep, tmp_path):
    lines = [{"text": f"问题{i}", "label": ["乙科", "甲科"] if i % 5 == 0 else ["甲科"]} for i in range(30)]
    code, out, manifest, err = prep("--only", "triage", "--triage", str(write_lines(tmp_path / "u.jsonl", lines)),
                                    "--triage-test-size", "10")
    assert code == 0, err
    train, test, cls_train, cls_test, label2idx = triage_outputs(out)
    assert len(cls_train) == 20 and len(cls_test) == 10 and label2idx == {"乙科": 0, "甲科": 1}
    assert {r["text"] for r in cls_train + cls_test} == {f"问题{i}" for i in range(30)}
    assert manifest["datasets"]["triage_train"]["read"] + manifest["datasets"]["triage_test"]["read"] == 30


@pytest.mark.parametrize("make, expected", [
    (lambda d: (d / "train.json").write_bytes(b"{}\n" + "头痛呕吐".encode("gb18030") + b"\n"), ["train.json", "line 2", "UTF-8"]),
    (lambda d: (write_lines(d / "train.json", [{"text": "a", "label": ["x"]}]),
                (d / "label2idx.json").write_text('{"x": 1}')), ["label2idx.json", "0..n-1"]),
    (lambda d: (write_lines(d / "train.json", [{"text": "a", "label": ["x"]}]),
                (d / "label2idx.json").write_text("[1]")), ["label2idx.json", "top level", "list"]),
    (lambda d: (d / "notes.txt").write_text("x"), ["--triage", "train.json(l)"]),
])
def test_unusable_seed_input_stops_with_file_and_record(prep, tmp_path, make, expected):
    seed = tmp_path / "seed"
    seed.mkdir()
    make(seed)
    code, _, manifest, err = prep("--only", "triage", "--triage", str(seed))
    assert code == 2 and manifest is None
    assert all(part in err for part in expected), err
    assert "Traceback" not in err


def test_folder_label_and_question_text():
    assert folder_label(Path("Data_数据/IM_内科/内科5000-33000.csv")) == "内科"
    assert folder_label(Path("mine/男科5-13000.csv")) == "男科"
    assert question_text(" 头痛怎么办 ", "无") == "头痛怎么办"
    assert question_text("头痛怎么办", "\u3000三天了 ") == "头痛怎么办\n三天了"


rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["X", "Y", "Z"])), max_size=30)


@given(rows)
@settings(max_examples=200, deadline=None)
def test_merge_is_one_record_per_text_with_the_union_of_labels(pairs):
    tally = Tally()
    merged = merge(((f"r{i}", {"text": t, "labels": [lab]}) for i, (t, lab) in enumerate(pairs)), tally)
    union: dict[str, set[str]] = defaultdict(set)
    for t, lab in pairs:
        union[t].add(lab)
    assert {r["text"]: set(r["labels"]) for r in merged} == union
    assert [r["text"] for r in merged] == list(dict.fromkeys(t for t, _ in pairs))  # first-seen order
    assert all(len(r["labels"]) == len(set(r["labels"])) for r in merged)
    assert tally.read == len(pairs) == len(merged) + sum(tally.skipped.values())
    assert tally.skipped["merged_label"] == sum(len(v) - 1 for v in union.values())
