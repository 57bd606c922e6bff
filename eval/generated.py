"""What every generator returns for one prompt (transformers, vLLM, the classifier)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Generated:
    text: str
    finish_reason: str  # "stop": a stop token ended it; "length": max_new_tokens ran out
    new_tokens: int
