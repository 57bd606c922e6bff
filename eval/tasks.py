"""The evaluation tasks: their test files, generation budgets and report fields."""

from __future__ import annotations

from dataclasses import dataclass

# IMCS-V2 report fields, in the order the data and the CBLUE scorer use.
REPORT_FIELDS = ("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    max_new_tokens: int  # generation budget: short for term lists, long for reports
    headline: tuple[str, ...]  # metrics shown in tables and charts, in this order

    @property
    def test_file(self) -> str:
        return f"{self.name}_test.jsonl"


TASKS: dict[str, TaskSpec] = {
    "norm": TaskSpec("norm", 128, ("exact_match", "micro_f1", "micro_precision", "micro_recall")),
    "mrg": TaskSpec(
        "mrg",
        1024,
        (
            "json_valid_rate",
            "field_exact_match",
            "field_rouge_l_mean",
            "cblue_rouge",
            "cblue_rouge-1",
            "cblue_rouge-2",
            "cblue_rouge-l",
            "bertscore_f1",
        ),
    ),
    "dialog": TaskSpec(
        "dialog",
        512,
        ("bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "mean_length"),
    ),
    # seed 000's chatbot dialogues (med_qa_test, earlier turns as history): the dialog metrics on short answers
    "qa": TaskSpec(
        "qa",
        128,
        ("bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "mean_length"),
    ),
    # patient question -> department label set (seed 004); answers are a few short labels
    "triage": TaskSpec(
        "triage",
        32,
        ("subset_accuracy", "micro_f1", "macro_f1", "micro_precision", "micro_recall", "macro_precision",
         "macro_recall", "unknown_labels"),
    ),
}
# Tasks a sequence classifier (seed 004's BERT) is scored on; generative checkpoints are scored on all, except
# a model trained from scratch, which knows only its training datasets' tasks (see task_of_dataset).
CLASSIFIER_TASKS = ("triage",)
# Tasks scored with the dialog metrics (LLaMA-Factory's BLEU/ROUGE, distinct-n, length).
DIALOG_STYLE = ("dialog", "qa")
DATASET_PREFIX = "med_"  # data_prep registers task X's splits as med_X and med_X_test


def task_of_dataset(name: str) -> str | None:
    """The eval task of a registered dataset name (med_qa -> qa, med_dialog_test -> dialog), else None."""
    task = name.strip().removeprefix(DATASET_PREFIX).removesuffix("_test")
    return task if name.strip().startswith(DATASET_PREFIX) and task in TASKS else None

# Metrics that are not percentages; charts leave them out so the bars share one 0-100 axis.
NOT_PERCENT = {"mean_length", "unknown_labels"}


def parse_tasks(text: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise ValueError(f"unknown task(s) {unknown or names!r}; expected a comma list of {', '.join(TASKS)}")
    return list(dict.fromkeys(names))
