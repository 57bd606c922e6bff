"""A raw file with fewer usable records than the test size still leaves something to train on: the sampled
test splits (dialog, triage, qa; norm and mrg read their own test files) take at most a fifth of a small file,
training keeps the rest, and the manifest's notes say what was done."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from prep_helpers import read_jsonl

from data_prep import holdout, qa

SEED_TRAIN_TXT = Path(qa.__file__).resolve().parent / "samples" / "Gpt2_Chatbot" / "data" / "train.txt"


@given(usable=st.integers(0, 5000), requested=st.integers(0, 1000))
def test_the_test_share_is_bounded(usable, requested):
    n = holdout.test_count(usable, requested)
    assert 0 <= n <= min(usable, requested)
    if usable >= 1:
        assert usable - n >= 1  # something to train on
    if usable >= 2 * requested:
        assert n == requested  # a file big enough: exactly what was asked (the bundled samples, real downloads)
    elif usable < requested:
        assert n == usable // 5  # a small file: a fifth
    else:
        assert usable - n >= requested or n == usable // 5  # in between: training keeps the requested number


def test_seed_000_train_txt_with_five_dialogues_gives_qa_train(prep, tmp_path):
    """The issue's case: five dialogues, one unusable (a question with no answer), the default test size 100."""
    blocks = SEED_TRAIN_TXT.read_text(encoding="utf-8").split("\n\n")[:4] + ["只有一个问题没有回答?"]
    small = tmp_path / "train.txt"
    small.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    code, out, manifest, err = prep("--only", "qa", "--qa", str(small))
    assert code == 0, err
    train, test = read_jsonl(out / "qa_train.jsonl"), read_jsonl(out / "qa_test.jsonl")
    assert len(train) == 4 and test == []  # a fifth of 4 is 0: all four to training
    assert "med_qa" in json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    note = "qa: only 4 usable record(s), too few for --qa-test-size 100: a fifth (0) held out for test, 4 kept for training"
    assert note in manifest["notes"] and f"note: {note}" in prep.stdout
    assert manifest["datasets"]["qa_train"]["read"] + manifest["datasets"]["qa_test"]["read"] == 5


def write_dialogs(path: Path, n: int) -> Path:
    rows = [{"instruction": f"孩子咳嗽{i}天怎么办", "input": f"咳嗽{i}天,夜里加重", "output": f"建议{i}:多喝水,观察体温"}
            for i in range(n)]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_small_dialog_file_keeps_four_fifths_for_training(prep, tmp_path):
    code, out, manifest, err = prep("--only", "dialog", "--dialog", str(write_dialogs(tmp_path / "d.json", 12)))
    assert code == 0, err
    d = manifest["datasets"]
    assert (d["dialog_train"]["written"], d["dialog_test"]["written"]) == (10, 2)
    assert any(n.startswith("dialog: only 12 usable record(s), too few for --dialog-test-size 100: a fifth (2)")
               for n in manifest["notes"])


def test_a_file_between_one_and_two_test_sizes_keeps_the_test_size_for_training(prep, tmp_path):
    code, out, manifest, err = prep("--only", "dialog", "--dialog", str(write_dialogs(tmp_path / "d.json", 30)),
                                    "--dialog-test-size", "20")
    assert code == 0, err
    d = manifest["datasets"]
    assert (d["dialog_train"]["written"], d["dialog_test"]["written"]) == (20, 10)
    assert "dialog: 30 usable records: 10 held out for test instead of --dialog-test-size 20, so that training " \
           "keeps 20" in manifest["notes"]


def test_a_small_triage_file_keeps_training_records_and_labels(prep, tmp_path):
    lines = [{"text": f"问题{i}", "label": ["甲科" if i % 2 else "乙科"]} for i in range(10)]
    seed = tmp_path / "u.jsonl"
    seed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    code, out, manifest, err = prep("--only", "triage", "--triage", str(seed))
    assert code == 0, err
    d = manifest["datasets"]
    assert (d["triage_train"]["written"], d["triage_test"]["written"]) == (8, 2)
    assert any(n.startswith("triage: only 10 usable record(s)") for n in manifest["notes"])
