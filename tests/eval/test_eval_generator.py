"""The transformers generator: pruning finished rows from the batch does not change any answer."""

from collections import Counter

import pytest

from eval.backends import TransformersGenerator, load_model
from eval.checkpoints import Checkpoint
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
