"""Prompt rendering matches training (LLaMA-Factory's qwen template = the model's chat template), and
checkpoint specs resolve or fail with a message that names them."""

import json

import pytest

from eval import checkpoints
from eval.checkpoints import CheckpointError, collect, default_base, discover, parse_spec, resolve
from eval.inputs import user_content
from eval.prompts import PromptRenderer


def test_prompt_ids_equal_the_chat_template(tiny_model):
    from transformers import AutoTokenizer

    renderer = PromptRenderer(AutoTokenizer.from_pretrained(tiny_model))
    fresh = AutoTokenizer.from_pretrained(tiny_model)  # untouched by LLaMA-Factory's template fixes
    for record in [{"instruction": "主题:咳嗽\n内容:咳嗽三天", "input": ""},
                   {"instruction": "原始词:胃镜", "input": "补充说明"}]:
        content = user_content(record)
        expected = fresh.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True,
                                             tokenize=True, return_dict=False)
        assert renderer.encode(content) == list(expected)
    assert user_content({"instruction": "原始词:胃镜", "input": "补充说明"}) == "原始词:胃镜\n补充说明"
    assert renderer.tokenizer.convert_ids_to_tokens(renderer.stop_token_ids()) == ["<|im_end|>"]


def test_custom_system_prompt(tiny_model):
    from transformers import AutoTokenizer

    renderer = PromptRenderer(AutoTokenizer.from_pretrained(tiny_model), system="你是医生。")
    text = renderer.tokenizer.decode(renderer.encode("你好"))
    assert text.startswith("<|im_start|>system\n你是医生。<|im_end|>\n<|im_start|>user\n你好<|im_end|>")


def make_model_dir(folder):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"x")
    return folder


def make_adapter(folder, base):
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base), "r": 8}))
    (folder / "adapter_model.safetensors").write_bytes(b"x")
    return folder


def test_discover_finds_adapters_and_models_but_not_intermediate_checkpoints(tmp_path):
    base = make_model_dir(tmp_path / "base")
    saves = tmp_path / "saves"
    make_adapter(saves / "tiny-qwen2" / "lora" / "sft", base)
    make_adapter(saves / "tiny-qwen2" / "lora" / "sft" / "checkpoint-5", base)
    make_model_dir(saves / "tiny-qwen2" / "full" / "sft")
    make_model_dir(saves / "tiny-qwen2" / "lora" / "sft-merged")
    (saves / "tiny-qwen2" / "pt" / "empty").mkdir(parents=True)
    names = [name for name, _ in discover(saves)]
    assert names == ["tiny-qwen2/full/sft", "tiny-qwen2/lora/sft", "tiny-qwen2/lora/sft-merged"]
    assert discover(tmp_path / "missing") == []

    ckpts = collect(None, str(base), saves)
    assert [c.name for c in ckpts] == ["base", *names]
    adapter = ckpts[2]
    assert adapter.is_adapter and adapter.base == str(base) and adapter.model_path == str(base)


def test_fingerprint_changes_with_the_weights(tmp_path):
    folder = make_model_dir(tmp_path / "m")
    before = resolve("m", str(folder)).fingerprint()
    (folder / "model.safetensors").write_bytes(b"retrained")
    assert resolve("m", str(folder)).fingerprint() != before


def test_bad_checkpoints_fail_early_with_their_name(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="'lora'.*not found"):
        resolve("lora", str(tmp_path / "no" / "such" / "dir"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="'x'.*holds no config.json"):
        resolve("x", str(empty))
    adapter = make_adapter(tmp_path / "adapter", tmp_path / "gone" / "base")
    with pytest.raises(CheckpointError, match="base model .*gone/base"):
        resolve("a", str(adapter))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(CheckpointError, match="not in the local cache"):
        resolve("hub", "nobody/no-such-model")
    with pytest.raises(CheckpointError, match="NAME=PATH"):
        parse_spec("just-a-path")
    with pytest.raises(CheckpointError, match="used twice"):
        collect([f"a={empty}", f"a={empty}"])


def test_default_base_order(tmp_path, monkeypatch):
    """The downloaded base is the repo's models/Qwen2.5-0.5B-Instruct wherever eval runs: a folder of that
    name under the working directory is not it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODEL", raising=False)
    local = tmp_path / "repo" / "models" / "Qwen2.5-0.5B-Instruct"
    monkeypatch.setattr(checkpoints, "LOCAL_BASE_MODEL", local)
    (tmp_path / "models" / "Qwen2.5-0.5B-Instruct").mkdir(parents=True)
    assert default_base() == "Qwen/Qwen2.5-0.5B-Instruct"
    local.mkdir(parents=True)
    assert default_base() == str(local)
    monkeypatch.setenv("MODEL", "/somewhere/model")
    assert default_base() == "/somewhere/model"
    assert default_base("given") == "given"
