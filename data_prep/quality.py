"""Quality passes shared by every dataset: cleaning, exact dedup, train/test leakage, token statistics."""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import json
import math
import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .errors import PrepError
from .tally import Tally

# Sorted so the recommended cutoff is a round number LLaMA-Factory users recognise.
CUTOFF_STEP = 128
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
    """Drop exact duplicates (same instruction, input and output), keeping the first occurrence."""
    seen: set[tuple[str, str, str]] = set()
    kept, kept_ids = [], []
    for rec, rid in zip(records, ids, strict=True):
        key = (rec["instruction"], rec["input"], rec["output"])
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


class TokenCounter:
    """Token lengths as LLaMA-Factory will see them: chat-template overhead + prompt + response.

    A local model folder with tokenizer.json is read with `tokenizers` directly (loading it through
    transformers costs several seconds of imports per run); anything else (hub ids, slow tokenizers,
    templates we cannot render) goes through transformers' AutoTokenizer.
    """

    def __init__(self, model: str | Path):
        fast = _load_local(Path(model))
        if fast is not None:
            self.backend, template_text = fast
        else:
            self.backend, template_text = _load_transformers(model)
        first, two = template_text if isinstance(template_text, tuple) else (template_text, "")
        self.overhead = self._encode_lengths([first])[0] if first else 0
        # an earlier turn (LF `history`) adds its own role markers, without a second system prompt
        self.turn_overhead = self._encode_lengths([two])[0] - self.overhead if two else 0
        self.control_tokens = added_tokens(self.backend)
        self.max_positions = max_positions(model)

    def _encode_lengths(self, texts: list[str]) -> list[int]:
        if hasattr(self.backend, "encode_batch_fast"):
            # Rust batch encoding without offsets: the fast path for hundreds of thousands of records.
            return [len(e.ids) for e in self.backend.encode_batch_fast(texts, add_special_tokens=False)]
        return [len(ids) for ids in self.backend(texts, add_special_tokens=False)["input_ids"]]

    def lengths(self, records: list[dict], desc: str = "tokens", batch: int = 8192) -> list[int]:
        out: list[int] = []
        for start in tqdm(range(0, len(records), batch), desc=desc, unit="batch", disable=None, leave=False):
            chunk = records[start:start + batch]
            prompts = [r["instruction"] + ("\n" + r["input"] if r["input"] else "") for r in chunk]
            lens = self._encode_lengths(prompts + [r["output"] for r in chunk])
            n = len(chunk)
            out.extend(self.overhead + lens[i] + lens[n + i] for i in range(n))
            turns = [(i, pair) for i, r in enumerate(chunk) for pair in (r.get("history") or [])]
            if turns:
                turn_lens = self._encode_lengths([t for _, pair in turns for t in pair])
                for k, (i, _) in enumerate(turns):
                    out[start + i] += self.turn_overhead + turn_lens[2 * k] + turn_lens[2 * k + 1]
        return out


EMPTY_TURN = [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
TWO_EMPTY_TURNS = EMPTY_TURN + EMPTY_TURN


def added_tokens(backend) -> list[str]:
    """The tokenizer's added tokens (specials such as <|im_end|> and the rest): text it encodes as one id."""
    if hasattr(backend, "get_added_tokens_decoder"):  # tokenizers.Tokenizer
        return sorted(t.content for t in backend.get_added_tokens_decoder().values())
    decoder = getattr(backend, "added_tokens_decoder", {}) or {}  # a slow transformers tokenizer
    return sorted({str(t) for t in decoder.values()} | set(getattr(backend, "all_special_tokens", [])))


def max_positions(model: str | Path) -> int | None:
    """max_position_embeddings from the model's config.json (local folder), or None when unknown."""
    path = Path(model) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None
    value = config.get("max_position_embeddings") if isinstance(config, dict) else None
    if value is None and isinstance(config, dict) and isinstance(config.get("text_config"), dict):
        value = config["text_config"].get("max_position_embeddings")
    return value if isinstance(value, int) and value > 0 else None


def _load_local(folder: Path):
    """(tokenizers.Tokenizer, rendered empty chat turn) for a local folder, or None to use transformers."""
    if not (folder / "tokenizer.json").is_file():
        return None
    template = None
    if (folder / "chat_template.jinja").is_file():
        template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    elif (folder / "tokenizer_config.json").is_file():
        template = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8")).get("chat_template")
    if template is not None and not isinstance(template, str):
        return None  # named templates: let transformers pick
    try:
        from tokenizers import Tokenizer

        backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        return backend, (_render(template, EMPTY_TURN), _render(template, TWO_EMPTY_TURNS)) if template else ""
    except Exception:  # any surprise: the transformers path below is the reference
        return None


def _render(template: str, messages: list[dict]) -> str:
    """Render a chat template the way transformers does (sandboxed jinja, trimmed blocks)."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=False)


def _load_transformers(model: str | Path):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(model), trust_remote_code=False)
    except Exception as exc:  # any load failure means the same thing to the user
        raise PrepError(model, "tokenizer", "a local model folder or hub id with a tokenizer",
                        found=f"{type(exc).__name__}: {exc}".splitlines()[0],
                        hint="pass --model PATH_OR_HUB_ID") from exc
    text = ((tok.apply_chat_template(EMPTY_TURN, tokenize=False), tok.apply_chat_template(TWO_EMPTY_TURNS, tokenize=False))
            if getattr(tok, "chat_template", None) else "")
    return getattr(tok, "backend_tokenizer", None) or tok, text


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile (an actual observed length, so a cutoff at it keeps that record whole)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def token_stats(lengths: list[int]) -> dict[str, int]:
    s = sorted(lengths)
    return {"p50": percentile(s, 50), "p90": percentile(s, 90), "p99": percentile(s, 99), "max": s[-1] if s else 0}


def token_profile(counter: TokenCounter, records: list[dict], sample: int, seed: int, desc: str = "tokens"):
    """(p50/p90/p99/max, number of records tokenized).

    Every record is tokenized when there are at most `sample` of them (or sample == 0). Beyond that
    (e.g. all 792k dialogs), p50/p90/p99 come from a seeded uniform sample of `sample` records and the
    max from that sample plus the longest records by character count, where the token maximum lies.
    """
    if not sample or len(records) <= sample:
        return token_stats(counter.lengths(records, desc=desc)), len(records)
    uniform = random.Random(seed).sample(range(len(records)), sample)
    n_longest = max(1, sample // 25)
    chars = (len(r["instruction"]) + len(r["input"]) + len(r["output"]) for r in records)
    longest = [i for _, i in heapq.nlargest(n_longest, zip(chars, range(len(records)), strict=False))]
    stats = token_stats(counter.lengths([records[i] for i in uniform], desc=desc))
    stats["max"] = max(stats["max"], *counter.lengths([records[i] for i in longest], desc=desc))
    return stats, len(set(uniform) | set(longest))


def recommend_cutoff(stats: list[dict[str, int]], max_positions: int | None = None) -> int:
    """Smallest multiple of CUTOFF_STEP covering the p99 of every dataset (outliers get truncated), and
    never beyond the model's max_position_embeddings when known."""
    p99 = max((s["p99"] for s in stats), default=0)
    cutoff = max(CUTOFF_STEP, math.ceil(p99 / CUTOFF_STEP) * CUTOFF_STEP)
    return min(cutoff, max_positions) if max_positions else cutoff
