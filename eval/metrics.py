"""One scoring entry point over the per-task metric modules."""

from __future__ import annotations

from collections import Counter

from .bertscore import BertScore
from .metrics_dialog import score_dialog
from .metrics_mrg import score_mrg
from .metrics_norm import score_norm
from .metrics_triage import score_triage
from .scored import Sample, TaskScore
from .tasks import DIALOG_STYLE


def score_task(task: str, samples: list[Sample], bertscore: BertScore | None = None,
               labels: list[str] | None = None) -> TaskScore:
    """`labels`: triage's label set in label2idx order (default: the gold labels seen)."""
    if task == "norm":
        result = score_norm(samples)
    elif task == "mrg":
        result = score_mrg(samples, bertscore)
    elif task in DIALOG_STYLE:
        result = score_dialog(samples)
    elif task == "triage":
        result = score_triage(samples, labels)
    else:
        raise ValueError(f"unknown task {task!r}")
    reasons = Counter(row["reason"] for row in result.rows if row["reason"])
    result.metrics["n"] = len(samples)
    result.metrics["zero_scored"] = dict(sorted(reasons.items()))
    return result
