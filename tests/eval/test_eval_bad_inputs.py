"""`python -m eval score` on hostile prediction and test files: exit 2 with the file and line, never a
traceback, and the output folder keeps its previous set untouched (no half-written set, no temps)."""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eval.__main__ import main

REPORT = {"主诉": "咳嗽三天。", "现病史": "咳嗽。", "辅助检查": "", "既往史": "", "诊断": "感冒。", "建议": "多喝水。"}
GOOD = {"prompt": "p", "predict": "胃镜检查", "label": "胃镜检查"}


def line(record) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


BAD_PREDICTIONS = {
    "utf16": (line(GOOD).decode().encode("utf-16"), ":1: UTF-16 text (byte-order mark); save the file as UTF-8"),
    "utf16_no_bom": (line(GOOD).decode().encode("utf-16-le"), ":1: NUL bytes (a UTF-16 file without byte-order mark?)"),
    "gbk": (line(GOOD) + line({**GOOD, "predict": "胃镜"}).decode().encode("gbk"), ":2: not UTF-8 (byte 0x"),
    "escaped_surrogate": (line(GOOD) + b'{"prompt": "p", "predict": "\\ud800x", "label": "y"}\n',
                          ":2: a lone surrogate escape"),
    "raw_surrogate": (b'{"prompt": "p", "predict": "\xed\xa0\x80", "label": "y"}\n', ":1: not UTF-8 (byte 0xed"),
    "huge_integer": (b'{"prompt": "p", "predict": "x", "label": "y", "index": ' + b"9" * 5000 + b"}\n",
                     ":1: a number too long to read"),
    "deep_nesting": (b'{"prompt": ' + b"[" * 5000 + b"]" * 5000 + b', "predict": "x", "label": "y"}\n',
                     ":1: JSON nested too deeply"),
    "missing_label": (line(GOOD) + b"\n" + line({"prompt": "p", "predict": "x"}), ":3: `label` must be a string"),
    "not_an_object": (line(GOOD) + b"[1, 2]\n", ":2: expected a JSON object, got list"),
    "prompt_not_text": (line({**GOOD, "prompt": 5}), ":1: `prompt` must be a string"),
    "bool_index": (line({**GOOD, "index": True}), ":1: `index` must be a non-negative integer"),
    "duplicate_index": (line({**GOOD, "index": 0}) + line({**GOOD, "index": 0}), ":2: index 0 again (first on line 1)"),
    "finish_reason": (line({**GOOD, "finish_reason": 3}), ":1: `finish_reason` must be"),
    "torn_line": (line(GOOD) + b'{"prompt": "p", "predict', ":2: not valid JSON"),
    "empty": (b"\n\n", ": no predictions"),
}


@pytest.fixture
def old_set(tmp_path):
    """An output folder holding the set of an earlier good run."""
    preds = tmp_path / "good.jsonl"
    preds.write_bytes(line(GOOD))
    out = tmp_path / "out"
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--out", str(out)]) == 0
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def unchanged(out: Path, before: dict) -> bool:
    return {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("name", BAD_PREDICTIONS)
def test_bad_prediction_files_exit_2_naming_file_and_line(name, tmp_path, old_set, capsys):
    data, message = BAD_PREDICTIONS[name]
    preds = tmp_path / f"{name}.jsonl"
    preds.write_bytes(data)
    out, before = old_set
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {preds}{message}"), err
    assert unchanged(out, before)


def test_mrg_label_without_test_file_must_be_a_report(tmp_path, capsys):
    preds = tmp_path / "p.jsonl"
    preds.write_bytes(line({"prompt": "p", "predict": "{}", "label": json.dumps(REPORT, ensure_ascii=False)})
                      + line({"prompt": "p", "predict": "{}", "label": '{"主诉": "咳嗽'}))
    assert main(["score", "--task", "mrg", "--predictions", str(preds)]) == 2
    err = capsys.readouterr().err
    assert f"{preds}:2: `label` (pass --test to score against the test file) is not a JSON report" in err
    assert not (tmp_path / "metrics.json").exists()


BAD_TESTS = {
    "output_not_report": ([{"instruction": "x", "input": "", "output": "not json"}], ":1: `output` is not a JSON report"),
    "reference_number": ([{"instruction": "x", "input": "", "output": json.dumps(REPORT, ensure_ascii=False),
                           "references": [REPORT, {**REPORT, "治疗": 1}]}], ":1: each of `references` must be"),
    "reference_missing_field": ([{"instruction": "x", "input": "", "output": json.dumps(REPORT, ensure_ascii=False),
                                  "references": [{"主诉": "咳嗽"}]}], ":1: each of `references` must be"),
    "deep_output": ([{"instruction": "x", "input": "", "output": "[" * 5000}], ":1: `output` is not a JSON report"),
}


@pytest.mark.parametrize("name", BAD_TESTS)
def test_bad_mrg_test_files_exit_2_naming_file_and_line(name, tmp_path, capsys):
    records, message = BAD_TESTS[name]
    test = tmp_path / "mrg_test.jsonl"
    test.write_bytes(b"".join(line(r) for r in records))
    preds = tmp_path / "p.jsonl"
    preds.write_bytes(line({"prompt": "p", "predict": "{}", "label": records[0]["output"]}))
    assert main(["score", "--task", "mrg", "--predictions", str(preds), "--test", str(test)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {test}{message}")
    assert not (tmp_path / "metrics.json").exists()


def test_out_that_is_a_file_is_a_clear_error(tmp_path, capsys):
    preds = tmp_path / "p.jsonl"
    preds.write_bytes(line(GOOD))
    (tmp_path / "taken").write_text("x")
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--out", str(tmp_path / "taken")]) == 2
    assert "error: " in capsys.readouterr().err


# Property: whatever the bytes or JSON values, `eval score` exits 0 or 2 and never raises.
TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
REPORT_TEXT = st.dictionaries(st.sampled_from(list(REPORT) + ["x"]), st.one_of(TEXT, JSON), max_size=7).map(
    lambda d: json.dumps(d, ensure_ascii=False))
FIELD = st.one_of(JSON, TEXT, REPORT_TEXT)
RECORD = st.one_of(
    JSON,
    st.fixed_dictionaries({}, optional={"prompt": FIELD, "predict": FIELD, "label": FIELD, "index": JSON,
                                        "finish_reason": st.sampled_from([None, "stop", "length", 0])}),
    st.fixed_dictionaries({}, optional={"instruction": FIELD, "input": FIELD, "output": FIELD,
                                        "references": st.one_of(JSON, st.lists(st.one_of(JSON, st.just(REPORT))))}))


def jsonl_bytes(records, ascii_only: bool) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records).encode("utf-8", "surrogatepass")


HOSTILE = st.one_of(st.binary(max_size=300), st.builds(jsonl_bytes, st.lists(RECORD, max_size=4), st.booleans()))
WORDS = st.text(max_size=16)  # any characters but lone surrogates
GOLD_REPORT = st.fixed_dictionaries({k: WORDS for k in REPORT}, optional={"x": WORDS})


@st.composite
def plausible(draw, task: str) -> tuple[bytes, bytes | None]:
    """Well-formed files with arbitrary text, answers of any shape, sometimes a matching test file."""
    golds = draw(st.lists(GOLD_REPORT if task == "mrg" else WORDS, min_size=1, max_size=4))
    labels = [json.dumps(g, ensure_ascii=False) if task == "mrg" else g for g in golds]
    answer = st.one_of(WORDS, REPORT_TEXT, st.sampled_from(labels))
    rows = [{"prompt": draw(WORDS), "predict": draw(answer), "label": label,
             "finish_reason": draw(st.sampled_from([None, "stop", "length"]))} for label in labels]
    if draw(st.booleans()):  # one field of one row replaced by any JSON value, or dropped
        row, key = draw(st.sampled_from(rows)), draw(st.sampled_from(["prompt", "predict", "label", "index",
                                                                      "finish_reason"]))
        row[key] = draw(JSON)
        if draw(st.booleans()):
            del row[key]
    test = None
    if draw(st.booleans()):
        test = [{"instruction": "q" + draw(WORDS), "input": "", "output": label} for label in labels]
        if task == "mrg":
            for record, gold in zip(test, golds, strict=True):
                record["references"] = [gold, draw(GOLD_REPORT)]
        test = jsonl_bytes(test, draw(st.booleans()))
    return jsonl_bytes(rows, draw(st.booleans())), test


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=st.sampled_from(["norm", "mrg", "dialog", "triage"]), data=st.data())
def test_any_input_exits_0_or_2_without_a_traceback(task, data):
    predictions, test = data.draw(st.one_of(st.tuples(HOSTILE, st.one_of(st.none(), HOSTILE)), plausible(task)))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "p.jsonl").write_bytes(predictions)
        args = ["score", "--task", task, "--predictions", str(folder / "p.jsonl"), "--out", str(folder / "out")]
        if test is not None:
            (folder / "t.jsonl").write_bytes(test)
            args += ["--test", str(folder / "t.jsonl")]
        code = main(args)  # an exception here is the traceback this test forbids
        assert code in (0, 2)
        written = sorted(p.name for p in (folder / "out").iterdir()) if (folder / "out").exists() else []
        assert written in ([], ["metrics.json", "scores.jsonl", "worst_samples.md"])  # the lock leaves no file
        assert (code == 0) == ("metrics.json" in written)
