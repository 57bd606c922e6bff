"""Term normalization metrics on hand-computed examples."""

import pytest

from eval.metrics import score_task
from eval.metrics_norm import micro_prf, term_set
from eval.scored import Sample


def test_term_set_splits_on_double_hash_and_ignores_blanks():
    assert term_set(" 胃镜检查 ##阑尾切除术## ") == {"胃镜检查", "阑尾切除术"}
    assert term_set("") == set()


def test_micro_prf_sums_over_samples():
    # hits 1+0, predicted 1+2, gold 2+1
    p, r, f = micro_prf([({"a"}, {"a", "b"}), ({"c", "d"}, {"e"})])
    assert (p, r) == pytest.approx((1 / 3, 1 / 3))
    assert f == pytest.approx(1 / 3)
    assert micro_prf([]) == (0.0, 0.0, 0.0)


def test_score_norm_hand_computed():
    pairs = [
        ("胃镜检查##阑尾切除术", "胃镜检查##阑尾切除术"),  # exact; hits 2, pred 2, gold 2
        ("胃镜检查", "胃镜检查##结肠镜检查"),  # hits 1, pred 1, gold 2
        (" 剖宫产术 \n", "剖宫产术"),  # exact after trimming whitespace; 1/1/1
        ("", "肝穿刺"),  # empty: zero-scored; 0/0/1
        ("心脏搭桥术##其他", "冠状动脉搭桥术"),  # 0/2/1
    ]
    samples = [Sample(i, "", pred, gold, "stop") for i, (pred, gold) in enumerate(pairs)]
    result = score_task("norm", samples)
    m = result.metrics
    assert m["exact_match"] == pytest.approx(40.0)
    assert m["micro_precision"] == pytest.approx(100 * 4 / 6)
    assert m["micro_recall"] == pytest.approx(100 * 4 / 7)
    assert m["micro_f1"] == pytest.approx(100 * 8 / 13)  # 2 * hits / (pred + gold)
    assert m["n"] == 5 and m["zero_scored"] == {"empty": 1}
    assert [round(r["score"], 2) for r in result.rows] == [100.0, 66.67, 100.0, 0.0, 0.0]


def test_truncated_answer_scores_zero_even_if_terms_match():
    samples = [Sample(0, "", "胃镜检查", "胃镜检查", finish_reason="length")]
    m = score_task("norm", samples).metrics
    assert m["exact_match"] == 0 and m["micro_f1"] == 0 and m["zero_scored"] == {"truncated": 1}
