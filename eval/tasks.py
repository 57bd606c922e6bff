"""The evaluation tasks: their kind, test files (named by the contract), generation budgets and headline metrics."""

from __future__ import annotations

from dataclasses import dataclass

from contract.datasets import DATASETS, DEV, MCQ, MULTIPLE_CHOICE, TEST, split, split_file, task_of

GENERATIVE = "generative"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    max_new_tokens: int  # generation budget: short for term lists, long for reports
    headline: tuple[str, ...]  # metrics shown in tables and charts, in this order
    kind: str = GENERATIVE  # or multiple_choice: scored by likelihood over the option letters (eval/mcq/)
    primary: str = ""  # the one metric a summary quotes (domain gain, the mixing sweep); default: the first headline

    @property
    def primary_metric(self) -> str:
        return self.primary or self.headline[0]

    @property
    def test_file(self) -> str:
        return split_file(split(self.name, TEST))

    @property
    def dev_file(self) -> str:
        """The few-shot pool beside a multiple-choice test file."""
        return split_file(split(self.name, DEV))


TASKS: dict[str, TaskSpec] = {
    "norm": TaskSpec("norm", 128, ("exact_match", "micro_f1", "micro_precision", "micro_recall"), primary="micro_f1"),
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
        primary="cblue_rouge",
    ),
    "dialog": TaskSpec(
        "dialog",
        512,
        ("bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "mean_length"),
        primary="rouge-l",
    ),
    # seed 000's chatbot dialogues (med_qa_test, earlier turns as history): the dialog metrics on short answers
    "qa": TaskSpec(
        "qa",
        128,
        ("bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "mean_length"),
        primary="rouge-l",
    ),
    # patient question -> department label set (seed 004); answers are a few short labels
    "triage": TaskSpec(
        "triage",
        32,
        ("subset_accuracy", "micro_f1", "macro_f1", "micro_precision", "micro_recall", "macro_precision",
         "macro_recall", "unknown_labels"),
        primary="micro_f1",
    ),
}
# The multiple-choice benchmarks (what fine-tuning cost): accuracy as each reports it; multiple-answer items and
# the `generate` style read a few generated letters (CMB's answers are at most 7 letters).
for _name in MCQ:
    TASKS[_name] = TaskSpec(_name, 16, ("accuracy", "exam_type_macro" if _name == "cmb" else "subject_macro"),
                            MULTIPLE_CHOICE)
# Tasks a sequence classifier (seed 004's BERT) is scored on; generative checkpoints are scored on all, except
# a model trained from scratch, which knows only its training datasets' tasks (see task_of_dataset).
CLASSIFIER_TASKS = ("triage",)
MULTIPLE_CHOICE_TASKS = tuple(t for t, spec in TASKS.items() if spec.kind == MULTIPLE_CHOICE)
# Tasks scored with the dialog metrics (LLaMA-Factory's BLEU/ROUGE, distinct-n, length).
DIALOG_STYLE = ("dialog", "qa")


def task_of_dataset(name: str) -> str | None:
    """The eval task of a registered dataset name (med_qa -> qa, med_dialog_test -> dialog), else None (e.g.
    med_general, or med_pt: continued pre-training on dialog text is no dialog SFT)."""
    split_name = next((s for s, registered in DATASETS.items() if registered == name.strip()), None)
    task = task_of(split_name) if split_name else None
    return task if task in TASKS else None

# Metrics that are not percentages; charts leave them out so the bars share one 0-100 axis.
NOT_PERCENT = {"mean_length", "unknown_labels"}


def parse_tasks(text: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise ValueError(f"unknown task(s) {unknown or names!r}; expected a comma list of {', '.join(TASKS)}")
    return list(dict.fromkeys(names))
