"""Quality passes shared by every dataset: cleaning, the record screen, exact dedup, train/test leakage, caps.
Token statistics are data_prep/tokens.py's."""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterable
from typing import Any

from .tally import Tally

# A record longer than this (instruction + input + output + history, in characters) is skipped as
# too_long: far beyond any sensible cutoff_len, and one 50 MB field would cost GBs to tokenize.
MAX_RECORD_CHARS = 16_384


def clean(text: str) -> str:
    """Strip leading/trailing whitespace, full-width U+3000 included (str.strip covers it)."""
    return text.strip()


class Screen:
    """Checks every SFT record gets before it is kept, whatever dataset it came from; a skip reason or None.

    - control_token: text holding an added/special token of the tokenizer in use (`<|im_end|>`,
      `<|endoftext|>` ...). The tokenizer would turn it into a control id, so a data row could end a
      turn and inject a system turn of its own; the record is skipped, never rewritten.
    - nul_character: a NUL byte is file damage, not text (CSV cells, JSON "\\u0000").
    - invalid_unicode: a lone surrogate (JSON "\\ud800") cannot be written as UTF-8.
    - too_long: more than `max_chars` characters in all (0 = no cap).
    """

    def __init__(self, control_tokens: Iterable[str] = (), max_chars: int = MAX_RECORD_CHARS):
        alternatives = [re.escape(t) for t in sorted(set(control_tokens), key=len, reverse=True) if t]
        self.pattern = re.compile("|".join(alternatives + ["[\x00\ud800-\udfff]"]))
        self.max_chars = max_chars

    def texts(self, rec: dict) -> list[str]:
        texts = [v for k in ("instruction", "input", "output") if isinstance(v := rec.get(k), str)]
        for turn in rec.get("history") or ():
            texts += [t for t in turn if isinstance(t, str)]
        return texts

    def __call__(self, rec: dict) -> str | None:
        texts = self.texts(rec)
        if self.max_chars and sum(map(len, texts)) > self.max_chars:
            return "too_long"
        for text in texts:
            found = self.pattern.search(text)
            if found:
                ch = found.group()
                return "nul_character" if ch == "\x00" else "invalid_unicode" if len(ch) == 1 else "control_token"
        return None


# The screen in force: data_prep's run sets one built from the tokenizer in use (see `screening`);
# every reader's `convert` applies it, so a new dataset module gets the same checks for free.
SCREEN: contextvars.ContextVar[Screen | None] = contextvars.ContextVar("SCREEN", default=None)
DEFAULT_SCREEN = Screen()  # no tokenizer: NUL, surrogates and length only (direct callers, tests)


@contextlib.contextmanager
def screening(screen: Screen):
    token = SCREEN.set(screen)
    try:
        yield screen
    finally:
        SCREEN.reset(token)


def convert(rows: Iterable[tuple[str, Any]], to_sft: Callable[[Any], dict | str],
            tally: Tally) -> tuple[list[dict], list[str]]:
    """Every (record id, raw record) through `to_sft` and the screen, counting it as read; a returned
    string is a skip reason, counted with the record id. Returns the records kept and their ids."""
    records, ids = [], []
    screen = SCREEN.get() or DEFAULT_SCREEN
    for rid, raw in rows:
        tally.read += 1
        rec = to_sft(raw)
        if not isinstance(rec, str):
            rec = screen(rec) or rec
        if isinstance(rec, str):
            tally.skip(rec, rid)
            continue
        records.append(rec)
        ids.append(rid)
    return records, ids


def dedup(records: list[dict], ids: list[str], tally: Tally) -> tuple[list[dict], list[str]]:
    """Drop exact duplicates (same instruction, input, output and earlier turns), keeping the first occurrence."""
    seen: set[tuple] = set()
    kept, kept_ids = [], []
    for rec, rid in zip(records, ids, strict=True):
        key = (rec["instruction"], rec.get("input", ""), rec["output"], tuple(map(tuple, rec.get("history") or ())))
        if key in seen:
            tally.skip("duplicate", rid)
            continue
        seen.add(key)
        kept.append(rec)
        kept_ids.append(rid)
    return kept, kept_ids


def drop_leaked(train: list[dict], train_ids: list[str], test: list[dict], tally: Tally):
    """A train record whose prompt is also a test prompt would leak the test answer: drop it from train."""
    test_prompts = {(r["instruction"], r["input"]) for r in test}
    kept, kept_ids = [], []
    for rec, rid in zip(train, train_ids, strict=True):
        if (rec["instruction"], rec["input"]) in test_prompts:
            tally.skip("leaked_into_test", rid)
            continue
        kept.append(rec)
        kept_ids.append(rid)
    return kept, kept_ids


def cap(records: list[dict], ids: list[str], limit: int, tally: Tally):
    """Keep the first `limit` records (0 = all); the rest are counted as over_limit."""
    if limit and len(records) > limit:
        tally.skip("over_limit", n=len(records) - limit)
        return records[:limit], ids[:limit]
    return records, ids
