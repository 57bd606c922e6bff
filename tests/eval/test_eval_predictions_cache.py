"""Cached, resumable generation: an interrupted run keeps its finished samples and the next run only
generates the rest; other models or settings never reuse a cache."""

import json

import pytest

from eval.predictions import Generation, cache_key, generate_cached

PROMPTS = [[1, 2, 3][: 1 + i % 3] + [10 + i] * (i % 4) for i in range(10)]
LABELS = [f"gold {i}" for i in range(10)]


def run(path, generator, key="k1", prompts=PROMPTS):
    return generate_cached(path, key, Generation(prompts, LABELS, 8, 3, lambda ids: str(ids)), lambda: generator,
                           desc="t")


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_interrupted_run_resumes_without_regenerating(tmp_path, counting_generator):
    path = tmp_path / "predictions.jsonl"
    full = run(tmp_path / "reference.jsonl", counting_generator())

    failing = counting_generator(fail_on=3)  # two batches of 3 succeed, the third raises
    with pytest.raises(RuntimeError, match="injected"):
        run(path, failing)
    assert len(lines(path)) == 6  # finished batches are on disk

    resumed = counting_generator()
    rows = run(path, resumed)
    assert resumed.samples == 4 and resumed.calls == 2  # only the 4 missing samples
    assert [r["predict"] for r in rows] == [r["predict"] for r in full]
    assert [r["index"] for r in lines(path)] == list(range(10))  # rewritten in test order


def test_finished_cache_never_loads_the_model(tmp_path, counting_generator):
    path = tmp_path / "predictions.jsonl"
    run(path, counting_generator())

    def must_not_load():
        raise AssertionError("the model was loaded although everything is cached")

    rows = generate_cached(path, "k1", Generation(PROMPTS, LABELS, 8, 3, str), must_not_load)
    assert len(rows) == 10


def test_other_settings_or_prompts_are_not_reused(tmp_path, counting_generator):
    path = tmp_path / "predictions.jsonl"
    run(path, counting_generator())

    other_key = counting_generator()
    run(path, other_key, key=cache_key({"model": "another", "max_new_tokens": 8}))
    assert other_key.samples == 10

    changed = [list(p) for p in PROMPTS]
    changed[4] = [99, 98]
    one_prompt = counting_generator()
    run(path, one_prompt, key=cache_key({"model": "another", "max_new_tokens": 8}), prompts=changed)
    assert one_prompt.samples == 1


def test_torn_last_line_is_dropped_and_regenerated(tmp_path, counting_generator):
    path = tmp_path / "predictions.jsonl"
    run(path, counting_generator())
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) - 20], encoding="utf-8")  # a kill in the middle of a write
    again = counting_generator()
    rows = run(path, again)
    assert again.samples == 1 and len(rows) == 10


def test_cache_key_depends_on_every_setting():
    base = {"model": "m", "max_new_tokens": 8, "dtype": "float32"}
    assert cache_key(base) == cache_key(dict(reversed(base.items())))
    assert cache_key(base) != cache_key({**base, "max_new_tokens": 9})
    assert cache_key(base) != cache_key({**base, "model": "m2"})
