"""Medical report generation (IMCS-V2 MRG): JSON validity, the seed's per-field exact match,
per-field character ROUGE-L, the official CBLUE task-3 ROUGE and BERTScore."""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager

from rouge import Rouge

from contract.datasets import REPORT_FIELDS

from .bertscore import BertScore
from .degenerate import INVALID_JSON, NON_STRING_VALUE, degenerate_reason
from .scored import Sample, TaskScore

_FENCED_JSON = re.compile(r"```(?:json)?(.*?)```", flags=re.DOTALL)


def parse_report(text: str) -> tuple[dict | None, str | None]:
    """The report dict in a model answer (bare JSON, or the first ```json fenced block as the seed
    accepted), else (None, why)."""
    body = text.strip()
    if "```" in body:
        match = _FENCED_JSON.search(body)
        if not match:
            return None, "unclosed ``` block"
        body = match.group(1).strip()
    try:
        report = json.loads(body)
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg})"
    except ValueError:  # a number longer than Python's int-to-string limit
        return None, "not JSON (a number too long to read)"
    except RecursionError:
        return None, "not JSON (nested too deeply)"
    if not isinstance(report, dict):
        return None, f"JSON {type(report).__name__}, not an object"
    return report, None


def non_string_keys(report: dict) -> list[str]:
    """Keys whose value is not a string. The official scorer joins `key + '：' + value` and crashes on
    them; we score such a prediction 0 with the reason `non_string_value` instead."""
    return [key for key, value in report.items() if not isinstance(value, str)]


def field_text(report: dict, key: str) -> str:
    """One of the six fields of a report whose values are all strings; a missing field is ""."""
    return report.get(key, "")


def render_report(report: dict) -> str:
    """The official CBLUE rendering: `key：value` (full-width colon) for the keys this report has, in its
    own order, concatenated: a missing field contributes nothing, an invented key is scored too."""
    return "".join(key + "：" + value for key, value in report.items())


@contextmanager
def _deep_recursion(limit: int = 100_000):
    # rouge's LCS back-tracking recurses once per character; long outputs exceed Python's default.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def cblue_rouge_sample(hypothesis: str, references: list[str]) -> tuple[float, float, float]:
    """Official CBLUE MRG per-sample score: `rouge` F of rouge-1/2/l on space-joined characters,
    averaged over the references; a ValueError from rouge (e.g. empty text) scores the sample 0."""
    totals = [0.0, 0.0, 0.0]
    try:
        with _deep_recursion():
            for reference in references:
                scores = Rouge().get_scores(hyps=" ".join(hypothesis), refs=" ".join(reference))[0]
                for i, key in enumerate(("rouge-1", "rouge-2", "rouge-l")):
                    totals[i] += scores[key]["f"]
    except ValueError:
        return 0.0, 0.0, 0.0
    return totals[0] / len(references), totals[1] / len(references), totals[2] / len(references)


def char_rouge_l(hypothesis: str, reference: str) -> float:
    """Character ROUGE-L F of one field (fraction); two empty fields agree (1), one empty side is 0."""
    if not hypothesis.strip() or not reference.strip():
        return float(hypothesis.strip() == reference.strip())
    try:
        with _deep_recursion():
            return Rouge(metrics=["rouge-l"]).get_scores(" ".join(hypothesis), " ".join(reference))[0][
                "rouge-l"]["f"]
    except ValueError:  # text made only of separators rouge drops, like "..."
        return 0.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score_mrg(samples: list[Sample], bertscore: BertScore | None = None) -> TaskScore:
    rows, field_hits, valid, r1, r2, rl = [], 0, 0, [], [], []
    field_rl: dict[str, list[float]] = {key: [] for key in REPORT_FIELDS}
    bert_pairs: list[tuple[str, str]] = []
    for s in samples:
        gold, _ = parse_report(s.label)
        if gold is None or non_string_keys(gold):
            raise ValueError(f"sample {s.index}: the gold label is not a JSON report with string values: "
                             f"{s.label[:80]!r}")
        references = s.references or [gold]
        if any(not isinstance(ref, dict) or non_string_keys(ref) for ref in references):
            raise ValueError(f"sample {s.index}: every reference must be a report object with string values")
        parsed, why = parse_report(s.predict)
        valid += parsed is not None
        # A report that parses is complete whatever the decoder's finish reason said (the budget can run out
        # right after the closing brace); the official scorer scores every report it can read, so only text
        # that does not parse is zeroed for emptiness, a loop or truncation.
        reason = None if parsed is not None else degenerate_reason(s.predict, s.finish_reason) or INVALID_JSON
        if reason is None and (bad := non_string_keys(parsed)):
            reason, why = NON_STRING_VALUE, "not a string: " + ", ".join(bad)
        pred = parsed if reason is None else {}
        if reason is None:
            sample_scores = cblue_rouge_sample(render_report(pred), [render_report(ref) for ref in references])
        else:
            sample_scores = (0.0, 0.0, 0.0)
        for bucket, value in zip((r1, r2, rl), sample_scores, strict=True):
            bucket.append(value)
        exact = 0
        for key in REPORT_FIELDS:
            pred_field = field_text(pred, key)
            exact += reason is None and pred_field.strip() == field_text(gold, key).strip()
            field_rl[key].append(0.0 if reason else _mean([char_rouge_l(pred_field, field_text(ref, key))
                                                           for ref in references]))
            bert_pairs.append((pred_field, field_text(gold, key)))
        field_hits += exact
        rows.append({"index": s.index, "score": 100 * _mean(list(sample_scores)), "reason": reason,
                     "detail": why, "fields_exact": exact})
    n = len(samples)
    metrics = {
        "json_valid_rate": 100 * valid / n if n else 0.0,
        "field_exact_match": 100 * field_hits / (n * len(REPORT_FIELDS)) if n else 0.0,
        "field_rouge_l": {key: 100 * _mean(vals) for key, vals in field_rl.items()},
        "field_rouge_l_mean": 100 * _mean([_mean(vals) for vals in field_rl.values()]),
        "cblue_rouge-1": 100 * _mean(r1),
        "cblue_rouge-2": 100 * _mean(r2),
        "cblue_rouge-l": 100 * _mean(rl),
    }
    metrics["cblue_rouge"] = (metrics["cblue_rouge-1"] + metrics["cblue_rouge-2"] + metrics["cblue_rouge-l"]) / 3
    metrics.update(_bertscore_metrics(bertscore, bert_pairs))
    return TaskScore(metrics, rows)


def _bertscore_metrics(bertscore: BertScore | None, pairs: list[tuple[str, str]]) -> dict:
    if bertscore is None:
        return {"bertscore_f1": None, "bertscore_skipped": "BERTScore not requested"}
    if not pairs:
        return {"bertscore_f1": None, "bertscore_skipped": "no samples"}
    result = bertscore.score([c for c, _ in pairs], [r for _, r in pairs])
    if result.f1 is None:
        return {"bertscore_f1": None, "bertscore_skipped": result.skipped}
    return {
        "bertscore_f1": 100 * _mean(result.f1),
        "bertscore_pairs": len(pairs),
        "bertscore_empty_candidates": result.empty_candidates,
        "bertscore_empty_references": result.empty_references,
    }
