"""Batched greedy decoding with transformers (CPU or GPU), rows leaving the batch as they stop; on CPU with
the speed-ups of cpu_speedups.py unless they are switched off."""

from __future__ import annotations

import gc

from . import cpu_speedups
from .generated import Generated


class TransformersGenerator:
    """Greedy decoding of batches of prompt ids. `speedups` switches cpu_speedups on (default) or off (the
    stock transformers path; same tokens). `ignore_eos` keeps every row going to max_new_tokens (benches
    that compare engines at an equal number of generated tokens)."""

    name = "transformers"

    def __init__(self, model, tokenizer, stop_ids: list[int], prune_every: int = 16, speedups: bool = True,
                 ignore_eos: bool = False):
        self.model, self.tokenizer, self.stop_ids, self.prune_every = model, tokenizer, stop_ids, prune_every
        self.ignore_eos = ignore_eos
        self.device = model.device
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
        self.plan = cpu_speedups.plan(model, speedups)

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        """Decode in chunks of `prune_every` tokens; after each chunk the rows that have stopped leave
        the batch (and the KV cache), so one long answer no longer keeps the finished ones computing.
        Greedy continuation from the cache is the same computation, so the answers do not change."""
        import torch

        shared = 0
        if self.plan.min_shared_prefix is not None and len(batch) > 1:
            shared = cpu_speedups.shared_prefix_length(batch)
            if shared < self.plan.min_shared_prefix:
                shared = 0
        # [shared prefix | padding | rest of the prompt]: positions come from the mask (as for left padding),
        # so each row still sees exactly its own prompt; the prefix is computed once (see _decode).
        width = max(len(ids) for ids in batch)
        rows = [ids[:shared] + [self.pad_id] * (width - len(ids)) + ids[shared:] for ids in batch]
        masks = [[1] * shared + [0] * (width - len(ids)) + [1] * (len(ids) - shared) for ids in batch]
        input_ids = torch.tensor(rows, device=self.device)
        attention_mask = torch.tensor(masks, device=self.device)
        saved = self.model.config._attn_implementation
        if self.plan.attention:  # only for our calls: the model object may be shared (bench/eval_gen.py)
            self.model.config._attn_implementation = self.plan.attention
        try:
            return self._decode(input_ids, attention_mask, shared, max_new_tokens)
        finally:
            self.model.config._attn_implementation = saved

    def _decode(self, input_ids, attention_mask, shared: int, max_new_tokens: int) -> list[Generated]:
        import torch
        from transformers import GenerationConfig

        rows = input_ids.shape[0]
        tokens: list[list[int]] = [[] for _ in range(rows)]
        stopped = [False] * rows
        active = list(range(rows))  # original row of each row still in the batch
        cache = self.plan.make_cache() if self.plan.make_cache else None
        produced = 0
        if shared:  # the prompts' common prefix (system prompt, task instruction): its keys/values once, copied
            with torch.inference_mode():
                self.model(input_ids=input_ids[:1, :shared], past_key_values=cache, use_cache=True)
            cache.batch_repeat_interleave(rows)
        while active and produced < max_new_tokens:
            chunk = min(self.prune_every, max_new_tokens - produced)
            # every setting in the config (transformers deprecates mixing a config with loose generation kwargs)
            config = GenerationConfig(do_sample=False, max_new_tokens=chunk, eos_token_id=self.stop_ids,
                                      pad_token_id=self.pad_id, return_dict_in_generate=True,
                                      min_new_tokens=chunk if self.ignore_eos else None)
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
