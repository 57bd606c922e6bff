"""What scoring passes around: a Sample (one generated or loaded answer with its gold data) goes into the
metric functions, a TaskScore (aggregate metrics and one row per sample) comes out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Sample:
    index: int
    prompt: str
    predict: str
    label: str
    finish_reason: str | None = None  # "stop" | "length" | None (unknown)
    references: list[dict] | None = None  # mrg only: every annotator's report
    extra: dict = field(default_factory=dict)


@dataclass
class TaskScore:
    """Aggregate metrics (percentages unless noted) plus one row per sample for error analysis.
    Each row has `index`, `score` (the task's per-sample ranking score) and `reason` (None or why
    the output scored 0)."""

    metrics: dict
    rows: list[dict]
