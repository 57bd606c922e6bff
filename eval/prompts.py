"""Render prompts exactly as LLaMA-Factory rendered them for training, with the run's template (`qwen` by
default)."""

from __future__ import annotations

DEFAULT_TEMPLATE = "qwen"


class PromptRenderer:
    """Token ids of the prompt for one user turn, by LLaMA-Factory's own template code, so the
    rendering cannot drift from what the model was trained on. `system=None` means the template's
    default system prompt, as in training on data without a system column."""

    def __init__(self, tokenizer, template: str = DEFAULT_TEMPLATE, system: str | None = None):
        from llamafactory.data import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments

        self.tokenizer = tokenizer
        self.template = get_template_and_fix_tokenizer(tokenizer, DataArguments(template=template))
        self.system = system

    def encode(self, user_content: str | list[dict]) -> list[int]:
        """One user turn, or a conversation ending in a user turn (earlier turns as in training: the
        template renders them, as LLaMA-Factory's predict does, before the open assistant turn)."""
        turns = [{"role": "user", "content": user_content}] if isinstance(user_content, str) else list(user_content)
        prompt_ids, _ = self.template.encode_oneturn(self.tokenizer, [*turns, {"role": "assistant", "content": ""}],
                                                     self.system)
        return prompt_ids

    def stop_token_ids(self) -> list[int]:
        """The template's stop words (<|im_end|>) plus the tokenizer's eos."""
        ids = list(self.template.get_stop_token_ids(self.tokenizer))
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return list(dict.fromkeys(ids))
