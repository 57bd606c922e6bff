"""Prompts for multiple-choice items, in the styles the field scores with (the report names the style).

harness   lm-evaluation-harness 0.4.x (`cmmlu`, `ceval-valid`): a subject header, k shots `question + options +
          "答案：" + " X"`, choices scored as continuations with a leading space (" A").
official  the benchmarks' own code for open models: C-Eval `...答案：`, CMMLU `题目：...答案是：`; the choice is the
          argmax of the next-token logits of the bare letters ("A"), shots end `答案：X\n\n`.
generate  CMB's official query (header, question, options), the answer generated (greedy) and read back by CMB's
          extraction rule; shots answered `答案是X。`; always used for multiple-answer items, which no single-letter
          likelihood can answer.
cloze     the cloze formulation (lm-eval's ARC / HellaSwag kind, OLMES's "CF"): the question alone, `答案：`, and each
          option's text scored as a continuation (lm-eval's leading space), the argmax of the summed log-likelihood
          (lm-eval's `acc`, not length-normalised); shots `question\n答案： text\n\n` (a multiple-answer shot lists
          its answers' texts joined by 、). Not how CMMLU / C-Eval / CMB publish scores: it measures whether a model
          knows the answer where small models cannot yet map it to a letter (they answer the letter formulations
          at chance, as OLMES reports), which is what the tiny demo's mixing sweep needs. An item that only makes
          sense with its options shown (以上都是) is not answerable this way.
"""

from __future__ import annotations

from dataclasses import dataclass

STYLES = ("harness", "official", "generate", "cloze")
DEFAULT_STYLE = "harness"  # lm-eval's, what LLaMA-Factory's maintainers point to
FEWSHOT_DELIMITER = "\n\n"  # lm-eval's default between shots (and after the last one)
TARGET_DELIMITER = " "  # lm-eval's default before a choice
CLOZE_JOIN = "、"  # a cloze shot with several answers lists their texts as Chinese enumerates

# Subject headers. lm-eval: C-Eval drops 考试 from the official sentence; CMMLU's is the official one.
HARNESS_HEADER = {
    "cmmlu": "以下是关于{subject}的单项选择题，请直接给出正确答案的选项。\n\n",
    "ceval": "以下是中国关于{subject}的单项选择题，请选出其中的正确答案。\n\n",
}
OFFICIAL_HEADER = {
    "cmmlu": "以下是关于{subject}的单项选择题，请直接给出正确答案的选项。\n\n",
    "ceval": "以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n",
}
# CMB's official prompt (its question_type names the kind of item); CMExam and MedQA borrow it: neither ships
# an evaluation prompt of its own for open models.
CMB_HEADER = "以下是中国{exam_type}中{exam_class}考试的一道{question_type}，不需要做任何分析和解释，直接输出答案选项。\n"
SINGLE, MULTI = "单项选择题", "多项选择题"
CMB_SHOT_ANSWER = "\n答案是{answer}。\n\n"  # CMB's few-shot answer turn (`答案是X。`), here as plain text
DEFAULT_EXAM = {"cmexam": ("医师资格考试", "医学"), "medqa": ("医师资格考试", "医学")}


@dataclass(frozen=True)
class Request:
    """What one item asks of a model: the context, and either the choices to compare (their continuation
    strings, scored by likelihood) or None (generate and extract)."""

    context: str
    choices: tuple[str, ...] | None
    letters: tuple[str, ...]  # the item's option letters, the order of `choices`


def _options(item: dict) -> str:
    return "".join(f"\n{letter}. {text}" for letter, text in item["options"].items())


def _body(item: dict, official_cmmlu: bool = False) -> str:
    question = item["question"].strip()
    return f"{'题目：' if official_cmmlu else ''}{question}{_options(item)}\n"


def _answer_cue(benchmark: str, style: str) -> str:
    return "答案是：" if style == "official" and benchmark == "cmmlu" else "答案："


def _cmb_header(item: dict) -> str:
    exam_type, exam_class = DEFAULT_EXAM.get(item["benchmark"], ("", ""))
    return CMB_HEADER.format(exam_type=item.get("exam_type", exam_type), exam_class=item.get("exam_class", exam_class),
                             question_type=MULTI if item.get("multi") else SINGLE)


def cmb_query(item: dict) -> str:
    """CMB's official query (workers/base.py): its header, the question, and the options — those longer than one
    character only, as the official code writes them — with no answer cue."""
    options = "\n".join(f"{letter}. {text}" for letter, text in item["options"].items() if len(text) > 1)
    return _cmb_header(item) + f"{item['question']}\n{options}"


def header(item: dict, style: str) -> str:
    headers = HARNESS_HEADER if style == "harness" else OFFICIAL_HEADER
    if item["benchmark"] in headers:
        return headers[item["benchmark"]].format(subject=item.get("subject_zh") or item["subject"])
    return _cmb_header(item)


def doc(item: dict, style: str) -> str:
    """The item as a question: its text, options, and the answer cue (no answer)."""
    official_cmmlu = style == "official" and item["benchmark"] == "cmmlu"
    return _body(item, official_cmmlu) + _answer_cue(item["benchmark"], style)


def cloze_doc(item: dict) -> str:
    """The question without its options, then the answer cue: what the option texts continue."""
    return f"{item['question'].strip()}\n{_answer_cue(item['benchmark'], 'cloze')}"


def cloze_answer(item: dict) -> str:
    """A solved item's answer as text: its option's text, or every answer's text (multiple answers, CMB's `AB`)."""
    return CLOZE_JOIN.join(item["options"][letter] for letter in item["answer"])


def shot(item: dict, style: str) -> str:
    """A solved dev item: lm-eval puts its target delimiter before the answer; the official code does not."""
    sep = TARGET_DELIMITER if style == "harness" else ""
    return doc(item, style) + sep + item["answer"] + FEWSHOT_DELIMITER


def request(item: dict, shots: list[dict], style: str) -> Request:
    """The item's context (header + shots + doc) and its choices. Multiple-answer items are always generated."""
    if style not in STYLES:
        raise ValueError(f"unknown multiple-choice style {style!r}; expected one of {', '.join(STYLES)}")
    letters = tuple(item["options"])
    if style == "generate" or item.get("multi"):
        shots_text = "".join(cmb_query(s) + CMB_SHOT_ANSWER.format(answer=s["answer"]) for s in shots)
        return Request(shots_text + cmb_query(item), None, letters)
    if style == "cloze":
        context = "".join(cloze_doc(s) + TARGET_DELIMITER + cloze_answer(s) + FEWSHOT_DELIMITER
                          for s in shots) + cloze_doc(item)
        return Request(context, tuple(TARGET_DELIMITER + text for text in item["options"].values()), letters)
    context = header(item, style) + "".join(shot(s, style) for s in shots) + doc(item, style)
    prefix = TARGET_DELIMITER if style == "harness" else ""
    return Request(context, tuple(prefix + letter for letter in letters), letters)
