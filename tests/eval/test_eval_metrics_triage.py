"""triage metrics against a hand statement of scikit-learn's definitions (subset accuracy, micro/macro P/R/F1
with zero_division=0), on crafted rows and on random ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.metrics import score_task
from eval.metrics_triage import parse_labels, score_triage
from eval.scored import Sample

LABELS = ["儿科", "内科", "外科", "妇产科"]


def samples(pairs: list[tuple[str, str]]) -> list[Sample]:
    return [Sample(index=i, prompt="", predict=pred, label=gold, finish_reason="stop")
            for i, (pred, gold) in enumerate(pairs)]


def by_hand(pairs: list[tuple[set[str], set[str]]], labels: list[str]) -> dict:
    """The definitions, stated independently: a row is right when the sets are equal; micro counts every
    predicted label (an unknown one is a false positive); macro averages per-label scores over `labels`,
    a ratio with a zero denominator counting 0."""
    def ratio(a, b):
        return a / b if b else 0.0

    tp = sum(len(p & g) for p, g in pairs)
    precision, recall = ratio(tp, sum(len(p) for p, _ in pairs)), ratio(tp, sum(len(g) for _, g in pairs))
    per = {}
    for label in labels:
        t = sum(label in p and label in g for p, g in pairs)
        fp = sum(label in p and label not in g for p, g in pairs)
        fn = sum(label not in p and label in g for p, g in pairs)
        per[label] = (ratio(t, t + fp), ratio(t, t + fn), ratio(2 * t, 2 * t + fp + fn), t + fn)
    return {
        "subset_accuracy": 100 * ratio(sum(p == g for p, g in pairs), len(pairs)),
        "micro_precision": 100 * precision,
        "micro_recall": 100 * recall,
        "micro_f1": 100 * ratio(2 * precision * recall, precision + recall),
        "macro_precision": 100 * sum(v[0] for v in per.values()) / len(labels),
        "macro_recall": 100 * sum(v[1] for v in per.values()) / len(labels),
        "macro_f1": 100 * sum(v[2] for v in per.values()) / len(labels),
        "per_label": {k: {"precision": 100 * v[0], "recall": 100 * v[1], "f1": 100 * v[2], "support": v[3]}
                      for k, v in per.items()},
    }


def assert_matches(metrics: dict, expected: dict) -> None:
    for key, value in expected.items():
        if key == "per_label":
            for label, row in value.items():
                for k, v in row.items():
                    assert metrics["per_label"][label][k] == pytest.approx(v), (label, k)
        else:
            assert metrics[key] == pytest.approx(value), key


def test_crafted_rows():
    pairs = [("内科", "内科"), ("内科、外科", "内科"), ("外科", "内科、外科"), ("儿科", "妇产科"),
             ("科室:内科,外科", "外科、内科"), ("火星科", "儿科")]
    result = score_triage(samples(pairs), LABELS)
    m = result.metrics
    # rows 1 and 5 are right; micro: 5 hits of 8 predicted labels (one unknown) and of 8 gold labels
    assert m["subset_accuracy"] == pytest.approx(100 * 2 / 6)
    assert m["micro_precision"] == m["micro_recall"] == pytest.approx(100 * 5 / 8)
    assert m["unknown_labels"] == 1
    # 外科: 3 predicted, 2 right, 2 gold -> p 2/3, r 1, f1 0.8; 妇产科 never right -> 0
    assert m["per_label"]["外科"] == pytest.approx({"precision": 200 / 3, "recall": 100.0, "f1": 80.0, "support": 2})
    assert m["per_label"]["妇产科"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    parsed = [(set(parse_labels(p)), set(parse_labels(g))) for p, g in pairs]
    assert_matches(m, by_hand(parsed, LABELS))
    assert [r["exact"] for r in result.rows] == [True, False, False, False, True, False]
    assert result.rows[5]["predicted"] == ["火星科"]


def test_degenerate_answers_count_as_empty_predictions():
    result = score_task("triage", samples([("", "内科"), ("内科" * 40, "内科"), ("外科", "外科")]), labels=LABELS)
    assert result.metrics["zero_scored"] == {"empty": 1, "repetition": 1}
    assert result.metrics["subset_accuracy"] == pytest.approx(100 / 3)
    assert result.metrics["micro_precision"] == 100.0 and result.metrics["n"] == 3


def test_gold_outside_the_label_set_is_an_error():
    with pytest.raises(ValueError, match="gold label '眼科'"):
        score_triage(samples([("内科", "眼科")]), LABELS)


def test_label_space_defaults_to_the_gold_labels():
    m = score_triage(samples([("内科", "外科"), ("外科", "外科")])).metrics
    assert m["labels"] == ["外科"] and m["unknown_labels"] == 1  # 内科 is not a gold label anywhere


@pytest.mark.parametrize("text, labels", [
    ("内科、外科", ["内科", "外科"]), ("科室:内科", ["内科"]), ("科室：内科，外科；儿科", ["内科", "外科", "儿科"]),
    (" 内科 外科 内科\n", ["内科", "外科"]), ("答: 妇产科/肿瘤科", ["妇产科", "肿瘤科"]), ("", []),
])
def test_parse_labels(text, labels):
    assert parse_labels(text) == labels


label_sets = st.sets(st.sampled_from(LABELS + ["火星科"]), max_size=3)
gold_sets = st.sets(st.sampled_from(LABELS), min_size=1, max_size=3)


@given(st.lists(st.tuples(label_sets, gold_sets), min_size=1, max_size=25))
@settings(max_examples=150, deadline=None)
def test_random_rows_match_the_definitions(pairs):
    rows = [("、".join(sorted(p)), "、".join(sorted(g))) for p, g in pairs]
    # an empty prediction is a degenerate answer: scored as the empty set, which the hand statement also uses
    assert_matches(score_triage(samples(rows), LABELS).metrics, by_hand(pairs, LABELS))
