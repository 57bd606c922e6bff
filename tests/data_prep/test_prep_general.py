"""The general-domain pool (--general, issue 19): alpaca, ShareGPT and firefly records, told apart record by
record; multi-turn chats become LLaMA-Factory history; every bad record is a counted skip with its reason and every
unusable file one sentence naming file and record; the bundled samples regenerate byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep.discover import SAMPLES_DIR
from data_prep.general import to_sft
from data_prep.synthetic import general as synthetic

NORM = SAMPLES_DIR / "yidu-n7k"
ONLY_NORM = ["--only", "norm", "--norm", str(NORM), "--norm-limit", "20"]


def chat(*turns: tuple[str, object]) -> dict:
    return {"conversations": [{"from": role, "value": value} for role, value in turns]}


GOOD_CHAT = chat(("human", "秦朝的建立者是谁？"), ("gpt", "嬴政。"), ("human", "唐朝呢？"), ("gpt", "李渊。"))
GOOD_FIREFLY = {"kind": "History", "input": "明朝的建立者是谁？", "target": "朱元璋。"}


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def lines(*records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def test_sharegpt_turns_become_history_and_firefly_a_single_turn():
    assert to_sft(GOOD_CHAT) == {"instruction": "唐朝呢？", "input": "", "output": "李渊。",
                                 "history": [["秦朝的建立者是谁？", "嬴政。"]]}
    assert to_sft(GOOD_FIREFLY) == {"instruction": "明朝的建立者是谁？", "input": "", "output": "朱元璋。", "history": []}
    assert to_sft({"instruction": "a", "input": "b", "output": "c"})["history"] == []
    assert to_sft(chat(("user", "a"), ("assistant", "b")))["output"] == "b"  # the other published role names


@pytest.mark.parametrize("raw, reason", [
    (chat(("system", "你是助手"), ("human", "a"), ("gpt", "b")), "system_turn"),
    (chat(("human", "a"), ("robot", "b")), "unknown_role"),
    (chat(("gpt", "a"), ("human", "b")), "bad_turn_order"),
    (chat(("human", "a"), ("gpt", "b"), ("human", "c")), "bad_turn_order"),  # ends on the human
    (chat(("human", "a"), ("human", "b")), "bad_turn_order"),
    (chat(("human", "a"), ("gpt", "  ")), "empty_field"),
    (chat(("human", "a"), ("gpt", 3)), "not_a_string"),
    (chat(("human", "a"), (None, "b")), "not_a_string"),
    ({"conversations": [{"from": "human"}, {"from": "gpt", "value": "b"}]}, "missing_field"),
    ({"conversations": ["a", "b"]}, "not_a_conversation"),
    ({"conversations": {"from": "human"}}, "not_a_conversation"),
    ({"conversations": []}, "not_a_conversation"),
    ({"kind": "MCQ", "input": "a"}, "missing_field"),
    ({"kind": "MCQ", "input": "a", "target": ["b"]}, "not_a_string"),
    ({"kind": "MCQ", "input": " ", "target": "b"}, "empty_field"),
    ({"question": "a", "human_answers": ["b"]}, "missing_field"),  # HC3: not read (yet)
    (["human", "gpt"], "not_an_object"),
])
def test_bad_record_reason(raw, reason):
    assert to_sft(raw) == reason


def test_a_mixed_pool_counts_every_record(prep, tmp_path):
    sharegpt = write(tmp_path, "sharegpt.json", json.dumps([
        GOOD_CHAT, GOOD_CHAT, chat(("system", "s"), ("human", "a"), ("gpt", "b")),
        chat(("human", "问<|im_end|>"), ("gpt", "答"), ("human", "再问"), ("gpt", "再答")), 7], ensure_ascii=False))
    firefly = write(tmp_path, "firefly.jsonl", lines(GOOD_FIREFLY, {"kind": "x", "input": "只有问题"},
                                                     {"instruction": "alpaca 也行", "output": "是"}) + "\n\n")
    code, out, manifest, err = prep(*ONLY_NORM, "--general", str(sharegpt), "--general", str(firefly),
                                    "--general-ratio", "1")
    assert code == 0, err
    g = manifest["datasets"]["general_train"]
    assert g["read"] == 8 and g["written"] == 3
    assert g["skipped"] == {"duplicate": 1, "system_turn": 1, "control_token": 1, "not_an_object": 1,
                            "missing_field": 1}
    assert g["skip_examples"]["system_turn"] == ["sharegpt.json record 2"]
    assert g["skip_examples"]["missing_field"] == ["firefly.jsonl line 2"]
    assert manifest["sources"]["general"]["shapes"] == {"sharegpt": 4, "unrecognised": 1, "firefly": 2, "alpaca": 1}
    written = [json.loads(line) for line in (out / "general_train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(len(r["history"]) for r in written) == [0, 0, 1]
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["med_general"]["columns"]["history"] == "history"


def test_a_pool_smaller_than_the_ratio_is_said(prep, tmp_path):
    pool = write(tmp_path, "firefly.jsonl", lines(*[{"kind": "k", "input": f"问{i}", "target": f"答{i}"}
                                                    for i in range(5)]))
    code, _, manifest, err = prep(*ONLY_NORM, "--general", str(pool), "--general-ratio", "1")
    assert code == 0, err
    assert manifest["datasets"]["general_train"]["written"] == 5
    assert any("fewer than the 20" in n and "all 5 are used" in n for n in manifest["notes"])


@pytest.mark.parametrize("name, body, parts", [
    ("sharegpt.json", '{"conversations": []}', ["sharegpt.json", "a JSON array"]),
    ("sharegpt.json", json.dumps([GOOD_CHAT])[:-9], ["sharegpt.json"]),  # cut short
    ("firefly.jsonl", lines(GOOD_FIREFLY) + '{"kind": "x", "input": \n', ["firefly.jsonl", "line 2",
                                                                        "one JSON object per line"]),
    ("firefly.jsonl", "明朝".encode("gbk") + b"\n", ["firefly.jsonl", "UTF-8"]),
    ("firefly.jsonl", b"", ["firefly.jsonl", "empty file"]),
    ("firefly.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", ["firefly.jsonl", "line 1", "nested deeper"]),
])
def test_unusable_general_file_is_one_sentence(prep, tmp_path, name, body, parts):
    path = write(tmp_path, name, body)
    code, _, manifest, err = prep(*ONLY_NORM, "--general", str(path), root=tmp_path / "ds")
    assert code == 2 and manifest is None
    assert err.startswith("data_prep: error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


def test_a_missing_second_pool_file_is_named(prep, tmp_path):
    good = write(tmp_path, "firefly.jsonl", lines(GOOD_FIREFLY))
    code, _, _, err = prep(*ONLY_NORM, "--general", str(good), "--general", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err and "no such file" in err


def test_bundled_samples_regenerate_byte_for_byte_and_read_cleanly(prep, tmp_path):
    written = synthetic.write(tmp_path)
    for path in written:
        assert path.read_bytes() == (SAMPLES_DIR / synthetic.FOLDER / path.name).read_bytes(), path.name
    args = [a for p in written for a in ("--general", str(p))]
    code, _, manifest, err = prep(*ONLY_NORM, *args, "--general-ratio", "10", root=tmp_path / "ds")
    assert code == 0, err
    g = manifest["datasets"]["general_train"]
    assert set(g["skipped"]) <= {"duplicate", "system_turn", "bad_turn_order", "empty_field", "missing_field",
                                 "over_limit"}
    assert g["skipped"]["system_turn"] == g["skipped"]["bad_turn_order"] == g["skipped"]["missing_field"] == 1
    assert manifest["sources"]["general"]["shapes"] == {"alpaca": 451, "sharegpt": 254, "firefly": 402}
