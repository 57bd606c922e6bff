"""Per item, our multiple-choice choice equals lm-evaluation-harness 0.4.x's on the same local files, model and
prompt (its `cmmlu` / `ceval-valid` task configs, pointed at local CSVs in the published layouts), for 0 and 5
shots, including a subject whose dev split has fewer rows than k. The `official` variant is checked against an
independent statement of the official code's rule: the argmax of the next-token logits of the bare letters."""

from __future__ import annotations

import random

import pytest

from eval.mcq.loglik import LoglikScorer
from eval.mcq.prompts import HARNESS_HEADER, request

pytestmark = pytest.mark.slow

# lm-eval 0.4.x's own cmmlu / ceval templates (lm_eval/tasks/{cmmlu,ceval}/_default_*yaml), restated
CMMLU_DOC = "{{Question.strip()}}\nA. {{A}}\nB. {{B}}\nC. {{C}}\nD. {{D}}\n答案："
CEVAL_DOC = "{{question.strip()}}\nA. {{A}}\nB. {{B}}\nC. {{C}}\nD. {{D}}\n答案："
# subject, its Chinese name, benchmark, dev rows (3 < k: lm-eval's first_n refuses it, we take the 3 and say so)
SUBJECTS = [("high_school_mathematics", "高中数学", "cmmlu", 5), ("anatomy", "解剖学", "cmmlu", 3),
            ("basic_medicine", "基础医学", "ceval", 5)]


def _items(subject: str, zh: str, benchmark: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.randint(1, 30), rng.randint(1, 30)
        values = rng.sample([a + b - 2, a + b - 1, a + b, a + b + 1, a + b + 3], 4)
        if a + b not in values:
            values[rng.randrange(4)] = a + b
        options = {letter: f"{v}个" if i % 3 else str(v) for letter, v in zip("ABCD", values, strict=True)}
        answer = "ABCD"[values.index(a + b)]
        question = f" {a}加{b}等于多少？\u3000" if i % 4 == 0 else f"{subject}题{i}：{a}+{b}=____"
        out.append({"id": f"{subject}/{i}", "benchmark": benchmark, "subject": subject, "subject_zh": zh,
                    "group": "general", "question": question, "options": options, "answer": answer, "multi": False})
    return out


def _write_csvs(folder, subject, benchmark, test, dev):
    import pandas as pd

    def frame(rows, with_answer=True):
        if benchmark == "cmmlu":  # data/{dev,test}/<subject>.csv, an unnamed index column
            return pd.DataFrame([{"Question": r["question"], **r["options"], "Answer": r["answer"]} for r in rows])
        return pd.DataFrame([{"id": k, "question": r["question"], **r["options"], "answer": r["answer"]}
                             for k, r in enumerate(rows)])

    paths = {}
    for split, rows in (("test", test), ("dev", dev)):
        path = folder / f"{benchmark}_{subject}_{split}.csv"
        frame(rows).to_csv(path, index=benchmark == "cmmlu", lineterminator="\r\n" if benchmark == "ceval" else "\n")
        paths[split] = str(path)
    return paths


def _task_config(subject, zh, benchmark, paths) -> dict:
    return {"task": f"local_{benchmark}_{subject}", "dataset_path": "csv",
            "dataset_kwargs": {"data_files": paths}, "test_split": "test", "fewshot_split": "dev",
            "fewshot_config": {"sampler": "first_n"}, "output_type": "multiple_choice",
            "doc_to_text": CMMLU_DOC if benchmark == "cmmlu" else CEVAL_DOC, "doc_to_choice": ["A", "B", "C", "D"],
            "doc_to_target": "{{['A', 'B', 'C', 'D'].index(%s)}}" % ("Answer" if benchmark == "cmmlu" else "answer"),
            "description": HARNESS_HEADER[benchmark].format(subject=zh),
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}


@pytest.fixture(scope="module")
def benchmark_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mcq-csv")
    sets = {}
    for k, (subject, zh, benchmark, n_dev) in enumerate(SUBJECTS):
        test, dev = _items(subject, zh, benchmark, 14, k), _items(subject, zh, benchmark, n_dev, 100 + k)
        sets[subject] = (test, dev, _task_config(subject, zh, benchmark, _write_csvs(folder, subject, benchmark,
                                                                                      test, dev)))
    return sets


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model).eval(), AutoTokenizer.from_pretrained(tiny_model)


def _lm_eval(model, tokenizer, configs: list[dict], shots: int) -> dict:
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    return lm_eval.simple_evaluate(model=HFLM(pretrained=model, tokenizer=tokenizer, batch_size=8), tasks=configs,
                                   num_fewshot=shots, log_samples=True, random_seed=0)


@pytest.mark.parametrize("shots", [0, 5])
def test_choice_per_item_equals_lm_eval_harness(benchmark_files, model_and_tokenizer, shots):
    model, tokenizer = model_and_tokenizer
    usable = {s: v for s, v in benchmark_files.items() if len(v[1]) >= shots}
    results = _lm_eval(model, tokenizer, [cfg for _, _, cfg in usable.values()], shots)
    ours = LoglikScorer(model, tokenizer, "cpu", batch_size=5)
    compared = 0
    for subject, (test, dev, cfg) in usable.items():
        theirs = sorted(results["samples"][cfg["task"]], key=lambda s: s["doc_id"])
        reqs = [request(item, dev[:shots], "harness") for item in test]
        scored = ours.score([(r.context, r.choices) for r in reqs])
        assert len(theirs) == len(test)
        for item, req, mine, sample in zip(test, reqs, scored, theirs, strict=True):
            their_context = sample["arguments"][0][0]
            assert req.context == their_context, (subject, item["id"])
            their_lls = [resp[0][0] for resp in sample["resps"]]
            assert mine.logliks == pytest.approx(their_lls, abs=1e-4), (subject, item["id"])
            assert mine.choice == max(range(4), key=lambda c: (their_lls[c], -c)), (subject, item["id"])
            assert [resp[0][1] for resp in sample["resps"]] == list(mine.greedy)
            compared += 1
    assert compared == 14 * len(usable) and len(usable) == (3 if shots == 0 else 2)


def test_a_dev_split_shorter_than_k_lm_eval_refuses_we_use_what_there_is(benchmark_files, model_and_tokenizer):
    from eval.mcq.items import shots_for

    test, dev, cfg = benchmark_files["anatomy"]
    with pytest.raises(AssertionError, match="exceeds"):
        _lm_eval(*model_and_tokenizer, [cfg], 5)
    assert shots_for(test[0], dev, 5) == dev and len(dev) == 3
    assert request(test[0], shots_for(test[0], dev, 5), "harness").context.count("答案：") == 4


def test_official_style_is_the_argmax_of_the_bare_letters_next_token_logits(benchmark_files, model_and_tokenizer):
    import torch

    model, tokenizer = model_and_tokenizer
    test, dev, _ = benchmark_files["high_school_mathematics"]
    reqs = [request(item, dev, "official") for item in test]
    assert all(r.context.endswith("答案是：") and r.choices == ("A", "B", "C", "D") for r in reqs)
    scored = LoglikScorer(model, tokenizer, "cpu", separate=True).score([(r.context, r.choices) for r in reqs])
    letter_ids = [tokenizer.encode(letter, add_special_tokens=False)[-1] for letter in "ABCD"]
    for req, mine in zip(reqs, scored, strict=True):
        ids = torch.tensor([tokenizer.encode(req.context, add_special_tokens=False)])
        with torch.no_grad():
            last = model(ids).logits[0, -1]
        assert mine.choice == int(torch.argmax(last[letter_ids]))
