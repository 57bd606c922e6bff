"""Orchestration: test sets -> checkpoints -> cached predictions -> metrics -> report."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from contract.datasets import TRIAGE_LABEL2IDX
from contract.paths import REPORTS_DIR, SFT_DIR, repo_relative

from .backends import pick_device, pick_dtype
from .bertscore import BertScore
from .checkpoints import SAVES, CheckpointError, collect, no_checkpoints
from .inputs import InputError, load_predictions, load_test_set
from .metrics import score_task
from .output_set import write_output_set
from .predictions import cache_key, generate_cached
from .prompts import DEFAULT_TEMPLATE
from .report import metrics_json, render_worst, worst_rows, write_report
from .routes import route_for
from .scored import Sample
from .tasks import TASKS, parse_tasks

logger = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 64
# reports/<run>, relative to the working directory like data/sft and saves/ (`make eval` runs in the repo root)
REPORTS = Path(repo_relative(REPORTS_DIR))
DEFAULT_RUN = "eval"
VLLM_SLICE = 1024


def _dir_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "checkpoint"


def triage_labels(data_dir: Path) -> list[str] | None:
    """triage's label set in label2idx order, from data_prep's label2idx file beside the test file."""
    path = Path(data_dir) / TRIAGE_LABEL2IDX
    if not path.is_file():
        return None
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
        return sorted(mapping, key=lambda label: int(mapping[label]))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: expected a JSON object {{label: index}} as data_prep writes it") from exc


def select_tasks(tasks: str | list[str] | None, data_dir: Path) -> tuple[list[str], dict[str, str]]:
    """(tasks to evaluate, {task left out: why}). Asked for by name, a task must have its test file (the
    loader says which file and `make data`); by default (None) every task whose test file exists, since
    `make data` writes only the tasks whose raw files it found (e.g. the dialog JSON alone has no triage)."""
    if tasks is not None:
        return parse_tasks(tasks), {}
    present = [t for t in TASKS if (data_dir / TASKS[t].test_file).is_file()]
    if not present:
        files = ", ".join(spec.test_file for spec in TASKS.values())
        raise InputError(f"{data_dir}: no test files ({files}): run `make data` to prepare them, or pass --data-dir")
    left_out = {t: f"{data_dir / TASKS[t].test_file} not found (`make data` writes it when the raw data has "
                   "that task's files; `python -m data_prep --help` names them)" for t in TASKS if t not in present}
    for task, why in left_out.items():
        logger.warning("%s: not evaluated: %s", task, why)
    return present, left_out


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_max_new_tokens(text: str | dict | None) -> dict[str, int]:
    """`norm=64,mrg=2048` (or a dict) over the per-task defaults."""
    budget = {name: spec.max_new_tokens for name, spec in TASKS.items()}
    items = text.items() if isinstance(text, dict) else [p.split("=", 1) for p in (text or "").split(",") if p]
    for item in items:
        if len(item) != 2 or item[0].strip() not in TASKS or not str(item[1]).strip().isdigit():
            raise ValueError(f"--max-new-tokens {text!r}: expected TASK=N pairs, TASK one of {', '.join(TASKS)}")
        budget[item[0].strip()] = int(item[1])
    return budget


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _samples(records: list[dict], rows: list[dict], task: str) -> list[Sample]:
    return [Sample(index=i, prompt=row["prompt"], predict=row["predict"], label=rec["output"],
                   finish_reason=row["finish_reason"], references=rec.get("references") if task == "mrg" else None)
            for i, (rec, row) in enumerate(zip(records, rows, strict=True))]


def run_eval(
    checkpoints: dict[str, str] | None = None,
    tasks: str | list[str] | None = None,
    data_dir: str | Path = SFT_DIR,
    out_dir: str | Path = REPORTS / DEFAULT_RUN,
    limit: int | None = None,
    base: str | None = None,
    saves_dir: str | Path = SAVES,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_new_tokens: str | dict | None = None,
    backend: str = "auto",
    device: str | None = None,
    dtype: str | None = None,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    system: str | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> Path:
    """Score checkpoints on the test sets and write the report; returns the report directory.

    `checkpoints` maps NAME -> hub id, model dir, adapter dir or classifier dir; the first one (or "base" =
    `base` when given) is the reference for deltas. Each checkpoint is prompted with the template and system
    prompt of its run's launch config; `template`/`system` serve those without one (e.g. the base model). A
    sequence classifier is scored on the tasks it answers (triage) only. None means: the base model plus every
    checkpoint found under `saves_dir`. `tasks` None: every task whose test file is in `data_dir` (the others are
    named in the report as not evaluated). Everything is checked before the first token is generated. Rerunning
    with the same `out_dir` reuses finished predictions (and resumes interrupted ones).
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    budget = parse_max_new_tokens(max_new_tokens)
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    specs = [f"{name}={path}" for name, path in checkpoints.items()] if checkpoints else None
    # both preflights run, so a fresh checkout hears about the model and the data in one go
    problems, task_names, not_evaluated, ckpts = [], [], {}, []
    try:
        task_names, not_evaluated = select_tasks(tasks, data_dir)
        test_sets = {t: load_test_set(data_dir / TASKS[t].test_file, t, limit) for t in task_names}
    except (InputError, ValueError) as exc:
        problems.append(exc)
    try:
        ckpts = collect(specs, base, Path(saves_dir))
    except CheckpointError as exc:
        problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputError("\n".join(str(p) for p in problems))
    if not specs and len(ckpts) == 1:
        logger.warning("%s; evaluating the base model alone", no_checkpoints(Path(saves_dir)))
    bertscore = BertScore(bertscore_model, bertscore_layers) if "mrg" in task_names else None
    device = pick_device(device)
    dtype = pick_dtype(device, dtype)

    summary = {"base": ckpts[0].name, "tasks": task_names, "not_evaluated": not_evaluated, "checkpoints": {},
               "settings": {}}
    worst: dict[str, dict[str, list]] = {t: {} for t in task_names}
    scores_files: dict[str, bytes] = {}  # written with the report, as one output set
    backends_used, prompting = {}, {}
    labels = triage_labels(data_dir) if "triage" in task_names else None
    for ckpt in ckpts:
        route = route_for(ckpt, backend, template, system, device, dtype)
        backends_used[ckpt.name] = chosen = route.backend
        prompting[ckpt.name] = route.describe()
        generator = None

        def get_generator(ckpt=ckpt, route=route):
            nonlocal generator
            if generator is None:
                logger.info("loading %s (%s) on %s/%s", ckpt.name, ckpt.path, device, dtype)
                generator = route.make_generator()
            return generator

        info = {"path": ckpt.path, "base": ckpt.base, "backend": chosen, "prompt": prompting[ckpt.name], "tasks": {}}
        planned, info["not_scored"] = route.plan(test_sets, budget)
        info["max_new_tokens"] = {task: new_tokens for task, (_, new_tokens) in planned.items()}
        try:
            for task, (prompts, new_tokens) in planned.items():
                records = test_sets[task]
                key = cache_key({"model": ckpt.fingerprint(), "dtype": dtype, "max_new_tokens": new_tokens,
                                 "decoding": "greedy", **route.key})
                task_rel = f"{_dir_name(ckpt.name)}/{task}"
                task_dir = out_dir / task_rel
                # vLLM schedules its own batches: hand it large slices (the cache is written per slice)
                slice_size = max(batch_size, VLLM_SLICE) if chosen == "vllm" else batch_size
                rows = generate_cached(
                    task_dir / "predictions.jsonl", key, prompts, [r["output"] for r in records], get_generator,
                    new_tokens, slice_size, route.decode_prompt, desc=f"{ckpt.name}/{task}")
                samples = _samples(records, rows, task)
                scored = score_task(task, samples, bertscore, labels)
                scores_files[f"{task_rel}/scores.jsonl"] = _jsonl(scored.rows)
                info["tasks"][task] = scored.metrics
                worst[task][ckpt.name] = worst_rows(scored.rows, {s.index: s for s in samples})
        finally:
            if generator is not None:
                generator.close()
        summary["checkpoints"][ckpt.name] = info

    summary["settings"] = {
        "data_dir": str(data_dir),
        "test_files": {t: {"file": str(data_dir / TASKS[t].test_file), "sha256": _sha256(data_dir / TASKS[t].test_file),
                           "samples": len(test_sets[t])} for t in task_names},
        "limit": limit,
        "decoding": "greedy",
        "max_new_tokens": {t: budget[t] for t in task_names},
        "batch_size": batch_size,
        "backend": backends_used,
        "device": device,
        "dtype": dtype,
        "prompt": prompting,  # template and system prompt per checkpoint (from each run's launch config)
        "bertscore": bertscore.describe() if bertscore else "not applicable",
    }
    write_report(out_dir, summary, worst, scores_files)
    return out_dir


def score_file(
    task: str,
    predictions: str | Path,
    test: str | Path | None = None,
    out_dir: str | Path | None = None,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
) -> dict:
    """Score an existing predictions file (ours or LLaMA-Factory's generated_predictions.jsonl);
    writes metrics.json, scores.jsonl and worst_samples.md to `out_dir` (default: beside the file)."""
    (task,) = parse_tasks(task)
    predictions = Path(predictions)
    records = load_test_set(Path(test), task) if test else None
    samples = load_predictions(predictions, task, records)
    bertscore = BertScore(bertscore_model, bertscore_layers) if task == "mrg" else None
    labels = triage_labels(Path(test).parent) if task == "triage" and test else None
    scored = score_task(task, samples, bertscore, labels)
    out = Path(out_dir) if out_dir else predictions.parent
    name = predictions.stem
    summary = {"base": name, "tasks": [task], "checkpoints": {name: {"path": str(predictions), "tasks": {task: scored.metrics}}},
               "settings": {"predictions": str(predictions), "test": str(test) if test else None,
                            "bertscore": bertscore.describe() if bertscore else "not applicable"}}
    worst = {task: {name: worst_rows(scored.rows, {s.index: s for s in samples})}}
    write_output_set(out, {"scores.jsonl": _jsonl(scored.rows),
                           "worst_samples.md": render_worst(summary, worst).encode("utf-8"),
                           "metrics.json": metrics_json(summary)})
    return summary


__all__ = ["run_eval", "score_file", "InputError"]
