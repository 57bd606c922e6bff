"""The evaluation tasks, registered once: each one's kind, test file (named by the contract), generation budget,
scoring function, headline and primary metrics, and what the report says its metrics mean. The runner, the report
and the CLI loop over this registry; a new task is its metrics module plus one entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contract.datasets import DATASETS, DEV, MCQ, MULTIPLE_CHOICE, TEST, split, split_file, task_of

from .metrics_dialog import score_dialog
from .metrics_mrg import score_mrg
from .metrics_norm import score_norm
from .metrics_triage import score_triage

GENERATIVE = "generative"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    max_new_tokens: int  # generation budget: short for term lists, long for reports
    headline: tuple[str, ...]  # metrics shown in tables and charts, in this order
    kind: str = GENERATIVE  # or multiple_choice: scored by likelihood over the option letters (eval/mcq/)
    primary: str = ""  # the one metric a summary quotes (domain gain, the mixing sweep); default: the first headline
    # (samples, bertscore, labels) -> TaskScore; None for multiple choice (eval/mcq/ scores likelihoods)
    score: Callable | None = None
    notes: str = ""  # the report's lines on what its metrics mean
    # answers are JSON reports: a gold answer is checked as one on load, and test records may carry every
    # annotator's report (`references`), all scored
    reports: bool = False
    label_set: bool = False  # scored against the task's label set (data_prep's label2idx file beside the test file)

    @property
    def primary_metric(self) -> str:
        return self.primary or self.headline[0]

    @property
    def bertscore(self) -> bool:
        """Scored with BERTScore too (the model is loaded only when such a task runs)."""
        return "bertscore_f1" in self.headline

    @property
    def test_file(self) -> str:
        return split_file(split(self.name, TEST))

    @property
    def dev_file(self) -> str:
        """The few-shot pool beside a multiple-choice test file."""
        return split_file(split(self.name, DEV))


MCQ_NOTES = """\
- cmmlu, ceval, cmb, cmexam, medqa (multiple choice): `accuracy` correct items / items (lm-evaluation-harness's
  aggregate); `subject_macro` the mean of the subjects' accuracies (CMMLU / C-Eval per subject); cmb
  `exam_type_macro` accuracy per exam_class averaged per exam_type (CMB's score.py), then their mean. A generated
  answer from which CMB's rule extracts no letter scores 0 (`no_answer`)."""
DIALOG_METRICS = ("bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "mean_length")

TASKS: dict[str, TaskSpec] = {task.name: task for task in (
    TaskSpec("norm", 128, ("exact_match", "micro_f1", "micro_precision", "micro_recall"), primary="micro_f1",
             score=lambda samples, bertscore, labels: score_norm(samples),
             notes="- norm: `exact_match` whole answer equal (the seed's metric); `micro_*` CHIP-CDN style over `##` "
                   "term sets."),
    TaskSpec("mrg", 1024, ("json_valid_rate", "field_exact_match", "field_rouge_l_mean", "cblue_rouge",
                           "cblue_rouge-1", "cblue_rouge-2", "cblue_rouge-l", "bertscore_f1"), primary="cblue_rouge",
             score=lambda samples, bertscore, labels: score_mrg(samples, bertscore), reports=True,
             notes="""\
- mrg: `json_valid_rate` answers that parse as a JSON object (bare or in a ```json block);
  `field_exact_match` the seed's six fields x samples vs the first report; `field_rouge_l_mean` character
  ROUGE-L per field, mean over all references; `cblue_rouge` the official CBLUE IMCS-V2-MRG score (mean of
  rouge-1/2/l F on characters, averaged over all references), each report rendered as `key：value` for the
  keys it has, in its own order; a report with a non-string value scores 0 (`non_string_value`);
  `bertscore_f1` per field vs the first report (pairs with an empty side are 0, as bert-score defines)."""),
    TaskSpec("dialog", 512, DIALOG_METRICS, primary="rouge-l",
             score=lambda samples, bertscore, labels: score_dialog(samples),
             notes="""\
- dialog, qa (seed 000's chatbot dialogues, earlier turns rendered as in training): `bleu-4`, `rouge-*` exactly
  as LLaMA-Factory's predict (ComputeSimilarity); `distinct-n` unique character n-grams / all n-grams over all
  answers. A GPT-2 with a BERT vocab is scored on its text without the spaces its tokenizer puts between
  Chinese characters."""),
    # seed 000's chatbot dialogues (med_qa_test, earlier turns as history): the dialog metrics on short answers
    TaskSpec("qa", 128, DIALOG_METRICS, primary="rouge-l", score=lambda samples, bertscore, labels: score_dialog(samples)),
    # patient question -> department label set (seed 004); answers are a few short labels
    TaskSpec("triage", 32, ("subset_accuracy", "micro_f1", "macro_f1", "micro_precision", "micro_recall",
                            "macro_precision", "macro_recall", "unknown_labels"), primary="micro_f1",
             score=lambda samples, bertscore, labels: score_triage(samples, labels), label_set=True,
             notes="""\
- triage: the answer parsed into a department label set; `subset_accuracy` rows whose set equals the gold set
  (the seed's accuracy_score over multi-hot rows); `micro_*` over all labels, `macro_*` the mean over the task's
  labels (scikit-learn, zero_division=0); `unknown_labels` predicted labels outside the label set (each a false
  positive). A classifier (the seed's BERT) is scored on triage only."""),
    # The multiple-choice benchmarks (what fine-tuning cost): accuracy as each reports it; multiple-answer items and
    # the `generate` style read a few generated letters (CMB's answers are at most 7 letters).
    *(TaskSpec(name, 16, ("accuracy", "exam_type_macro" if name == "cmb" else "subject_macro"), MULTIPLE_CHOICE,
               notes=MCQ_NOTES if name == MCQ[0] else "") for name in MCQ),
)}
# Tasks a sequence classifier (seed 004's BERT) is scored on; generative checkpoints are scored on all, except
# a model trained from scratch, which knows only its training datasets' tasks (see task_of_dataset).
CLASSIFIER_TASKS = ("triage",)
MULTIPLE_CHOICE_TASKS = tuple(t for t, spec in TASKS.items() if spec.kind == MULTIPLE_CHOICE)


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
