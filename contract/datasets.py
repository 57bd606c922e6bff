"""The prepared data's names and record facts: tasks, splits and their files, LLaMA-Factory dataset names,
the MRG report fields and the triage label separator. data_prep writes by these names; launch, eval and the
recipes find the data by them."""

from __future__ import annotations

TRAIN, TEST = "train", "test"
TASKS = ("dialog", "norm", "mrg", "triage", "qa")  # prepared from raw files, each with a train and test split
TEXT = "text"  # --text: a corpus for continued pre-training (train split only)
GENERAL = "general"  # --general: general-domain records mixed into training (train split only)
DOMAIN = ("dialog", "norm", "mrg")  # the medical SFT tasks the general mix is sized against


def split(task: str, part: str) -> str:
    """The split's name, which is also its file stem and its key in manifest.json: dialog_train."""
    return f"{task}_{part}"


def split_file(name: str) -> str:
    """dialog_train -> dialog_train.jsonl"""
    return f"{name}.jsonl"


def task_of(file_name: str) -> str:
    """dialog_train.jsonl -> dialog, triage_label2idx.json -> triage: files are named after their task."""
    return file_name.split("_", 1)[0].split(".", 1)[0]


def dataset_name(task: str, part: str) -> str:
    """The LLaMA-Factory dataset name of a split: med_dialog (train), med_dialog_test."""
    return f"med_{task}" if part == TRAIN else f"med_{task}_{part}"


# split -> LLaMA-Factory dataset name, in the order they are registered: the tasks' train splits, their test
# splits, then the general mix
DATASETS = {split(task, part): dataset_name(task, part) for part in (TRAIN, TEST) for task in TASKS}
DATASETS[split(GENERAL, TRAIN)] = dataset_name(GENERAL, TRAIN)
# Continued pre-training (stage pt) reads only the user turn (prompt + query): med_pt maps `query` to the
# doctor's answer, so each dialog record becomes plain domain text, question then answer.
PT_DIALOG, PT_TEXT = "med_pt", "med_text"  # med_text: the --text corpus
PRETRAIN = {PT_DIALOG: split("dialog", TRAIN), PT_TEXT: split(TEXT, TRAIN)}
# multi-turn records (seed 000's qa; ShareGPT conversations in the general mix): earlier (question, answer) pairs
HISTORY_TASKS = ("qa", GENERAL)
WITH_HISTORY = {name for s, name in DATASETS.items() if task_of(s) in HISTORY_TASKS}
OURS = set(DATASETS.values()) | set(PRETRAIN)  # the entries data_prep owns in a dataset_info.json

# Seed 004's classifier files, beside triage_{train,test}.jsonl: `{text, label: [...]}` and {label: index}.
TRIAGE_CLS_TRAIN = split_file(split("triage_cls", TRAIN))
TRIAGE_CLS_TEST = split_file(split("triage_cls", TEST))
TRIAGE_LABEL2IDX = "triage_label2idx.json"
# The generative triage answer: the label set in label2idx order joined by this (labels never contain it).
LABEL_SEP = "、"

# IMCS-V2 report fields, in the order the data, the prompt and the CBLUE scorer use.
REPORT_FIELDS = ("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议")

# Multiple-choice benchmarks (issue 17): not SFT data. data_prep writes `<task>_test.jsonl` (the scored items) and
# `<task>_dev.jsonl` (the few-shot pool) into the prepared set and lists them in its manifest; dataset_info.json
# never registers them. One JSON object per line, keys in MCQ_FIELDS order (cmb adds MCQ_EXAM_FIELDS).
MULTIPLE_CHOICE = "multiple_choice"  # their kind (beside the generative and classifier tasks)
MCQ = ("cmmlu", "ceval", "cmb", "cmexam", "medqa")
DEV = "dev"  # the few-shot split
MCQ_GROUPS = ("medical", "general")  # medical: the exam subjects; general: the retention check
MCQ_SHOTS = 5  # the papers' k-shot; a dev pool with fewer rows is noted in the manifest (eval then uses fewer)
MCQ_FIELDS = ("id", "benchmark", "subject", "subject_zh", "group", "question", "options", "answer", "multi")
MCQ_EXAM_FIELDS = ("exam_type", "exam_class")  # cmb only: its accuracy is per exam_class, then per exam_type
