"""Build the offline tiny stand-ins for the seeds' BERT-vocabulary models, deterministically:

- `models/tiny-bert-vocab`: a BERT-style Chinese `vocab.txt` ([PAD] [UNK] [CLS] [SEP] [MASK], then every
  character of the bundled texts, then `##x` for the non-CJK ones) with its BertTokenizerFast files. It
  stands in for `bert-base-chinese` / the seed's 13,317-entry `vocab.txt` (seeds 000, 002 and 004).
- `models/tiny-gpt2-scratch`: config + tokenizer only, no weights: a GPT-2 shaped like seed 000's
  chatbot (n_ctx 300, BERT vocab), scaled down, for LLaMA-Factory's `train_from_scratch: true`.
- `models/tiny-gpt2-chinese`: a complete GPT-2 (seeded random weights saved) shaped like seed 002's
  `uer/gpt2-chinese-cluecorpussmall` (n_positions 1024, BertTokenizer, no eos token), scaled down.

Both GPT-2 configs keep GPT2Config's default bos/eos id 50256, outside the BERT vocabulary, as the seed's
config.json and the hub model do; LLaMA-Factory then adds `<|endoftext|>` as eos (hence `resize_vocab`).

The pieces: `build_bert_vocab(out_dir, corpus) -> vocab path`, `build_tiny_gpt2(out, vocab_dir, shape)`,
`bundled_texts()`, `build_all(models_dir)`.

    python scripts/tiny_models.py [--models-dir models]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from contract.models import TINY_BERT_VOCAB, TINY_GPT2, TINY_GPT2_SCRATCH
from contract.paths import MODELS_DIR, REPO_ROOT

from . import CORPUS

SAMPLES = REPO_ROOT / "data_prep" / "samples"  # data_prep's bundled raw files (launch does not import data_prep)

BERT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# folder names under --models-dir (the contract's, under the repo's models/)
VOCAB_DIR_NAME = TINY_BERT_VOCAB.name
GPT2_SCRATCH_NAME = TINY_GPT2_SCRATCH.name
GPT2_PRETRAINED_NAME = TINY_GPT2.name
# Always in the vocab: printable ASCII, so prompt scaffolding (LLaMA-Factory's `Human: ...\nAssistant:`),
# numbers and Latin abbreviations (CT, B超) never become [UNK] whatever the corpus holds.
ALWAYS_CHARS = "".join(chr(c) for c in range(0x21, 0x7F))

# name -> (GPT2Config shape, whether weights are saved). The seed-000 chatbot truncates dialogues at 300
# tokens (n_ctx 300); uer/gpt2-chinese-cluecorpussmall is a 1024-position GPT-2. Both scaled to 2 x 64.
GPT2_SHAPES = {
    "scratch": ({"n_positions": 300, "n_embd": 64, "n_layer": 2, "n_head": 4}, False),
    "pretrained": ({"n_positions": 1024, "n_embd": 64, "n_layer": 2, "n_head": 4}, True),
}


def _read_text(path: Path) -> str:
    """UTF-8 (optionally with BOM); Toyhom's department CSVs are GB18030."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def bundled_texts() -> Iterator[str]:
    """Every bundled text the tiny models meet: the tiny corpus and the raw samples (txt/json/csv)."""
    yield CORPUS.read_text(encoding="utf-8")
    for path in sorted(SAMPLES.rglob("*")):
        if path.is_file() and path.suffix in (".txt", ".json", ".csv"):
            yield _read_text(path)


def _is_cjk(char: str) -> bool:
    """BERT's own CJK test (BasicTokenizer._is_chinese_char): these are split into single characters."""
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def vocab_tokens(corpus: Iterable[str]) -> list[str]:
    """The vocab entries: specials, then sorted characters as BERT's basic tokenizer sees them (lower-cased,
    accents stripped, no whitespace/control), then `##x` for every non-CJK character so WordPiece can
    spell any Latin/digit word character by character (CJK characters always stand alone)."""
    chars: set[str] = set(ALWAYS_CHARS.lower())
    for text in corpus:
        for char in unicodedata.normalize("NFD", text.lower()):
            if char.isspace() or unicodedata.category(char) in ("Mn", "Cc", "Cf", "Cs", "Co", "Cn"):
                continue
            chars.add(char)
    ordered = sorted(chars)
    return BERT_SPECIAL_TOKENS + ordered + [f"##{c}" for c in ordered if not _is_cjk(c)]


def _tokenizer(vocab_file: Path):
    """BertTokenizerFast over `vocab_file` (transformers 5 takes the vocab as a token -> id mapping)."""
    from transformers import BertTokenizerFast

    tokens = vocab_file.read_text(encoding="utf-8").splitlines()
    return BertTokenizerFast(vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=True,
                             tokenize_chinese_chars=True, model_max_length=1024)


def _atomic_dir(out: Path, fill) -> Path:
    """Fill a staging dir next to `out`, then swap it in, so a half-built model never sits at `out`."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        fill(staging)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def build_bert_vocab(out_dir: Path, corpus: Iterable[str] | None = None) -> Path:
    """Write `vocab.txt` and the BertTokenizerFast files to `out_dir`; return the vocab.txt path.
    `corpus` defaults to `bundled_texts()`; the same corpus always gives the same bytes."""
    tokens = vocab_tokens(bundled_texts() if corpus is None else corpus)

    def fill(staging: Path) -> None:
        vocab = staging / "vocab.txt"
        vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
        _tokenizer(vocab).save_pretrained(staging)

    return _atomic_dir(Path(out_dir), fill) / "vocab.txt"


def build_tiny_gpt2(out: Path, vocab_dir: Path, shape: str = "scratch", seed: int = 0) -> Path:
    """A tiny GPT-2 with the BERT-style tokenizer from `vocab_dir`: shape "scratch" (config only, for
    train_from_scratch) or "pretrained" (weights saved). Returns `out`."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    dims, with_weights = GPT2_SHAPES[shape]
    tokenizer = _tokenizer(Path(vocab_dir) / "vocab.txt")
    config = GPT2Config(vocab_size=len(tokenizer), n_ctx=dims["n_positions"], tokenizer_class="BertTokenizer",
                        activation_function="gelu_new", **dims)

    def fill(staging: Path) -> None:
        tokenizer.save_pretrained(staging)
        shutil.copyfile(Path(vocab_dir) / "vocab.txt", staging / "vocab.txt")  # as the hub models ship it
        if with_weights:
            torch.manual_seed(seed)
            GPT2LMHeadModel(config).to(torch.float32).save_pretrained(staging)
        else:
            config.save_pretrained(staging)
        (staging / "medsft_tiny.json").write_text(
            json.dumps({"shape": shape, **dims, "vocab_size": len(tokenizer), "seed": seed}, indent=2) + "\n")

    return _atomic_dir(Path(out), fill)


def build_all(models_dir: Path) -> dict[str, Path]:
    vocab = build_bert_vocab(models_dir / VOCAB_DIR_NAME)
    return {
        VOCAB_DIR_NAME: vocab.parent,
        GPT2_SCRATCH_NAME: build_tiny_gpt2(models_dir / GPT2_SCRATCH_NAME, vocab.parent, "scratch"),
        GPT2_PRETRAINED_NAME: build_tiny_gpt2(models_dir / GPT2_PRETRAINED_NAME, vocab.parent, "pretrained"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)
    for name, path in build_all(args.models_dir).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
