"""End-to-end runs of `python -m data_prep` (in-process) on the bundled samples and on raw-dir layouts."""

from __future__ import annotations

import json
import shutil

from prep_helpers import read_jsonl

from contract.datasets import DEV, MCQ, REPORT_FIELDS, TEST, split
from data_prep.discover import SAMPLES_DIR

SPLITS = ["dialog_train", "dialog_test", "norm_train", "norm_test", "mrg_train", "mrg_test", "triage_train", "triage_test",
          "qa_train", "qa_test"]
# the tasks' train splits, then their test splits (contract.datasets.DATASETS), then continued pre-training
NAMES = ["med_dialog", "med_norm", "med_mrg", "med_triage", "med_qa", "med_dialog_test", "med_norm_test",
         "med_mrg_test", "med_triage_test", "med_qa_test", "med_pt"]
MCQ_SPLITS = [split(task, part) for task in MCQ for part in (TEST, DEV)]  # in the set, never registered


def test_default_run_writes_every_split_accounted_for(prep, tmp_path):
    code, out, manifest, err = prep()
    assert code == 0, err
    assert list(manifest["datasets"]) == SPLITS + MCQ_SPLITS
    assert manifest["seed"] == 42
    for name, d in manifest["datasets"].items():
        records = read_jsonl(out / f"{name}.jsonl")
        assert d["read"] == d["written"] + sum(d["skipped"].values()) == len(records) + sum(d["skipped"].values())
        assert d["path"] == f"data/sft/{name}.jsonl"
        assert set(d["tokens"]) == {"p50", "p90", "p99", "max"}
        assert 0 < d["tokens"]["p50"] <= d["tokens"]["p90"] <= d["tokens"]["p99"] <= d["tokens"]["max"]
        if name in MCQ_SPLITS:
            continue  # multiple-choice items (tests/data_prep/test_prep_mcq*.py)
        assert all(r["instruction"] and r["output"] for r in records)
        assert all(list(r)[:3] == ["instruction", "input", "output"] for r in records)
    cutoff = manifest["recommended_cutoff_len"]
    assert cutoff % 128 == 0 and cutoff >= max(manifest["datasets"][n]["tokens"]["p99"] for n in SPLITS)
    # the samples carry ~5% duplicate dialogs and train/test mrg prompt collisions: both are counted
    assert manifest["datasets"]["dialog_train"]["skipped"]["duplicate"] == 18
    assert manifest["datasets"]["dialog_test"]["written"] == 100
    assert f"recommended cutoff_len: {cutoff}" in prep.stdout
    assert "dialog_train" in prep.stdout and "duplicate 18" in prep.stdout


def test_splits_never_overlap(prep):
    _, out, _, _ = prep()
    for task in ("dialog", "norm", "mrg"):
        train = {r["instruction"] for r in read_jsonl(out / f"{task}_train.jsonl")}
        test = {r["instruction"] for r in read_jsonl(out / f"{task}_test.jsonl")}
        assert train and test and not train & test


def test_mrg_test_keeps_all_reports_as_references(prep):
    _, out, _, _ = prep("--only", "mrg")
    dev = json.loads((SAMPLES_DIR / "IMCS-V2-MRG" / "IMCS-V2-MRG" / "IMCS-V2_dev.json").read_text(encoding="utf-8"))
    published = [sample["report"] for sample in dev.values()]
    for rec in read_jsonl(out / "mrg_test.jsonl"):
        assert len(rec["references"]) == 2
        assert rec["references"] in published  # exactly as published: what the official scorer renders
        first = {key: rec["references"][0][key].strip() for key in REPORT_FIELDS}
        assert rec["output"] == json.dumps(first, ensure_ascii=False, indent=2)
        assert rec["instruction"].startswith("患者自述:\n")
        assert json.loads(rec["output"])["诊断"].rstrip("。") in rec["instruction"]
    assert all("references" not in r for r in read_jsonl(out / "mrg_train.jsonl"))


def test_two_runs_are_byte_identical(prep, tmp_path):
    prep(root=tmp_path / "a")
    prep(root=tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    # 10 jsonl + 3 triage classifier files + 10 multiple-choice jsonl + manifest + 2 dataset_info.json
    assert files_a == files_b and len(files_a) == 26
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_committed_dataset_info_equals_what_prep_regenerates(prep, tmp_path, repo_root):
    prep()
    committed = (repo_root / "dataset_info.json").read_text(encoding="utf-8")
    assert (tmp_path / "dataset_info.json").read_text(encoding="utf-8") == committed
    assert list(json.loads(committed)) == NAMES
    # the web UI's default data dir gets the same datasets, paths relative to data/
    web = json.loads((tmp_path / "data" / "dataset_info.json").read_text(encoding="utf-8"))
    assert web["med_mrg_test"]["file_name"] == "sft/mrg_test.jsonl" and list(web) == NAMES


def test_out_dir_outside_data_gets_no_web_ui_copy(tmp_path, tiny_model):
    from data_prep.cli import main

    assert main(["--only", "norm", "--out-dir", str(tmp_path / "elsewhere"), "--dataset-info",
                 str(tmp_path / "info" / "dataset_info.json"), "--model", str(tiny_model)]) == 0
    info = json.loads((tmp_path / "info" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["med_norm"]["file_name"] == "../elsewhere/norm_train.jsonl"
    assert not (tmp_path / "info" / "data").exists()


def test_rerun_keeps_foreign_registrations(prep, tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({"alpaca_zh": {"file_name": "a.json"}}), encoding="utf-8")
    prep("--only", "norm")
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["alpaca_zh", "med_norm", "med_norm_test"]


def test_raw_dir_seed_layout_and_absent_dataset_is_left_out(prep, tmp_path):
    raw = tmp_path / "dataset"
    shutil.copytree(SAMPLES_DIR / "IMCS-V2-MRG", raw / "IMCS-V2-MRG")
    shutil.copytree(SAMPLES_DIR / "yidu-n7k", raw / "nested" / "yidu-n7k")
    code, out, manifest, err = prep("--raw-dir", str(raw), root=tmp_path / "ds")
    assert code == 0, err
    assert list(manifest["datasets"]) == ["norm_train", "norm_test", "mrg_train", "mrg_test"]
    assert any(n.startswith("dialog: no raw files found") for n in manifest["notes"])
    info = json.loads((tmp_path / "ds" / "dataset_info.json").read_text(encoding="utf-8"))
    assert "med_dialog" not in info and "med_mrg" in info


def test_raw_dir_half_present_dataset_is_reported_and_left_out(prep, tmp_path):
    raw = tmp_path / "dataset"
    shutil.copytree(SAMPLES_DIR / "IMCS-V2-MRG", raw / "IMCS-V2-MRG")
    shutil.copytree(SAMPLES_DIR / "yidu-n7k", raw / "yidu-n7k")
    (raw / "yidu-n7k" / "val.xlsx").unlink()  # train.xlsx alone: no test source beside it
    code, out, manifest, err = prep("--raw-dir", str(raw), root=tmp_path / "ds")
    assert code == 0, err
    assert list(manifest["datasets"]) == ["mrg_train", "mrg_test"]
    assert any(n.startswith("norm: ") and "lacks val.xlsx; left out" in n for n in manifest["notes"])


def test_toyhom_csvs_gb18030_with_quirks(prep, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLES_DIR / "Chinese-medical-dialogue-data", raw / "Chinese-medical-dialogue-data")
    code, out, manifest, err = prep("--raw-dir", str(raw), "--dialog-test-size", "20", root=tmp_path / "ds")
    assert code == 0, err
    src = manifest["sources"]["dialog"]
    assert set(src["encodings"].values()) == {"gb18030"} and len(src["encodings"]) == 6
    assert {"心血管科", "肝病科", "消化科", "神经科"} <= set(src["departments"])
    d = manifest["datasets"]["dialog_train"]
    assert d["read"] + manifest["datasets"]["dialog_test"]["read"] == 240 + 15 + 12  # + 15 duplicated, 12 re-posted
    assert d["skipped"]["duplicate"] == 15
    records = read_jsonl(out / "dialog_train.jsonl") + read_jsonl(out / "dialog_test.jsonl")
    assert any("\n建议" in r["output"] for r in records)  # quoted newline kept inside the field
    assert any(r["instruction"].endswith("内容:无") for r in records)
    assert any('医生说"没事", 真的吗' in r["instruction"] for r in records)
    assert not any(r["instruction"].split("内容:")[1].startswith(("\u3000", " ")) for r in records)


def test_toyhom_csv_resaved_as_utf8_is_accepted(prep, tmp_path):
    src = next((SAMPLES_DIR / "Chinese-medical-dialogue-data").rglob("内科*.csv"))
    dst = tmp_path / "raw" / src.name
    dst.parent.mkdir()
    dst.write_text(src.read_bytes().decode("gb18030"), encoding="utf-8")
    code, _, manifest, err = prep("--dialog", str(dst), "--only", "dialog", "--dialog-test-size", "5")
    assert code == 0, err
    assert manifest["sources"]["dialog"]["encodings"] == {src.name: "utf-8-sig"}


def test_limits_are_counted_as_over_limit(prep):
    _, out, manifest, _ = prep("--dialog-limit", "50", "--norm-limit", "10", "--norm-test-limit", "5",
                               "--mrg-limit", "7", "--mrg-test-limit", "3")
    ds = manifest["datasets"]
    assert [ds[s]["written"] for s in SPLITS[:6]] == [50, 100, 10, 5, 7, 3]
    assert ds["dialog_train"]["skipped"]["over_limit"] == 242 - 50
    assert ds["norm_test"]["skipped"] == {"over_limit": 95}
    assert all(d["read"] == d["written"] + sum(d["skipped"].values()) for d in ds.values())


def test_norm_test_from_answer_xlsx_and_code_txt_check(prep):
    _, _, manifest, _ = prep("--only", "norm", "--norm-test-source", "answer")
    src = manifest["sources"]["norm"]
    assert src["test"].endswith("answer.xlsx")
    assert src["standard_terms_not_in_code_txt"] == 0 and src["code_txt_names"] == 50


def test_general_mixing_ratio(prep, tmp_path):
    general = tmp_path / "general.json"
    general.write_text(json.dumps([{"instruction": f"问题{i}", "input": "", "output": f"回答{i}"}
                                   for i in range(1000)], ensure_ascii=False), encoding="utf-8")
    code, out, manifest, err = prep("--only", "norm", "--general", str(general), "--general-ratio", "0.5")
    assert code == 0, err
    g = manifest["datasets"]["general_train"]
    assert g["written"] == 150 and g["skipped"] == {"over_limit": 850}
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["med_general"]["file_name"] == "data/sft/general_train.jsonl"


def test_token_sample_is_reported_where_used(prep):
    _, _, manifest, _ = prep("--only", "dialog", "--token-sample", "150")
    d = manifest["datasets"]
    counted = d["dialog_train"]["tokens_counted"]
    assert 150 <= counted <= 156 and "tokens_counted" not in d["dialog_test"]  # 150 sampled + the 6 longest
    assert f"dialog_train: token stats from {counted} of 242 records (--token-sample)" in manifest["notes"]


def test_empty_split_is_not_registered(prep, tmp_path):
    code, out, manifest, err = prep("--only", "dialog", "--dialog-test-size", "0")
    assert code == 0, err
    assert manifest["datasets"]["dialog_test"]["written"] == 0 and (out / "dialog_test.jsonl").read_bytes() == b""
    assert "dialog_test: no records left; written empty and not registered" in manifest["notes"]
    assert list(json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))) == ["med_dialog", "med_pt"]


def test_ctrl_c_is_one_sentence_saying_what_the_folder_holds(monkeypatch, capsys, tmp_path):
    from data_prep import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run", interrupted)
    assert cli.main(["--out-dir", str(tmp_path / "sft")]) == 130
    err = capsys.readouterr().err
    assert "data_prep: interrupted;" in err and "never a mix; rerun the same command" in err
