"""The models the recipes, the tests and the demo use: hub ids, local folders, and the saves/<name>/ names."""

from __future__ import annotations

from .paths import MODELS_DIR

BASE_MODEL_ID = "Qwen/Qwen2.5-0.5B-Instruct"
BASE_MODEL_NAME = "Qwen2.5-0.5B-Instruct"  # the web UI's model name: runs go to saves/<this>/<finetuning_type>/
LOCAL_BASE_MODEL = MODELS_DIR / BASE_MODEL_NAME  # written by `make model`

TINY_MODEL_NAME = "tiny-qwen2"
TINY_MODEL = MODELS_DIR / TINY_MODEL_NAME  # `make tiny-model` (scripts/build_tiny_model.py)
# `make tiny-general`: the tiny model pre-trained on the synthetic general corpus (the mixing sweep's demo base)
TINY_GENERAL = MODELS_DIR / f"{TINY_MODEL_NAME}-general"
# `make tiny-vllm-model`: the same builder at hidden 128, so head_dim 32, which vLLM's CPU attention accepts (16 not)
TINY_VLLM_MODEL = MODELS_DIR / f"{TINY_MODEL_NAME}-hd32"
TINY_VLLM_HIDDEN = 128

# Seeds 000/002: GPT-2 with a BERT Chinese vocab. Their runs go to saves/<GPT2_MODEL_NAME>/full/<run>.
GPT2_MODEL_ID = "uer/gpt2-chinese-cluecorpussmall"
GPT2_MODEL_NAME = "gpt2-chinese-cluecorpussmall"
# `make tiny-gpt2` (scripts/tiny_models.py) builds the three folders below
TINY_GPT2 = MODELS_DIR / "tiny-gpt2-chinese"  # pretrained-shaped (weights saved)
TINY_GPT2_SCRATCH = MODELS_DIR / "tiny-gpt2-scratch"  # config + tokenizer only, for train_from_scratch
TINY_GPT2_NAME = "tiny-gpt2"  # saves/tiny-gpt2/ under the tiny profile
TINY_BERT_VOCAB = MODELS_DIR / "tiny-bert-vocab"  # BERT-style Chinese vocab.txt (seed 004's tiny classifier)
TINY_BERT_NAME = "tiny-bert"  # saves/tiny-bert/ for seed 004's tiny classifier (train_triage_bert.py --profile tiny)


def max_positions(config: object) -> int | None:
    """The longest sequence a model config allows (max_position_embeddings, or its text_config's for a
    multimodal config); None when the config does not say."""
    if not isinstance(config, dict):
        return None
    value = config.get("max_position_embeddings")
    if value is None and isinstance(config.get("text_config"), dict):
        value = config["text_config"].get("max_position_embeddings")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
