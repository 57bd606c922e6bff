"""`cblue_rouge` equals the official CBLUE IMCS-V2-MRG scorer for every prediction shape.

The official scorer is task3/eval_task3.py of lemuria-wchen/imcs21-cblue (the version that imports the
`rouge` package, pinned here as rouge==1.0.1). Its rules, restated below without its code:
- a report (prediction or reference) is rendered as key + "：" + value for each key the dict has, in the
  dict's own order, joined with no delimiter;
- per sample, for each reference: hypothesis and reference are split into characters joined by single
  spaces and `Rouge().get_scores` gives F of rouge-1, rouge-2, rouge-l; the three are averaged over the
  references. Inside that loop the script rebinds the hypothesis to its joined form, so from the second
  reference on it is joined again (characters and the inserted spaces); rouge splits on whitespace, so
  this must not change the score, and the restatement keeps the quirk to prove it;
- a ValueError anywhere in that loop (rouge's "Hypothesis is empty." / "Reference is empty.") scores
  the whole sample 0 on all three;
- means over samples; the CBLUE score is the mean of the three means.
The official script crashes (TypeError) on a value that is not a string and (AttributeError) on a
prediction that is not an object; ours scores such a sample 0 and counts it (`non_string_value`,
`invalid_json`), so the restatement treats those crashes as a 0 for that sample.
"""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge import Rouge

from eval.metrics import score_task
from eval.scored import Sample

GOLD = {"主诉": "咳嗽三天。", "现病史": "患儿三天前出现咳嗽，有痰，无发热。", "辅助检查": "暂缺。", "既往史": "",
        "诊断": "上呼吸道感染。", "建议": "多喝水，注意休息。"}
SECOND = {"主诉": "咳嗽伴痰3天。", "现病史": "咳嗽三天，有痰。", "辅助检查": "血常规正常。", "既往史": "不详。",
          "诊断": "支气管炎。", "建议": "口服止咳药。"}


def official_render(report: dict) -> str:
    pieces = []
    for key, value in report.items():
        pieces.append(key + "：" + value)  # TypeError for a value that is not a string, as in the script
    return "".join(pieces)


def official_sample(prediction, references: list[dict]) -> tuple[float, float, float]:
    if not isinstance(prediction, dict):
        return 0.0, 0.0, 0.0  # the script crashes; ours: invalid_json, 0
    try:
        hypothesis = official_render(prediction)
    except TypeError:
        return 0.0, 0.0, 0.0  # the script crashes; ours: non_string_value, 0
    sums = [0.0, 0.0, 0.0]
    try:
        for reference in references:
            hypothesis = " ".join(hypothesis)  # rebound: joined once more for every reference
            scores = Rouge().get_scores(hyps=hypothesis, refs=" ".join(official_render(reference)))[0]
            sums = [total + scores[name]["f"] for total, name in zip(sums, ("rouge-1", "rouge-2", "rouge-l"), strict=True)]
    except ValueError:
        return 0.0, 0.0, 0.0
    return tuple(total / len(references) for total in sums)


def official_scores(cases: list[tuple[object, list[dict]]]) -> dict:
    per_sample = [official_sample(prediction, references) for prediction, references in cases]
    means = [sum(column) / len(per_sample) for column in zip(*per_sample, strict=True)]
    return {"cblue_rouge-1": means[0], "cblue_rouge-2": means[1], "cblue_rouge-l": means[2],
            "cblue_rouge": sum(means) / 3}


def ours(cases: list[tuple[str, list[dict]]]) -> dict:
    """Our metrics (as fractions) for (prediction text, references) pairs."""
    samples = [Sample(i, "", text, json.dumps(refs[0], ensure_ascii=False), "stop", refs)
               for i, (text, refs) in enumerate(cases)]
    metrics = score_task("mrg", samples).metrics
    return {key: metrics[key] / 100 for key in ("cblue_rouge-1", "cblue_rouge-2", "cblue_rouge-l", "cblue_rouge")}


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


HALF_HISTORY = {key: value for key, value in GOLD.items() if key != "建议"} | {"现病史": GOLD["现病史"][:8]}
CRAFTED = {
    "all six fields, equal to the reference": (dumps(GOLD), [GOLD]),
    "drops 建议, keeps half of 现病史": (dumps(HALF_HISTORY), [GOLD, SECOND]),
    "only 诊断": (dumps({"诊断": "上呼吸道感染。"}), [GOLD, SECOND]),
    "an invented key": (dumps(GOLD | {"治疗方案": "雾化治疗。"}), [GOLD, SECOND]),
    "only invented keys": (dumps({"病因": "受凉。", "用药": "止咳糖浆。"}), [GOLD]),
    "keys in reverse order": (dumps(dict(reversed(list(GOLD.items())))), [GOLD, SECOND]),
    "empty strings everywhere": (dumps(dict.fromkeys(GOLD, "")), [GOLD, SECOND]),
    "an empty key and value": (dumps({"": ""}), [GOLD]),
    "an empty object": ("{}", [GOLD, SECOND]),
    "null value": (dumps(GOLD | {"既往史": None}), [GOLD, SECOND]),
    "number value": (dumps(GOLD | {"主诉": 3}), [GOLD]),
    "list value": (dumps(GOLD | {"诊断": ["感冒", "咳嗽"]}), [GOLD, SECOND]),
    "nested object value": (dumps(GOLD | {"建议": {"用药": "止咳药"}}), [GOLD]),
    "a JSON array instead of an object": (dumps([GOLD]), [GOLD]),
    "a JSON string instead of an object": (dumps("主诉：咳嗽"), [GOLD]),
    "periods and spaces (rouge splits sentences on '.')": (dumps({"主诉": "cough. 3 days..", "诊断": " . "}),
                                                           [GOLD, {"主诉": "cough 3 days.", "诊断": "URI"}]),
    "one reference": (dumps(SECOND), [GOLD]),
    "two references, the second matches": (dumps(SECOND), [GOLD, SECOND]),
    "a reference with its keys in another order": (dumps(GOLD), [dict(reversed(list(GOLD.items()))), SECOND]),
    "an empty reference (rouge raises: the sample is 0)": (dumps(GOLD), [GOLD, {}]),
    "duplicate key: the last value at the first position": ('{"主诉": "咳嗽", "诊断": "感冒", "主诉": "发热"}', [GOLD]),
}


@pytest.mark.parametrize("name", CRAFTED)
def test_each_crafted_prediction_scores_as_the_official_rules(name):
    text, references = CRAFTED[name]
    expected = official_scores([(json.loads(text), references)])
    assert ours([(text, references)]) == pytest.approx(expected, abs=1e-6)


def test_the_whole_table_averages_as_the_official_rules():
    cases = list(CRAFTED.values())
    expected = official_scores([(json.loads(text), refs) for text, refs in cases])
    assert ours(cases) == pytest.approx(expected, abs=1e-6)


def test_missing_fields_no_longer_score_characters_the_model_never_wrote():
    """The old rendering padded every prediction to the six fields (`建议：` with an empty value) and
    inflated the score; the official rendering leaves a missing field out."""
    text, refs = CRAFTED["drops 建议, keeps half of 现病史"]
    padded = {key: HALF_HISTORY.get(key, "") for key in GOLD}
    assert ours([(text, refs)])["cblue_rouge"] < official_scores([(padded, refs)])["cblue_rouge"]
    assert ours([(text, refs)]) == pytest.approx(official_scores([(HALF_HISTORY, refs)]), abs=1e-6)


def test_a_readable_report_is_scored_whatever_the_finish_reason():
    """The official scorer sees only the report: one that parses is scored even when the decoder's budget ran
    out right after its closing brace; a cut-off one does not parse and is counted as truncated."""
    text, refs = CRAFTED["drops 建议, keeps half of 现病史"]
    complete = Sample(0, "", text, dumps(GOLD), "length", refs)
    cut = Sample(1, "", text[:-5], dumps(GOLD), "length", refs)
    result = score_task("mrg", [complete, cut])
    assert [row["reason"] for row in result.rows] == [None, "truncated"]
    expected = official_scores([(json.loads(text), refs), ({}, refs)])
    assert result.metrics["cblue_rouge"] / 100 == pytest.approx(expected["cblue_rouge"], abs=1e-6)


def test_non_string_values_and_non_objects_are_counted_reasons():
    cases = [CRAFTED["null value"], CRAFTED["list value"], CRAFTED["a JSON array instead of an object"],
             CRAFTED["only 诊断"]]
    samples = [Sample(i, "", text, dumps(GOLD), "stop", refs) for i, (text, refs) in enumerate(cases)]
    result = score_task("mrg", samples)
    assert [row["reason"] for row in result.rows] == ["non_string_value", "non_string_value", "invalid_json", None]
    assert result.rows[0]["detail"] == "not a string: 既往史"
    assert result.metrics["zero_scored"] == {"invalid_json": 1, "non_string_value": 2}
    assert result.metrics["json_valid_rate"] == pytest.approx(75.0)  # a non-string value still parses as an object
    # the last one: 诊断 equal, and its missing 既往史 ("") equals the gold's empty 既往史
    assert result.metrics["field_exact_match"] == pytest.approx(100 * 2 / 24)


KEYS = st.sampled_from(["主诉", "现病史", "辅助检查", "既往史", "诊断", "建议", "治疗", "", "a"])
TEXT = st.text(alphabet="咳嗽痰发热三天无不详。，.: ：ab1", max_size=24)
REPORT = st.dictionaries(KEYS, TEXT, max_size=7)
VALUE = st.one_of(TEXT, TEXT, TEXT, st.none(), st.integers(), st.lists(TEXT, max_size=2))


@settings(max_examples=150, deadline=None)
@given(cases=st.lists(st.tuples(st.dictionaries(KEYS, VALUE, max_size=7), st.lists(REPORT, min_size=1, max_size=2)),
                      min_size=1, max_size=3))
def test_any_prediction_scores_as_the_official_rules(cases):
    expected = official_scores(cases)
    assert ours([(dumps(pred), refs) for pred, refs in cases]) == pytest.approx(expected, abs=1e-6)
