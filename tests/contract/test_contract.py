"""The contract's pieces, each against an independent statement of what it must do: the atomic writer, the
boolean-variable rules of the libraries that read the variables, dataset_info and manifest reading/writing,
the names, and the prepare helper."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import dataset_info, datasets, manifest, models, paths, sftset
from contract.dataset_info import DatasetInfoError
from contract.env import HUB_OFFLINE, OFFLINE_ENV, env_flag, hub_offline, hub_offline_by, verbose
from contract.files import atomic_path, sha256_file, write_json, write_jsonl, write_text, write_yaml
from contract.prepare import PrepareFailed, prepare_into

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
records = st.lists(st.dictionaries(texts, st.one_of(texts, st.integers(), st.none()), max_size=4), max_size=30)


# ---------------------------------------------------------------------------------------------- files
@settings(max_examples=40, deadline=None)
@given(rows=records)
def test_write_jsonl_writes_json_lines_and_returns_their_sha256(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("w") / "x.jsonl"
    digest = write_jsonl(path, rows)
    expected = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    assert path.read_bytes() == expected
    assert digest == hashlib.sha256(expected).hexdigest() == sha256_file(path)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "report.md"
    write_text(path, "old\n")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        # the temp file sits beside the target with the target's suffix (writers that infer the format work)
        assert tmp.parent == path.parent and tmp.suffix == ".md" and tmp.name.startswith(".report.md.")
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("killed mid-write")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_write_json_is_indented_utf8_with_a_final_newline(tmp_path):
    write_json(tmp_path / "a.json", {"主诉": [1]})
    assert (tmp_path / "a.json").read_bytes() == '{\n  "主诉": [\n    1\n  ]\n}\n'.encode()


@settings(max_examples=40, deadline=None)
@given(data=st.dictionaries(texts, st.one_of(texts, st.integers(), st.none(), st.lists(texts, max_size=3)), max_size=6),
       header=st.lists(texts, max_size=4))
def test_write_yaml_reads_back_as_written_under_its_comment_header(tmp_path_factory, data, header):
    import yaml

    path = tmp_path_factory.mktemp("y") / "launch_config.yaml"
    write_yaml(path, data, header=header, sort_keys=False)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    # one comment line per header item, whatever line breaks the item held; then YAML that loads back equal
    assert all(line.startswith("# ") for line in lines[:len(header)])
    assert (yaml.safe_load(text) or {}) == data and list(yaml.safe_load(text) or {}) == list(data)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_write_yaml_keeps_chinese_readable_and_a_failed_dump_keeps_the_old_file(tmp_path):
    import yaml

    path = tmp_path / "c.yaml"
    write_yaml(path, {"default_system": "你是医生"}, header=["line one\nline two"])
    assert path.read_text(encoding="utf-8") == "# line one line two\ndefault_system: 你是医生\n"
    with pytest.raises(yaml.representer.RepresenterError):  # not a plain value: nothing is written
        write_yaml(path, {"x": object()})
    assert path.read_text(encoding="utf-8") == "# line one line two\ndefault_system: 你是医生\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


# ---------------------------------------------------------------------------------------------- env
env_texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)  # no NUL
flag_values = st.one_of(st.none(), st.sampled_from(["1", "0", "true", "True", "TRUE", "y", "Y", "yes", "YES", "on", "On",
                                                    "", " 1", "1 ", "false", "no"]), env_texts)


@settings(max_examples=200, deadline=None)
@given(value=flag_values)
def test_env_flag_reads_llamafactory_variables_as_llamafactory_does(value):
    from llamafactory.extras.misc import is_env_enabled  # the rule LLaMA-Factory applies to its variables

    for name in ("USE_MODELSCOPE_HUB", "FORCE_TORCHRUN", "DISABLE_VERSION_CHECK"):
        environ = {} if value is None else {name: value}
        saved = os.environ.pop(name, None)
        try:
            os.environ.update(environ)
            assert env_flag(name, environ) == is_env_enabled(name), (name, value)
        finally:
            os.environ.pop(name, None)
            if saved is not None:
                os.environ[name] = saved


@settings(max_examples=200, deadline=None)
@given(value=flag_values)
def test_env_flag_reads_hub_variables_as_huggingface_hub_does(value):
    from huggingface_hub.constants import _is_true

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        assert env_flag(name, {} if value is None else {name: value}) == _is_true(value), (name, value)


def test_hub_offline_is_huggingface_hubs_offline_mode():
    """Compared with huggingface_hub's own constant, recomputed for each environment in a child process."""
    values = [None, "", "1", "0", "yes", "ON", "false"]
    cases = [{k: v for k, v in (("HF_HUB_OFFLINE", a), ("TRANSFORMERS_OFFLINE", b)) if v is not None}
             for a in values for b in values]
    code = ("import importlib, json, os, sys\nimport huggingface_hub.constants as c\nfrom contract.env import hub_offline\n"
            "bad = []\n"
            "for case in json.loads(sys.argv[1]):\n"
            "    for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'): os.environ.pop(k, None)\n"
            "    os.environ.update(case)\n"
            "    importlib.reload(c)\n"
            "    if c.HF_HUB_OFFLINE != hub_offline(case): bad.append(case)\n"
            "print(json.dumps(bad))")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(cases)], cwd=paths.REPO_ROOT, capture_output=True,
                            text=True, check=True)
    assert json.loads(result.stdout) == []


def test_hub_offline_by_names_the_variable_huggingface_hub_obeyed():
    assert hub_offline_by({}) is None and hub_offline_by({"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"}) is None
    assert hub_offline_by({"HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": "on"}) == "TRANSFORMERS_OFFLINE"
    assert hub_offline_by({"HF_HUB_OFFLINE": "Yes", "TRANSFORMERS_OFFLINE": "1"}) == "HF_HUB_OFFLINE"


@given(value=flag_values)
def test_verbose_is_one_rule_for_our_own_flag(value):
    environ = {} if value is None else {"VERBOSE": value}
    expected = value is not None and value.strip().lower() in ("1", "true", "yes", "on")
    assert verbose(environ) is expected


def test_offline_env_turns_every_hub_reader_off():
    assert all(env_flag(name, OFFLINE_ENV) for name in HUB_OFFLINE) and hub_offline(OFFLINE_ENV)
    assert not env_flag("WANDB_DISABLED", {}) and env_flag("DISABLE_VERSION_CHECK", OFFLINE_ENV)


# ---------------------------------------------------------------------------------------------- dataset_info
@pytest.mark.parametrize("content, where, found", [
    (b'{"a": 1,\n', "line 2", "Expecting property name enclosed in double quotes"),
    (b'{"a": "\xff"}', "byte 7", "bytes that are not UTF-8"),
    (b"[1, 2]", "top level", "list"),
])
def test_dataset_info_read_names_the_file_and_the_place(tmp_path, content, where, found):
    path = tmp_path / paths.DATASET_INFO
    path.write_bytes(content)
    with pytest.raises(DatasetInfoError) as err:
        dataset_info.read(path)
    assert (err.value.path, err.value.where, err.value.found) == (path, where, found)
    assert str(err.value).startswith(f"{path}: {where}: expected ")


def test_dataset_info_update_owns_only_our_entries(tmp_path):
    path = tmp_path / paths.DATASET_INFO
    theirs = {"alpaca_en": {"file_name": "alpaca.json"}, "med_qa": {"file_name": "stale.jsonl"}}
    path.write_text(json.dumps(theirs), encoding="utf-8")
    sft = tmp_path / paths.SFT_DIR
    written = {datasets.split("qa", datasets.TRAIN): sft / "qa_train.jsonl",
               datasets.split("mrg", datasets.TEST): sft / "mrg_test.jsonl"}
    merged = dataset_info.update(path, written)
    assert merged == json.loads(path.read_text(encoding="utf-8"))
    assert merged == {
        "alpaca_en": {"file_name": "alpaca.json"},  # someone else's entry, kept as it was
        "med_mrg_test": {"file_name": "data/sft/mrg_test.jsonl",
                         "columns": {"prompt": "instruction", "query": "input", "response": "output"}},
        "med_qa": {"file_name": "data/sft/qa_train.jsonl",
                   "columns": {"prompt": "instruction", "query": "input", "response": "output", "history": "history"}},
    }
    assert dataset_info.data_folder(path, ["alpaca_en"]) == tmp_path
    assert dataset_info.data_folder(path, ["med_norm", "med_qa"]) == sft
    assert dataset_info.data_folder(path, ["med_norm"]) is None
    assert dataset_info.read(tmp_path / "absent.json") == {}


# ---------------------------------------------------------------------------------------------- manifest
def test_seal_lists_every_file_and_sftset_checks_against_it(tmp_path):
    folder = tmp_path / "sft"
    write_jsonl(folder / "dialog_train.jsonl", [{"instruction": "问", "input": "", "output": "答"}])
    write_json(folder / datasets.TRIAGE_LABEL2IDX, {"内科": 0})
    counts = manifest.SplitCounts(3, 1, {"too_long": 1, "duplicate": 1}, {"too_long": ["r3"], "duplicate": ["r2"]})
    entry = manifest.dataset_entry("data/sft/dialog_train.jsonl", counts, "abc", {"p50": 1, "p90": 1, "p99": 1, "max": 1})
    assert list(entry["skipped"]) == ["duplicate", "too_long"] and "tokens_counted" not in entry
    built = manifest.build({"dialog_train": entry}, manifest.RunSettings(256, 512, 100, 42, "models/x"), {}, [])
    sealed = manifest.seal(folder, built, {"med_dialog": "dialog_train.jsonl"})
    assert sealed["files"] == {name: {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
                               for name in ("dialog_train.jsonl", datasets.TRIAGE_LABEL2IDX)}
    assert manifest.read(folder) == (sealed, None)
    assert manifest.cutoff(sealed) == (256, 512, "models/x")
    assert sftset.verify(folder) == []
    (folder / "dialog_train.jsonl").write_text("{}\n", encoding="utf-8")
    assert sftset.verify(folder) == [f"{folder / 'dialog_train.jsonl'} is not the file manifest.json describes "
                                     "(another run's, or cut short)"]


def test_manifest_read_says_why_a_folder_has_none(tmp_path):
    assert manifest.read(tmp_path) == (None, f"{tmp_path / paths.MANIFEST} does not exist")
    (tmp_path / paths.MANIFEST).write_text("{}", encoding="utf-8")
    assert "lists no files" in manifest.read(tmp_path)[1]
    (tmp_path / paths.MANIFEST).write_bytes(b"\xff")
    assert "is not readable JSON" in manifest.read(tmp_path)[1]


# ---------------------------------------------------------------------------------------------- names
def test_names_are_consistent():
    names = [*datasets.DATASETS.values(), *datasets.PRETRAIN]
    assert len(names) == len(set(names)) == len(datasets.OURS)
    for split_name in [*datasets.DATASETS, *datasets.PRETRAIN.values()]:
        assert datasets.task_of(datasets.split_file(split_name)) in (*datasets.TASKS, datasets.TEXT, datasets.GENERAL)
    assert {datasets.task_of(f) for f in (datasets.TRIAGE_CLS_TRAIN, datasets.TRIAGE_CLS_TEST,
                                          datasets.TRIAGE_LABEL2IDX)} == {"triage"}
    assert not any(datasets.LABEL_SEP in field for field in datasets.REPORT_FIELDS)


def test_the_makefile_builds_the_tiny_model_where_the_contract_says():
    makefile = (paths.REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"TINY_MODEL := {paths.repo_relative(models.TINY_MODEL)}\n" in makefile


# ---------------------------------------------------------------------------------------------- prepare
def test_prepared_data_is_one_complete_registered_set(prepared_data):
    info = prepared_data / paths.DATASET_INFO
    assert sftset.verify(prepared_data / paths.SFT_DIR, [info]) == []
    registered = dataset_info.read(info)
    assert set(registered) <= datasets.OURS and datasets.DATASETS[datasets.split("mrg", datasets.TEST)] in registered
    assert dataset_info.data_folder(info, list(registered)) == prepared_data / paths.SFT_DIR


def test_prepare_into_reports_data_preps_error(tmp_path):
    with pytest.raises(PrepareFailed, match="expected a comma-separated subset of dialog,norm,mrg,triage,qa"):
        prepare_into(tmp_path, args=["--only", "nothing"])
    assert not (tmp_path / paths.SFT_DIR).exists()
