"""The BERT triage classifier (seed 004's baseline): BERT + a linear layer + sigmoid, multi-label (BCE),
threshold 0.5, trained on the triage task.

LLaMA-Factory trains causal LMs only, so this thin trainer trains the sequence classifier with transformers
directly (`AutoModelForSequenceClassification`, `problem_type="multi_label_classification"`, whose loss is
the seed's sigmoid + BCE). It reads the seed's own files, as data_prep writes them: data/sft/
triage_cls_{train,test}.jsonl (`{"text", "label": [...]}`) and triage_label2idx.json. max_len is the seed's:
the 90th-percentile train text length (characters, as its preprocess prints it) plus [CLS] and [SEP].
The run folder gets the model, its tokenizer and a launch_config.yaml saying how it was trained
(`task_type: sequence_classification`), so `make eval` finds it and scores it on triage.

    python scripts/train_triage_bert.py                 # bert-base-chinese (hub or cache), the seed's settings
    python scripts/train_triage_bert.py --profile tiny  # a tiny BERT from models/tiny-bert-vocab, CPU, seconds
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from contract.classifier import THRESHOLD, encode, predict
from contract.datasets import TRIAGE_CLS_TEST, TRIAGE_CLS_TRAIN, TRIAGE_LABEL2IDX
from contract.files import write_yaml
from contract.models import TINY_BERT_NAME, TINY_BERT_VOCAB
from contract.paths import LAUNCH_CONFIG, SAVES_DIR, SFT_DIR, repo_relative

BERT_MODEL_ID = "bert-base-chinese"  # the seed's
SAVES = Path(repo_relative(SAVES_DIR))  # relative to the working directory, as `make` runs it from the repo root
# The seed: lr 2e-5, batch 128, epochs 10 (its loop runs range(1, 10)), threshold 0.5, max_len ratio 0.9.
SEED_SETTINGS = {"learning_rate": 2e-5, "batch_size": 128, "epochs": 10}
# A randomly initialised tiny BERT needs a far larger step size and more passes over ~150 questions.
TINY_SETTINGS = {"learning_rate": 2e-3, "batch_size": 16, "epochs": 30}
TINY_SHAPE = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
              "max_position_embeddings": 512}
MAX_LEN_RATIO = 0.9
SPECIAL_TOKENS = 2  # [CLS] text [SEP]


class TrainError(Exception):
    """Unusable input, worded so a user can act on it (exit 2)."""


def seed_max_len(texts: list[str], ratio: float = MAX_LEN_RATIO) -> int:
    """The seed's preprocess: sorted character lengths, the one at index int(n * ratio); + [CLS], [SEP]."""
    lengths = sorted(len(t) for t in texts)
    return lengths[min(int(len(lengths) * ratio), len(lengths) - 1)] + SPECIAL_TOKENS


def read_cls(path: Path, label2idx: dict[str, int]) -> tuple[list[str], list[list[float]]]:
    """Texts and multi-hot rows from a seed-format jsonl; TrainError names the file and line."""
    if not path.is_file():
        raise TrainError(f"{path}: not found; run `make data` first (it writes the triage classifier files)")
    texts, rows = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, labels = record["text"], record["label"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainError(f"{path}: line {number}: expected {{\"text\": ..., \"label\": [...]}}") from exc
        unknown = [x for x in labels if x not in label2idx]
        if unknown or not isinstance(text, str):
            raise TrainError(f"{path}: line {number}: label(s) {unknown} not in the label2idx file"
                             if unknown else f"{path}: line {number}: text is not a string")
        row = [0.0] * len(label2idx)
        for x in labels:
            row[label2idx[x]] = 1.0
        texts.append(text)
        rows.append(row)
    if not texts:
        raise TrainError(f"{path}: no records")
    return texts, rows


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_model(model: str, labels: list[str], from_scratch: bool, seed: int):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig

    tokenizer = AutoTokenizer.from_pretrained(model)
    names = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
             "label2id": {x: i for i, x in enumerate(labels)}, "problem_type": "multi_label_classification"}
    torch.manual_seed(seed)
    if from_scratch:  # a vocab/tokenizer folder without weights: a tiny BERT with random weights
        config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id or 0, **TINY_SHAPE, **names)
        return AutoModelForSequenceClassification.from_config(config), tokenizer
    return AutoModelForSequenceClassification.from_pretrained(model, **names), tokenizer


def run_folder(saves: Path, model_name: str) -> Path:
    """Where a classifier run goes: saves/<model name>/cls/triage."""
    return Path(saves) / model_name / "cls" / "triage"


def train(args) -> dict:
    import torch

    data = Path(args.data_dir)
    label_file = data / TRIAGE_LABEL2IDX
    if not label_file.is_file():
        raise TrainError(f"{label_file}: not found; run `make data` first")
    label2idx = json.loads(label_file.read_text(encoding="utf-8"))
    labels = sorted(label2idx, key=label2idx.get)
    train_texts, train_rows = read_cls(data / TRIAGE_CLS_TRAIN, label2idx)
    test_texts, test_rows = read_cls(data / TRIAGE_CLS_TEST, label2idx)
    max_len = args.max_len or seed_max_len(train_texts)

    from_scratch = Path(args.model).is_dir() and not (Path(args.model) / "config.json").is_file()
    model, tokenizer = build_model(args.model, labels, from_scratch, args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    encoded = [encode(tokenizer, t, max_len) for t in train_texts]
    targets = torch.tensor(train_rows)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    generator = torch.Generator().manual_seed(args.seed)
    pad = tokenizer.pad_token_id or 0
    losses = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(encoded), generator=generator).tolist()
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            chunk = order[start:start + args.batch_size]
            width = max(len(encoded[i]) for i in chunk)
            input_ids = torch.tensor([encoded[i] + [pad] * (width - len(encoded[i])) for i in chunk], device=device)
            mask = torch.tensor([[1] * len(encoded[i]) + [0] * (width - len(encoded[i])) for i in chunk], device=device)
            loss = model(input_ids=input_ids, attention_mask=mask, labels=targets[chunk].to(device)).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(chunk)
        losses.append(total / len(encoded))
        print(f"epoch {epoch + 1}/{args.epochs}: train loss {losses[-1]:.4f}", flush=True)
    seconds = time.perf_counter() - started

    model.eval()
    predicted = []
    for start in range(0, len(test_texts), 64):
        batch = [encode(tokenizer, t, max_len) for t in test_texts[start:start + 64]]
        predicted += predict(model, tokenizer, batch, args.threshold)
    gold = [[labels[j] for j, v in enumerate(row) if v] for row in test_rows]
    subset_accuracy = sum(set(p) == set(g) for p, g in zip(predicted, gold, strict=True)) / len(gold)

    record = {
        "task_type": "sequence_classification",  # eval: a classifier, scored on triage only
        "problem_type": "multi_label_classification",
        "model_name_or_path": args.model,
        "from_scratch": from_scratch,
        "trainer": "scripts/train_triage_bert.py",
        "dataset": {"train": str(data / TRIAGE_CLS_TRAIN), "train_sha256": sha256(data / TRIAGE_CLS_TRAIN),
                    "label2idx": str(label_file), "label2idx_sha256": sha256(label_file)},
        "labels": labels,
        "max_len": max_len,
        "threshold": args.threshold if args.threshold is not None else THRESHOLD,
        "learning_rate": args.learning_rate,
        "per_device_train_batch_size": args.batch_size,
        "num_train_epochs": args.epochs,
        "seed": args.seed,
        "train_samples": len(train_texts),
        "train_loss": {"first_epoch": round(losses[0], 4), "last_epoch": round(losses[-1], 4)},
        "train_seconds": round(seconds, 1),
        "test_subset_accuracy": round(100 * subset_accuracy, 2),
    }
    save(model, tokenizer, record, Path(args.output_dir), args.overwrite)
    return record


def save(model, tokenizer, record: dict, out: Path, overwrite: bool) -> None:
    """Model, tokenizer and record into a staging folder, then swapped in: never a half-written run."""
    if (out / "config.json").exists() and not overwrite:
        raise TrainError(f"{out}: a finished run is already there; pass --overwrite (make: ARGS=--overwrite) "
                         "or --output-dir DIR")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        write_yaml(staging / LAUNCH_CONFIG, record, sort_keys=False)  # what eval reads every run's settings from
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=["tiny"],
                        help=f"tiny: a tiny random BERT on {repo_relative(TINY_BERT_VOCAB)}")
    parser.add_argument("--model", help=f"hub id or local BERT (default {BERT_MODEL_ID}); a folder with only a "
                        "vocab/tokenizer builds a tiny BERT from scratch")
    parser.add_argument("--data-dir", default=str(SFT_DIR), help="where data_prep wrote the triage files")
    parser.add_argument("--output-dir", help=f"default {run_folder(SAVES, '<model name>')}")
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-len", type=int, help="default: the seed's 90th-percentile train text length + 2")
    parser.add_argument("--threshold", type=float, default=0.5, help="sigmoid threshold (the seed's 0.5)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run in --output-dir")
    args = parser.parse_args(argv)
    defaults = TINY_SETTINGS if args.profile == "tiny" else SEED_SETTINGS
    args.model = args.model or (str(TINY_BERT_VOCAB) if args.profile == "tiny" else BERT_MODEL_ID)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    name = TINY_BERT_NAME if args.profile == "tiny" else Path(args.model.rstrip("/")).name
    args.output_dir = args.output_dir or str(run_folder(SAVES, name))
    if args.profile == "tiny" and not Path(args.model).is_dir():
        print(f"error: {args.model} not found; run `make tiny-gpt2` (it builds the BERT-style vocab)", file=sys.stderr)
        return 2
    try:
        record = train(args)
    except TrainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"saved {args.output_dir} (max_len {record['max_len']}, {record['train_samples']} questions, "
          f"{record['train_seconds']} s); test subset accuracy {record['test_subset_accuracy']}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
