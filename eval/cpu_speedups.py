"""Three CPU speed-ups for batched greedy decoding with transformers, none of which changes a token:

- the prompts' shared prefix (system prompt, task instruction) is computed once and its cache copied;
- the KV cache grows in place (GrowingLayer) instead of being concatenated anew at every step;
- grouped key/value heads go to the attention kernel as they are (gqa_sdpa_attention) instead of being
  copied out to every query head first.

They reach into transformers' attention registry and its KV-cache layer, which are tied to the pinned
transformers: `plan(model, enabled)` turns them all on or all off (the stock path), and any piece whose
transformers internals are not what it expects falls back to the stock path with one warning instead of
failing the run. tests/eval/test_eval_generator.py checks both paths give the same tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)
GQA_SDPA = "sdpa_gqa"
MIN_SHARED_PREFIX = 16  # shorter shared prefixes are not worth a separate forward pass


@dataclass(frozen=True)
class DecodingPlan:
    """How one model decodes: its attention implementation during our calls (None: its own), a builder of the
    batch's KV cache (None: transformers' DynamicCache), and the shortest shared prefix worth computing once
    (None: never)."""

    attention: str | None = None
    make_cache: Callable[[], object] | None = None
    min_shared_prefix: int | None = None


STOCK = DecodingPlan()


def plan(model, enabled: bool = True) -> DecodingPlan:
    """The speed-ups that apply to `model` when `enabled` (a CPU model; on GPUs transformers' own path picks
    the fused kernels), else the stock path."""
    if not enabled or model.device.type != "cpu":
        return STOCK
    cache_builder = _growing_cache_builder(model)
    return DecodingPlan(gqa_attention(model), cache_builder,
                        MIN_SHARED_PREFIX if cache_builder is not None else None)


def _fallback(piece: str, exc: Exception) -> None:
    logger.warning("CPU speed-up %s is off: transformers' internals differ from the pinned version's (%s: %s); "
                   "decoding takes the stock path, with the same tokens", piece, type(exc).__name__, exc)


def gqa_sdpa_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None,
                       **kwargs):
    """transformers' sdpa attention, except that grouped key/value heads go to the kernel as they are
    (`enable_gqa`) instead of being copied out to every query head first: transformers only does that
    without a mask, but a left-padded batch always has one. Same math, same kernel; on CPU the copies
    were a quarter of each decoding step."""
    import torch

    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling,
        is_causal=query.shape[2] > 1 and attention_mask is None and causal, enable_gqa=True)
    return out.transpose(1, 2).contiguous(), None


def gqa_attention(model) -> str | None:
    """Register GQA_SDPA and return its name for a model on sdpa with grouped kv heads, else None."""
    config = model.config
    heads, kv_heads = getattr(config, "num_attention_heads", None), getattr(config, "num_key_value_heads", None)
    if getattr(config, "_attn_implementation", None) != "sdpa" or not heads or not kv_heads or heads == kv_heads:
        return None
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

        AttentionInterface.register(GQA_SDPA, gqa_sdpa_attention)
        AttentionMaskInterface.register(GQA_SDPA, sdpa_mask)
    except (ImportError, AttributeError, TypeError) as exc:
        _fallback("gqa attention", exc)
        return None
    return GQA_SDPA


def shared_prefix_length(batch: list[list[int]]) -> int:
    """Length of the token prefix every prompt shares, leaving each prompt at least one token of its own."""
    first, n = batch[0], min(len(ids) for ids in batch) - 1
    for i in range(n):
        if any(ids[i] != first[i] for ids in batch):
            return i
    return max(n, 0)


def _growing_cache_builder(model) -> Callable[[], object] | None:
    try:
        growing_cache(model)  # fails here, once, if transformers' cache classes changed
    except (ImportError, AttributeError, TypeError) as exc:
        _fallback("growing cache", exc)
        return None
    return lambda: growing_cache(model)


def growing_cache(model):
    """A DynamicCache whose full-attention layers write into preallocated room (see GrowingLayer)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    layer_class = _growing_layer_class()
    cache = DynamicCache(config=model.config)
    cache.layers = [layer_class() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


_GROWING_LAYER = None


def _growing_layer_class():
    """GrowingLayer, defined on first use so that importing this module does not import transformers."""
    global _GROWING_LAYER
    if _GROWING_LAYER is not None:
        return _GROWING_LAYER
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """DynamicLayer without the per-step copy: DynamicLayer concatenates the whole cache with each new
        token (every step copies all keys and values); this one writes the token into spare room and
        hands out a view, growing the room by half when it is full. Same values, same attention."""

        def update(self, key_states, value_states, *args, **kwargs):
            import torch

            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
                self.used, self.room_k, self.room_v = 0, None, None
            end = self.used + key_states.shape[-2]
            if self.room_k is None or end > self.room_k.shape[-2]:
                size = list(key_states.shape)
                size[-2] = end + max(64, end // 2)
                room_k = torch.empty(size, dtype=key_states.dtype, device=key_states.device)
                room_v = torch.empty(size, dtype=value_states.dtype, device=value_states.device)
                if self.used:
                    room_k[..., :self.used, :] = self.keys
                    room_v[..., :self.used, :] = self.values
                self.room_k, self.room_v = room_k, room_v
            self.room_k[..., self.used:end, :] = key_states
            self.room_v[..., self.used:end, :] = value_states
            self.used = end
            self.keys, self.values = self.room_k[..., :end, :], self.room_v[..., :end, :]
            return self.keys, self.values

        def batch_repeat_interleave(self, repeats):
            if self.get_seq_length() > 0:
                self.room_k = self.room_k.repeat_interleave(repeats, dim=0)
                self.room_v = self.room_v.repeat_interleave(repeats, dim=0)
                self.keys, self.values = self.room_k[..., :self.used, :], self.room_v[..., :self.used, :]

        def batch_select_indices(self, indices):
            if self.get_seq_length() > 0:
                self.room_k, self.room_v = self.room_k[indices, ...], self.room_v[indices, ...]
                self.keys, self.values = self.room_k[..., :self.used, :], self.room_v[..., :self.used, :]

    _GROWING_LAYER = GrowingLayer
    return GrowingLayer
