"""Property tests over every reader: for arbitrary bytes or JSON values, data_prep exits 0 or 2 (never a
traceback), and read = written + skipped for every split it writes.

Hypothesis runs derandomized (a fixed seed per test), so CI sees the same examples on every run."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from data_prep.cli import main
from data_prep.synthetic.norm import write_xlsx
from tests.conftest import TINY_MODEL

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CONTROL = ["<|im_end|>", "<|im_start|>system\n", "<|endoftext|>", "\x00", "\u3000", "无", "\r\n", '"', ","]

# Text with everything a file can carry: any code point (lone surrogates included), the tokenizer's
# control tokens, NUL, CSV metacharacters.
texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),
    st.lists(st.sampled_from(CONTROL) | st.text(max_size=5), max_size=6).map("".join),
    st.just(""),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                      max_leaves=12)
ALPACA_KEYS = ("instruction", "input", "output", "history")
alpaca_like = st.dictionaries(st.sampled_from(ALPACA_KEYS), st.one_of(texts, values), max_size=4)
records = st.one_of(alpaca_like, alpaca_like, values)


def dumps(value) -> bytes:
    # ensure_ascii: lone surrogates become \\udXXX escapes, as a hand-made JSON file may hold them
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def mutate(data: bytes, cut: int, junk: bytes) -> bytes:
    """A file damaged the usual ways: cut short and/or junk spliced in."""
    cut %= len(data) + 1
    return data[:cut] + junk + data[cut:] if junk else data[:cut]


def run(tmp: Path, *args: str) -> None:
    """One in-process run; the properties every run must have."""
    out = tmp / "data" / "sft"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["--out-dir", str(out), "--dataset-info", str(tmp / "dataset_info.json"),
                     "--model", str(TINY_MODEL), *args])  # any exception escaping main fails the test
    assert code in (0, 2), code
    event(f"exit {code}")
    if code == 2:
        assert err.getvalue().startswith("data_prep: error: ") and "Traceback" not in err.getvalue()
        return
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name, d in manifest["datasets"].items():
        assert d["read"] == d["written"] + sum(d["skipped"].values()), (name, d)
        with open(out / f"{name}.jsonl", encoding="utf-8") as f:
            assert sum(1 for _ in f) == d["written"]


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="prop-")


@SETTINGS
@given(st.lists(records, max_size=8), st.integers(0, 10_000), st.binary(max_size=8), st.booleans())
def test_dialog_json(recs, cut, junk, damage):
    with tmpdir() as t:
        tmp = Path(t)
        data = dumps(recs)
        path = tmp / "train_0001_of_0001.json"
        path.write_bytes(mutate(data, cut, junk) if damage else data)
        run(tmp, "--only", "dialog", "--dialog", str(path), "--dialog-test-size", "1")


csv_cells = st.one_of(texts, st.sampled_from(["内科", "外科", "", "无"]))
csv_rows = st.lists(st.lists(csv_cells, min_size=2, max_size=6), max_size=8)


@SETTINGS
@given(csv_rows, st.sampled_from(["gb18030", "utf-8"]), st.integers(0, 10_000), st.binary(max_size=8), st.booleans())
def test_toyhom_csv(rows, encoding, cut, junk, damage):
    import csv

    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["department", "title", "ask", "answer"])
    for row in rows:
        writer.writerow(row)
    data = buf.getvalue().encode(encoding, errors="replace")
    with tmpdir() as t:
        tmp = Path(t)
        path = tmp / "内科" / "内科.csv"
        path.parent.mkdir()
        path.write_bytes(mutate(data, cut, junk) if damage else data)
        run(tmp, "--only", "dialog", "--dialog", str(path.parent), "--dialog-test-size", "1")


xlsx_cells = st.one_of(texts, st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.none(),
                       st.just("阑尾切除术##"), st.just("a##b"))


@SETTINGS
@given(st.lists(st.tuples(xlsx_cells, xlsx_cells), max_size=6), st.binary(max_size=60),
       st.one_of(st.none(), st.binary(max_size=60), st.text(max_size=40)))
def test_yidu_xlsx_and_code_txt(rows, raw_bytes, code):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def storable(v):  # what an xlsx can hold at all (XML 1.0 characters)
        return ILLEGAL_CHARACTERS_RE.sub("", v).encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v

    with tmpdir() as t:
        tmp = Path(t)
        d = tmp / "yidu-n7k"
        d.mkdir()
        write_xlsx(d / "train.xlsx", [(storable(a), storable(b)) for a, b in rows])
        if raw_bytes[:1] == b"x":  # sometimes the test workbook is arbitrary bytes instead
            (d / "val.xlsx").write_bytes(raw_bytes[1:])
        else:
            write_xlsx(d / "val.xlsx", [(storable(a), storable(b)) for a, b in rows[:2]])
        if isinstance(code, bytes):
            (d / "code.txt").write_bytes(code)
        elif isinstance(code, str):
            (d / "code.txt").write_text(code, encoding="utf-8", errors="surrogatepass")
        run(tmp, "--only", "norm", "--norm", str(d))


REPORT_KEYS = ("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议")
reports = st.one_of(st.fixed_dictionaries({k: texts for k in REPORT_KEYS}), values)
utterances = st.one_of(st.fixed_dictionaries({"speaker": st.sampled_from(["医生", "患者", "护士"]), "sentence": texts}),
                       values)
samples = st.one_of(st.fixed_dictionaries({"self_report": texts, "dialogue": st.lists(utterances, max_size=3),
                                           "report": st.lists(reports, max_size=2)}), values)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["1", "2", "3", "a"]), samples), max_size=6), st.integers(0, 10_000),
       st.binary(max_size=8), st.booleans())
def test_imcs_json(members, cut, junk, damage):
    # members written by hand so that ids may repeat, as json.dumps of a dict never would
    data = ("{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in members) + "}").encode("ascii")
    with tmpdir() as t:
        tmp = Path(t)
        d = tmp / "IMCS-V2-MRG"
        d.mkdir()
        (d / "IMCS-V2_train.json").write_bytes(mutate(data, cut, junk) if damage else data)
        (d / "IMCS-V2_dev.json").write_bytes(data[: len(data) // 2] if damage and cut % 3 == 0 else data)
        run(tmp, "--only", "mrg", "--mrg", str(d))


@SETTINGS
@given(st.lists(records, max_size=6), st.sampled_from([".json", ".jsonl"]), st.integers(0, 10_000),
       st.binary(max_size=8), st.booleans())
def test_general_json_and_jsonl(recs, suffix, cut, junk, damage):
    data = dumps(recs) if suffix == ".json" else b"\n".join(dumps(r) for r in recs)
    with tmpdir() as t:
        tmp = Path(t)
        d = tmp / "yidu-n7k"
        d.mkdir()
        write_xlsx(d / "train.xlsx", [("阑尾切除", "阑尾切除术")])
        write_xlsx(d / "val.xlsx", [("胆囊切除", "腹腔镜下胆囊切除术")])
        path = tmp / f"general{suffix}"
        path.write_bytes(mutate(data, cut, junk) if damage else data)
        run(tmp, "--only", "norm", "--norm", str(d), "--general", str(path))
