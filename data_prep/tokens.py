"""Token statistics as LLaMA-Factory will see them: a token counter for the tokenizer in use (chat-template
overhead included), nearest-rank percentiles, a sampled profile for very large splits, and the recommended
cutoff_len."""

from __future__ import annotations

import heapq
import json
import math
import random
from pathlib import Path

from tqdm import tqdm

from contract import models

from .errors import PrepError

# Sorted so the recommended cutoff is a round number LLaMA-Factory users recognise.
CUTOFF_STEP = 128


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
    return models.max_positions(config)


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
