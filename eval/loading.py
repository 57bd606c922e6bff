"""Device, dtype, tokenizer and weights of a checkpoint for the in-process (transformers) path; an adapter is
merged into its base."""

from __future__ import annotations

from .checkpoints import Checkpoint


def pick_device(device: str | None = None) -> str:
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: str, dtype: str | None = None) -> str:
    import torch

    if dtype:
        return dtype
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def load_tokenizer(ckpt: Checkpoint):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ckpt.tokenizer_path)


def load_model(ckpt: Checkpoint, device: str, dtype: str):
    """The checkpoint's weights on `device`; an adapter is merged into its base (faster to decode)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(ckpt.model_path, dtype=getattr(torch, dtype))
    if ckpt.is_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, ckpt.path).merge_and_unload()
    # A full fine-tune saved by LLaMA-Factory keeps its training setting use_cache: false (config and
    # generation_config); generate() would then re-run the whole sequence every step and, handed a cache,
    # append to it twice. Decoding always wants the cache.
    model.config.use_cache = True
    if model.generation_config is not None:
        model.generation_config.use_cache = True
    return model.to(device).eval()
