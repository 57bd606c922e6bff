"""BERTScore F1 with bert-score, or a skip with its reason when no Chinese BERT can be loaded.

bert-score defines a pair with an empty candidate or reference as 0, but under transformers 5 it
crashes while encoding the empty string. We substitute a placeholder so the batch runs, then set
those pairs to 0 as bert-score itself would, and count them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import hub

PLACEHOLDER = "-"


@dataclass
class BertScoreResult:
    f1: list[float] | None  # per pair (fraction), None when skipped
    skipped: str | None = None  # why no score was computed
    empty_candidates: int = 0
    empty_references: int = 0
    notes: list[str] = field(default_factory=list)


class BertScore:
    """Loads the scorer once (lazily) and scores candidate/reference pairs."""

    def __init__(self, model: str | None, num_layers: int | None = None, batch_size: int = 64,
                 device: str | None = None):
        self.model, self.num_layers, self.batch_size, self.device = model, num_layers, batch_size, device
        self._scorer = None
        self._failure: str | None = None if model else (
            "no --bertscore-model given (BERTScore needs a Chinese BERT such as bert-base-chinese, "
            "a hub id in the local cache or a local directory, with --bertscore-layers)"
        )
        if model and os.path.isdir(model) and num_layers is None:
            raise ValueError(f"--bertscore-model {model} is a local directory: give --bertscore-layers N too "
                             "(bert-score only knows the layer count of hub models it lists)")

    def describe(self) -> str:
        if self._failure:
            return f"skipped: {self._failure}"
        return f"{self.model} (num_layers={self.num_layers or 'bert-score default'})"

    def _load(self):
        if self._scorer is None and self._failure is None and not os.path.isdir(self.model):
            reason = hub.unavailable(self.model)  # asked once, instead of a minute of download retries
            if reason:
                self._failure = f"could not load {self.model}: it {reason}"
        if self._scorer is None and self._failure is None:
            try:
                from bert_score import BERTScorer

                self._scorer = BERTScorer(model_type=self.model, num_layers=self.num_layers, lang="zh",
                                          batch_size=self.batch_size, device=self.device)
            except Exception as exc:  # an unavailable model is a reported skip, not a crash
                self._failure = f"could not load {self.model}: {type(exc).__name__}: {exc}"
        return self._scorer

    def score(self, candidates: list[str], references: list[str]) -> BertScoreResult:
        scorer = self._load()
        if scorer is None:
            return BertScoreResult(None, skipped=self._failure)
        empty_c = [not c.strip() for c in candidates]
        empty_r = [not r.strip() for r in references]
        cands = [PLACEHOLDER if e else c for c, e in zip(candidates, empty_c, strict=True)]
        refs = [PLACEHOLDER if e else r for r, e in zip(references, empty_r, strict=True)]
        _, _, f1 = scorer.score(cands, refs, verbose=len(cands) > 500)
        f1 = [0.0 if ec or er else float(v) for v, ec, er in zip(f1.tolist(), empty_c, empty_r, strict=True)]
        return BertScoreResult(f1, empty_candidates=sum(empty_c), empty_references=sum(empty_r))
