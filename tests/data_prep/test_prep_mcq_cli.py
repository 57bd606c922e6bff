"""The multiple-choice benchmarks through `python -m data_prep` (in-process): found below --raw-dir or at their
own flag, written into the published set and its manifest but never registered, subjects and groups chosen on
the command line, and every refusal one sentence with exit status 2."""

from __future__ import annotations

import json
import shutil

from mcq_helpers import GOOD, cmmlu_download
from prep_helpers import read_jsonl

from contract import sftset
from contract.datasets import DEV, MCQ, MCQ_SHOTS, TEST, split
from data_prep.discover import SAMPLES_DIR
from launch.prepared import manifest_cutoff

MCQ_FILES = {f"{split(task, part)}.jsonl" for task in MCQ for part in (TEST, DEV)}


def test_default_run_prepares_every_benchmark_unregistered_and_launch_still_reads_the_set(prep, tmp_path):
    code, out, manifest, err = prep()
    assert code == 0, err
    assert MCQ_FILES <= set(manifest["files"])  # fingerprinted like every file of the set
    assert not any(split(task, part) in manifest["registered"] for task in MCQ for part in (TEST, DEV))
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert not any(t in entry["file_name"] for entry in info.values() for t in MCQ)
    assert sftset.verify(out, [tmp_path / "dataset_info.json", tmp_path / "data" / "dataset_info.json"]) == []
    cutoff, path, _ = manifest_cutoff({"dataset": "med_dialog", "dataset_dir": str(tmp_path)})
    assert cutoff == manifest["recommended_cutoff_len"] and path == out / "manifest.json"
    d = manifest["datasets"]
    assert (d["cmexam_test"]["read"], d["cmexam_test"]["written"], d["cmexam_test"]["skipped"]) == (30, 29,
                                                                                                     {"no_answer": 1})
    assert d["cmmlu_test"]["path"] == "data/sft/cmmlu_test.jsonl" and d["cmmlu_test"]["tokens"]["max"] > 0
    src = manifest["sources"]
    assert src["cmmlu"]["few_shot_pool"] == dict.fromkeys(
        ["anatomy", "chinese_history", "clinical_knowledge", "high_school_mathematics"], MCQ_SHOTS)
    assert src["ceval"]["root"] == "data_prep/samples/ceval-exam" and src["cmb"]["few_shot_pool"] == {"all": 10}
    assert all(not p.startswith("/") for task in MCQ for ps in src[task]["files"].values() for p in ps)
    assert "cmmlu_test" in prep.stdout and any("test/ (4 files) has no answers" in n for n in manifest["notes"])
    assert read_jsonl(out / "cmb_test.jsonl")[0]["exam_class"]


def test_only_one_benchmark_from_its_own_folder_with_chosen_subjects_and_groups(prep, tmp_path):
    src = tmp_path / "dl"
    shutil.copytree(SAMPLES_DIR / "CMMLU", src)
    code, out, manifest, err = prep("--only", "cmmlu", "--cmmlu", str(src), "--mcq-subjects",
                                    "anatomy,chinese_history", "--mcq-groups", "chinese_history=medical")
    assert code == 0, err
    assert list(manifest["datasets"]) == ["cmmlu_test", "cmmlu_dev"] and manifest["registered"] == {}
    records = read_jsonl(out / "cmmlu_test.jsonl")
    assert {r["subject"] for r in records} == {"anatomy", "chinese_history"}
    assert {r["group"] for r in records} == {"medical"}
    assert manifest["sources"]["cmmlu"]["groups"] == {"medical": 61}
    code, out, manifest, err = prep("--only", "cmmlu", "--cmmlu", str(src), "--mcq-subjects", "all")
    assert code == 0 and len(manifest["sources"]["cmmlu"]["subjects"]) == 4


def test_a_subject_outside_the_defaults_is_general_unless_said(prep, tmp_path):
    src = cmmlu_download(tmp_path / "dl", [GOOD] * 3, subject="world_religions")
    code, out, manifest, err = prep("--only", "cmmlu", "--cmmlu", str(src), "--mcq-subjects", "default,world_religions")
    assert code == 0, err
    entry = manifest["sources"]["cmmlu"]["subjects"]["world_religions"]
    assert entry == {"subject_zh": "世界宗教", "group": "general", "test": 3, "dev": 5}
    assert any("default subjects not in this download" in n for n in manifest["notes"])


def test_a_later_run_of_other_tasks_keeps_the_benchmarks(prep, tmp_path):
    prep()
    code, out, manifest, err = prep("--only", "norm")
    assert code == 0, err
    assert MCQ_FILES <= set(manifest["files"]) and "cmb" in manifest["sources"]
    assert any("kept from the previous run" in n and "cmmlu" in n for n in manifest["notes"])
    assert sftset.verify(out, [tmp_path / "dataset_info.json"]) == []


def refused(prep, *args) -> str:
    code, _, _, err = prep(*args)
    assert code == 2 and err.startswith("data_prep: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_refusals_are_one_sentence(prep, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "--mcq-subjects: nosuch: expected subjects of the cmmlu or ceval download" in refused(
        prep, "--mcq-subjects", "default,nosuch")
    assert "--mcq-groups: 'anatomy=surgery': expected subject=group" in refused(prep, "--mcq-groups", "anatomy=surgery")
    assert f"{empty}: --cmmlu: expected the published cmmlu files" in refused(prep, "--cmmlu", str(empty))
    assert "--medqa: expected the folder of the medqa download" in refused(prep, "--medqa", str(tmp_path / "no"))
    assert f"{empty}: ceval: expected the published ceval files" in refused(prep, "--raw-dir", str(empty), "--only", "ceval")
    assert "--only" in refused(prep, "--only", "cmmlu,nosuch")


def test_gbk_bytes_end_the_run_with_a_sentence_and_keep_the_previous_set(prep, tmp_path):
    prep()
    src = tmp_path / "dl"
    shutil.copytree(SAMPLES_DIR / "CMMLU", src)
    path = src / "data" / "test" / "anatomy.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    err = refused(prep, "--cmmlu", str(path.parents[2]))
    assert f"{path}: line 2 (byte " in err and "GBK/GB18030" in err
    assert sftset.verify(tmp_path / "data" / "sft", [tmp_path / "dataset_info.json"]) == []
