"""Generation backends: transformers (default; CPU or GPU) and vLLM (GPU, when installed).
Each turns batches of prompt token ids into (text, finish_reason, new_tokens), greedily."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from .checkpoints import Checkpoint


@dataclass
class Generated:
    text: str
    finish_reason: str  # "stop": a stop token ended it; "length": max_new_tokens ran out
    new_tokens: int


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


GQA_SDPA = "sdpa_gqa"


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
    """Register GQA_SDPA and return it for a CPU model on sdpa with grouped kv heads, else None (on GPUs
    transformers' own path picks the fused kernels)."""
    config = model.config
    if model.device.type != "cpu":
        return None
    heads, kv_heads = getattr(config, "num_attention_heads", None), getattr(config, "num_key_value_heads", None)
    if config._attn_implementation != "sdpa" or not heads or not kv_heads or heads == kv_heads:
        return None
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(GQA_SDPA, gqa_sdpa_attention)
    AttentionMaskInterface.register(GQA_SDPA, sdpa_mask)
    return GQA_SDPA


def shared_prefix_length(batch: list[list[int]]) -> int:
    """Length of the token prefix every prompt shares, leaving each prompt at least one token of its own."""
    first, n = batch[0], min(len(ids) for ids in batch) - 1
    for i in range(n):
        if any(ids[i] != first[i] for ids in batch):
            return i
    return max(n, 0)


def growing_cache(model):
    """A DynamicCache whose full-attention layers write into preallocated room (see GrowingLayer)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    global GrowingLayer
    if GrowingLayer is None:
        class _GrowingLayer(DynamicLayer):
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

        GrowingLayer = _GrowingLayer
    cache = DynamicCache(config=model.config)
    cache.layers = [GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


GrowingLayer = None


class TransformersGenerator:
    """Batched greedy decoding. On CPU, where a small model's decoding step is mostly moving its KV cache
    around, three things keep that down without changing a token: the prompts' shared prefix is computed
    once, the cache grows in place (GrowingLayer) and grouped kv heads are not copied (gqa_sdpa_attention)."""

    name = "transformers"

    def __init__(self, model, tokenizer, stop_ids: list[int], prune_every: int = 16, grow: bool = True,
                 min_shared_prefix: int = 16):
        self.grow, self.min_shared_prefix = grow, min_shared_prefix
        self.model, self.tokenizer, self.stop_ids, self.prune_every = model, tokenizer, stop_ids, prune_every
        self.device = model.device
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        """Decode in chunks of `prune_every` tokens; after each chunk the rows that have stopped leave
        the batch (and the KV cache), so one long answer no longer keeps the finished ones computing.
        Greedy continuation from the cache is the same computation, so the answers do not change."""
        import torch

        shared = shared_prefix_length(batch) if self.grow and len(batch) > 1 else 0
        if shared < self.min_shared_prefix:
            shared = 0
        # [shared prefix | padding | rest of the prompt]: positions come from the mask (as for left padding),
        # so each row still sees exactly its own prompt; the prefix is computed once (see _decode).
        width = max(len(ids) for ids in batch)
        rows = [ids[:shared] + [self.pad_id] * (width - len(ids)) + ids[shared:] for ids in batch]
        masks = [[1] * shared + [0] * (width - len(ids)) + [1] * (len(ids) - shared) for ids in batch]
        input_ids = torch.tensor(rows, device=self.device)
        attention_mask = torch.tensor(masks, device=self.device)
        tokens: list[list[int]] = [[] for _ in batch]
        stopped = [False] * len(batch)
        active = list(range(len(batch)))  # original row of each row still in the batch
        attention = gqa_attention(self.model)
        saved = self.model.config._attn_implementation
        if attention:  # only for our calls: the model object may be shared (bench/eval_gen.py)
            self.model.config._attn_implementation = attention
        try:
            return self._decode(input_ids, attention_mask, shared, max_new_tokens, tokens, stopped, active)
        finally:
            self.model.config._attn_implementation = saved

    def _decode(self, input_ids, attention_mask, shared: int, max_new_tokens: int, tokens: list[list[int]],
                stopped: list[bool], active: list[int]) -> list[Generated]:
        import torch
        from transformers import GenerationConfig

        cache, produced = growing_cache(self.model) if self.grow else None, 0
        if shared:  # the prompts' common prefix (system prompt, task instruction): its keys/values once, copied
            with torch.inference_mode():
                self.model(input_ids=input_ids[:1, :shared], past_key_values=cache, use_cache=True)
            cache.batch_repeat_interleave(input_ids.shape[0])
        while active and produced < max_new_tokens:
            # every setting in the config (transformers deprecates mixing a config with loose generation kwargs)
            config = GenerationConfig(do_sample=False, max_new_tokens=min(self.prune_every, max_new_tokens - produced),
                                      eos_token_id=self.stop_ids, pad_token_id=self.pad_id,
                                      return_dict_in_generate=True)
            with torch.inference_mode():
                out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                                          generation_config=config)
            new = out.sequences[:, input_ids.shape[1]:]
            keep = []
            for pos, row in enumerate(new.tolist()):
                end = next((i for i, tok in enumerate(row) if tok in self.stop_ids), None)
                tokens[active[pos]] += row if end is None else row[:end]
                stopped[active[pos]] = end is not None
                if end is None:
                    keep.append(pos)
            produced += new.shape[1]
            if not keep or produced >= max_new_tokens:
                break
            index = torch.tensor(keep, device=self.device)
            cache = out.past_key_values
            if len(keep) < len(active):
                cache.batch_select_indices(index)
            input_ids = out.sequences[index]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(new.shape)], dim=1)[index]
            active = [active[pos] for pos in keep]
        return [Generated(self.tokenizer.decode(t, skip_special_tokens=True), "stop" if s else "length", len(t))
                for t, s in zip(tokens, stopped, strict=True)]

    def close(self) -> None:
        import torch

        del self.model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def vllm_available() -> bool:
    try:
        import torch
        import vllm  # noqa: F401
    except Exception:
        return False
    return torch.cuda.is_available()


class VllmGenerator:
    """vLLM engine; adapters are served as LoRA requests on the base (DoRA is not supported by vLLM,
    so `make_generator` keeps those on transformers)."""

    name = "vllm"

    def __init__(self, ckpt: Checkpoint, tokenizer, stop_ids: list[int], dtype: str):
        from vllm import LLM

        self.stop_ids = stop_ids
        self.lora = None
        kwargs = {"model": ckpt.model_path, "tokenizer": ckpt.tokenizer_path, "dtype": dtype, "seed": 0}
        if ckpt.is_adapter:
            from vllm.lora.request import LoRARequest

            rank = int(ckpt.adapter_config().get("r", 16))
            kwargs.update(enable_lora=True, max_lora_rank=max(16, rank), max_loras=1)
            self.lora = LoRARequest(ckpt.name, 1, ckpt.path)
        self.llm = LLM(**kwargs)

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop_token_ids=self.stop_ids,
                                skip_special_tokens=True)
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in batch], params,
                                    lora_request=self.lora, use_tqdm=False)
        results = []
        for out in outputs:
            best = out.outputs[0]
            finish = "length" if best.finish_reason == "length" else "stop"
            results.append(Generated(best.text, finish, len(best.token_ids)))
        return results

    def close(self) -> None:
        del self.llm
        gc.collect()


def resolve_backend(backend: str, ckpt: Checkpoint) -> str:
    if backend not in ("auto", "transformers", "vllm"):
        raise ValueError(f"--backend {backend!r}: expected auto, transformers or vllm")
    if backend == "vllm" and not vllm_available():
        raise ValueError("--backend vllm: vLLM is not installed or no CUDA GPU is visible")
    use_dora = ckpt.adapter_config().get("use_dora", False)
    if backend == "auto":
        backend = "vllm" if vllm_available() and not use_dora else "transformers"
    if backend == "vllm" and use_dora:
        backend = "transformers"  # vLLM cannot serve DoRA adapters
    return backend


def make_generator(backend: str, ckpt: Checkpoint, tokenizer, stop_ids: list[int], device: str, dtype: str):
    if backend == "vllm":
        return VllmGenerator(ckpt, tokenizer, stop_ids, dtype)
    return TransformersGenerator(load_model(ckpt, device, dtype), tokenizer, stop_ids)
