"""The BERT triage classifier as an eval backend: sigmoid over the logits, every label above the threshold
(contract.classifier: the rule its trainer uses too). It answers like a generative checkpoint (the label set
as text), so caching, scoring and the report treat both routes alike."""

from __future__ import annotations

import gc

from contract.classifier import THRESHOLD, encode, predict
from contract.datasets import LABEL_SEP

from .checkpoints import Checkpoint
from .generated import Generated

__all__ = ["THRESHOLD", "ClassifierGenerator", "encode", "load_model", "load_tokenizer", "predict", "settings"]


def load_tokenizer(ckpt: Checkpoint):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ckpt.path)


def settings(ckpt: Checkpoint, tokenizer) -> tuple[int, float]:
    """(max_len, threshold) the classifier was trained with, from its run's saved launch config."""
    record = ckpt.launch_config or {}
    return int(record.get("max_len") or tokenizer.model_max_length), float(record.get("threshold", THRESHOLD))


def load_model(ckpt: Checkpoint, device: str):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(ckpt.path).to(device).eval()


class ClassifierGenerator:
    """The generator interface of eval's generators for a classifier: the 'answer' is the label set."""

    name = "classifier"

    def __init__(self, model, tokenizer, threshold: float = THRESHOLD):
        self.model, self.tokenizer, self.threshold = model, tokenizer, threshold

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        return [Generated(LABEL_SEP.join(labels), "stop", len(labels))
                for labels in predict(self.model, self.tokenizer, batch, self.threshold)]

    def close(self) -> None:
        del self.model
        gc.collect()
