"""triage (department labels): seed 004's subset accuracy plus micro/macro precision, recall, F1 and a
per-label table, all by scikit-learn over multi-hot rows.

An answer is parsed into a label set (data_prep writes gold answers as labels joined by `、`; generated ones
may use other list separators or a `科室:` prefix). A predicted label outside the task's label set is counted
(`unknown_labels`) and kept as one extra `<unknown>` column: it makes the row wrong for subset accuracy and
is a false positive for the micro scores; macro and per-label scores cover the task's own labels only (a
label with no gold and no predicted positive scores 0 there, sklearn's zero_division=0).
"""

from __future__ import annotations

import re

from contract.datasets import LABEL_SEP

from .degenerate import degenerate_reason
from .scored import Sample, TaskScore

UNKNOWN = "<unknown>"
SEPARATORS = re.compile(rf"[{LABEL_SEP},，;；/|\s]+")  # data_prep's separator, and other list separators
PREFIX = re.compile(r"^\s*(?:科室|就诊科室|答)\s*[:：]\s*")


def parse_labels(text: str) -> list[str]:
    """Labels of an answer in order, each once: `内科、外科`, `科室:内科,外科`, `内科 外科` -> [内科, 外科]."""
    return list(dict.fromkeys(part for part in SEPARATORS.split(PREFIX.sub("", text.strip())) if part))


def label_space(samples: list[Sample], labels: list[str] | None) -> list[str]:
    """The task's labels (label2idx order) when known, else the gold labels in first-seen order."""
    return list(labels) if labels else list(dict.fromkeys(x for s in samples for x in parse_labels(s.label)))


def score_triage(samples: list[Sample], labels: list[str] | None = None) -> TaskScore:
    import numpy as np
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    names = label_space(samples, labels)
    column = {name: i for i, name in enumerate(names)}
    y_true = np.zeros((len(samples), len(names) + 1), dtype=int)  # last column: <unknown>
    y_pred = np.zeros_like(y_true)
    rows, unknown = [], 0
    for k, s in enumerate(samples):
        reason = degenerate_reason(s.predict, s.finish_reason)
        pred = [] if reason else parse_labels(s.predict)
        gold = parse_labels(s.label)
        for name in gold:
            if name not in column:
                raise ValueError(f"triage sample {s.index}: gold label {name!r} is not in the label set {names}")
            y_true[k, column[name]] = 1
        for name in pred:
            y_pred[k, column.get(name, len(names))] = 1
        unknown += sum(name not in column for name in pred)
        hits = len(set(pred) & set(gold))
        f1 = 2 * hits / (len(set(pred)) + len(gold)) if pred or gold else 1.0
        rows.append({"index": s.index, "score": 100 * f1, "exact": set(pred) == set(gold), "predicted": pred,
                     "gold": gold, "reason": reason})

    def prf(average, columns):
        if not samples:
            return (0.0, 0.0, 0.0, None)
        return precision_recall_fscore_support(y_true, y_pred, labels=columns, average=average, zero_division=0)

    known = list(range(len(names)))
    micro = prf("micro", known + [len(names)])
    macro = prf("macro", known)
    per = prf(None, known)
    metrics = {
        "subset_accuracy": 100 * float(accuracy_score(y_true, y_pred)) if samples else 0.0,
        "micro_f1": 100 * float(micro[2]),
        "macro_f1": 100 * float(macro[2]),
        "micro_precision": 100 * float(micro[0]),
        "micro_recall": 100 * float(micro[1]),
        "macro_precision": 100 * float(macro[0]),
        "macro_recall": 100 * float(macro[1]),
        "unknown_labels": unknown,
        "labels": names,
        "per_label": {name: {"precision": 100 * float(per[0][i]), "recall": 100 * float(per[1][i]),
                             "f1": 100 * float(per[2][i]), "support": int(per[3][i])}
                      for i, name in enumerate(names)} if samples else {},
    }
    return TaskScore(metrics, rows)
