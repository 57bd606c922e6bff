"""Fixtures for the eval tests: a tiny random Chinese BERT, a LoRA adapter trained for a few steps on
the tiny Qwen2, and a fake generator that counts (and can fail) its calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.generated import Generated

BERT_CHARS = "主诉现病史辅助检查既往史诊断建议发热咳嗽三天无不详暂缺感冒治疗多喝水休息痰您好,。-"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer random BERT with a character WordPiece vocab, saved like a hub model directory."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + sorted(set(BERT_CHARS))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt"), model_max_length=128).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def lora_adapter(tmp_path_factory, tiny_model, prepared_data) -> Path:
    """A LoRA adapter on the tiny model after 3 steps of LLaMA-Factory SFT (in-process, seconds)."""
    from llamafactory.train.tuner import run_exp

    out = tmp_path_factory.mktemp("saves") / "tiny-qwen2" / "lora" / "sft"
    run_exp({
        "model_name_or_path": str(tiny_model), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_target": "all", "lora_rank": 4, "dataset": "med_norm", "dataset_dir": str(prepared_data),
        "template": "qwen", "cutoff_len": 256, "max_samples": 32, "output_dir": str(out),
        "overwrite_output_dir": True, "per_device_train_batch_size": 4, "max_steps": 3, "learning_rate": 1e-2,
        "save_strategy": "no", "report_to": "none", "use_cpu": True, "disable_tqdm": True, "logging_steps": 10,
    })
    assert (out / "adapter_config.json").is_file()
    return out


class CountingGenerator:
    """Stands in for a model: deterministic text per prompt; counts calls; raises on call `fail_on`."""

    def __init__(self, fail_on: int | None = None):
        self.calls, self.samples, self.fail_on = 0, 0, fail_on

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        self.calls += 1
        if self.fail_on is not None and self.calls == self.fail_on:
            raise RuntimeError("injected failure")
        self.samples += len(batch)
        return [Generated(f"answer {sum(ids)}/{len(ids)}", "stop", 3) for ids in batch]

    def close(self) -> None:
        pass


@pytest.fixture
def counting_generator():
    return CountingGenerator
