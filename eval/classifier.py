"""Seed 004's multi-label classifier as an eval backend: sigmoid over the logits, every label above the
threshold. It answers like a generative checkpoint (the label set as text), so caching, scoring and the
report treat both routes alike."""

from __future__ import annotations

import gc

from contract.datasets import LABEL_SEP

from .backends import Generated
from .checkpoints import Checkpoint

THRESHOLD = 0.5  # the seed's


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


def encode(tokenizer, text: str, max_len: int) -> list[int]:
    return tokenizer(text, truncation=True, max_length=max_len)["input_ids"]


def label_sets(model, probabilities, threshold: float = THRESHOLD) -> list[list[str]]:
    """Labels over the threshold per row, in the model's label order (its config's id2label)."""
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return [[names[j] for j, p in enumerate(row) if p > threshold] for row in probabilities.tolist()]


def predict(model, tokenizer, batch: list[list[int]], threshold: float = THRESHOLD) -> list[list[str]]:
    import torch

    pad = tokenizer.pad_token_id or 0
    width = max(len(ids) for ids in batch)
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch], device=model.device)
    attention_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch], device=model.device)
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    return label_sets(model, torch.sigmoid(logits), threshold)


class ClassifierGenerator:
    """The generator interface of eval.backends for a classifier: the 'answer' is the label set."""

    name = "classifier"

    def __init__(self, model, tokenizer, threshold: float = THRESHOLD):
        self.model, self.tokenizer, self.threshold = model, tokenizer, threshold

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        return [Generated(LABEL_SEP.join(labels), "stop", len(labels))
                for labels in predict(self.model, self.tokenizer, batch, self.threshold)]

    def close(self) -> None:
        del self.model
        gc.collect()
