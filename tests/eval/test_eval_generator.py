"""The transformers generator: pruning finished rows, GQA attention and the growing cache do not change any answer;
the CPU speed-ups switched off (or unavailable) give the stock path, with the same tokens."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval import cpu_speedups
from eval.checkpoints import Checkpoint
from eval.hf_generator import TransformersGenerator
from eval.loading import load_model
from eval.prompts import PromptRenderer


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    return load_model(Checkpoint("tiny", str(tiny_model)), "cpu", "float32"), tokenizer, PromptRenderer(tokenizer)


def test_pruned_decoding_equals_one_generate_call(tiny):
    model, tokenizer, renderer = tiny
    prompts = [renderer.encode(text) for text in ("你好", "主题:咳嗽\n内容:咳嗽三天了怎么办", "原始词:胃镜", "发热",
                                                  "医生:有没有发热?\n患者:有", "建议多喝水")]
    # A stop token that the model emits at different steps in different rows, so rows leave mid-way.
    plain = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=10**6)
    raw = [tokenizer.encode(g.text, add_special_tokens=False) for g in plain.generate(prompts, 12)]
    firsts = Counter(tok for row in raw for tok in set(row[1:]))
    stop = next(tok for tok, _ in firsts.most_common() if 1 <= sum(tok in row for row in raw) < len(raw))
    stops = [*renderer.stop_token_ids(), stop]

    reference = TransformersGenerator(model, tokenizer, stops, prune_every=10**6).generate(prompts, 12)
    pruned = TransformersGenerator(model, tokenizer, stops, prune_every=2).generate(prompts, 12)
    assert pruned == reference
    finish = Counter(g.finish_reason for g in reference)
    assert finish["stop"] and finish["length"]  # rows really left the batch at different times
    assert all(g.new_tokens == 12 for g in reference if g.finish_reason == "length")


def test_generator_equals_stock_transformers_generate_one_prompt_at_a_time(tiny):
    """GQA attention, the growing cache, batching and pruning together give the tokens that stock
    transformers (sdpa with copied kv heads, DynamicCache) gives for each prompt alone, unpadded."""
    import torch
    from transformers import GenerationConfig

    model, tokenizer, renderer = tiny
    assert model.config.num_key_value_heads < model.config.num_attention_heads  # the GQA path is exercised
    prompts = [renderer.encode(text) for text in ("你好", "主题:咳嗽\n内容:咳嗽三天了怎么办", "原始词:胃镜",
                                                  "医生:有没有发热?\n患者:有。" * 12)]
    stops = renderer.stop_token_ids()
    ours = TransformersGenerator(model, tokenizer, stops, prune_every=3).generate(prompts, 90)
    assert model.config._attn_implementation == "sdpa"  # restored for other users of the model
    config = GenerationConfig(do_sample=False, max_new_tokens=90, eos_token_id=stops, pad_token_id=stops[0])
    for ids, got in zip(prompts, ours, strict=True):
        with torch.inference_mode():
            row = model.generate(input_ids=torch.tensor([ids]), generation_config=config)[0, len(ids):].tolist()
        end = next((i for i, tok in enumerate(row) if tok in stops), None)
        assert got.text == tokenizer.decode(row[:end], skip_special_tokens=True)
        assert got.finish_reason == ("length" if end is None else "stop")


PROMPTS = ("你好", "主题:咳嗽\n内容:咳嗽三天了怎么办", "原始词:胃镜", "医生:有没有发热?\n患者:有。" * 12)


def test_speedups_off_is_the_stock_path_with_the_same_tokens(tiny):
    """One switch: on, all three speed-ups apply to the tiny CPU model; off, none does (transformers' own
    attention and DynamicCache, no shared prefix); the answers are the same. The prompts share the system
    prompt, so the shared-prefix path runs."""
    model, tokenizer, renderer = tiny
    prompts = [renderer.encode(text) for text in PROMPTS]
    assert cpu_speedups.shared_prefix_length(prompts) >= cpu_speedups.MIN_SHARED_PREFIX
    fast = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=5)
    stock = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=5, speedups=False)
    assert fast.plan.attention == cpu_speedups.GQA_SDPA and fast.plan.make_cache and fast.plan.min_shared_prefix
    assert stock.plan == cpu_speedups.STOCK
    assert fast.generate(prompts, 40) == stock.generate(prompts, 40)


def test_speedups_fall_back_to_the_stock_path_when_transformers_changed(tiny, monkeypatch, caplog):
    """A transformers whose attention registry and cache layer are not the pinned one's: the run goes on,
    on the stock path, with one warning per piece, and the same tokens."""
    from transformers import cache_utils, masking_utils

    model, tokenizer, renderer = tiny
    monkeypatch.delattr(masking_utils, "sdpa_mask")
    monkeypatch.delattr(cache_utils, "DynamicLayer")
    monkeypatch.setattr(cpu_speedups, "_GROWING_LAYER", None)
    prompts = [renderer.encode(text) for text in PROMPTS]
    with caplog.at_level("WARNING", logger=cpu_speedups.__name__):
        fallen = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=5)
    assert fallen.plan == cpu_speedups.STOCK
    assert sum("takes the stock path" in r.getMessage() for r in caplog.records) == 2
    monkeypatch.undo()
    stock = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=5, speedups=False)
    assert fallen.generate(prompts, 20) == stock.generate(prompts, 20)


def test_ignore_eos_generates_every_token(tiny):
    """Benches compare engines at an equal number of generated tokens: no row stops early."""
    model, tokenizer, renderer = tiny
    prompts = [renderer.encode(text) for text in PROMPTS]
    out = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=7,
                                ignore_eos=True).generate(prompts, 30)
    assert all(g.new_tokens == 30 and g.finish_reason == "length" for g in out)


def test_decoding_asks_transformers_nothing_it_deprecates(tiny, monkeypatch):
    """Every generation setting travels in the GenerationConfig: transformers warns (once per process, so
    its logger is watched directly) when a config comes with loose generation kwargs such as
    return_dict_in_generate; the answers are the stock ones (test above)."""
    from transformers.generation import utils

    model, tokenizer, renderer = tiny
    warned = []
    monkeypatch.setattr(utils.logger, "warning_once", lambda message, *args, **kwargs: warned.append(message))
    prompts = [renderer.encode(text) for text in ("你好", "原始词:胃镜")]
    out = TransformersGenerator(model, tokenizer, renderer.stop_token_ids(), prune_every=4).generate(prompts, 9)
    assert len(out) == 2 and not [m for m in warned if "generation_config" in m]


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(1, 70), st.booleans()), min_size=1, max_size=12), rows=st.integers(1, 5))
def test_growing_cache_layer_holds_what_dynamic_layer_holds(steps, rows):
    """Any sequence of appends (prefill or single tokens, past the spare room) and row selections leaves
    the same keys and values as transformers' DynamicLayer."""
    import torch
    from transformers.cache_utils import DynamicLayer

    grow = cpu_speedups.growing_cache(_TinyConfigModel()).layers[0]
    plain = DynamicLayer()
    gen = torch.Generator().manual_seed(len(steps) * 31 + rows)
    batch = rows
    for length, select in steps:
        k, v = torch.randn(batch, 2, length, 4, generator=gen), torch.randn(batch, 2, length, 4, generator=gen)
        got, want = grow.update(k, v), plain.update(k, v)
        assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
        if select and batch > 1:
            keep = torch.arange(0, batch, 2)
            grow.batch_select_indices(keep)
            plain.batch_select_indices(keep)
            batch = len(keep)
    assert grow.get_seq_length() == plain.get_seq_length()
    assert torch.equal(grow.keys, plain.keys) and torch.equal(grow.values, plain.values)


class _TinyConfigModel:
    """Just enough of a model for growing_cache: one full-attention layer."""

    def __init__(self):
        from transformers import Qwen2Config

        self.config = Qwen2Config(num_hidden_layers=1, hidden_size=8, num_attention_heads=2, num_key_value_heads=1)


@given(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=8), min_size=1, max_size=5))
def test_shared_prefix_is_the_longest_common_one_that_leaves_every_prompt_a_token(batch):
    n = cpu_speedups.shared_prefix_length(batch)
    shortest = min(len(ids) for ids in batch)
    assert 0 <= n < shortest and all(ids[:n] == batch[0][:n] for ids in batch)
    assert n == shortest - 1 or len({ids[n] for ids in batch}) > 1
