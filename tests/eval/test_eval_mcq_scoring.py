"""Multiple-choice scoring without a model: CMB's extraction rule against an independent restatement, every
answer shape a model can produce; accuracies as each benchmark reports them; prepared files checked with a
sentence naming file and line; the cache resumes."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.inputs import InputError
from eval.mcq.extract import extract
from eval.mcq.items import load_items, shots_for
from eval.mcq.prompts import request
from eval.mcq.score import benchmark_metrics, group_accuracy, retention


def cmb_rule(text: str, multi: bool) -> str:
    """CMB's src/utils.py match_choice + extract_ans, restated step by step (one sample per item)."""
    cues = ["答案是", "答案：", "答案为", "答案应该是", "答案应该为", "正确选项是", "正确选项：", "正确选项为",
            "正确选项应该是", "正确选项应该为"]
    positions = [(text.find(c), c) for c in cues if c in text]
    span = text
    if positions:
        # the leftmost cue; among cues at one position the regex's alternation takes the first that matches
        start = min(p for p, _ in positions)
        head = "答案" if text.startswith("答案", start) else "正确选项"
        rest = text[start + len(head):]
        for verb in ("是", "：", "为", "应该是", "应该为"):
            if rest.startswith(verb):
                rest = rest[len(verb):]
                break
        end = min([i for i in (rest.find("。"), rest.find(".")) if i >= 0], default=len(rest))
        span = rest[:end]
    letters = "".join(ch for ch in span if ch in "ABCDEFG")
    return letters if multi else letters[:1]


@pytest.mark.parametrize("text,multi,expected", [
    ("B", False, "B"), ("答案是C。", False, "C"), ("答案：AB。因为A和D", True, "AB"), ("正确选项为 E", False, "E"),
    ("我认为A和D都不对，答案应该是B", False, "B"), ("我不知道", False, ""), ("", True, ""), ("Ａ", False, ""),
    ("答案是。A", False, ""), ("ABCD", False, "A"), ("DBA", True, "DBA"), ("答案是 a", False, ""),
    ("答案为H", False, ""), ("The answer is B.", False, "B"), ("答案：\nC\n", True, "C"), ("答案是E.B", True, "E"),
])
def test_cmb_extraction_cases(text, multi, expected):
    assert extract(text, multi) == expected == cmb_rule(text, multi)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ABCDEFGHabＡ答案是为：:正确选项应该。. \n好的")), max_size=30), st.booleans())
def test_cmb_extraction_equals_the_restated_rule(text, multi):
    assert extract(text, multi) == cmb_rule(text, multi)


def _row(subject, group, correct, **extra):
    return {"subject": subject, "group": group, "correct": correct, "reason": None, **extra}


def test_accuracy_micro_subject_macro_and_cmb_exam_type_macro():
    rows = [_row("a", "medical", True), _row("a", "medical", False), _row("a", "medical", False),
            _row("b", "general", True)]
    m = benchmark_metrics(rows, "cmmlu")
    assert m["accuracy"] == pytest.approx(50.0) and m["subject_macro"] == pytest.approx((100 / 3 + 100) / 2)
    assert m["groups"] == {"general": {"correct": 1, "n": 1}, "medical": {"correct": 1, "n": 3}}
    cmb = [_row("x", "medical", True, exam_type="医师考试", exam_class="临床"),
           _row("x", "medical", False, exam_type="医师考试", exam_class="临床"),
           _row("x", "medical", True, exam_type="医师考试", exam_class="中医"),
           _row("x", "medical", False, exam_type="护理考试", exam_class="护士")]
    m = benchmark_metrics(cmb, "cmb")
    assert m["per_exam_type"]["医师考试"]["accuracy"] == pytest.approx(75.0)  # mean of 50 and 100, not 2/3
    assert m["exam_type_macro"] == pytest.approx(37.5)
    groups = group_accuracy({"cmmlu": benchmark_metrics(rows, "cmmlu"), "cmb": m})
    assert groups == {"medical": pytest.approx(100 * 3 / 7), "general": pytest.approx(100.0)}
    assert retention(50.0, 80.0) == pytest.approx(62.5) and retention(50.0, 0.0) is None


def _item(i=0, **over):
    item = {"id": f"s/{i}", "benchmark": "cmmlu", "subject": "s", "subject_zh": "科目", "group": "medical",
            "question": "问题？", "options": {"A": "一", "B": "二", "C": "三", "D": "四"}, "answer": "B", "multi": False}
    return {**item, **over}


@pytest.mark.parametrize("bad,message", [
    ({"answer": "E"}, "not letters among the item's options"), ({"answer": "Ｂ"}, "not letters"),
    ({"options": {"A": "一", "B": ""}}, "non-empty strings"), ({"options": {"A": "一", "C": "三"}}, "in order"),
    ({"group": "other"}, "`group` must be one of"), ({"answer": "AB"}, "`multi` must be true"),
    ({"question": ""}, "`question` must be a non-empty string"), ({"options": ["一", "二"]}, "`options` must map"),
])
def test_bad_prepared_items_name_file_and_line(tmp_path, bad, message):
    path = tmp_path / "cmmlu_test.jsonl"
    path.write_text(json.dumps(_item()) + "\n" + json.dumps(_item(1, **bad), ensure_ascii=False) + "\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{path}:2: ") + ".*" + re.escape(message)):
        load_items(path)


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "cmmlu_test.jsonl"
    path.write_text(json.dumps(_item()) + "\n" + json.dumps(_item()) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="duplicate id 's/0' \\(first on line 1\\)"):
        load_items(path)


def test_shots_are_the_subjects_first_k_then_the_pool():
    pool = [_item(i, subject="t") for i in range(3)] + [_item(i + 3) for i in range(7)]
    assert [s["id"] for s in shots_for(_item(), pool, 5)] == [f"s/{i}" for i in range(3, 8)]
    assert [s["id"] for s in shots_for(_item(subject="u"), pool, 2)] == ["s/0", "s/1"]
    assert shots_for(_item(), pool, 0) == []


def test_multiple_answer_items_are_generated_whatever_the_style():
    multi = _item(answer="BD", multi=True, benchmark="cmb", exam_type="医师考试", exam_class="临床",
                  options={"A": "一", "B": "二二", "C": "三三", "D": "四四"})
    # CMB's workers/base.py query: header, question, the options longer than one character, no answer cue
    official = ("以下是中国医师考试中临床考试的一道多项选择题，不需要做任何分析和解释，直接输出答案选项。\n问题？\n"
                "B. 二二\nC. 三三\nD. 四四")
    for style in ("harness", "official", "generate", "cloze"):
        req = request(multi, [], style)
        assert req.choices is None and req.context == official
    shot = request(multi, [multi], "generate").context
    assert shot == official + "\n答案是BD。\n\n" + official
    single = request(_item(), [_item(1)], "harness")
    assert single.choices == (" A", " B", " C", " D") and single.context.count("答案： B\n\n") == 1


def test_cloze_scores_the_option_texts_after_the_bare_question():
    item = _item(options={"A": "嬴政", "B": "刘邦", "C": "杨坚", "D": "李渊"}, answer="B")
    req = request(item, [_item(1, options={"A": "一", "B": "二", "C": "三", "D": "四"}, answer="C")], "cloze")
    # lm-eval's cloze tasks: the choice texts continue the context after its target delimiter
    assert req.choices == (" 嬴政", " 刘邦", " 杨坚", " 李渊") and req.letters == ("A", "B", "C", "D")
    question = item["question"].strip()
    assert req.context == f"{_item(1)['question'].strip()}\n答案： 三\n\n{question}\n答案："
    assert "A." not in req.context and "以下是" not in req.context  # no options, no letter-answer header


def test_a_cloze_shot_with_several_answers_lists_their_texts():
    # CMB / CMExam dev pools hold multiple-answer items, and any of them can be a shot
    shot = _item(1, options={"A": "心脏", "B": "肺", "C": "胃", "D": "肝"}, answer="DB", multi=True)
    req = request(_item(), [shot], "cloze")
    assert req.context.startswith(f"{shot['question']}\n答案： 肝、肺\n\n")


def test_cloze_picks_the_option_the_model_finds_likeliest(tiny_model):
    """Scored end to end: the choice is the option whose text has the highest summed log-probability after the
    context, computed here independently (one forward pass per option, no batching, no padding)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from eval.mcq.loglik import LoglikScorer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    items = [_item(i, options={"A": "心脏病", "B": "肺", "C": "维生素C缺乏", "D": "一"}) for i in range(4)]
    reqs = [request(it, [], "cloze") for it in items]
    scored = LoglikScorer(model, tokenizer, "cpu", 3).score([(r.context, r.choices) for r in reqs])
    for req, got in zip(reqs, scored, strict=True):
        expected = []
        for choice in req.choices:
            ctx = tokenizer(req.context, add_special_tokens=False)["input_ids"]
            whole = tokenizer(req.context + choice, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logp = model(torch.tensor([whole])).logits[0].log_softmax(-1)
            expected.append(sum(logp[i - 1, whole[i]].item() for i in range(len(ctx), len(whole))))
        assert got.logliks == pytest.approx(tuple(expected), abs=1e-4)
        assert got.choice == expected.index(max(expected))


def test_the_cache_resumes_after_a_torn_write_and_scores_only_what_is_left(tmp_path, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from eval.mcq.run import McqSettings, Models, requests_for, score_rows

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    loads = []

    def load():
        loads.append(1)
        return AutoModelForCausalLM.from_pretrained(tiny_model).eval()

    items = [_item(i, question=f"第{i}题？") for i in range(6)]
    settings_ = McqSettings(shots=0)
    reqs = requests_for(items, [], settings_)
    cache = tmp_path / "base" / "cmmlu" / "mcq.jsonl"

    def run():
        models = Models(load, lambda: None, tokenizer, "cpu", 2, lambda text: [])
        return score_rows(items, reqs, cache, "k1", models, settings_, 16, "t")

    first = run()
    lines = cache.read_text(encoding="utf-8").splitlines()
    cache.write_text("\n".join(lines[:3]) + "\n" + lines[3][:20], encoding="utf-8")  # killed mid-line
    again = run()
    assert again == first and len(loads) == 2
    assert len(cache.read_text(encoding="utf-8").splitlines()) == 6
    run()  # everything cached: the model is not loaded again
    assert len(loads) == 2


def test_limit_takes_the_first_n_of_each_subject(tmp_path):
    path = tmp_path / "cmmlu_test.jsonl"
    items = [_item(i, subject="a" if i < 5 else "b", group="medical" if i < 5 else "general") for i in range(8)]
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
    assert [x["id"] for x in load_items(path, 2)] == ["s/0", "s/1", "s/5", "s/6"]
    assert len(load_items(path)) == 8
