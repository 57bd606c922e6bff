"""norm `micro_*` equal the CHIP-CDN scorer's set semantics.

What the stored public code shows (read, not copied):
- CBLUEbenchmark/CBLUE: a CHIP-CDN submission gives each text a `normalized_result` string
  (format_checker/format_checker_CDN.py checks it is a str) holding the standard terms joined by "##";
  the repository does not ship the test-set scorer itself.
- michael-wzhu/PromptCBLUE, src/evaluation: the generative CHIP-CDN scorer. post_generate_process.py
  splits the answer into terms, strips each, drops empty ones and de-duplicates them (`set`);
  evaluators.py `calc_info_extract_task_scores` builds a set per sample for gold and prediction and sums
  tp = |gold & pred|, fp = |pred - gold|, fn = |gold - pred| over all samples; micro precision
  tp/(tp+fp), recall tp/(tp+fn), F1 2PR/(P+R), and all three 0 when tp is 0. (PromptCBLUE joins terms
  with "，" and also drops terms outside its answer choices; CBLUE and yidu-n7k join with "##" and have
  no choices, so the restatement splits on "##" and keeps every term.)
So: duplicates inside an answer count once, order does not matter, whitespace around "##" is ignored,
empty parts vanish. Our one rule on top: an empty, looping or truncated answer scores an empty set
(counted as a reason); the property test keeps to answers that are none of those.
"""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eval.degenerate import degenerate_reason
from eval.metrics import score_task
from eval.scored import Sample


def cdn_terms(answer: str) -> set[str]:
    return {part.strip() for part in answer.split("##") if len(part.strip()) > 0}


def cdn_micro(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for predicted, gold in pairs:
        pred_set, gold_set = cdn_terms(predicted), cdn_terms(gold)
        tp += len(gold_set & pred_set)
        fp += len(pred_set - gold_set)
        fn += len(gold_set - pred_set)
    if not tp:
        return 0.0, 0.0, 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


def ours(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    metrics = score_task("norm", [Sample(i, "", pred, gold, "stop") for i, (pred, gold) in enumerate(pairs)]).metrics
    return metrics["micro_precision"] / 100, metrics["micro_recall"] / 100, metrics["micro_f1"] / 100


CRAFTED = {
    "duplicates inside a prediction": ("胃镜检查##胃镜检查##阑尾切除术", "胃镜检查##结肠镜检查"),
    "another order": ("阑尾切除术##胃镜检查", "胃镜检查##阑尾切除术"),
    "whitespace around ##": (" 胃镜检查 ##\t阑尾切除术\u3000", "胃镜检查##阑尾切除术"),
    "empty parts": ("##胃镜检查####", "胃镜检查"),
    "duplicates in the gold": ("胃镜检查", "胃镜检查##胃镜检查"),
    "inner whitespace is kept": ("胃镜 检查", "胃镜检查"),
    "nothing right": ("肝穿刺", "胃镜检查"),
}


@pytest.mark.parametrize("name", CRAFTED)
def test_each_crafted_answer_scores_as_the_cdn_rules(name):
    pair = CRAFTED[name]
    assert ours([pair]) == pytest.approx(cdn_micro([pair]), abs=1e-9)


def test_the_whole_table_sums_over_samples_as_the_cdn_rules():
    pairs = list(CRAFTED.values())
    assert ours(pairs) == pytest.approx(cdn_micro(pairs), abs=1e-9)
    assert cdn_micro(pairs)[2] > 0


TERMS = st.sampled_from(["胃镜检查", "阑尾切除术", "结肠镜检查", "剖宫产术", "肝穿刺", "", " ", "a b"])
PAD = st.sampled_from(["", " ", "\t", "\u3000", "  "])
ANSWER = st.lists(st.tuples(PAD, TERMS, PAD), max_size=5).map(lambda parts: "##".join(a + t + b for a, t, b in parts))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ANSWER, ANSWER), min_size=1, max_size=4))
def test_any_answers_score_as_the_cdn_rules(pairs):
    assume(all(degenerate_reason(pred, "stop") is None for pred, _ in pairs))
    assert ours(pairs) == pytest.approx(cdn_micro(pairs), abs=1e-9)
