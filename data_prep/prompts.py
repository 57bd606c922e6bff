"""Every prompt the SFT data uses, in one place (eval reads prompts from the test jsonl, never rebuilds them).

The dialog format and the norm prompt are the seed recipe's, verbatim. The mrg prompt is the seed's,
extended with the patient's self_report (the official task input is self_report + dialogue).
"""

from __future__ import annotations

from contract.datasets import LABEL_SEP, REPORT_FIELDS

DIALOG_TEMPLATE = "主题:{title}\n内容:{ask}"

NORM_PROMPT = (
    "你是一个医疗专家,你的任务是临床术语标准化。\n"
    "具体来说,针对给出的通用语,转换为相应的标准化医学术语,确保转换后的内容符合医学专业标准,"
    "直接输出转换后的临床标准术语。\n"
    "原始词:{word}\n"
    "该词的标准术语为:"
)

MRG_SELF_REPORT = "患者自述:\n{self_report}\n"
MRG_PROMPT = (
    "{self_report_block}"
    "问诊对话历史:\n"
    "{dialog}\n"
    "根据上述对话,给出诊疗报告\n"
    f"说明:诊疗报告分为{', '.join(REPORT_FIELDS)}这六个章节,以标准的json格式输出。\n"
    "答:"
)


def dialog_instruction(title: str, ask: str) -> str:
    return DIALOG_TEMPLATE.format(title=title, ask=ask)


def norm_instruction(word: str) -> str:
    return NORM_PROMPT.format(word=word)


def mrg_instruction(self_report: str, dialog_lines: list[str]) -> str:
    block = MRG_SELF_REPORT.format(self_report=self_report) if self_report else ""
    return MRG_PROMPT.format(self_report_block=block, dialog="\n".join(dialog_lines))


# triage: the answer is the label set, in label2idx order, joined by LABEL_SEP (labels never contain it).
TRIAGE_PROMPT = (
    "你是一名医院分诊护士,请根据患者的问题判断应就诊的科室。\n"
    "可选科室:{labels}\n"
    "可以选择一个或多个科室,多个科室用" + LABEL_SEP + "分隔,只输出科室名称。\n"
    "患者问题:{question}\n"
    "科室:"
)


def triage_instruction(question: str, labels: str) -> str:
    return TRIAGE_PROMPT.format(labels=labels, question=question)
