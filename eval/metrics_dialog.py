"""Doctor replies (Chinese-medical-dialogue): LLaMA-Factory's predict metrics, per sample exactly as its
`ComputeSimilarity` computes them, plus distinct-n diversity and length."""

from __future__ import annotations

import logging

import jieba
import numpy as np
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rouge_chinese import Rouge

from .degenerate import degenerate_reason
from .scored import Sample, TaskScore

jieba.setLogLevel(logging.WARNING)

SIMILARITY_KEYS = ("bleu-4", "rouge-1", "rouge-2", "rouge-l")


def similarity(pred: str, label: str) -> dict[str, float]:
    """BLEU-4 on characters (smoothing method3) and ROUGE-1/2/L F on jieba words, x100, rounded to
    4 decimals: the numbers LLaMA-Factory's predict writes for one sample."""
    hypothesis, reference = list(jieba.cut(pred)), list(jieba.cut(label))
    if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
        rouge = {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}
    else:
        scores = Rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]
        rouge = {key: scores[key]["f"] for key in ("rouge-1", "rouge-2", "rouge-l")}
    result = {key: round(value * 100, 4) for key, value in rouge.items()}
    bleu = sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3)
    result["bleu-4"] = round(bleu * 100, 4)
    return result


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct-n (Li et al., 2016) over characters: unique n-grams / all n-grams of all texts, x100."""
    grams = [text[i:i + n] for text in texts for i in range(len(text) - n + 1)]
    return 100 * len(set(grams)) / len(grams) if grams else 0.0


def score_dialog(samples: list[Sample]) -> TaskScore:
    per_key: dict[str, list[float]] = {key: [] for key in SIMILARITY_KEYS}
    as_llamafactory: dict[str, list[float]] = {key: [] for key in SIMILARITY_KEYS}
    rows = []
    for s in samples:
        reason = degenerate_reason(s.predict, s.finish_reason)
        raw = similarity(s.predict, s.label)
        values = dict.fromkeys(SIMILARITY_KEYS, 0.0) if reason else raw
        for key in SIMILARITY_KEYS:
            per_key[key].append(values[key])
            as_llamafactory[key].append(raw[key])
        rows.append({"index": s.index, "score": values["rouge-l"], "reason": reason, **values})
    n = len(samples)
    predictions = [s.predict for s in samples]
    # np.mean, as LLaMA-Factory aggregates, so the floats agree to the last bit
    metrics = {key: float(np.mean(vals)) if n else 0.0 for key, vals in per_key.items()}
    # The same numbers without zeroing degenerate replies: what LLaMA-Factory's predict_results.json reports
    metrics.update({f"llamafactory_{key}": float(np.mean(vals)) if n else 0.0 for key, vals in as_llamafactory.items()})
    metrics["distinct-1"] = distinct_n(predictions, 1)
    metrics["distinct-2"] = distinct_n(predictions, 2)
    metrics["mean_length"] = sum(len(p) for p in predictions) / n if n else 0.0
    metrics["reference_mean_length"] = sum(len(s.label) for s in samples) / n if n else 0.0
    return TaskScore(metrics, rows)
