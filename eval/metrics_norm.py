"""Term normalization (yidu-n7k): the seed's exact match and CHIP-CDN style micro-F1 over `##` sets."""

from __future__ import annotations

from .degenerate import degenerate_reason
from .scored import Sample, TaskScore


def term_set(text: str) -> set[str]:
    """Standard terms of an answer: `##`-separated, surrounding whitespace ignored."""
    return {term.strip() for term in text.split("##") if term.strip()}


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def micro_prf(pairs: list[tuple[set[str], set[str]]]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 (fractions) over (predicted, gold) term sets."""
    hits = sum(len(pred & gold) for pred, gold in pairs)
    precision = _ratio(hits, sum(len(pred) for pred, _ in pairs))
    recall = _ratio(hits, sum(len(gold) for _, gold in pairs))
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def score_norm(samples: list[Sample]) -> TaskScore:
    pairs, rows, exact = [], [], 0
    for s in samples:
        reason = degenerate_reason(s.predict, s.finish_reason)
        pred = set() if reason else term_set(s.predict)
        gold = term_set(s.label)
        pairs.append((pred, gold))
        is_exact = reason is None and s.predict.strip() == s.label.strip()
        exact += is_exact
        rows.append({"index": s.index, "score": 100 * micro_prf([(pred, gold)])[2], "exact": is_exact,
                     "reason": reason})
    precision, recall, f1 = micro_prf(pairs)
    metrics = {
        "exact_match": 100 * _ratio(exact, len(samples)),
        "micro_f1": 100 * f1,
        "micro_precision": 100 * precision,
        "micro_recall": 100 * recall,
    }
    return TaskScore(metrics, rows)
