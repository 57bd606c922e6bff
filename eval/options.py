"""What one evaluation run is asked to do, as one object: the CLI builds it from its flags, the demo, the tests and
the benches build it in Python. Values that cannot work (a batch of 0, an unknown task in --max-new-tokens) are
refused when it is built, before anything loads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contract.datasets import MCQ_SHOTS
from contract.paths import REPORTS_DIR, SFT_DIR, repo_relative

from .checkpoints import SAVES
from .mcq.prompts import DEFAULT_STYLE, STYLES
from .prompts import DEFAULT_TEMPLATE
from .tasks import TASKS

DEFAULT_BATCH_SIZE = 64
# reports/<run>, relative to the working directory like data/sft and saves/ (`make eval` runs in the repo root)
REPORTS = Path(repo_relative(REPORTS_DIR))
DEFAULT_RUN = "eval"
BACKENDS = ("auto", "transformers", "vllm")
MCQ_STYLES = STYLES  # eval/mcq/prompts.py says what each is


def parse_max_new_tokens(text: str | Mapping[str, int] | None) -> dict[str, int]:
    """`norm=64,mrg=2048` (or a mapping) over the per-task defaults."""
    budget = {name: spec.max_new_tokens for name, spec in TASKS.items()}
    items = text.items() if isinstance(text, Mapping) else [p.split("=", 1) for p in (text or "").split(",") if p]
    for item in items:
        if len(item) != 2 or item[0].strip() not in TASKS or not str(item[1]).strip().isdigit():
            raise ValueError(f"--max-new-tokens {text!r}: expected TASK=N pairs, TASK one of {', '.join(TASKS)}")
        budget[item[0].strip()] = int(item[1])
    return budget


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """`checkpoints` maps NAME -> hub id, model dir, adapter dir or classifier dir; the first one (or "base" =
    `base` when given) is the reference for deltas. None: the base model (`base`, else the default base) plus
    every checkpoint under `saves_dir`. `tasks` None: every task whose test file is in `data_dir`. `template` and
    `system` prompt only the checkpoints without a saved launch config (e.g. the base model); runs use their own.
    Rerunning with the same `out_dir` reuses finished predictions (and resumes interrupted ones)."""

    checkpoints: Mapping[str, str] | None = None
    tasks: str | Sequence[str] | None = None
    data_dir: Path = SFT_DIR
    out_dir: Path = REPORTS / DEFAULT_RUN
    limit: int | None = None  # the first N test samples per task
    base: str | None = None
    saves_dir: Path = SAVES
    batch_size: int = DEFAULT_BATCH_SIZE
    max_new_tokens: str | Mapping[str, int] | None = None  # per task over TASKS' defaults: "norm=64" or a mapping
    backend: str = "auto"  # auto: vLLM when installed and a GPU is visible, else transformers
    device: str | None = None  # default: cuda when available
    dtype: str | None = None  # default: bf16 (fp16 without bf16) on GPU, fp32 on CPU
    bertscore_model: str | None = None  # without it bertscore_f1 is reported as skipped
    bertscore_layers: int | None = None
    system: str | None = None
    template: str = DEFAULT_TEMPLATE
    mcq_style: str = DEFAULT_STYLE  # multiple-choice scoring, one of MCQ_STYLES (eval/mcq/prompts.py says what each is)
    mcq_shots: int = MCQ_SHOTS  # k dev items before each question (the papers run 0 and 5)
    mcq_chat: bool = False  # render multiple-choice contexts through each checkpoint's chat template
    budget: dict[str, int] = field(init=False, repr=False, compare=False)  # max_new_tokens, parsed

    def __post_init__(self):
        for name in ("data_dir", "out_dir", "saves_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        object.__setattr__(self, "budget", parse_max_new_tokens(self.max_new_tokens))
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.mcq_style not in MCQ_STYLES:
            raise ValueError(f"--mcq-style {self.mcq_style!r}: expected {', '.join(MCQ_STYLES)}")
        if self.mcq_shots < 0:
            raise ValueError(f"--mcq-shots must be >= 0, got {self.mcq_shots}")
        if self.backend not in BACKENDS:
            raise ValueError(f"--backend {self.backend!r}: expected {', '.join(BACKENDS)}")

    def checkpoint_specs(self) -> list[str] | None:
        """The checkpoints as NAME=PATH specs (None: discover them under saves_dir)."""
        return [f"{name}={path}" for name, path in self.checkpoints.items()] if self.checkpoints else None
