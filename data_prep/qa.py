"""qa: seed 000's GPT-2 chatbot corpus (`train.txt`): dialogues separated by a blank line, one utterance
per line, the first line the user's, speakers alternating.

Blocks are cut exactly as the seed's preprocess.py does: on "\\r\\n\\r\\n" when the file contains "\\r\\n",
else on "\\n\\n"; lines on "\\r\\n" when the block contains one, else on "\\n". The file is read without
newline translation so that rule sees the bytes. (The seed opens the file in text mode, which already
turns CRLF into LF; for a file with one line-ending style both give the same blocks.) A block becomes an
alpaca record: the last (question, answer) pair is instruction/output, earlier pairs are LLaMA-Factory
`history`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from . import holdout
from .discover import RawDir, first_file
from .errors import PrepError
from .quality import cap, clean, convert, dedup, drop_leaked
from .tally import SplitResult, Tally
from .taskspec import PrepTask, shown

# The seed's GPT-2 sees [CLS] u1 [SEP] u2 [SEP] ... and truncates at max_len 300 tokens (n_ctx). A BERT
# Chinese vocab has one token per CJK character, so characters + separators stand in for tokens here.
DEFAULT_MAX_LEN = 300
FILES = ("train.txt", "medical_train.txt")  # seed 000: Gpt2_Chatbot/data/train.txt


def split_blocks(text: str) -> list[str]:
    """The seed's dialogue split, verbatim."""
    return text.split("\r\n\r\n") if "\r\n" in text else text.split("\n\n")


def split_utterances(block: str) -> list[str]:
    """The seed's utterance split, verbatim."""
    return block.split("\r\n") if "\r\n" in block else block.split("\n")


def seed_length(utterances: list[str]) -> int:
    """Length of the seed's model input [CLS] u1 [SEP] u2 [SEP] ... (characters for tokens)."""
    return 1 + sum(len(u) + 1 for u in utterances)


def to_sft(block: str, max_len: int = DEFAULT_MAX_LEN) -> dict | str:
    """One dialogue block -> alpaca record with `history`, or a skip reason."""
    if not block.strip():
        return "empty_block"
    utterances = split_utterances(block)
    if any("\r" in u or "\n" in u for u in utterances):
        return "mixed_line_endings"  # a bare LF inside a CRLF block (or a stray CR): lines would run together
    utterances = [clean(u) for u in utterances]
    if len(utterances) == 1:
        return "one_line_block"
    if any(not u for u in utterances):
        return "empty_utterance"
    if len(utterances) % 2:
        return "unanswered_last_turn"
    if max_len and seed_length(utterances) > max_len:
        return "over_long"
    pairs = [utterances[i:i + 2] for i in range(0, len(utterances), 2)]
    return {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1], "history": pairs[:-1]}


def read_blocks(path: Path, info: dict) -> Iterator[tuple[str, str]]:
    """(record id, block) for every dialogue block of the file; the id names the block's first line."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise PrepError(path, "whole file", "UTF-8 text (the seed's train.txt)",
                        found=f"undecodable bytes at byte {exc.start}") from exc
    # File-final line ends are not an empty last utterance (the seed would keep one; nobody means it).
    text = text.rstrip("\r\n")
    if not text.strip():
        raise PrepError(path, "whole file", "dialogues separated by blank lines", found="an empty file")
    newline = "\r\n" if "\r\n" in text else "\n"
    sep = newline * 2
    info["line_endings"] = "CRLF" if newline == "\r\n" else "LF"
    line = 1
    for index, block in enumerate(split_blocks(text)):
        yield f"block {index + 1} (line {line})", block
        line += block.count(newline) + sep.count(newline)


def prepare(path: Path, limit: int, test_size: int, seed: int, max_len: int = DEFAULT_MAX_LEN) -> SplitResult:
    """Read, convert (counted skips), dedup, shuffle (seeded), hold out `test_size`, cap train at `limit`.
    As for dialog, skips before the split are counted under train."""
    if not path.is_file():
        raise PrepError(path, "whole file", "the seed's train.txt", found="no such file")
    train_tally, test_tally = Tally(), Tally()
    info: dict = {}
    records, ids = convert(read_blocks(path, info), lambda block: to_sft(block, max_len), train_tally)
    read = train_tally.read
    records, ids = dedup(records, ids, train_tally)
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_test = holdout.test_count(len(order), test_size)
    test = [records[i] for i in order[len(order) - n_test:]]
    train_idx = order[:len(order) - n_test]
    train, train_ids = drop_leaked([records[i] for i in train_idx], [ids[i] for i in train_idx], test, train_tally)
    train, train_ids = cap(train, train_ids, limit, train_tally)
    test_tally.read = n_test
    train_tally.read = read - n_test
    cut = holdout.note("qa", len(order), test_size, "--qa-test-size")
    return SplitResult(train, test, train_tally, test_tally, info, [cut] if cut else [])


def find(raw: RawDir, notes: list[str]) -> Path | None:
    return first_file(raw, "qa", FILES, notes)


def add_arguments(sources, sizes) -> None:
    sources.add_argument("--qa", type=Path, help="seed 000's chatbot train.txt (dialogues split by a blank line)")
    sizes.add_argument("--qa-limit", type=int, default=0, help="qa train dialogues (default all, as the seed)")
    sizes.add_argument("--qa-test-size", type=int, default=100, help="qa test dialogues held out (100)")
    sizes.add_argument("--qa-max-len", type=int, default=DEFAULT_MAX_LEN,
                       help="skip dialogues longer than this ([CLS]u1[SEP]u2[SEP]... in characters; the "
                       f"seed's n_ctx {DEFAULT_MAX_LEN}; 0 = keep all)")


TASK = PrepTask("qa", find, add_arguments,
                prepare=lambda src, a: prepare(src, a.qa_limit, a.qa_test_size, a.seed, a.qa_max_len),
                source_info=lambda src, r: {"path": shown(src), **r.info})
