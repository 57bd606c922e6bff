"""The prepared tasks, registered once. A task is its module (reader, record conversion, prompt, splits, how its
raw files are found and its command-line options, declared as `TASK = PrepTask(...)`: data_prep/taskspec.py) plus
its line here and its name in contract.datasets.TASKS; the pipeline and the CLI loop over this registry. The
multiple-choice benchmarks have their own registry (`mcq.BENCHMARKS`) since they are not SFT data."""

from __future__ import annotations

from contract.datasets import TASKS as TASK_NAMES

from . import dialog, mrg, norm, qa, triage
from .taskspec import PrepTask

REGISTRY: dict[str, PrepTask] = {module.TASK.name: module.TASK for module in (dialog, norm, mrg, triage, qa)}
assert tuple(REGISTRY) == TASK_NAMES, "register every task contract.datasets names, in its order"
