"""One scoring entry point over the per-task metric modules."""

from __future__ import annotations

from collections import Counter

from .bertscore import BertScore
from .scored import Sample, TaskScore
from .tasks import GENERATIVE, TASKS


def score_task(task: str, samples: list[Sample], bertscore: BertScore | None = None,
               labels: list[str] | None = None) -> TaskScore:
    """`labels`: triage's label set in label2idx order (default: the gold labels seen)."""
    spec = TASKS.get(task)
    if spec is None or spec.kind != GENERATIVE:
        raise ValueError(f"unknown task {task!r}")
    result = spec.score(samples, bertscore, labels)
    reasons = Counter(row["reason"] for row in result.rows if row["reason"])
    result.metrics["n"] = len(samples)
    result.metrics["zero_scored"] = dict(sorted(reasons.items()))
    return result
