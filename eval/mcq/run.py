"""One checkpoint on one multiple-choice benchmark: requests -> cached rows -> scored rows.

The cache (`mcq.jsonl` beside the generative tasks' predictions.jsonl) keeps one line per item, appended as
each batch finishes, keyed by the model fingerprint and the scoring settings; a rerun scores only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..predictions import cache_key, cached_rows
from .extract import extract
from .items import shots_for
from .loglik import LoglikScorer
from .prompts import DEFAULT_STYLE, Request, request


@dataclass(frozen=True)
class McqSettings:
    style: str = DEFAULT_STYLE
    shots: int = 5
    chat: bool = False  # render each context through the checkpoint's chat template (lm-eval apply_chat_template)

    def describe(self) -> str:
        return f"{self.style}, {self.shots}-shot{', chat template' if self.chat else ', raw text'}"


def requests_for(items: list[dict], pool: list[dict], settings: McqSettings) -> list[Request]:
    return [request(item, shots_for(item, pool, settings.shots), settings.style) for item in items]


def _hash(req: Request) -> str:
    return cache_key({"context": req.context, "choices": req.choices})


def _row(item: dict, index: int, pred: str, reason: str | None, extra: dict) -> dict:
    row = {"index": index, "id": item["id"], "subject": item["subject"], "group": item["group"],
           "answer": item["answer"], "pred": pred, "correct": pred == item["answer"], "reason": reason, **extra}
    for key in ("exam_type", "exam_class"):
        if key in item:
            row[key] = item[key]
    return row


class Models:
    """What scoring needs from a checkpoint, loaded on first use: the weights (likelihood) and the
    generator (multiple-answer items, `generate` style); `render` turns a context into the text the model
    reads (raw, or through its chat template)."""

    def __init__(self, load_model: Callable[[], object], get_generator: Callable[[], object], tokenizer,
                 device: str, batch_size: int, render: Callable[[str], list[int]]):
        self.load_model, self.get_generator, self.tokenizer = load_model, get_generator, tokenizer
        self.device, self.batch_size, self.render = device, batch_size, render
        self._scorers: dict[bool, LoglikScorer] = {}
        self._model = None

    def scorer(self, separate: bool) -> LoglikScorer:
        if separate not in self._scorers:
            if self._model is None:
                self._model = self.load_model()
            self._scorers[separate] = LoglikScorer(self._model, self.tokenizer, self.device, self.batch_size, separate)
        return self._scorers[separate]

    def close(self) -> None:
        self._model, self._scorers = None, {}


def score_rows(items: list[dict], reqs: list[Request], cache: Path, key: str, models: Models, settings: McqSettings,
               max_new_tokens: int, desc: str) -> list[dict]:
    """Scored rows for every item, computing only those not in the cache under `key`."""
    rows = cached_rows(cache, key, [_hash(r) for r in reqs],
                       lambda chunk: _compute([reqs[i] for i in chunk], models, settings, max_new_tokens),
                       models.batch_size, desc=desc, unit="item", what="the multiple-choice cache")
    return [_scored(item, i, rows[i]) for i, item in enumerate(items)]


def _context(req: Request, models: Models, settings: McqSettings) -> str:
    if not settings.chat:
        return req.context
    return models.tokenizer.decode(models.render(req.context), skip_special_tokens=False)


def _compute(reqs: list[Request], models: Models, settings: McqSettings, max_new_tokens: int) -> list[dict]:
    """{logliks, greedy} for likelihood requests, {generated} for the others, in order."""
    out: list[dict | None] = [None] * len(reqs)
    ranked = [i for i, r in enumerate(reqs) if r.choices is not None]
    if ranked:
        # chat: the assistant turn is open, so the letter (cloze: the option text) follows it directly, no delimiter
        choices = {i: tuple(c.strip() for c in reqs[i].choices) if settings.chat else reqs[i].choices for i in ranked}
        scored = models.scorer(settings.style == "official").score(
            [(_context(reqs[i], models, settings), choices[i]) for i in ranked])
        for i, s in zip(ranked, scored, strict=True):
            out[i] = {"logliks": list(s.logliks), "greedy": list(s.greedy)}
    generated = [i for i, r in enumerate(reqs) if r.choices is None]
    if generated:
        prompts = [models.render(reqs[i].context) if settings.chat
                   else models.tokenizer(reqs[i].context, add_special_tokens=False)["input_ids"] for i in generated]
        for i, g in zip(generated, models.get_generator().generate(prompts, max_new_tokens), strict=True):
            out[i] = {"generated": g.text}
    return out


def _scored(item: dict, index: int, row: dict) -> dict:
    letters = list(item["options"])
    if "logliks" in row:
        lls = row["logliks"]
        pred = letters[lls.index(max(lls))]
        return _row(item, index, pred, None, {"logliks": lls})
    pred = extract(row["generated"], bool(item.get("multi")))
    return _row(item, index, pred, None if pred else "no_answer", {"generated": row["generated"]})
