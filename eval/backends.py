"""Which engine generates for a checkpoint, and building it: transformers in this process (hf_generator.py) or
vLLM in its own environment (vllm_generator.py). Loading lives in loading.py, the CPU speed-ups in
cpu_speedups.py."""

from __future__ import annotations

from .checkpoints import Checkpoint
from .hf_generator import TransformersGenerator
from .loading import load_model
from .options import BACKENDS
from .vllm_generator import VllmGenerator, missing_env_message, vllm_python

__all__ = ["make_generator", "resolve_backend"]


def resolve_backend(backend: str, device: str = "cpu") -> str:
    """`auto`: vLLM when its environment is built and the checkpoint runs on a GPU, else transformers. On a
    CPU vLLM is not reliably the faster engine (docs/benchmarks.md: ahead at batch 4 on the real shape, behind
    transformers bf16 at batch 64 in issue 21's measurement) and its worker costs ~40-50 s to start per
    checkpoint, so a CPU uses it only when asked."""
    if backend not in BACKENDS:
        raise ValueError(f"--backend {backend!r}: expected {', '.join(BACKENDS)}")
    if backend == "vllm" and vllm_python() is None:
        raise ValueError(missing_env_message())
    if backend == "auto":
        return "vllm" if device.startswith("cuda") and vllm_python() is not None else "transformers"
    return backend


def make_generator(backend: str, ckpt: Checkpoint, tokenizer, stop_ids: list[int], device: str, dtype: str,
                   cpu_speedups: bool = True):
    if backend == "vllm":
        return VllmGenerator(ckpt, tokenizer, stop_ids, device, dtype)
    return TransformersGenerator(load_model(ckpt, device, dtype), tokenizer, stop_ids, speedups=cpu_speedups)
