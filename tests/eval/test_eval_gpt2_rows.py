"""One report for all, the GPT-2 rows: seed 000's chatbot (a GPT-2 with a BERT Chinese vocab, trained from
scratch by LLaMA-Factory) is scored on the text it means (no spaces between Chinese characters), on the tasks
of its training data (qa, dialog), with the qa history rendered exactly as LLaMA-Factory renders it, within its
300-position context; LLaMA-Factory's own generated_predictions.jsonl of such a model scores the same way."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eval import EvalOptions, run_eval
from eval.detokenize import bert_decoded, join_bert_spaces, spacing_decoder, text_cleanup
from eval.inputs import InputError, conversation, load_test_set
from eval.metrics import score_task
from eval.predictions import prompt_hash
from eval.prompts import PromptRenderer
from eval.routes import Route
from eval.runner import score_file
from eval.scored import Sample
from launch.tiny import bert_gpt2 as tiny_models
from tests.conftest import REPO_ROOT

CJK = "脂肪肝建议就医明确诊断腹痛发热咳嗽"
PUNCT = ";,。?!、:()"
LATIN = "abcxyz0123"


@pytest.fixture(scope="module")
def bert_tokenizer(tmp_path_factory):
    """A BERT-style tokenizer (the tiny GPT-2s' kind) whose vocab holds every character the tests use."""
    from transformers import AutoTokenizer

    vocab = tiny_models.build_bert_vocab(tmp_path_factory.mktemp("vocab") / "v", corpus=[CJK + PUNCT + LATIN])
    return AutoTokenizer.from_pretrained(vocab.parent)


@pytest.fixture(scope="module")
def tiny_gpt2_scratch() -> Path:
    """models/tiny-gpt2-scratch (`make tiny-gpt2`), built on demand."""
    folder = REPO_ROOT / "models" / tiny_models.GPT2_SCRATCH_NAME
    if not (folder / "config.json").is_file():
        tiny_models.build_all(folder.parent)
    return folder


def decode(tokenizer, text: str) -> str:
    """What LLaMA-Factory and eval get back from a BERT-vocab model: its tokens, decoded."""
    return tokenizer.decode(tokenizer.encode(text, add_special_tokens=False), skip_special_tokens=True)


# ------------------------------------------------------------------------------- the text the model means
pieces = st.lists(st.tuples(st.sampled_from(["cjk", "punct", "word"]), st.integers(0, 9), st.booleans()),
                  min_size=1, max_size=12)


def build(parts) -> tuple[str, str]:
    """(text, what a BERT tokenizer can give back). Stated from BERT's rules: every CJK character and every
    punctuation mark is a token of its own and the spaces around it are dropped on the way in; a space
    between two Latin/number words separates two tokens and survives."""
    alphabet = {"cjk": CJK, "punct": PUNCT, "word": LATIN}
    chunks = [(kind, alphabet[kind][n % len(alphabet[kind])] * (1 + n % 3 if kind == "word" else 1), space)
              for kind, n, space in parts]
    text, expected = "", ""
    for i, (kind, chunk, space) in enumerate(chunks):
        gap = " " if space and i else ""
        text += gap + chunk
        both_words = i and kind == "word" and chunks[i - 1][0] == "word"
        expected += (gap if both_words else "") + chunk
    return text, expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=pieces)
def test_decoded_text_joins_back_to_the_text(bert_tokenizer, parts):
    text, expected = build(parts)
    decoded = decode(bert_tokenizer, text)
    assert join_bert_spaces(decoded) == expected
    assert join_bert_spaces(expected) == expected  # joining is idempotent: the text the model means stays


def test_the_library_cleanup_does_not_do_it_and_byte_level_tokenizers_are_left_alone(bert_tokenizer, tiny_model):
    from transformers import AutoTokenizer

    ids = bert_tokenizer.encode("脂肪肝;建议就医", add_special_tokens=False)
    # transformers' own clean-up only handles English punctuation: the spaces between characters stay
    assert bert_tokenizer.decode(ids, clean_up_tokenization_spaces=True) == "脂 肪 肝 ; 建 议 就 医"
    assert spacing_decoder(bert_tokenizer)
    qwen = AutoTokenizer.from_pretrained(tiny_model)
    assert not spacing_decoder(qwen)
    name, clean = text_cleanup(qwen)
    assert name is None and clean("脂 肪 肝") == "脂 肪 肝"


mixed = st.text(alphabet=CJK + PUNCT + LATIN + " ", max_size=15)


@given(mixed, st.sampled_from(CJK), st.sampled_from(CJK), mixed)
def test_people_written_chinese_is_never_taken_for_bert_decoded(before, first, second, after):
    """Two Chinese characters side by side anywhere in the labels: not a BERT decode, left as written."""
    assert not bert_decoded([before + first + second + after, "脂 肪"])
    assert bert_decoded([" ".join(before + first + second + after), "脂 肪"])


def test_llamafactory_predictions_of_a_bert_vocab_model_score_as_the_text(bert_tokenizer, prepared_data, tmp_path):
    """LLaMA-Factory's predict decodes answers and labels with the model's tokenizer (spaced): eval score
    joins both back, matches the labels with the test file and scores what the model meant."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(REPO_ROOT / "models" / tiny_models.VOCAB_DIR_NAME)
    test = prepared_data / "data" / "sft" / "qa_test.jsonl"
    records = load_test_set(test, "qa", limit=20)
    answers = [records[(i + 1) % len(records)]["output"] for i in range(len(records))]  # wrong on purpose
    lines = [{"prompt": "", "predict": decode(tokenizer, answer), "label": decode(tokenizer, r["output"])}
             for r, answer in zip(records, answers, strict=True)]
    assert all(" " in line["label"] for line in lines)
    path = tmp_path / "generated_predictions.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")

    expected = score_task("qa", [Sample(i, "", answer, r["output"]) for i, (r, answer)
                                 in enumerate(zip(records, answers, strict=True))]).metrics
    with_test = score_file("qa", path, test, tmp_path / "a")["checkpoints"]["generated_predictions"]["tasks"]["qa"]
    without = score_file("qa", path, None, tmp_path / "b")["checkpoints"]["generated_predictions"]["tasks"]["qa"]
    assert with_test == expected == without
    assert expected["rouge-l"] > 0 and expected["mean_length"] == sum(map(len, answers)) / len(answers)

    lines[3]["label"] = decode(tokenizer, "腰痛")  # not that record's output: still refused
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(InputError, match=r"generated_predictions.jsonl:4: label differs from test record 4"):
        score_file("qa", path, test, tmp_path / "c")


# ------------------------------------------------------------------- history, as LLaMA-Factory renders it
def llamafactory_prompts(model: Path, template: str, dataset_dir: Path, out: Path) -> list[list[int]]:
    """Input ids of med_qa_test through LLaMA-Factory's own data pipeline for predict (its parser, the
    alpaca converter with the registered history column, the template)."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    model_args, data_args, training_args, _, _ = get_train_args({
        "model_name_or_path": str(model), "stage": "sft", "do_predict": True, "predict_with_generate": True,
        "finetuning_type": "full", "eval_dataset": "med_qa_test", "dataset_dir": str(dataset_dir),
        "template": template, "cutoff_len": 4096, "output_dir": str(out), "overwrite_output_dir": True,
        "report_to": "none", "use_cpu": True, "overwrite_cache": True})
    tokenizer_module = load_tokenizer(model_args)
    template_obj = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    dataset = get_dataset(template_obj, model_args, data_args, training_args, stage="sft", **tokenizer_module)
    return [list(row["input_ids"]) for row in dataset["eval_dataset"]]


@pytest.mark.parametrize("model, template", [("tiny-gpt2-scratch", "default"), ("tiny-qwen2", "qwen")])
def test_qa_history_is_rendered_as_llamafactory_renders_it(model, template, tiny_model, tiny_gpt2_scratch,
                                                           prepared_data, tmp_path):
    from transformers import AutoTokenizer

    folder = REPO_ROOT / "models" / model
    records = load_test_set(prepared_data / "data" / "sft" / "qa_test.jsonl", "qa")
    assert sum(bool(r["history"]) for r in records) >= 5  # multi-turn blocks are in the test set
    renderer = PromptRenderer(AutoTokenizer.from_pretrained(folder), template)
    ours = [renderer.encode(conversation(r)) for r in records]
    assert ours == llamafactory_prompts(folder, template, prepared_data, tmp_path)
    with_history = next(r for r in records if r["history"])
    assert renderer.encode(conversation(with_history)) != renderer.encode(conversation({**with_history, "history": []}))


def test_history_that_is_not_pairs_of_strings_names_the_line(tmp_path):
    path = tmp_path / "qa_test.jsonl"
    good = {"instruction": "q", "input": "", "output": "a", "history": [["q0", "a0"]]}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "history": [["q0"]]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"qa_test.jsonl:2: `history` must be a list of \[question, answer\]"):
        load_test_set(path, "qa")


# --------------------------------------------------------------------------------- context and task plans
def fake_route(context: int | None, tasks=None, why_not: str = "") -> Route:
    return Route("transformers", None, "default", None, {}, lambda record: [1] * len(record["instruction"]),
                 lambda: None, tasks, why_not, context, str)


def test_the_budget_shrinks_to_the_context_and_a_task_that_cannot_fit_is_not_scored():
    test_sets = {"qa": [{"instruction": "x" * 20}, {"instruction": "x" * 50}], "mrg": [{"instruction": "x" * 300}],
                 "norm": [{"instruction": "x"}]}
    planned, skipped = fake_route(300).plan(test_sets, {"qa": 512, "mrg": 64, "norm": 8})
    assert {task: budget for task, (_, budget) in planned.items()} == {"qa": 250, "norm": 8}
    assert skipped == {"mrg": "its prompts (up to 300 tokens) leave no room in its 300 positions"}
    planned, skipped = fake_route(None, ("qa",), "trained from scratch on med_qa only").plan(
        test_sets, {"qa": 512, "mrg": 64, "norm": 8})
    assert list(planned) == ["qa"] and planned["qa"][1] == 512
    assert skipped == dict.fromkeys(("mrg", "norm"), "trained from scratch on med_qa only")


def test_a_registered_dataset_names_its_eval_task():
    """data_prep registers task X's splits as med_X and med_X_test (the README's data table); a from-scratch
    run is scored on the tasks of the datasets it names, read through the contract's registration table."""
    from contract.datasets import DATASETS
    from eval.tasks import GENERATIVE, TASKS, task_of_dataset

    registered = [t for t, spec in TASKS.items() if spec.kind == GENERATIVE]  # multiple choice: never registered
    for task in registered:
        assert task_of_dataset(f"med_{task}") == task_of_dataset(f" med_{task}_test ") == task
    assert {task_of_dataset(name) for name in DATASETS.values()} == {*registered, None}  # None: med_general
    for other in ("med_pt", "med_text", "med_general", "dialog", "med_dialogue", "med_norm_train", ""):
        assert task_of_dataset(other) is None


# ------------------------------------------------------------------------ the GPT-2 row, end to end (slow)
LIMIT = 12  # qa_test line 11 is the first with history


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory, tiny_gpt2_scratch, prepared_data) -> Path:
    """Seed 000's recipe on the tiny GPT-2, a few steps in-process, with the launch config the launcher saves."""
    from llamafactory.train.tuner import run_exp

    recipe = yaml.safe_load((REPO_ROOT / "llamafactory_configs" / "gpt2_chinese_scratch_full_sft.yaml")
                            .read_text(encoding="utf-8"))
    out = tmp_path_factory.mktemp("saves") / "tiny-gpt2" / "full" / "scratch_sft"
    config = {**recipe, "model_name_or_path": str(tiny_gpt2_scratch), "dataset_dir": str(prepared_data),
              "output_dir": str(out), "max_steps": 30, "per_device_train_batch_size": 8, "learning_rate": 1e-3,
              "warmup_steps": 3, "bf16": False, "preprocessing_num_workers": None, "dataloader_num_workers": 0,
              "save_strategy": "no", "plot_loss": False, "use_cpu": True, "disable_tqdm": True}
    run_exp(dict(config))
    (out / "launch_config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def report(gpt2_run, tiny_model, prepared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    # dialog asks for more new tokens than the GPT-2's 300 positions leave after its longest prompt
    run_eval(EvalOptions(checkpoints={"base": str(tiny_model), "gpt2": str(gpt2_run)}, tasks="dialog,qa,norm",
                         data_dir=prepared_data / "data" / "sft", out_dir=out, limit=LIMIT, batch_size=4,
                         max_new_tokens={"dialog": 400, "qa": 24, "norm": 4}))
    return out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_the_gpt2_row_is_scored_on_its_training_tasks_only(report, gpt2_run, prepared_data):
    from transformers import AutoTokenizer

    summary = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    gpt2 = summary["checkpoints"]["gpt2"]
    assert set(gpt2["tasks"]) == {"dialog", "qa"} and set(summary["checkpoints"]["base"]["tasks"]) == {"dialog", "qa", "norm"}
    assert gpt2["not_scored"] == {"norm": "trained from scratch on med_qa, med_dialog only"}
    renderer = PromptRenderer(AutoTokenizer.from_pretrained(gpt2_run), "default")
    dialog = load_test_set(prepared_data / "data" / "sft" / "dialog_test.jsonl", "dialog", LIMIT)
    assert gpt2["max_new_tokens"] == {"dialog": 300 - max(len(renderer.encode(conversation(r))) for r in dialog),
                                      "qa": 24}
    assert summary["checkpoints"]["base"]["max_new_tokens"]["dialog"] == 400
    text = (report / "report.md").read_text(encoding="utf-8")
    norm_table = text[text.index("### norm"):].split("###")[1]
    assert "| gpt2 |" in text[text.index("### qa"):].split("###")[1] and "| gpt2 |" not in norm_table
    assert (f"| default, system: template default | dialog (max_new_tokens {gpt2['max_new_tokens']['dialog']}: its "
            "context), qa; not norm: trained from scratch on med_qa, med_dialog only |") in text
    for task in ("dialog", "qa"):
        metrics = gpt2["tasks"][task]
        assert metrics["n"] == LIMIT and {"bleu-4", "rouge-l", "distinct-2"} <= set(metrics)


@pytest.mark.slow
def test_the_gpt2_answers_are_its_greedy_text_without_bert_spaces(report, gpt2_run, prepared_data):
    """Independently: LLaMA-Factory's prompt ids, one prompt at a time unpadded, transformers' greedy generate,
    the tokenizer's decode, then the spaces BERT's decoder puts between characters removed."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gpt2_run).eval()
    tokenizer = AutoTokenizer.from_pretrained(gpt2_run)
    lf_prompts = llamafactory_prompts(gpt2_run, "default", prepared_data, gpt2_run.parent / "lf")[:LIMIT]
    preds = rows(report / "gpt2" / "qa" / "predictions.jsonl")
    assert [p["prompt_sha"] for p in preds] == [prompt_hash(ids) for ids in lf_prompts]  # history included
    for ids, pred in zip(lf_prompts, preds, strict=True):
        with torch.no_grad():
            out = model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=24, use_cache=True,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        new = out[0, len(ids):].tolist()
        new = new[:new.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in new else new
        decoded = tokenizer.decode(new, skip_special_tokens=True)
        assert pred["predict"] == join_bert_spaces(decoded)
    answers = [p["predict"] for p in preds + rows(report / "gpt2" / "dialog" / "predictions.jsonl")]
    assert any(re.search("[\u4e00-\u9fff]{2}", a) for a in answers)  # decoded spaced, scored joined
    assert not any(re.search("[\u4e00-\u9fff] [\u4e00-\u9fff]", a) for a in answers)
