"""The bundled synthetic general-domain SFT samples, in the three published shapes data_prep reads (--general):

    general/alpaca_gpt4_data_zh.json   alpaca: a JSON array of {instruction, input, output}
    general/sharegpt_zh.json          ShareGPT: a JSON array of {"conversations": [{"from", "value"}, ...]}
    general/firefly_zh.jsonl          firefly: one {kind, input, target} per line

The knowledge is the general half of the multiple-choice samples (data_prep/synthetic/mcq.py: a dynasty's
founder, the year of an event, sums), asked as questions, as multi-turn chats and as exam items with a letter
answer, so a tiny model can learn it and the mixing sweep can watch it being kept or forgotten. The exam items
are drawn with their own seed: the same facts with other distractors and option orders, not the test items.
`corpus()` is the same knowledge as plain text, the tiny general base's pre-training corpus (launch/tiny/general_base.py).
Published quirks the readers must count, never drop silently: a ShareGPT chat with a system turn, one that ends
on the human, an empty turn; a firefly line without a target; an exact duplicate in each file.

    python -m data_prep.synthetic.general [--out data_prep/samples]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from ..discover import SAMPLES_DIR
from .mcq import EVENT_YEAR, FOUNDER, LETTERS, fact_item, sum_item

SEED = 20240701
FOLDER = "general"
ALPACA_FILE, SHAREGPT_FILE, FIREFLY_FILE = "alpaca_gpt4_data_zh.json", "sharegpt_zh.json", "firefly_zh.jsonl"
SUBJECTS = {"chinese_history": "中国历史", "high_school_mathematics": "高中数学"}
HEADER = "以下是关于{subject}的单项选择题，请直接给出正确答案的选项。"


def exam_item(rng: random.Random) -> tuple[str, str, str]:
    """(subject header, question with options, answer letter): a general exam item."""
    subject = rng.choice(list(SUBJECTS))
    if subject == "high_school_mathematics":
        q, opts, k, _, _ = sum_item(rng, blank=False)
    else:
        q, opts, k, _, _ = fact_item(rng, rng.choice((FOUNDER, EVENT_YEAR)), 4, blank=rng.random() < 0.5)
    body = q + "".join(f"\n{letter}. {text}" for letter, text in zip(LETTERS, opts, strict=False))
    return HEADER.format(subject=SUBJECTS[subject]), body, LETTERS[k]


def fact_qa(rng: random.Random) -> tuple[str, str]:
    """A plain question and its one-sentence answer."""
    pick = rng.random()
    if pick < 0.2:  # the fact tables are small (15 facts): mostly sums, so dedup leaves a pool of useful size
        x, y = rng.choice(FOUNDER[2])
        return f"{x}的建立者是谁？", f"{x}的建立者是{y}。"
    if pick < 0.4:
        x, y = rng.choice(EVENT_YEAR[2])
        return f"{x}是哪一年？", f"{x}是在{y}年。"
    a, b = rng.randint(2, 49), rng.randint(2, 49)
    return f"计算{a}+{b}的值。", f"{a}+{b}={a + b}。"


def alpaca(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 3 == 0:
            header, body, letter = exam_item(rng)
            out.append({"instruction": header, "input": body, "output": f"答案：{letter}"})
        else:
            q, a = fact_qa(rng)
            out.append({"instruction": q, "input": "", "output": a})
    out.append(dict(out[1]))  # an exact duplicate, as scraped sets have
    return out


def sharegpt(rng: random.Random, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        turns = []
        for _ in range(rng.randint(1, 3)):
            q, a = fact_qa(rng)
            turns += [{"from": "human", "value": q}, {"from": "gpt", "value": a}]
        out.append({"conversations": turns})
    out.append(dict(out[0]))  # duplicate
    out.append({"conversations": [{"from": "system", "value": "你是一个乐于助人的助手。"}, *out[2]["conversations"]]})
    out.append({"conversations": out[3]["conversations"][:-1]})  # ends on the human: nothing to learn from
    out.append({"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "   "}]})  # empty turn
    return out


def firefly(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 2 == 0:
            header, body, letter = exam_item(rng)
            out.append({"kind": "MCQ", "input": f"{header}\n{body}", "target": f"答案：{letter}"})
        else:
            q, a = fact_qa(rng)
            out.append({"kind": "Math" if q.startswith("计算") else "History", "input": q, "target": a})
    out.append(dict(out[0]))  # duplicate
    out.append({"kind": "History", "input": "明朝的建立者是谁？"})  # no target
    return out


def corpus(n: int, seed: int = SEED + 3, exam_share: float = 0.75) -> list[str]:
    """The tiny general base's pre-training texts: exam items with their answers (the 答案： cue of the eval
    prompts, letter after a space) and the facts as sentences. Its own seed: not the samples' nor the tests' items."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        if rng.random() < exam_share:
            header, body, letter = exam_item(rng)
            texts.append(f"{header}\n\n{body}\n答案： {letter}")
        else:
            q, a = fact_qa(rng)
            texts.append(f"{q}{a}")
    return texts


def write(out: Path = SAMPLES_DIR) -> list[Path]:
    """Write the three general samples under `out`/general; return the files written."""
    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        ALPACA_FILE: json.dumps(alpaca(random.Random(SEED), 450), ensure_ascii=False, indent=2) + "\n",
        SHAREGPT_FILE: json.dumps(sharegpt(random.Random(SEED + 1), 250), ensure_ascii=False, indent=2) + "\n",
        FIREFLY_FILE: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in firefly(random.Random(SEED + 2), 400)),
    }
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    return [folder / name for name in files]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data_prep.synthetic.general",
                                 description="Write the bundled synthetic general-domain SFT samples.")
    ap.add_argument("--out", type=Path, default=SAMPLES_DIR, help="default: data_prep/samples")
    args = ap.parse_args(argv)
    files = write(args.out)
    print(f"wrote {len(files)} files ({sum(p.stat().st_size for p in files)} bytes) under {args.out / FOLDER}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
