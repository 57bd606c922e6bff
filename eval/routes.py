"""How one checkpoint turns a test record into an answer: a causal LM through its own chat template and
system prompt (from its run's launch config), or a sequence classifier through its predict path; and which
tasks it answers, with how many new tokens its context leaves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from . import classifier
from .backends import make_generator, resolve_backend
from .checkpoints import Checkpoint
from .detokenize import text_cleanup
from .inputs import InputError, conversation
from .loading import load_tokenizer
from .prompts import PromptRenderer
from .tasks import CLASSIFIER_TASKS, task_of_dataset


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
    why_not: str = ""  # why the other tasks do not apply
    context: int | None = None  # positions for prompt + answer (GPT-2: n_positions); None: no known limit
    decode_prompt: Callable[[list[int]], str] | None = None  # prompt ids -> the text shown in predictions.jsonl

    def applicable(self, task_names: list[str]) -> list[str]:
        return [t for t in task_names if self.tasks is None or t in self.tasks]

    def plan(self, test_sets: dict[str, list[dict]], budget: dict[str, int],
             ) -> tuple[dict[str, tuple[list[list[int]], int]], dict[str, str]]:
        """({task: (prompt ids, max_new_tokens)} to generate, {task: why it is not scored}). The budget
        shrinks to what the model's context leaves after the longest prompt; a task whose prompts fill the
        context is not scored."""
        planned, skipped = {}, {}
        for task, records in test_sets.items():
            if task not in self.applicable(list(test_sets)):
                skipped[task] = self.why_not
                continue
            prompts = [self.encode(r) for r in records]
            new_tokens = budget[task]
            if self.context is not None:
                longest = max(len(p) for p in prompts)
                new_tokens = min(new_tokens, self.context - longest)
                if new_tokens < 1:
                    skipped[task] = (f"its prompts (up to {longest} tokens) leave no room in its {self.context} "
                                     "positions")
                    continue
            planned[task] = (prompts, new_tokens)
        return planned, skipped

    def describe(self) -> str:
        if self.template is None:
            return "classifier (sigmoid > threshold)"
        return f"{self.template}, system: {'template default' if self.system is None else self.system}"


class CleanedText:
    """A generator whose answers pass through `clean` after decoding (a BERT-vocab GPT-2's spaces between
    Chinese characters, see detokenize.py); the decoding itself is untouched."""

    def __init__(self, inner, clean: Callable[[str], str]):
        self.inner, self.clean, self.name = inner, clean, inner.name

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list:
        return [replace(out, text=self.clean(out.text)) for out in self.inner.generate(batch, max_new_tokens)]

    def close(self) -> None:
        self.inner.close()


def from_scratch_tasks(ckpt: Checkpoint) -> tuple[tuple[str, ...] | None, str]:
    """A model trained from scratch (seed 000's GPT-2) knows nothing but its training data: it answers the
    tasks of its training datasets only (med_qa -> qa, med_dialog -> dialog). Others: every task."""
    config = ckpt.launch_config or {}
    if not config.get("train_from_scratch"):
        return None, ""
    datasets = config.get("dataset") or []
    names = [n.strip() for n in datasets.split(",")] if isinstance(datasets, str) else [str(n) for n in datasets]
    tasks = tuple(dict.fromkeys(t for t in map(task_of_dataset, names) if t))
    if not tasks:
        return None, ""
    return tasks, f"trained from scratch on {', '.join(n for n in names if n)} only"


def context_length(ckpt: Checkpoint) -> int | None:
    """The model's position limit (GPT-2's n_positions, others' max_position_embeddings), None if unknown."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(ckpt.model_path)
    except (OSError, ValueError):
        return None
    value = getattr(config, "max_position_embeddings", None)  # GPT2Config maps it to n_positions
    return value if isinstance(value, int) and value > 0 else None


def route_for(ckpt: Checkpoint, backend: str, template: str, system: str | None, device: str, dtype: str,
              cpu_speedups: bool = True) -> Route:
    """`template`/`system`: used only for a checkpoint without a saved launch config (e.g. the base model);
    `cpu_speedups`: the transformers backend's (cpu_speedups.py; off: the stock path, same tokens)."""
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
                     CLASSIFIER_TASKS, "a sequence classifier answers triage only",
                     decode_prompt=lambda ids: tokenizer.decode(ids, skip_special_tokens=False))
    chosen = resolve_backend(backend, device)
    tokenizer = load_tokenizer(ckpt)
    template, system = ckpt.prompt_settings(template, system)
    renderer = PromptRenderer(tokenizer, template, system)
    stop_ids = renderer.stop_token_ids()
    cleanup, clean = text_cleanup(tokenizer)
    key = {"backend": chosen, "template": template, "system": system, "stop_ids": stop_ids}
    if cleanup:
        key["text_cleanup"] = cleanup

    def load():
        generator = make_generator(chosen, ckpt, tokenizer, stop_ids, device, dtype, cpu_speedups)
        return CleanedText(generator, clean) if cleanup else generator

    tasks, why_not = from_scratch_tasks(ckpt)
    return Route(chosen, tokenizer, template, system, key, lambda record: renderer.encode(conversation(record)),
                 load, tasks, why_not, context_length(ckpt),
                 lambda ids: clean(tokenizer.decode(ids, skip_special_tokens=False)))
