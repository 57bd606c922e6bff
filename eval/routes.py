"""How one checkpoint turns a test record into an answer: a causal LM through its own chat template and
system prompt (from its run's launch config), or a sequence classifier through its predict path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import classifier
from .backends import load_tokenizer, make_generator, resolve_backend
from .checkpoints import Checkpoint
from .prompts import PromptRenderer
from .tasks import CLASSIFIER_TASKS
from .testdata import InputError, user_content


@dataclass
class Route:
    backend: str
    tokenizer: object
    template: str | None  # None for a classifier
    system: str | None
    key: dict  # what the predictions cache must match besides the model and the task's budget
    encode: Callable[[dict], list[int]]  # test record -> input ids
    make_generator: Callable[[], object]  # loads the weights (only when something is left to predict)
    tasks: tuple[str, ...] | None = None  # the tasks it answers; None: all

    def applicable(self, task_names: list[str]) -> list[str]:
        return [t for t in task_names if self.tasks is None or t in self.tasks]

    def describe(self) -> str:
        if self.template is None:
            return "classifier (sigmoid > threshold)"
        return f"{self.template}, system: {'template default' if self.system is None else self.system}"


def route_for(ckpt: Checkpoint, backend: str, template: str, system: str | None, device: str, dtype: str) -> Route:
    """`template`/`system`: used only for a checkpoint without a saved launch config (e.g. the base model)."""
    if ckpt.is_classifier:
        tokenizer = classifier.load_tokenizer(ckpt)
        max_len, threshold = classifier.settings(ckpt, tokenizer)

        def encode(record: dict) -> list[int]:
            if not isinstance(record.get("text"), str):
                raise InputError("triage test records need `text` (the question) for the classifier "
                                 f"{ckpt.name}; rerun `make data` to rewrite the test file")
            return classifier.encode(tokenizer, record["text"], max_len)

        return Route("classifier", tokenizer, None, None,
                     {"backend": "classifier", "max_len": max_len, "threshold": threshold}, encode,
                     lambda: classifier.ClassifierGenerator(classifier.load_model(ckpt, device), tokenizer, threshold),
                     CLASSIFIER_TASKS)
    chosen = resolve_backend(backend, ckpt)
    tokenizer = load_tokenizer(ckpt)
    template, system = ckpt.prompt_settings(template, system)
    renderer = PromptRenderer(tokenizer, template, system)
    stop_ids = renderer.stop_token_ids()
    return Route(chosen, tokenizer, template, system,
                 {"backend": chosen, "template": template, "system": system, "stop_ids": stop_ids},
                 lambda record: renderer.encode(user_content(record)),
                 lambda: make_generator(chosen, ckpt, tokenizer, stop_ids, device, dtype))
