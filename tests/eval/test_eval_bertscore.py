"""BERTScore through the real bert-score path on a tiny local BERT; skips say why."""

import json

import pytest

from eval.bertscore import BertScore
from eval.metrics import score_task
from eval.scored import Sample


def test_real_bertscore_with_empty_pairs(tiny_bert):
    scorer = BertScore(str(tiny_bert), num_layers=2)
    result = scorer.score(["发热咳嗽", "感冒", "", "多喝水"], ["发热三天", "感冒", "无", ""])
    assert result.skipped is None
    assert result.f1[1] == pytest.approx(1.0, abs=1e-5)  # identical text
    assert 0 < result.f1[0] < 1
    assert result.f1[2] == 0.0 and result.f1[3] == 0.0  # an empty side scores 0, as bert-score defines
    assert (result.empty_candidates, result.empty_references) == (1, 1)


def test_mrg_bertscore_counts_placeholders(tiny_bert):
    report = {"主诉": "咳嗽三天。", "现病史": "发热。", "辅助检查": "暂缺。", "既往史": "", "诊断": "感冒。", "建议": "多喝水。"}
    label = json.dumps(report, ensure_ascii=False)
    pred = json.dumps({**report, "建议": ""}, ensure_ascii=False)
    m = score_task("mrg", [Sample(0, "", pred, label, "stop")], BertScore(str(tiny_bert), num_layers=2)).metrics
    # 6 pairs: 4 identical (1.0), 建议 empty candidate (0), 既往史 empty on both sides (0)
    assert m["bertscore_f1"] == pytest.approx(100 * 4 / 6, abs=1e-3)
    assert m["bertscore_pairs"] == 6
    assert m["bertscore_empty_candidates"] == 2 and m["bertscore_empty_references"] == 1


def test_bertscore_skipped_with_reason(tmp_path, monkeypatch):
    assert "no --bertscore-model" in BertScore(None).score(["a"], ["a"]).skipped
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = BertScore("nobody/no-such-bert", num_layers=2)
    result = missing.score(["咳嗽"], ["咳嗽"])
    assert result.f1 is None and "could not load nobody/no-such-bert" in result.skipped
    assert missing.describe().startswith("skipped: could not load")


def test_local_bert_needs_num_layers(tiny_bert):
    with pytest.raises(ValueError, match="--bertscore-layers"):
        BertScore(str(tiny_bert))
