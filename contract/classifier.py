"""The triage classifier's input and decision rule, shared by its trainer (launch.triage_bert, which also
checks the trained model on the test set) and its scorer (eval.classifier): a text is encoded with truncation
at the run's max_len, and a label is predicted when its sigmoid probability is over the threshold (the BERT
triage classifier seed's 0.5). The trainer records max_len and threshold in the run's launch_config.yaml;
eval reads them back from there."""

from __future__ import annotations

THRESHOLD = 0.5  # the seed's


def encode(tokenizer, text: str, max_len: int) -> list[int]:
    return tokenizer(text, truncation=True, max_length=max_len)["input_ids"]


def label_sets(model, probabilities, threshold: float = THRESHOLD) -> list[list[str]]:
    """Labels over the threshold per row, in the model's label order (its config's id2label)."""
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return [[names[j] for j, p in enumerate(row) if p > threshold] for row in probabilities.tolist()]


def predict(model, tokenizer, batch: list[list[int]], threshold: float = THRESHOLD) -> list[list[str]]:
    """The label set of each encoded text in `batch` (right-padded to one width, masked)."""
    import torch

    pad = tokenizer.pad_token_id or 0
    width = max(len(ids) for ids in batch)
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch], device=model.device)
    attention_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch], device=model.device)
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    return label_sets(model, torch.sigmoid(logits), threshold)
