"""Dialog metrics: equal to LLaMA-Factory's own ComputeSimilarity on the same strings."""

import numpy as np
import pytest

from eval.metrics import score_task
from eval.metrics_dialog import distinct_n, similarity
from eval.scored import Sample

PAIRS = [
    ("您好,这种情况要考虑湿疹。建议保持皮肤清洁湿润。", "您好,这种情况要考虑湿疹。建议保持皮肤清洁湿润,如果症状加重请及时就医。"),
    ("建议多喝水,注意休息。", "您好,考虑感冒,建议多喝水,注意休息,必要时口服布洛芬 0.2g。"),
    ("完全无关的回答", "您好,这种情况要考虑腹泻。建议补液。"),
    ("Hello 您好 CT 检查", "您好,建议做 CT 检查。"),
    ("", "您好,建议就医。"),
]


def lf_similarity(tokenizer, pairs):
    from llamafactory.extras.constants import IGNORE_INDEX
    from llamafactory.train.sft.metric import ComputeSimilarity
    from transformers import EvalPrediction

    def pad(rows):
        width = max(len(r) for r in rows)
        return np.array([r + [IGNORE_INDEX] * (width - len(r)) for r in rows])

    preds = [tokenizer.encode(p, add_special_tokens=False) for p, _ in pairs]
    labels = [tokenizer.encode(lbl, add_special_tokens=False) for _, lbl in pairs]
    return ComputeSimilarity(tokenizer=tokenizer)(EvalPrediction(predictions=pad(preds), label_ids=pad(labels)))


def test_dialog_metrics_equal_llamafactory_compute_similarity(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for pred, label in PAIRS:  # the byte-level tokenizer must round-trip, or the comparison is moot
        assert tokenizer.decode(tokenizer.encode(pred, add_special_tokens=False)) == pred
        assert tokenizer.decode(tokenizer.encode(label, add_special_tokens=False)) == label
    expected = lf_similarity(tokenizer, PAIRS)
    ours = score_task("dialog", [Sample(i, "", p, lbl, "stop") for i, (p, lbl) in enumerate(PAIRS)]).metrics
    assert {k: ours[k] for k in expected} == expected
    assert expected["bleu-4"] > 0 and expected["rouge-l"] > 0  # a comparison of zeros would prove nothing
    # A reply cut at max_new_tokens scores 0 in our headline metrics, but the llamafactory_* twins keep
    # LLaMA-Factory's numbers for it, comparable with its predict_results.json.
    cut = score_task("dialog", [Sample(i, "", p, lbl, "length") for i, (p, lbl) in enumerate(PAIRS)]).metrics
    assert cut["bleu-4"] == 0 and {k: cut[f"llamafactory_{k}"] for k in expected} == expected


def test_similarity_hand_values():
    same = "多喝水,注意休息"
    assert similarity(same, same) == {"rouge-1": 100.0, "rouge-2": 100.0, "rouge-l": 100.0, "bleu-4": 100.0}
    assert similarity("", "您好") == {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0, "bleu-4": 0.0}


def test_distinct_n_and_lengths():
    assert distinct_n(["abab", "ab"], 1) == pytest.approx(100 * 2 / 6)
    assert distinct_n(["abab", "ab"], 2) == pytest.approx(100 * 2 / 4)
    assert distinct_n(["a"], 2) == 0.0
    m = score_task("dialog", [Sample(0, "", "abab", "abc", "stop"), Sample(1, "", "ab", "a", "stop")]).metrics
    assert m["mean_length"] == 3.0 and m["reference_mean_length"] == 2.0


def test_looping_reply_scores_zero_with_reason():
    loop = "您好," + "多喝水" * 20
    m = score_task("dialog", [Sample(0, "", loop, "您好,多喝水。", "length")]).metrics
    assert m["rouge-l"] == 0 and m["bleu-4"] == 0 and m["zero_scored"] == {"repetition": 1}
