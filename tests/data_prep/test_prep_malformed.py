"""A corpus of malformed raw inputs: each either stops prep with an error naming the file, the record and
what was expected (and writes nothing), or is a counted skip with the record accounting intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from data_prep.discover import SAMPLES_DIR
from data_prep.synthetic.norm import write_xlsx

GOOD = {"instruction": "咳嗽怎么办", "input": "孩子咳嗽三天", "output": "您好,建议多喝水。", "history": None}
REPORT = {"主诉": "咳嗽。", "现病史": "咳嗽三天。", "辅助检查": "", "既往史": "不详。", "诊断": "支气管炎。", "建议": "雾化。"}
UTT = {"sentence_id": "1", "speaker": "医生", "sentence": "你好", "dialogue_act": "Other", "BIO_label": "O O",
       "symptom_norm": [], "symptom_type": [], "local_implicit_info": {}}
CSV_HEAD = "department,title,ask,answer\n"


def good_dialogs(n=3):
    return [{**GOOD, "input": f"孩子咳嗽{i}天"} for i in range(n)]


def mrg_sample(i, **over):
    return {"self_report": f"咳嗽{i}天", "dialogue": [dict(UTT)], "report": [REPORT, REPORT], "diagnosis": "支气管炎",
            **over}


def dialog_json(tmp: Path, text: str | bytes):
    path = tmp / "raw" / "train_0001_of_0001.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return ["--only", "dialog", "--dialog", str(path), "--dialog-test-size", "1"]


def dialog_records(records) -> callable:
    return lambda tmp: dialog_json(tmp, json.dumps(records, ensure_ascii=False, indent=2))


def toyhom(body: str | bytes, encoding="gb18030"):
    def build(tmp):
        path = tmp / "raw" / "IM_内科" / "内科5-100.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode(encoding))
        return ["--only", "dialog", "--dialog", str(path.parent), "--dialog-test-size", "1"]
    return build


def norm_dir(train=None, val=None, code: str | None = None, train_bytes: bytes | None = None, header=("原始词", "标准词")):
    def build(tmp):
        d = tmp / "yidu-n7k"
        d.mkdir(parents=True, exist_ok=True)
        rows_train = train if train is not None else [("阑尾切除", "阑尾切除术"), ("输血治疗", "输血")]
        rows_val = val if val is not None else [("胆囊切除", "腹腔镜下胆囊切除术")]
        if train_bytes is not None:
            (d / "train.xlsx").write_bytes(train_bytes)
        else:
            write_xlsx(d / "train.xlsx", rows_train)
            if header != ("原始词", "标准词"):
                from openpyxl import load_workbook
                wb = load_workbook(d / "train.xlsx")
                wb.active["A1"], wb.active["B1"] = header
                wb.save(d / "train.xlsx")
        if val != "absent":
            write_xlsx(d / "val.xlsx", rows_val)
        if code is not None:
            (d / "code.txt").write_text(code, encoding="utf-8")
        return ["--only", "norm", "--norm", str(d)]
    return build


def mrg_dir(train=None, dev=None, train_text: str | bytes | None = None):
    def build(tmp):
        d = tmp / "IMCS-V2-MRG" / "IMCS-V2-MRG"
        d.mkdir(parents=True, exist_ok=True)
        if train_text is not None:
            data = train_text if isinstance(train_text, bytes) else train_text.encode("utf-8")
            (d / "IMCS-V2_train.json").write_bytes(data)
        else:
            t = train if train is not None else {str(i): mrg_sample(i) for i in range(3)}
            (d / "IMCS-V2_train.json").write_text(json.dumps(t, ensure_ascii=False), encoding="utf-8")
        if dev != "absent":
            dv = dev if dev is not None else {"900": mrg_sample(900)}
            (d / "IMCS-V2_dev.json").write_text(json.dumps(dv, ensure_ascii=False), encoding="utf-8")
        return ["--only", "mrg", "--mrg", str(d)]
    return build


def general_file(text: str, ratio="1"):
    def build(tmp):
        base = norm_dir()(tmp)
        path = tmp / "general.jsonl"
        path.write_text(text, encoding="utf-8")
        return [*base, "--general", str(path), "--general-ratio", ratio]
    return build


def args_only(*args):
    def build(tmp):
        return [a.replace("{tmp}", str(tmp)) for a in args]
    return build


SAMPLES_NORM = SAMPLES_DIR / "yidu-n7k"


def text_jsonl(body: str):
    def build(tmp):
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "t.jsonl").write_text(body, encoding="utf-8")
        return ["--only", "norm", "--norm", str(SAMPLES_NORM), "--text", str(tmp / "t.jsonl")]
    return build


def seed_triage(text: str):
    def build(tmp):
        d = tmp / "seed004"
        d.mkdir(parents=True, exist_ok=True)
        (d / "train.jsonl").write_text(text, encoding="utf-8")
        return ["--only", "triage", "--triage", str(d)]
    return build


def train_xlsx_is_a_folder(tmp):
    d = tmp / "yidu-n7k"
    (d / "train.xlsx").mkdir(parents=True)
    write_xlsx(d / "val.xlsx", [("胆囊切除", "腹腔镜下胆囊切除术")])
    return ["--only", "norm", "--norm", str(d)]


# (id, builder, expected): expected is a list of message parts (an error) or {split: {reason: n}} (skips).
ERRORS = [
    ("json-empty-file", lambda t: dialog_json(t, ""), ["train_0001_of_0001.json", "whole file",
                                                       "an empty file (0 bytes)"]),
    ("json-whitespace-only", lambda t: dialog_json(t, " \n"), ["train_0001_of_0001.json", "start of file",
                                                               "a JSON array", "an empty file"]),
    ("json-object-not-array", lambda t: dialog_json(t, '{"instruction": "a"}'),
     ["start of file", "a JSON array", "a JSON object or JSON lines?"]),
    ("json-lines-not-array", lambda t: dialog_json(t, json.dumps(GOOD) + "\n" + json.dumps(GOOD)),
     ["start of file", "a JSON array"]),
    ("json-truncated-in-record", lambda t: dialog_json(t, '[{"instruction": "a", "input": "b", "outp'),
     ["record 0", "a complete JSON value", "truncated or invalid JSON"]),
    ("json-truncated-after-record", lambda t: dialog_json(t, json.dumps(good_dialogs(2))[:-1] + ","),
     ["record 2", "a JSON value", "end of file (truncated)"]),
    ("json-truncated-no-bracket", lambda t: dialog_json(t, json.dumps(good_dialogs(2))[:-1]),
     ["record 2", "',' or ']'", "end of file (truncated)"]),
    ("json-missing-comma", lambda t: dialog_json(t, "[" + json.dumps(GOOD) + " " + json.dumps(GOOD) + "]"),
     ["record 1", "',' or ']' after the previous record"]),
    ("json-trailing-garbage", lambda t: dialog_json(t, json.dumps(good_dialogs(2)) + "\n]"),
     ["after record 1", "end of file after the closing ]", "more data"]),
    ("json-gbk-encoded", lambda t: dialog_json(t, json.dumps([GOOD], ensure_ascii=False).encode("gbk")),
     ["train_0001_of_0001.json", "byte 18", "UTF-8 text", "undecodable bytes"]),
    ("csv-undecodable", toyhom(CSV_HEAD.encode() + b"\xff\xff\xff,a,b,c\n"),
     ["内科5-100.csv", "whole file", "GB18030", "gb18030 fails at line 2"]),
    ("csv-wrong-header", toyhom("科室,标题,问题,回答\n内科,a,b,c\n"),
     ["内科5-100.csv", "line 1 (header)", "department,title,ask,answer", "科室,标题,问题,回答"]),
    ("csv-empty-file", toyhom(""), ["内科5-100.csv", "line 1 (header)", "an empty file"]),
    ("xlsx-not-a-workbook", norm_dir(train_bytes="原始词,标准词\n".encode()),
     ["train.xlsx", "whole file", "an .xlsx workbook", "not an xlsx (zip) file"]),
    ("xlsx-corrupt-zip", norm_dir(train_bytes=b"PK\x03\x04" + b"\0" * 40),
     ["train.xlsx", "whole file"]),
    ("xlsx-missing-column", norm_dir(header=("原始词", "标准")),
     ["train.xlsx", "row 1 (header)", "原始词 | 标准词", "原始词 | 标准"]),
    ("xlsx-val-absent", norm_dir(val="absent"), ["val.xlsx", "no such file"]),
    ("code-txt-no-tab", norm_dir(code="01.001\t阑尾切除术\n01.002 输血"), ["code.txt", "line 2", "code<TAB>name"]),
    ("mrg-truncated", mrg_dir(train_text=json.dumps({"1": mrg_sample(1)}, ensure_ascii=False)[:-30]),
     ["IMCS-V2_train.json", "id 1", "truncated or invalid JSON"]),
    ("mrg-top-level-list", mrg_dir(train_text=json.dumps([mrg_sample(1)])),
     ["IMCS-V2_train.json", "start of file", "a JSON object {id: {...}, ...}", "a JSON array at the start"]),
    ("mrg-not-utf8", mrg_dir(train_text=json.dumps({"1": mrg_sample(1)}, ensure_ascii=False).encode("gbk")),
     ["IMCS-V2_train.json", "byte 23", "UTF-8 text", "undecodable bytes"]),
    ("mrg-dev-absent", mrg_dir(dev="absent"), ["IMCS-V2_dev.json", "no such file"]),
    ("general-bad-line", general_file(json.dumps(GOOD) + "\n{oops\n"),
     ["general.jsonl", "line 2", "one JSON object per line"]),
    ("general-ratio-zero", general_file(json.dumps(GOOD) + "\n", ratio="0"), ["--general-ratio", "a ratio > 0"]),
    ("only-unknown", args_only("--only", "dialog,xray"), ["--only", "dialog,xray", "a comma-separated subset"]),
    ("raw-dir-missing", args_only("--raw-dir", "{tmp}/nowhere"), ["nowhere", "--raw-dir", "no such folder"]),
    ("explicit-dataset-absent", args_only("--only", "mrg", "--raw-dir", "{tmp}"), ["mrg", "the published mrg files"]),
    ("model-not-found", args_only("--only", "norm", "--model", "{tmp}/no-model"),
     ["no-model", "tokenizer", "a local model folder or hub id", "pass --model"]),
    ("dialog-path-missing", args_only("--dialog", "{tmp}/none.json"), ["none.json", "--dialog", "an existing file"]),
    # an open quote would swallow the 40 rows after it into one field: an error at the row where it opened
    ("csv-unterminated-quote", toyhom(CSV_HEAD + "内科,a,b,c\n外科,t,\"未闭合的引号,x\n" + "内科,标题,问,答\n" * 40),
     ["内科5-100.csv", "line 3", "a well-formed CSV row", "unexpected end of data", "a quote opened"]),
    ("csv-quote-closed-by-a-later-quote", toyhom(CSV_HEAD + "外科,t,\"未闭合,x\n" + "内科,a,b,c\n" * 30
                                                 + "内科,a,\"b\",c\n"),
     ["内科5-100.csv", "line 2", "a well-formed CSV row", "',' expected after '\"'"]),
    ("csv-quote-closed-200-lines-later", toyhom(CSV_HEAD + "外科,t,\"未闭合,x\n" + "内科,a,b,c\n" * 250
                                                + "内科,a,\",b\",c\n"),
     ["内科5-100.csv", "line 2", "a row of at most 200 lines", "one row running to line 253"]),
    ("json-lone-surrogate", lambda t: dialog_json(t, '[' + json.dumps(GOOD) + ', {"instruction": "a\\ud800", '
                                                  '"input": "b", "output": "c"}]'),
     ["train_0001_of_0001.json", "record 1", "lone surrogate"]),
    ("json-5000-digit-integer", lambda t: dialog_json(t, '[' + json.dumps(GOOD) + ', {"n": ' + "9" * 5000 + '}]'),
     ["train_0001_of_0001.json", "record 1", "a JSON value data_prep can read", "digits"]),
    ("json-200000-deep", lambda t: dialog_json(t, "[" + json.dumps(GOOD) + ", " + "[" * 200_000 + "]" * 200_000 + "]"),
     ["train_0001_of_0001.json", "record 1", "nested deeper"]),
    ("mrg-lone-surrogate", mrg_dir(train_text='{"1": {"self_report": "\\udfff"}}'),
     ["IMCS-V2_train.json", "id 1", "lone surrogate"]),
    ("mrg-deep", mrg_dir(train_text='{"1": ' + "[" * 100_000 + "]" * 100_000 + "}"),
     ["IMCS-V2_train.json", "id 1", "nested deeper"]),
    ("mrg-empty-file", mrg_dir(train_text=b""), ["IMCS-V2_train.json", "whole file", "an empty file (0 bytes)"]),
    ("general-huge-int", general_file(json.dumps(GOOD) + '\n{"instruction": ' + "1" * 5000 + "}\n"),
     ["general.jsonl", "line 2", "digits"]),
    ("general-deep", general_file("[" * 100_000 + "]" * 100_000 + "\n"), ["general.jsonl", "line 1", "nested deeper"]),
    ("text-jsonl-huge-int", text_jsonl('{"text": ' + "7" * 5000 + "}\n"),
     ["t.jsonl", "line 1", "digits"]),
    ("triage-seed-jsonl-deep", seed_triage('{"text": "咳嗽", "label": ["内科"]}\n' + "[" * 100_000 + "]" * 100_000),
     ["train.jsonl", "line 2", "nested deeper"]),
    ("xlsx-empty-file", norm_dir(train_bytes=b""), ["train.xlsx", "whole file", "an empty file (0 bytes)"]),
    ("raw-dir-xlsx-is-a-directory", lambda t: ["--raw-dir", str(t / "yidu-n7k"), *train_xlsx_is_a_folder(t)[:2]],
     ["norm", "yidu-n7k lacks train.xlsx (a folder of that name)"]),
    ("xlsx-is-a-directory", train_xlsx_is_a_folder,
     ["train.xlsx", "whole file", "a directory with that name"]),
]

SKIPS = [
    ("json-non-object-records", dialog_records([*good_dialogs(), "text", 5, None]),
     {"dialog_train": {"not_an_object": 3}}),
    ("json-missing-output", dialog_records([*good_dialogs(), {"instruction": "a", "input": "b"}]),
     {"dialog_train": {"missing_field": 1}}),
    ("json-output-not-string", dialog_records([*good_dialogs(), {**GOOD, "output": 42}]),
     {"dialog_train": {"not_a_string": 1}}),
    ("json-blank-fields", dialog_records([*good_dialogs(), {**GOOD, "output": "\u3000 "}, {**GOOD, "instruction": "",
                                                                                         "input": " "}]),
     {"dialog_train": {"empty_field": 2}}),
    ("json-duplicates", dialog_records([*good_dialogs(), GOOD, GOOD, dict(GOOD)]), {"dialog_train": {"duplicate": 2}}),
    ("csv-wrong-field-count", toyhom(CSV_HEAD + "内科,a,b,c\n内科,a,b\n内科,a,b,c,d\n内科,a\n"),
     {"dialog_train": {"wrong_field_count": 3}}),
    ("xlsx-empty-cells", norm_dir(train=[("阑尾切除", "阑尾切除术"), ("", "输血"), ("输血治疗", "")]),
     {"norm_train": {"empty_field": 2}}),
    ("xlsx-numeric-cell", norm_dir(train=[("阑尾切除", "阑尾切除术"), (123, "输血")]), {"norm_train": {"not_a_string": 1}}),
    ("xlsx-empty-multi-term", norm_dir(train=[("阑尾切除", "阑尾切除术##"), ("输血治疗", "输血")]),
     {"norm_train": {"empty_standard_term": 1}}),
    ("xlsx-duplicate-rows", norm_dir(train=[("阑尾切除", "阑尾切除术")] * 3), {"norm_train": {"duplicate": 2}}),
    ("xlsx-train-test-overlap", norm_dir(val=[("阑尾切除", "阑尾切除术")]), {"norm_train": {"leaked_into_test": 1}}),
    ("mrg-missing-report", mrg_dir(train={"1": mrg_sample(1), "2": {"self_report": "x", "dialogue": []}}),
     {"mrg_train": {"missing_field": 1}}),
    ("mrg-empty-report-list", mrg_dir(train={"1": mrg_sample(1), "2": mrg_sample(2, report=[])}),
     {"mrg_train": {"no_report": 1}}),
    ("mrg-report-missing-section", mrg_dir(train={"1": mrg_sample(1), "2": mrg_sample(2, report=[{"主诉": "咳"}])}),
     {"mrg_train": {"bad_report": 1}}),
    ("mrg-unknown-speaker", mrg_dir(dev={"9": mrg_sample(9), "8": mrg_sample(8, dialogue=[{"speaker": "护士",
                                                                                            "sentence": "好"}])}),
     {"mrg_test": {"bad_utterance": 1}}),
    ("mrg-sample-not-object", mrg_dir(train={"1": mrg_sample(1), "2": "text"}), {"mrg_train": {"not_an_object": 1}}),
    ("mrg-duplicate-id", mrg_dir(train_text='{"1": ' + json.dumps(mrg_sample(1), ensure_ascii=False) + ', "1": '
                                 + json.dumps(mrg_sample(2), ensure_ascii=False) + "}"),
     {"mrg_train": {"duplicate_id": 1}}),
    ("json-control-tokens", dialog_records([*good_dialogs(), {**GOOD, "output": "好<|im_end|><|im_start|>system 你是"},
                                            {**GOOD, "instruction": "<|endoftext|>"}]),
     {"dialog_train": {"control_token": 2}}),
    ("json-nul-character", dialog_records([*good_dialogs(), {**GOOD, "input": "a\u0000b"}]),
     {"dialog_train": {"nul_character": 1}}),
    ("json-too-long", dialog_records([*good_dialogs(), {**GOOD, "output": "长" * 20_000}]), {"dialog_train": {"too_long": 1}}),
    ("csv-nul-byte", toyhom(CSV_HEAD + "内科,a,b,c\n内科,a,b\0x,d\n内科,t,q,r\n"), {"dialog_train": {"nul_character": 1}}),
    ("mrg-control-token-in-dialogue", mrg_dir(train={"1": mrg_sample(1), "2": mrg_sample(
        2, dialogue=[{**UTT, "sentence": "好的<|im_end|>"}])}), {"mrg_train": {"control_token": 1}}),
    ("xlsx-control-token", norm_dir(train=[("阑尾切除", "阑尾切除术"), ("输血<|im_start|>", "输血")]),
     {"norm_train": {"control_token": 1}}),
    ("general-skips", general_file(json.dumps(GOOD) + "\n" + json.dumps({"instruction": "a"}) + "\n"
                                   + json.dumps(GOOD) + "\n"),
     {"general_train": {"missing_field": 1, "duplicate": 1}}),
]


def test_the_corpus_has_at_least_30_malformed_inputs():
    assert len(ERRORS) + len(SKIPS) >= 30


@pytest.mark.parametrize("build, parts", [pytest.param(b, p, id=i) for i, b, p in ERRORS])
def test_unusable_source_is_a_clear_error_and_writes_nothing(tmp_path, prep, build, parts):
    code, out, manifest, err = prep(*build(tmp_path), root=tmp_path / "ds")
    assert code == 2
    assert err.startswith("data_prep: error: ")
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"
    assert manifest is None and not (tmp_path / "ds" / "dataset_info.json").exists()
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("build, expected", [pytest.param(b, e, id=i) for i, b, e in SKIPS])
def test_bad_record_is_a_counted_skip(tmp_path, prep, build, expected):
    code, out, manifest, err = prep(*build(tmp_path), root=tmp_path / "ds")
    assert code == 0, err
    for split, reasons in expected.items():
        d = manifest["datasets"][split]
        for reason, n in reasons.items():
            assert d["skipped"].get(reason) == n, d["skipped"]
            assert d["skip_examples"][reason] if reason not in ("over_limit",) else True
        assert d["read"] == d["written"] + sum(d["skipped"].values())
        assert sum(1 for _ in open(out / f"{split}.jsonl", encoding="utf-8")) == d["written"]


def test_default_model_missing_tells_the_user_what_to_do(tmp_path, capsys):
    from data_prep.cli import main
    from data_prep.pipeline import load_counter

    load_counter.cache_clear()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["--out-dir", str(tmp_path / "o")]) == 2
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert "models/tiny-qwen2" in err and "make tiny-model" in err and "--model" in err


def test_corrupt_existing_dataset_info_is_reported(tmp_path, prep):
    (tmp_path / "dataset_info.json").write_text("{not json", encoding="utf-8")
    code, out, manifest, err = prep("--only", "norm")
    assert code == 2 and "dataset_info.json" in err and "line 1" in err and "a JSON object" in err
    assert manifest is None and not out.exists()  # nothing written before the check


@pytest.mark.parametrize("shift", range(-5, 2))
def test_a_surrogate_escape_across_the_read_chunk_edge_is_caught(tmp_path, shift):
    from data_prep import jsonstream
    from data_prep.errors import PrepError

    head = '[{"a": "' + "x" * (jsonstream.CHUNK - 20 + shift) + '"}, {"b": "'
    path = tmp_path / "edge.json"
    path.write_text(head + '\\ud800"}]', encoding="utf-8")
    assert jsonstream.CHUNK - 6 <= len(head) <= jsonstream.CHUNK  # the 6-character escape straddles the first read
    with pytest.raises(PrepError, match="record 1.*lone surrogate"):
        list(jsonstream.iter_json_array(path))
