"""The synthetic sample of the GPT-2 chatbot's corpus (seed 000's `train.txt`), deterministically:
`Gpt2_Chatbot/data/train.txt` (the seed's layout), UTF-8, LF line ends, dialogues separated by one blank
line, one utterance per line, the user's first. Every text is generated from the disease table
(tables.py; no real patient data). Like the seed's examples, most answers are `;`-joined entity lists; some
dialogues have a second turn; and a few blocks carry the quirks data_prep counts as skips (a one-line block,
an empty utterance, an unanswered last turn, an over-long dialogue, exact duplicates).
"""

from __future__ import annotations

import random
from pathlib import Path

from .tables import DISEASES, pick

SEED = 20240602
QA_PATH = Path("Gpt2_Chatbot") / "data" / "train.txt"


QUESTIONS = [  # (question phrasings, answer) per kind; answers are fixed per disease, as a knowledge base's
    (("{name}的辅助检查有些什么?", "{name}需要做哪些检查?", "怀疑{name}要查什么?"), lambda d: ";".join([d[4], "血常规", "体格检查"])),
    (("{name}的治疗方法有些什么?", "{name}怎么治疗?", "得了{name}怎么办?"), lambda d: ";".join([d[5], *d[6].split(","), "定期复查"])),
    (("{name}有哪些症状?", "{name}的常见表现有些什么?", "{name}会有什么不舒服?"), lambda d: ";".join(d[3])),
    (("{name}应该去哪个科室就诊?", "{name}挂什么科?", "{name}看哪个科?"), lambda d: ";".join([d[1], d[2]])),
    (("{s0}和{s1}可能是什么病?", "{s0}伴{s1}是怎么回事?", "又{s0}又{s1}是什么病?"), lambda d: ";".join([d[0], "建议就医明确诊断"])),
]


def follow_up(rng: random.Random, disease: tuple) -> list[str]:
    name, _, _, _, exam, drug, advice = disease
    return pick(rng, [
        [f"{name}需要吃药吗?", f"可以在医生指导下使用{drug};{advice}"],
        [f"{name}做{exam}要注意什么?", "检查前咨询医生;按要求空腹;带好既往病历"],
    ])


def blocks(rng: random.Random) -> list[list[str]]:
    out: list[list[str]] = []
    for i, (disease, (phrasings, answer), phrasing) in enumerate(
            (d, q, p) for d in DISEASES for q in QUESTIONS for p in range(3)):
        question = phrasings[phrasing].format(name=disease[0], s0=disease[3][0], s1=disease[3][1])
        block = [question, answer(disease)]
        if i % 7 == 3:  # multi-turn: becomes LLaMA-Factory history
            block += follow_up(rng, disease)
        if i % 31 == 5:
            block[0] = "  " + block[0] + "\u3000"  # stray and full-width spaces, cleaned
        out.append(block)
    for i in range(6):  # exact duplicates
        out.append(list(out[(i * 23) % len(out)]))
    out += [
        ["高血压的辅助检查有些什么?"],                                   # one_line_block
        ["胃炎的治疗方法有些什么?", "   "],                               # empty_utterance
        ["湿疹有哪些症状?", "皮疹;瘙痒", "湿疹会传染吗?"],                 # unanswered_last_turn
        ["腰椎间盘突出的治疗方法有些什么?", ";".join(["卧床休息", "牵引治疗", "理疗", "针灸推拿",
                                                     "止痛药物", "手术治疗"] * 12)],  # over_long
    ]
    rng.shuffle(out)
    return out


def render(dialogues: list[list[str]], newline: str = "\n") -> str:
    """One utterance per line, one blank line between dialogues, a final line end."""
    return (newline * 2).join(newline.join(d) for d in dialogues) + newline


def write(out: Path) -> Path:
    path = out / QA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(blocks(random.Random(SEED))).encode("utf-8"))
    return path
