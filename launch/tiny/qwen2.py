"""Build `models/tiny-qwen2`: a Qwen2-architecture model with random weights and a small
byte-level BPE tokenizer trained on our own bundled text, offline and deterministic.

It stands in for Qwen2.5-0.5B-Instruct wherever weights cannot be downloaded (tests, CI, the demo):
same architecture class, same special tokens (<|endoftext|>, <|im_start|>, <|im_end|>), same chat
template, so LLaMA-Factory's `template: qwen` and every recipe accept it unchanged.

    python scripts/build_tiny_model.py [--out models/tiny-qwen2] [--hidden 64] [--layers 2] [--init-std 0.2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from contract.models import TINY_MODEL
from contract.paths import repo_relative

from . import CORPUS

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
# Qwen2.5-Instruct's chat template, minus tool calling (the tiny model never sees tools).
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def training_text() -> list[str]:
    """Our bundled corpus; repeated lines are fine for BPE and keep the result deterministic."""
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(training_text(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
        padding_side="right",
        split_special_tokens=False,
        clean_up_tokenization_spaces=False,
    )


def build_model(tokenizer, hidden: int, layers: int, seed: int, init_std: float):
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_theta=1000000.0,
        # Qwen2's default init (std 0.02) caps the tied output logits at about +-1.3 after the final
        # RMSNorm, so an adapter that cannot touch embeddings or norms (LoRA) cannot lower the loss
        # below ~6.5 nats; std 0.2 gives the logit range of a trained model and LoRA learns in minutes.
        initializer_range=init_std,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config).to(torch.float32)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config = GenerationConfig(
        eos_token_id=[im_end, tokenizer.convert_tokens_to_ids("<|endoftext|>")],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    return model


def tree_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def build(
    out: Path, hidden: int = 64, layers: int = 2, vocab_size: int = 3000, seed: int = 0, init_std: float = 0.2
) -> str:
    """Write the model to `out` atomically (temp dir + rename); return its content digest."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(vocab_size)
    model = build_model(tokenizer, hidden, layers, seed, init_std)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=out.parent))
    try:
        tokenizer.save_pretrained(staging)
        model.save_pretrained(staging)
        (staging / "medsft_tiny.json").write_text(
            json.dumps(
                {"hidden": hidden, "layers": layers, "vocab_size": vocab_size, "seed": seed, "init_std": init_std},
                indent=2,
            ) + "\n"
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tree_digest(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=TINY_MODEL, help=f"default: {repo_relative(TINY_MODEL)}")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-std", type=float, default=0.2, help="weight init std (see build_model)")
    args = parser.parse_args(argv)
    digest = build(args.out, args.hidden, args.layers, args.vocab_size, args.seed, args.init_std)
    print(f"tiny model written to {args.out} (sha256 of files {digest[:16]})")


if __name__ == "__main__":
    main()
