"""Multiple-choice results -> accuracies, as each benchmark reports them, and the report's cross-benchmark figures.

Per item a row {index, id, subject, group, answer, pred, correct, reason}. Per benchmark:
- `accuracy`: correct items / items (lm-eval's group aggregate, weighted by size);
- `subject_macro`: the mean of the subjects' accuracies (CMMLU / C-Eval report per subject and their mean);
- CMB: accuracy per exam_class, averaged per exam_type (its score.py), and `exam_type_macro`, their mean.
Across benchmarks, per group (medical, general): correct / items over every scored item of the group.
Retention: a checkpoint's general accuracy as a share of the base's.
"""

from __future__ import annotations

from collections import Counter, defaultdict

GROUPS = ("medical", "general")


def _pct(correct: int, total: int) -> float | None:
    return 100.0 * correct / total if total else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def benchmark_metrics(rows: list[dict], benchmark: str) -> dict:
    by_subject: dict[str, list[bool]] = defaultdict(list)
    by_group: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        by_subject[row["subject"]].append(row["correct"])
        by_group[row["group"]].append(row["correct"])
    subjects = {s: _pct(sum(v), len(v)) for s, v in sorted(by_subject.items())}
    metrics = {
        "accuracy": _pct(sum(r["correct"] for r in rows), len(rows)),
        "subject_macro": _mean(list(subjects.values())),
        "per_subject": {s: {"accuracy": acc, "n": len(by_subject[s])} for s, acc in subjects.items()},
        "groups": {g: {"correct": sum(v), "n": len(v)} for g, v in sorted(by_group.items())},
    }
    if benchmark == "cmb":
        by_class: dict[tuple[str, str], list[bool]] = defaultdict(list)
        for row in rows:
            by_class[(row.get("exam_type", ""), row.get("exam_class", ""))].append(row["correct"])
        per_type: dict[str, dict[str, float]] = defaultdict(dict)
        for (exam_type, exam_class), v in sorted(by_class.items()):
            per_type[exam_type][exam_class] = _pct(sum(v), len(v))
        metrics["per_exam_type"] = {t: {"accuracy": _mean(list(c.values())), "per_exam_class": c}
                                    for t, c in per_type.items()}
        metrics["exam_type_macro"] = _mean([t["accuracy"] for t in metrics["per_exam_type"].values()])
    metrics["zero_scored"] = dict(sorted(Counter(r["reason"] for r in rows if r["reason"]).items()))
    metrics["n"] = len(rows)
    return metrics


def group_accuracy(task_metrics: dict[str, dict]) -> dict[str, float | None]:
    """{group: accuracy over every item of that group in the benchmarks scored} for one checkpoint."""
    totals = {g: [0, 0] for g in GROUPS}
    for metrics in task_metrics.values():
        for group, counts in metrics.get("groups", {}).items():
            totals.setdefault(group, [0, 0])
            totals[group][0] += counts["correct"]
            totals[group][1] += counts["n"]
    return {g: _pct(c, n) for g, (c, n) in totals.items()}


def retention(general: float | None, base_general: float | None) -> float | None:
    """General accuracy as a percentage of the base's (100 = nothing forgotten)."""
    if general is None or not base_general:
        return None
    return 100.0 * general / base_general
