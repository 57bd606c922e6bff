"""The answer in a generated text, by CMB's official rule (its src/utils.py `match_choice` + `extract_ans`):

1. the first `(答案|正确选项)(是|：|为|应该是|应该为)…` up to `。`, `.` or the end (dot matches newlines): the letters
   A–G in what follows the cue;
2. else every letter A–G anywhere in the text;
3. a single-choice item keeps the first letter; a multiple-answer item keeps them all, in order, repeats included
   (the official scorer compares the string with the gold answer exactly).
Nothing found: the item scores 0, counted as `no_answer` — never a random letter (CMMLU's chat cascade does that).
"""

from __future__ import annotations

import re

LETTERS = "ABCDEFG"
_CUE = re.compile(r"(答案|正确选项)(?:是|：|为|应该是|应该为)(.*?)(。|\.|$)", re.S)


def match_choice(text: str) -> str:
    found = _CUE.search(text)
    span = found.group(2) if found else text
    return "".join(ch for ch in span if ch in LETTERS)


def extract(text: str, multi: bool) -> str:
    letters = match_choice(text)
    return letters if multi else letters[:1]
