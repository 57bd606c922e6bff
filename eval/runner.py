"""Orchestration: test sets -> checkpoints -> cached predictions -> metrics -> report."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from contract.datasets import TRIAGE_LABEL2IDX

from .bertscore import BertScore
from .checkpoints import Checkpoint, CheckpointError, collect, no_checkpoints
from .inputs import InputError, load_predictions, load_test_set
from .loading import load_model, pick_device, pick_dtype
from .mcq.items import load_items
from .mcq.run import McqSettings, Models, requests_for, score_rows
from .mcq.score import benchmark_metrics
from .metrics import score_task
from .options import EvalOptions
from .output_set import write_output_set
from .predictions import Generation, cache_key, generate_cached
from .report import WORST_PER_TABLE, metrics_json, render_worst, worst_rows, write_report
from .routes import Route, route_for
from .scored import Sample
from .tasks import GENERATIVE, TASKS, parse_tasks

logger = logging.getLogger(__name__)
VLLM_SLICE = 1024


def _dir_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "checkpoint"


def read_label_set(data_dir: Path) -> list[str] | None:
    """The label set in label2idx order, from data_prep's label2idx file beside the test file (triage's)."""
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


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _samples(records: list[dict], rows: list[dict], task: str) -> list[Sample]:
    return [Sample(index=i, prompt=row["prompt"], predict=row["predict"], label=rec["output"],
                   finish_reason=row["finish_reason"], references=rec.get("references") if TASKS[task].reports else None)
            for i, (rec, row) in enumerate(zip(records, rows, strict=True))]


class LazyGenerator:
    """A checkpoint's generator, loaded on first use (a checkpoint whose predictions are all cached is never
    loaded) and closed when the block ends."""

    def __init__(self, ckpt: Checkpoint, route: Route, device: str, dtype: str):
        self.ckpt, self.route, self.device, self.dtype = ckpt, route, device, dtype
        self.generator = None

    def __call__(self):
        if self.generator is None:
            logger.info("loading %s (%s) on %s/%s", self.ckpt.name, self.ckpt.path, self.device, self.dtype)
            self.generator = self.route.make_generator()
        return self.generator

    def __enter__(self) -> LazyGenerator:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.generator is not None:
            self.generator.close()


@dataclass
class Plan:
    """What `check` found usable before the first token is generated, and what every checkpoint shares."""

    tasks: list[str]
    not_evaluated: dict[str, str]  # task -> why it is left out
    test_sets: dict[str, list[dict]]
    checkpoints: list[Checkpoint]  # the reference ("base") first
    device: str
    dtype: str
    bertscore: BertScore | None  # mrg only
    labels: list[str] | None  # triage's label set, label2idx order
    pools: dict[str, list[dict]] = field(default_factory=dict)  # multiple-choice task -> its dev items (shots)

    def generative(self) -> dict[str, list[dict]]:
        return {t: recs for t, recs in self.test_sets.items() if TASKS[t].kind == GENERATIVE}

    def multiple_choice(self) -> dict[str, list[dict]]:
        return {t: items for t, items in self.test_sets.items() if TASKS[t].kind != GENERATIVE}


def check(options: EvalOptions) -> Plan:
    """Tasks, test sets and checkpoints, all checked before anything loads. Both checks run, so a fresh
    checkout hears about the model and the data in one go."""
    problems, task_names, not_evaluated, test_sets, pools, ckpts = [], [], {}, {}, {}, []
    try:
        task_names, not_evaluated = select_tasks(options.tasks, options.data_dir)
        test_sets = {t: load_test_set(options.data_dir / TASKS[t].test_file, t, options.limit)
                     if TASKS[t].kind == GENERATIVE else load_items(options.data_dir / TASKS[t].test_file, options.limit)
                     for t in task_names}
        pools = {t: dev_pool(options.data_dir / TASKS[t].dev_file, options.mcq_shots)
                 for t in task_names if TASKS[t].kind != GENERATIVE}
    except (InputError, ValueError) as exc:
        problems.append(exc)
    try:
        ckpts = collect(options.checkpoint_specs(), options.base, options.saves_dir)
    except CheckpointError as exc:
        problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputError("\n".join(str(p) for p in problems))
    if not options.checkpoints and len(ckpts) == 1:
        logger.warning("%s; evaluating the base model alone", no_checkpoints(options.saves_dir))
    bertscore = (BertScore(options.bertscore_model, options.bertscore_layers)
                 if any(TASKS[t].bertscore for t in task_names) else None)
    device = pick_device(options.device)
    labels = read_label_set(options.data_dir) if any(TASKS[t].label_set for t in task_names) else None
    return Plan(task_names, not_evaluated, test_sets, ckpts, device, pick_dtype(device, options.dtype), bertscore,
                labels, pools)


def dev_pool(path: Path, shots: int) -> list[dict]:
    """The few-shot pool (empty when no shots are asked for or the benchmark ships no dev split)."""
    return load_items(path) if shots and path.is_file() else []


def evaluate(ckpt: Checkpoint, route: Route, plan: Plan, options: EvalOptions,
             ) -> tuple[dict, dict[str, bytes], dict[str, list]]:
    """One checkpoint on every task it answers: (its metrics.json entry, {scores.jsonl path: bytes},
    {task: its worst rows}). Predictions are cached under options.out_dir as they are generated."""
    info = {"path": ckpt.path, "base": ckpt.base, "backend": route.backend, "prompt": route.describe(), "tasks": {}}
    planned, info["not_scored"] = route.plan(plan.generative(), options.budget)
    info["max_new_tokens"] = {task: new_tokens for task, (_, new_tokens) in planned.items()}
    # vLLM schedules its own batches: hand it large slices (the cache is written per slice)
    slice_size = max(options.batch_size, VLLM_SLICE) if route.backend == "vllm" else options.batch_size
    scores_files, worst = {}, {}
    with LazyGenerator(ckpt, route, plan.device, plan.dtype) as get_generator:
        for task, (prompts, new_tokens) in planned.items():
            records = plan.test_sets[task]
            key = cache_key({"model": ckpt.fingerprint(), "dtype": plan.dtype, "max_new_tokens": new_tokens,
                             "decoding": "greedy", **route.key})
            task_rel = f"{_dir_name(ckpt.name)}/{task}"
            job = Generation(prompts, [r["output"] for r in records], new_tokens, slice_size, route.decode_prompt)
            rows = generate_cached(options.out_dir / task_rel / "predictions.jsonl", key, job, get_generator,
                                   desc=f"{ckpt.name}/{task}")
            samples = _samples(records, rows, task)
            scored = score_task(task, samples, plan.bertscore, plan.labels)
            scores_files[f"{task_rel}/scores.jsonl"] = _jsonl(scored.rows)
            info["tasks"][task] = scored.metrics
            worst[task] = worst_rows(scored.rows, {s.index: s for s in samples})
        mcq = plan.multiple_choice()
        for task in [t for t in mcq if t not in route.applicable(list(mcq))]:
            info["not_scored"][task] = route.why_not
        if route.template is not None and route.applicable(list(mcq)):
            settings = McqSettings(options.mcq_style, options.mcq_shots, options.mcq_chat)
            models = Models(lambda: load_model(ckpt, plan.device, plan.dtype), get_generator, route.tokenizer,
                            plan.device, options.batch_size,
                            lambda text: route.encode({"instruction": text, "input": ""}))
            for task in route.applicable(list(mcq)):
                key = cache_key({"model": ckpt.fingerprint(), "dtype": plan.dtype, "scoring": settings.describe(),
                                 "max_new_tokens": options.budget[task], **route.key})
                task_rel = f"{_dir_name(ckpt.name)}/{task}"
                reqs = requests_for(mcq[task], plan.pools[task], settings)
                rows = score_rows(mcq[task], reqs, options.out_dir / task_rel / "mcq.jsonl", key, models, settings,
                                  options.budget[task], desc=f"{ckpt.name}/{task}")
                scores_files[f"{task_rel}/scores.jsonl"] = _jsonl(rows)
                info["tasks"][task] = benchmark_metrics(rows, task)
                info["tasks"][task]["scoring"] = settings.describe()
                worst[task] = mcq_worst(rows, reqs)
            models.close()
    return info, scores_files, worst


def mcq_worst(rows: list[dict], reqs: list) -> list[dict]:
    """The first wrong items (unextractable answers first), shown like the generative tasks' worst samples."""
    wrong = sorted((r for r in rows if not r["correct"]), key=lambda r: (r["reason"] is None, r["index"]))
    return [{"index": r["index"], "score": 0.0, "reason": r["reason"], "prompt": reqs[r["index"]].context,
             "predict": r.get("generated", r["pred"]), "label": r["answer"]} for r in wrong[:WORST_PER_TABLE]]


def settings(plan: Plan, options: EvalOptions, routes: dict[str, Route]) -> dict:
    """The report's Settings: what was scored, and how."""
    return {
        "data_dir": str(options.data_dir),
        "test_files": {t: {"file": str(options.data_dir / TASKS[t].test_file),
                           "sha256": _sha256(options.data_dir / TASKS[t].test_file),
                           "samples": len(plan.test_sets[t])} for t in plan.tasks},
        "limit": options.limit,
        "decoding": "greedy",
        "max_new_tokens": {t: options.budget[t] for t in plan.tasks},
        "batch_size": options.batch_size,
        "backend": {name: route.backend for name, route in routes.items()},
        "device": plan.device,
        "dtype": plan.dtype,
        "prompt": {name: route.describe() for name, route in routes.items()},  # per checkpoint, from its run
        "bertscore": plan.bertscore.describe() if plan.bertscore else "not applicable",
        "multiple_choice": McqSettings(options.mcq_style, options.mcq_shots, options.mcq_chat).describe(),
    }


def run_eval(options: EvalOptions) -> Path:
    """Score the checkpoints `options` names on the test sets and write the report; returns the report directory.

    Each checkpoint is prompted with the template and system prompt of its run's launch config; a sequence
    classifier is scored on the tasks it answers (triage) only. The tasks left out are named in the report.
    Everything is checked before the first token is generated.
    """
    plan = check(options)
    summary = {"base": plan.checkpoints[0].name, "tasks": plan.tasks, "not_evaluated": plan.not_evaluated,
               "checkpoints": {}, "settings": {}}
    worst: dict[str, dict[str, list]] = {t: {} for t in plan.tasks}
    scores_files: dict[str, bytes] = {}  # written with the report, as one output set
    routes: dict[str, Route] = {}
    for ckpt in plan.checkpoints:
        routes[ckpt.name] = route = route_for(ckpt, options.backend, options.template, options.system, plan.device,
                                              plan.dtype)
        summary["checkpoints"][ckpt.name], files, worst_by_task = evaluate(ckpt, route, plan, options)
        scores_files.update(files)
        for task, rows in worst_by_task.items():
            worst[task][ckpt.name] = rows
    summary["settings"] = settings(plan, options, routes)
    write_report(options.out_dir, summary, worst, scores_files)
    return options.out_dir


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
    if TASKS[task].kind != GENERATIVE:
        raise ValueError(f"{task} is a multiple-choice benchmark: a model's likelihoods score it, not a predictions "
                         "file; use `python -m eval run --tasks " + task + "`")
    predictions = Path(predictions)
    records = load_test_set(Path(test), task) if test else None
    samples = load_predictions(predictions, task, records)
    bertscore = BertScore(bertscore_model, bertscore_layers) if TASKS[task].bertscore else None
    labels = read_label_set(Path(test).parent) if TASKS[task].label_set and test else None
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


__all__ = ["EvalOptions", "run_eval", "score_file", "InputError"]
