"""med_qa (seed 000's chatbot train.txt) and med_text (a CSV/JSONL text column for stage pt): the seed's own
splitting rule, LF and CRLF files, counted skips, manifest accounting and LLaMA-Factory registration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prep_helpers import SCRIPTS, read_jsonl

from data_prep import qa

SAMPLE = Path(qa.__file__).resolve().parent / "samples" / "Gpt2_Chatbot" / "data" / "train.txt"

# Utterances as the seed's corpus has them: no line breaks inside, no surrounding whitespace, non-empty.
utterance = st.text(st.sampled_from("帕金森综合治疗康复训练;CT检查?的有些什么 abc123"), min_size=1, max_size=12) \
    .map(str.strip).filter(bool)
dialogue = st.lists(utterance, min_size=1, max_size=3).map(lambda qs: [u for q in qs for u in (q, q + "答")])
corpus = st.lists(dialogue, min_size=1, max_size=8)


def render(dialogues: list[list[str]], newline: str) -> str:
    return (newline * 2).join(newline.join(d) for d in dialogues) + newline


def seed_blocks(raw: bytes) -> list[list[str]]:
    """The seed's preprocess.py, restated: read in text mode (universal newlines), then its own split rule."""
    import io

    data = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
    blocks = data.split("\r\n\r\n") if "\r\n" in data else data.split("\n\n")
    return [b.split("\r\n") if "\r\n" in b else b.split("\n") for b in blocks]


def records_of(path: Path) -> tuple[list[dict | str], dict]:
    info: dict = {}
    return [qa.to_sft(block, max_len=0) for _, block in qa.read_blocks(path, info)], info


@settings(max_examples=40, deadline=None)
@given(corpus, st.sampled_from(["\n", "\r\n"]))
def test_blocks_match_the_seed_and_become_history(tmp_path_factory, dialogues, newline):
    path = tmp_path_factory.mktemp("qa") / "train.txt"
    raw = render(dialogues, newline).encode("utf-8")
    path.write_bytes(raw)
    records, info = records_of(path)
    assert info["line_endings"] == ("CRLF" if newline == "\r\n" else "LF")
    # The seed keeps the file's final line end as an empty last utterance; we do not (see qa.read_blocks).
    expected = seed_blocks(raw)
    expected[-1] = expected[-1][:-1]
    assert expected == dialogues
    for rec, utterances in zip(records, dialogues, strict=True):
        pairs = [utterances[i:i + 2] for i in range(0, len(utterances), 2)]
        assert rec == {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1], "history": pairs[:-1]}


def test_the_split_rule_is_the_seeds_on_the_raw_text():
    assert qa.split_blocks("a\r\nb\r\n\r\nc\r\nd") == ["a\r\nb", "c\r\nd"]
    assert qa.split_blocks("a\nb\n\nc\nd") == ["a\nb", "c\nd"]
    # a CRLF file splits on CRLF blank lines only: an LF blank line inside it does not start a dialogue
    assert qa.split_blocks("a\r\nb\n\nc\r\nd") == ["a\r\nb\n\nc\r\nd"]
    assert qa.to_sft("a\r\nb\n\nc\r\nd") == "mixed_line_endings"


@pytest.mark.parametrize("block, reason", [
    ("只有一行的问题?", "one_line_block"),
    ("问题?\n   ", "empty_utterance"),
    ("问题?\n\u3000\n追问?\n回答", "empty_utterance"),
    ("问题?\n回答\n追问?", "unanswered_last_turn"),
    ("  \n ", "empty_block"),
    ("问题?\n" + "很长的回答" * 60, "over_long"),
])
def test_bad_blocks_are_skip_reasons(block, reason):
    assert qa.to_sft(block) == reason


def test_over_long_is_measured_like_the_seeds_input():
    # [CLS] + 149 + [SEP] + 148 + [SEP] = 300 tokens: fits the seed's n_ctx; one more character does not
    assert qa.seed_length(["问" * 149, "答" * 148]) == 300
    assert isinstance(qa.to_sft("问" * 149 + "\n" + "答" * 148), dict)
    assert qa.to_sft("问" * 149 + "\n" + "答" * 149) == "over_long"
    assert isinstance(qa.to_sft("问" * 149 + "\n" + "答" * 149, max_len=0), dict)


def test_stray_spaces_are_cleaned():
    assert qa.to_sft("  问题?\u3000\n 回答 ") == {"instruction": "问题?", "input": "", "output": "回答", "history": []}


def test_the_bundled_sample_is_what_its_generator_writes(tmp_path):
    import subprocess
    import sys

    script = SCRIPTS / "make_qa_sample.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / "Gpt2_Chatbot" / "data" / "train.txt").read_bytes() == SAMPLE.read_bytes()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_cli_accounting_and_registration(prep, tmp_path, newline):
    """Every block of the sample is written or skipped for a counted reason, LF and CRLF alike."""
    src = tmp_path / "raw" / "train.txt"
    src.parent.mkdir()
    src.write_bytes(SAMPLE.read_bytes().replace(b"\n", newline.encode()))
    code, out, manifest, err = prep("--qa", str(src), "--only", "qa", "--qa-test-size", "20")
    assert code == 0, err
    train, test = manifest["datasets"]["qa_train"], manifest["datasets"]["qa_test"]
    blocks = SAMPLE.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
    assert train["read"] + test["read"] == len(blocks)
    # the sample's quirks, one of each, plus its 6 exact duplicates; leaked_into_test depends on the split
    assert {k: v for k, v in train["skipped"].items() if k != "leaked_into_test"} == {
        "duplicate": 6, "empty_utterance": 1, "one_line_block": 1, "over_long": 1, "unanswered_last_turn": 1}
    for split in (train, test):
        assert split["read"] == split["written"] + sum(split["skipped"].values())
    assert test["written"] == 20
    assert manifest["sources"]["qa"]["line_endings"] == ("CRLF" if newline == "\r\n" else "LF")
    written = read_jsonl(out / "qa_train.jsonl")
    assert len(written) == train["written"] and any(r["history"] for r in written)
    assert all("\r" not in json.dumps(r, ensure_ascii=False) for r in written)
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["med_qa"]["columns"]["history"] == "history"
    assert info["med_qa_test"]["file_name"] == "data/sft/qa_test.jsonl"


def test_found_by_name_under_raw_dir(prep, tmp_path):
    raw = tmp_path / "raw" / "Gpt2_Chatbot" / "data"
    raw.mkdir(parents=True)
    (raw / "train.txt").write_bytes(SAMPLE.read_bytes())
    code, _, manifest, err = prep("--raw-dir", str(tmp_path / "raw"))
    assert code == 0, err
    assert set(manifest["datasets"]) == {"qa_train", "qa_test"}
    assert manifest["sources"]["qa"]["path"].endswith("Gpt2_Chatbot/data/train.txt")


@pytest.mark.parametrize("content, expected", [
    ("问题?\n回答\n".encode("gb18030"), "UTF-8 text"),
    (b"\n\n\n", "dialogues separated by blank lines"),
])
def test_unusable_files_stop_with_the_file_named(prep, tmp_path, content, expected):
    src = tmp_path / "train.txt"
    src.write_bytes(content)
    code, _, manifest, err = prep("--qa", str(src), "--only", "qa")
    assert code == 2 and manifest is None
    assert str(src) in err and expected in err and "Traceback" not in err


def test_med_qa_loads_through_llamafactory_as_multi_turn(prepared_data, tmp_path):
    """LLaMA-Factory turns `history` into earlier turns: the prompt of a multi-turn record holds them."""
    from llamafactory.train.test_utils import load_dataset_module
    from transformers import AutoTokenizer

    from tests.conftest import REPO_ROOT

    tiny_gpt2 = REPO_ROOT / "models" / "tiny-gpt2-chinese"
    if not (tiny_gpt2 / "config.json").exists():
        pytest.skip("make tiny-gpt2 first")  # built by `make test`
    module = load_dataset_module(
        stage="sft", do_train=True, finetuning_type="full", template="default", model_name_or_path=str(tiny_gpt2),
        dataset="med_qa", dataset_dir=str(prepared_data), cutoff_len=300, overwrite_cache=True,
        output_dir=str(tmp_path / "qa"), report_to="none",
    )
    records = read_jsonl(prepared_data / "data" / "sft" / "qa_train.jsonl")
    ds = module["train_dataset"]
    assert len(ds) == len(records)
    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2)
    index = next(i for i, r in enumerate(records) if r["history"])
    text = tokenizer.decode(ds["input_ids"][index]).replace(" ", "")
    for question, answer in records[index]["history"]:
        assert question.lower() in text and answer.lower() in text
    # only replies are trained: the first label after the masked prompt starts the first answer
    labels = ds["labels"][index]
    first = next(i for i, label in enumerate(labels) if label != -100)
    assert tokenizer.decode(ds["input_ids"][index][first:first + 2]).replace(" ", "") == \
        records[index]["history"][0][1][:2].lower()


@pytest.mark.parametrize("suffix, encoding", [(".csv", "gb18030"), (".csv", "utf-8"), (".jsonl", "utf-8")])
def test_text_corpus_for_pretraining(prep, tmp_path, suffix, encoding):
    src = tmp_path / f"corpus{suffix}"
    texts = ["春满神州花似锦", "", "福临门第喜盈门, 好", "春满神州花似锦"]
    if suffix == ".csv":
        src.write_bytes(("text0,text1\n" + "".join(f'x,"{t}"\n' for t in texts)).encode(encoding))
    else:
        src.write_text("".join(json.dumps({"text1": t}, ensure_ascii=False) + "\n" for t in texts) + '{"a": 1}\n',
                       encoding=encoding)
    code, out, manifest, err = prep("--only", "qa", "--text", str(src), "--text-column", "text1")
    assert code == 0, err
    text = manifest["datasets"]["text_train"]
    expected_skips = {"duplicate": 1, "empty_text": 1} | ({"missing_field": 1} if suffix == ".jsonl" else {})
    assert text["skipped"] == expected_skips
    assert text["read"] == text["written"] + sum(text["skipped"].values()) and text["written"] == 2
    assert [r["instruction"] for r in read_jsonl(out / "text_train.jsonl")] == ["春满神州花似锦", "福临门第喜盈门, 好"]
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["med_text"] == {"file_name": "data/sft/text_train.jsonl", "columns": {"prompt": "instruction"}}


def test_text_corpus_without_the_column_is_an_error(prep, tmp_path):
    src = tmp_path / "corpus.csv"
    src.write_text("text1\n春满神州\n", encoding="utf-8")
    code, _, manifest, err = prep("--only", "qa", "--text", str(src))
    assert code == 2 and manifest is None
    assert str(src) in err and "'text'" in err and "--text-column" in err


def test_text_corpus_with_a_quote_left_open_names_the_line(prep, tmp_path):
    """The --text CSV reader is as strict as the Toyhom one: a quote left open must not swallow the rows after it."""
    src = tmp_path / "corpus.csv"
    rows = [f"第{i}行文本" for i in range(300)]
    rows[5] = '"第5行没有闭合的引号'
    src.write_text("text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, _, manifest, err = prep("--only", "qa", "--text", str(src))
    assert code == 2 and manifest is None
    assert str(src) in err and "line 7" in err and "Traceback" not in err


def test_text_jsonl_keeps_a_line_separator_inside_a_string(prep, tmp_path):
    src = tmp_path / "corpus.jsonl"
    src.write_text(json.dumps({"text": "上联\u2028下联"}, ensure_ascii=False) + "\n", encoding="utf-8")
    code, out, _, err = prep("--only", "qa", "--text", str(src))
    assert code == 0, err
    assert [r["instruction"] for r in read_jsonl(out / "text_train.jsonl")] == ["上联\u2028下联"]
