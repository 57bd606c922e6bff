"""Seeds 000 and 002 as rows: the tiny BERT-vocab GPT-2 builders, the gpt2_* recipes through LLaMA-Factory's
own argument parser (real and tiny profile), and tiny CPU runs of each: from-scratch SFT, then predict and
chat on it; the full fine-tune (stage pt) of the pretrained-shaped model, then generation from it."""

from __future__ import annotations

import json

import pytest
import yaml

import launch
from contract.models import GPT2_MODEL_ID, TINY_GPT2, TINY_GPT2_SCRATCH
from contract.paths import RECIPE_DIR
from launch.profiles import TINY_NEW_TOKENS
from launch.tiny import bert_gpt2 as tiny_models
from tests.launch.conftest import base_environ

GPT2_RECIPES = sorted(RECIPE_DIR.glob("gpt2_*.yaml"))
SCRATCH, SCRATCH_CHAT, SCRATCH_PREDICT = (RECIPE_DIR / f"gpt2_chinese_scratch_{n}.yaml"
                                          for n in ("full_sft", "chat", "predict"))
PT, PT_CHAT = RECIPE_DIR / "gpt2_chinese_full_pt.yaml", RECIPE_DIR / "gpt2_chinese_pt_chat.yaml"


def raw(path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def command_for(recipe: dict) -> str:
    return "train" if recipe.get("do_train") else "predict" if recipe.get("do_predict") else "chat"


@pytest.fixture(scope="session")
def tiny_gpt2():
    """The tiny BERT vocab and GPT-2s (`make tiny-gpt2`), built on demand."""
    if not (TINY_GPT2 / "config.json").exists() or not (TINY_GPT2_SCRATCH / "config.json").exists():
        tiny_models.build_all(TINY_GPT2.parent)
    return TINY_GPT2


# ------------------------------------------------------------------------------------------------ builders
def test_vocab_is_bert_style_and_covers_every_bundled_text(tiny_gpt2):
    from transformers import AutoTokenizer

    vocab = (TINY_GPT2.parent / tiny_models.VOCAB_DIR_NAME / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and len(vocab) == len(set(vocab))
    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2)
    assert type(tokenizer).__name__ == "BertTokenizer" and tokenizer.eos_token is None  # like the hub model
    assert len(tokenizer) == len(vocab)
    unk = tokenizer.unk_token_id
    for text in tiny_models.bundled_texts():
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert unk not in ids
    assert tokenizer.tokenize("高血压CT检查") == ["高", "血", "压", "c", "##t", "检", "查"]  # lower-cased WordPiece


def test_builders_are_deterministic(tmp_path, tiny_gpt2):
    first = tiny_models.build_all(tmp_path / "a")
    second = tiny_models.build_all(tmp_path / "b")
    for name in first:
        files = sorted(p.relative_to(first[name]) for p in first[name].rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(second[name]) for p in second[name].rglob("*") if p.is_file())
        for rel in files:
            assert (first[name] / rel).read_bytes() == (second[name] / rel).read_bytes(), rel


def test_tiny_shapes_follow_the_seeds(tiny_gpt2):
    from transformers import AutoConfig

    scratch, pretrained = AutoConfig.from_pretrained(TINY_GPT2_SCRATCH), AutoConfig.from_pretrained(TINY_GPT2)
    assert scratch.model_type == pretrained.model_type == "gpt2"
    assert scratch.n_positions == 300 and pretrained.n_positions == 1024  # seed 000's n_ctx; uer's 1024
    assert scratch.tokenizer_class == pretrained.tokenizer_class == "BertTokenizer"
    assert not list(TINY_GPT2_SCRATCH.glob("*.safetensors")) and (TINY_GPT2 / "model.safetensors").is_file()


# ---------------------------------------------------------------------------------------------- recipes
def test_the_recipes_exist():
    assert {p.name for p in GPT2_RECIPES} == {p.name for p in (SCRATCH, SCRATCH_CHAT, SCRATCH_PREDICT, PT, PT_CHAT)}


def test_seed_000_hyper_parameters_and_seed_002_model():
    scratch = raw(SCRATCH)
    assert scratch["model_name_or_path"] == GPT2_MODEL_ID and scratch["train_from_scratch"] is True
    assert (scratch["num_train_epochs"], scratch["learning_rate"], scratch["cutoff_len"]) == (4.0, 2.6e-5, 300)
    assert scratch["finetuning_type"] == "full" and scratch["resize_vocab"] is True
    assert scratch["dataset"] == "med_qa,med_dialog" and scratch["template"] == "default"
    pt = raw(PT)
    assert pt["model_name_or_path"] == GPT2_MODEL_ID and not pt.get("train_from_scratch")
    assert pt["stage"] == "pt" and pt["finetuning_type"] == "full" and pt["dataset"] == "med_pt"
    for path in GPT2_RECIPES:
        out = raw(path).get("output_dir") or raw(path)["model_name_or_path"]
        assert out.startswith("saves/gpt2-chinese-cluecorpussmall/full/") or out == GPT2_MODEL_ID


@pytest.mark.parametrize("path", GPT2_RECIPES, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", [None, "tiny"])
def test_recipe_parses_with_llamafactory(path, profile, data_dir, tmp_path, tiny_gpt2):
    from llamafactory.hparams import get_infer_args, get_train_args

    command = command_for(raw(path))
    overrides = {"dataset_dir": str(data_dir)}
    if command != "chat":
        overrides["output_dir"] = str(tmp_path / "out")
    plan = launch.build(command, str(path), overrides, profile=profile, environ=base_environ())
    config = dict(plan.config)
    model = config["model_name_or_path"]
    if profile == "tiny":
        expected = {SCRATCH: TINY_GPT2_SCRATCH, PT: TINY_GPT2}.get(path)
        assert model == str(expected) if expected else "/saves/tiny-gpt2/full/" in model
    elif command != "train":
        assert model.endswith(raw(path)["model_name_or_path"])  # the run dir, absolute
        config["model_name_or_path"] = str(TINY_GPT2)  # parse against a model that exists offline
    if command == "train" and profile is None:
        config["model_name_or_path"] = str(TINY_GPT2_SCRATCH if path == SCRATCH else TINY_GPT2)
    if profile is None and command != "chat":
        assert config.pop("bf16") is True  # the real runs are on GPUs; this CPU cannot parse bf16
    if command in ("train", "predict"):
        model_args, data_args, training_args, finetuning_args, _ = get_train_args(config)
        assert finetuning_args.stage == raw(path)["stage"] and finetuning_args.finetuning_type == "full"
        # the seed's n_ctx stays, whatever the data manifest recommends
        assert data_args.cutoff_len == raw(path)["cutoff_len"]
        assert model_args.train_from_scratch == bool(raw(path).get("train_from_scratch"))
    else:
        _, data_args, _, generating_args = get_infer_args(config)
        assert data_args.template == raw(path)["template"]
        seed_decoding = {SCRATCH_CHAT: (2, 0.7, 5.0, 1.0), PT_CHAT: (50, 0.95, 1.0, 0.7)}[path]
        assert (generating_args.top_k, generating_args.top_p, generating_args.repetition_penalty,
                generating_args.temperature) == seed_decoding
        assert generating_args.max_new_tokens == (raw(path)["max_new_tokens"] if profile is None
                                                  else TINY_NEW_TOKENS)
        assert generating_args.do_sample


def test_manifest_cutoff_does_not_replace_the_seeds_n_ctx(data_dir, tmp_path):
    manifest = json.loads((data_dir / "data" / "sft" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["recommended_cutoff_len"] != 300  # else this test proves nothing
    plan = launch.build("train", str(SCRATCH), {"dataset_dir": str(data_dir), "output_dir": str(tmp_path)},
                        profile=None, environ=base_environ())
    assert plan.config["cutoff_len"] == 300
    qwen = launch.build("train", "lora", {"dataset_dir": str(data_dir), "output_dir": str(tmp_path)},
                        profile=None, environ=base_environ())
    assert qwen.config["cutoff_len"] == manifest["recommended_cutoff_len"]


# ------------------------------------------------------------------------------------------- tiny runs
def losses(run_dir) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "trainer_log.jsonl").read_text().splitlines()]
    return [row["loss"] for row in rows if "loss" in row]


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory, data_dir, tiny_gpt2):
    out = tmp_path_factory.mktemp("gpt2") / "scratch_sft"
    plan = launch.build("train", str(SCRATCH), {"dataset_dir": str(data_dir), "output_dir": str(out),
                                                "max_samples": 40}, "tiny", environ=base_environ())
    assert launch.run(plan, in_process=True) == 0
    return out


@pytest.mark.slow
def test_scratch_run_trains_a_fresh_gpt2_with_an_eos(scratch_run):
    import torch
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer

    assert len(losses(scratch_run)) == 4 and all(loss == loss for loss in losses(scratch_run))
    tokenizer = AutoTokenizer.from_pretrained(scratch_run)
    assert tokenizer.eos_token == "<|endoftext|>"  # added by LLaMA-Factory's template, vocab resized for it
    config = AutoConfig.from_pretrained(scratch_run)
    assert config.n_positions == 300 and config.vocab_size >= len(tokenizer)
    # from scratch: not the tiny pretrained model's weights (the scratch stand-in ships none)
    with safe_open(str(scratch_run / "model.safetensors"), "pt") as trained, \
            safe_open(str(TINY_GPT2 / "model.safetensors"), "pt") as pretrained:
        key = "transformer.wpe.weight"
        assert trained.get_tensor(key).shape[0] == 300 != pretrained.get_tensor(key).shape[0]
    assert torch.isfinite(torch.tensor(losses(scratch_run))).all()


@pytest.mark.slow
def test_scratch_run_predicts_through_llamafactory(scratch_run, data_dir):
    out = scratch_run.parent / "scratch_sft_predict"
    plan = launch.build("predict", str(SCRATCH_PREDICT), {"dataset_dir": str(data_dir), "output_dir": str(out),
                                                          "model_name_or_path": str(scratch_run)},
                        "tiny", environ=base_environ())
    assert launch.run(plan, in_process=True) == 0
    rows = [json.loads(line) for line in (out / "generated_predictions.jsonl").read_text().splitlines()]
    assert rows and all({"prompt", "predict", "label"} <= set(row) for row in rows)
    assert all(row["prompt"].startswith("human :") for row in rows)  # template default, BERT-decoded
    assert "predict_bleu-4" in json.loads((out / "predict_results.json").read_text())


@pytest.mark.slow
def test_scratch_run_chats_with_the_seeds_decoding(scratch_run, tmp_path):
    from llamafactory.chat import ChatModel

    plan = launch.build("chat", str(SCRATCH_CHAT), {"model_name_or_path": str(scratch_run)}, "tiny",
                        environ=base_environ())
    chat = ChatModel(dict(plan.config))
    assert chat.engine.generating_args["top_k"] == 2 and chat.engine.generating_args["repetition_penalty"] == 5.0
    messages = [{"role": "user", "content": "高血压有哪些症状?"}]
    reply = chat.chat(messages)[0]
    assert reply.response_length <= plan.config["max_new_tokens"]
    messages += [{"role": "assistant", "content": reply.response_text}, {"role": "user", "content": "要吃药吗?"}]
    assert chat.chat(messages)[0].finish_reason in ("stop", "length")


@pytest.mark.slow
def test_pt_run_fine_tunes_the_pretrained_weights_and_generates(tmp_path, data_dir, tiny_gpt2):
    from llamafactory.chat import ChatModel
    from safetensors import safe_open

    out = tmp_path / "pt"
    plan = launch.build("train", str(PT), {"dataset_dir": str(data_dir), "output_dir": str(out),
                                           "max_samples": 40}, "tiny", environ=base_environ())
    assert plan.config["model_name_or_path"] == str(TINY_GPT2)
    assert launch.run(plan, in_process=True) == 0
    assert len(losses(out)) == 4
    # a full fine-tune of the pretrained weights: every tensor moved a little from where it started
    with safe_open(str(out / "model.safetensors"), "pt") as trained, \
            safe_open(str(TINY_GPT2 / "model.safetensors"), "pt") as pretrained:
        before, after = pretrained.get_tensor("transformer.h.0.mlp.c_fc.weight"), \
            trained.get_tensor("transformer.h.0.mlp.c_fc.weight")
        assert 0 < (after - before).abs().max() < 0.01
    chat = ChatModel(dict(launch.build("chat", str(PT_CHAT), {"model_name_or_path": str(out)}, "tiny",
                                       environ=base_environ()).config))
    reply = chat.chat([{"role": "user", "content": "春满神州"}])[0]
    assert isinstance(reply.response_text, str) and reply.response_length <= 32
