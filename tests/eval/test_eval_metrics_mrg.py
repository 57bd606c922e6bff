"""Report generation metrics: parsing, the official CBLUE ROUGE with several references, field scores."""

import json

import pytest

from eval.metrics import score_task
from eval.metrics_mrg import cblue_rouge_sample, char_rouge_l, parse_report, render_report
from eval.scored import Sample

REPORT = {"主诉": "咳嗽三天。", "现病史": "患儿三天前出现咳嗽,有痰。", "辅助检查": "暂缺。", "既往史": "",
          "诊断": "上呼吸道感染。", "建议": "多喝水,注意休息。"}
OTHER = {"主诉": "咳嗽伴痰三天。", "现病史": "咳嗽三天,有痰,无发热。", "辅助检查": "", "既往史": "不详。",
         "诊断": "支气管炎。", "建议": "口服止咳药。"}


def dumps(report):
    return json.dumps(report, ensure_ascii=False, indent=2)


def test_parse_report_bare_fenced_and_bad():
    assert parse_report(dumps(REPORT)) == (REPORT, None)
    assert parse_report("好的,报告如下:\n```json\n" + dumps(REPORT) + "\n```\n以上。") == (REPORT, None)
    assert parse_report("```\n" + dumps(REPORT) + "\n```")[0] == REPORT
    assert parse_report("```json\n{\"主诉\": ")[0] is None  # unclosed fence
    assert parse_report("主诉:咳嗽")[1].startswith("not JSON")
    assert parse_report("[1, 2]") == (None, "JSON list, not an object")
    assert parse_report("")[0] is None


def test_render_report_cblue_style():
    assert render_report({"主诉": "咳嗽", "现病史": "三天"}) == "主诉：咳嗽现病史：三天"
    # the keys the report has, in its own order: nothing for missing fields, invented keys kept
    assert render_report({"诊断": "感冒", "x": "y"}) == "诊断：感冒x：y"
    assert render_report({}) == ""


def test_cblue_rouge_averages_over_all_references():
    # vs "咳嗽痰": all 1. vs "咳嗽热": unigrams 2/3 P and R, bigrams 1/2, LCS 2 of 3.
    r1, r2, rl = cblue_rouge_sample("咳嗽痰", ["咳嗽痰", "咳嗽热"])
    assert r1 == pytest.approx((1 + 2 / 3) / 2, abs=1e-6)
    assert r2 == pytest.approx((1 + 1 / 2) / 2, abs=1e-6)
    assert rl == pytest.approx((1 + 2 / 3) / 2, abs=1e-6)


def test_cblue_rouge_value_error_scores_zero():
    assert cblue_rouge_sample("", ["咳嗽"]) == (0.0, 0.0, 0.0)
    assert cblue_rouge_sample("咳嗽", ["咳嗽", ""]) == (0.0, 0.0, 0.0)  # one bad reference zeroes the sample


def test_cblue_rouge_survives_long_outputs():
    text = "咳" * 1500  # deeper than Python's default recursion limit in rouge's LCS back-tracking
    assert cblue_rouge_sample(text, [text])[2] == pytest.approx(1.0, abs=1e-6)


def test_char_rouge_l_empty_fields():
    assert char_rouge_l("", "") == 1.0
    assert char_rouge_l("无", "") == 0.0
    assert char_rouge_l("咳嗽痰", "咳嗽热") == pytest.approx(2 / 3, abs=1e-6)


def test_score_mrg_hand_computed():
    label = dumps(REPORT)
    refs = [REPORT, REPORT]
    samples = [
        Sample(0, "", "```json\n" + label + "\n```", label, "stop", refs),  # perfect, fenced
        Sample(1, "", "主诉:咳嗽三天", label, "stop", refs),  # not JSON
        Sample(2, "", "", label, "stop", refs),  # empty
        Sample(3, "", label, label, "length", refs),  # the budget ran out right after a complete report
    ]
    result = score_task("mrg", samples)
    m = result.metrics
    assert m["json_valid_rate"] == pytest.approx(50.0)  # samples 0 and 3 parse
    assert m["field_exact_match"] == pytest.approx(100 * 12 / 24)
    assert m["cblue_rouge"] == pytest.approx(50.0, abs=1e-4)
    assert m["cblue_rouge-1"] == m["cblue_rouge-2"] == m["cblue_rouge-l"] == pytest.approx(50.0, abs=1e-4)
    assert m["field_rouge_l_mean"] == pytest.approx(50.0, abs=1e-4)
    assert m["zero_scored"] == {"empty": 1, "invalid_json": 1}
    assert m["bertscore_f1"] is None and m["bertscore_skipped"]
    assert [r["reason"] for r in result.rows] == [None, "invalid_json", "empty", None]


def test_score_mrg_uses_second_annotator():
    """An answer equal to the second report scores 1 against it, averaged with the first."""
    pred = dumps(OTHER)
    one = score_task("mrg", [Sample(0, "", pred, dumps(REPORT), "stop", [REPORT])]).metrics
    both = score_task("mrg", [Sample(0, "", pred, dumps(REPORT), "stop", [REPORT, OTHER])]).metrics
    assert both["cblue_rouge-1"] == pytest.approx((one["cblue_rouge-1"] + 100) / 2, abs=1e-4)
    assert both["field_rouge_l"]["诊断"] == pytest.approx((one["field_rouge_l"]["诊断"] + 100) / 2, abs=1e-4)
    assert one["field_exact_match"] == pytest.approx(0.0)  # exact match is vs the first report, as the seed did


def test_unparseable_gold_label_is_an_error():
    with pytest.raises(ValueError, match="sample 7: the gold label is not a JSON report"):
        score_task("mrg", [Sample(7, "", "{}", "not json", "stop")])
