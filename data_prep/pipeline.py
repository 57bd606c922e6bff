"""The data_prep run: sources -> prepared splits -> token statistics -> one published set (jsonl files,
the classifier's files, manifest.json) -> the med_* registrations. `run(args)` takes the CLI's parsed
arguments (data_prep/cli.py); the manifest's format is contract.manifest's."""

from __future__ import annotations

import functools
import gc
import os
from pathlib import Path

from contract import dataset_info
from contract import manifest as manifests
from contract.dataset_info import DatasetInfoError
from contract.datasets import DOMAIN, GENERAL, MCQ, TASKS, TEST, TEXT, TRAIN, split, split_file, task_of
from contract.files import jsonl_size, sha256_file, write_json, write_jsonl
from contract.models import TINY_MODEL
from contract.paths import DATASET_INFO, WEBUI_DATA_DIR, repo_relative

from . import general, mcq, publish, text
from .discover import SAMPLES_DIR, RawDir
from .errors import PrepError
from .quality import Screen, screening
from .tally import Tally
from .tasks import REGISTRY
from .taskspec import shown
from .tokens import TokenCounter, recommend_cutoff, token_profile

DEFAULT_MODEL = repo_relative(TINY_MODEL)  # as typed, relative to the working directory (the repo root)
ALL = TASKS


def resolve_sources(args) -> tuple[dict[str, object], list[str]]:
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only and any(s not in (*ALL, *MCQ) for s in only):
        raise PrepError("--only", args.only, f"a comma-separated subset of {','.join((*ALL, *MCQ))}")
    wanted = [s for s in only if s in ALL] if only else list(ALL)
    explicit = {name: getattr(args, name) for name in REGISTRY}
    for name, path in explicit.items():
        if path is not None and not path.exists():
            raise PrepError(path, f"--{name}", "an existing file or folder", found="nothing there")
    raw_dir = args.raw_dir if args.raw_dir is not None else SAMPLES_DIR
    if not raw_dir.is_dir():
        raise PrepError(raw_dir, "--raw-dir", "a folder holding the downloaded raw files", found="no such folder")
    notes: list[str] = []
    # every task looks below --raw-dir (the notes say what each skipped), unless all wanted ones were given
    if any(explicit[n] is None for n in wanted):
        raw = RawDir(raw_dir)
        found = {name: task.find(raw, notes) for name, task in REGISTRY.items()}
    else:
        found = None
    sources: dict[str, object] = {}
    for name in wanted:
        src = explicit[name]
        if src is not None:
            src = REGISTRY[name].from_path(src)
        elif found is not None:
            src = found[name]
        if not src:
            if (only and name in only) or explicit[name] is not None:
                seen = "; ".join(n.split(": ", 1)[1] for n in notes if n.startswith(f"{name}: "))
                raise PrepError(explicit[name] or raw_dir, name, f"the published {name} files",
                                found=seen or "none", hint="see `python -m data_prep --help` for the file names")
            notes.append(f"{name}: no raw files found under {shown(raw_dir)}; left out")
            continue
        sources[name] = src
    return sources, notes


@functools.lru_cache(maxsize=4)  # in-process reruns (tests, notebooks) reuse the loaded tokenizer
def load_counter(model: str) -> TokenCounter:
    if model == DEFAULT_MODEL and not Path(model, "config.json").exists() and not Path(model).is_dir():
        raise PrepError(model, "--model", "the tiny offline model (the default tokenizer)", found="not built",
                        hint="run `make tiny-model` first, or pass --model PATH_OR_HUB_ID")
    return TokenCounter(model)


def run(args) -> dict:
    # Hundreds of thousands of small acyclic dicts: the cyclic GC would rescan them over and over.
    gc.disable()
    try:
        return _run(args)
    finally:
        gc.enable()


def _run(args) -> dict:
    sources, notes = resolve_sources(args)
    mcq_requests, mcq_notes = resolve_mcq(args)
    notes += mcq_notes
    try:  # a broken registration fails the run before anything is written
        dataset_info.read(args.dataset_info)
    except DatasetInfoError as exc:
        raise PrepError(exc.path, exc.where, exc.expected, found=exc.found, hint="fix or delete it and rerun") from exc
    counter = load_counter(args.model)
    with screening(Screen(counter.control_tokens, args.max_record_chars)):
        return _prepare(args, sources, notes, counter, mcq_requests)


def _prepare(args, sources: dict, notes: list[str], counter: TokenCounter, mcq_requests: dict) -> dict:
    splits: dict[str, tuple[list[dict], Tally]] = {}
    info: dict[str, dict] = {}

    def add(task: str, r) -> None:
        splits[split(task, TRAIN)], splits[split(task, TEST)] = (r.train, r.train_tally), (r.test, r.test_tally)
        notes.extend(r.notes)  # e.g. a test split cut short on a small file (data_prep/holdout.py)

    extra_files: dict[str, object] = {}
    for name, task in REGISTRY.items():  # in the contract's order: the manifest's order
        if name in sources:
            r = task.prepare(sources[name], args)
            info[name] = task.source_info(sources[name], r)
            add(name, r)
            for file_name, content in task.extra_files(r).items():
                extra_files[file_name] = (name, content)
    if args.text is not None:
        recs, tally = text.prepare(args.text, args.text_column)
        info["text"] = {"path": shown(args.text), "column": args.text_column}
        splits[split(TEXT, TRAIN)] = (recs, tally)
    if args.general is not None:
        domain = sum(len(splits[s][0]) for s in (split(t, TRAIN) for t in DOMAIN) if s in splits)
        paths = args.general if isinstance(args.general, list) else [args.general]  # --general may repeat
        recs, tally, shapes = general.prepare(paths, args.general_ratio, domain, args.seed)
        info["general"] = {"path": [shown(p) for p in paths], "ratio": args.general_ratio, "domain_train": domain,
                           "shapes": shapes}
        wanted = max(1, round(args.general_ratio * domain))
        if len(recs) < wanted:  # the mix trained is then not the ratio asked for: say it (launch records the counts)
            notes.append(f"general: the pool holds {len(recs)} usable records, fewer than the {wanted} that "
                         f"--general-ratio {args.general_ratio:g} asks for ({domain} domain train records); "
                         f"all {len(recs)} are used")
        splits[split(GENERAL, TRAIN)] = (recs, tally)
    mcq_splits = prepare_mcq(mcq_requests, info, notes)
    if not splits and not mcq_splits:
        raise PrepError(args.raw_dir or SAMPLES_DIR, "sources", "at least one dataset's raw files", found="none")

    profiles = {name: token_profile(counter, recs, args.token_sample, args.seed, desc=f"tokens {name}")
                for name, (recs, _) in splits.items()}
    profiles.update({name: token_profile(counter, [mcq.screened_text(r) for r in recs], args.token_sample,
                                         args.seed, desc=f"tokens {name}") for name, (recs, _) in mcq_splits.items()})

    for name, (recs, tally) in [*splits.items(), *mcq_splits.items()]:
        if tally.read != len(recs) + sum(tally.skipped.values()):
            raise RuntimeError(f"{name}: record accounting is off ({tally.read} read, {len(recs)} kept, "
                               f"{dict(tally.skipped)} skipped); nothing was written")

    # Staged, then published as one set (publish.py): a kill leaves the old set or the new one, never a mix.
    out_dir: Path = args.out_dir
    info_dir = Path(os.path.abspath(args.dataset_info)).parent
    info_paths = [args.dataset_info]
    if Path(os.path.abspath(out_dir)).is_relative_to(info_dir / WEBUI_DATA_DIR):
        # LLaMA-Factory's web UI looks in `data/` by default: register the same files there too.
        info_paths.append(info_dir / WEBUI_DATA_DIR / DATASET_INFO)
    datasets: dict[str, dict] = {}
    # size: how much room the set wants, said when the disk is full (computed only then)
    with publish.Staging(out_dir, info_paths, size=lambda: sum(jsonl_size(r) for r, _ in splits.values())) as stage:
        def stage_split(name: str, recs: list, tally) -> dict:
            """Write one split into the staged folder; its manifest record (path as registered)."""
            sha = write_jsonl(stage.dir / split_file(name), recs)
            stats, counted = profiles[name]
            registered_path = Path(os.path.relpath(os.path.abspath(out_dir / split_file(name)), info_dir)).as_posix()
            counts = manifests.SplitCounts(tally.read, len(recs), tally.skipped, tally.examples)
            return manifests.dataset_entry(registered_path, counts, sha, stats, counted if counted < len(recs) else None)

        for name, (recs, tally) in splits.items():
            datasets[name] = stage_split(name, recs, tally)
            if not recs:  # LLaMA-Factory cannot load an empty dataset: leave it unregistered
                notes.append(f"{name}: no records left; written empty and not registered")
            if profiles[name][1] < len(recs):
                notes.append(f"{name}: token stats from {profiles[name][1]} of {len(recs)} records (--token-sample)")
        for name, (recs, tally) in mcq_splits.items():  # multiple-choice items: in the set, never registered
            datasets[name] = stage_split(name, recs, tally)
            if not recs:
                notes.append(f"{name}: no items left; written empty")
        for name, (task, content) in extra_files.items():  # e.g. the classifier's files beside triage's splits
            path = stage.dir / name
            if isinstance(content, dict):
                write_json(path, content)
                sha = sha256_file(path)
            else:
                sha = write_jsonl(path, content)
            info[task].setdefault(REGISTRY[task].extra_files_key, {})[name] = sha
        kept, kept_sources, kept_notes = stage.carry_over({task_of(n) for n in [*datasets, *extra_files]})
        datasets.update(kept)
        info.update(kept_sources)
        notes += kept_notes
        # pt text is packed into blocks of cutoff_len: it has no say in the SFT cutoff
        sft_tokens = [d["tokens"] for n, d in datasets.items() if n != split(TEXT, TRAIN) and task_of(n) not in MCQ]
        cutoff = recommend_cutoff(sft_tokens, counter.max_positions)
        if cutoff < recommend_cutoff(sft_tokens):
            notes.append(f"recommended cutoff_len held at the model's max_position_embeddings {cutoff} "
                         f"(the longest records' p99 is {max(t['p99'] for t in sft_tokens)} tokens)")
        tokenizer = shown(Path(args.model)) if Path(args.model).exists() else args.model
        settings = manifests.RunSettings(cutoff, counter.max_positions, args.max_record_chars, args.seed, tokenizer)
        manifest = manifests.build(datasets, settings, info, notes)
        written = {name: out_dir / split_file(name) for name, d in datasets.items()
                   if d["written"] and task_of(name) not in MCQ}
        registered = {name: e["file_name"] for name, e in dataset_info.entries(written, out_dir).items()}
        stage.commit(manifest, registered, lambda info_path: dataset_info.update(info_path, written))
    return manifest


# -- multiple-choice benchmarks (issue 17): test/dev files in the published set and its manifest, not SFT data --
def resolve_mcq(args) -> tuple[dict[str, mcq.McqRequest], list[str]]:
    """One request per benchmark to prepare: its explicit folder (--cmmlu ...) or found below --raw-dir."""
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    explicit = {task: getattr(args, task, None) for task in MCQ}
    wanted = [t for t in MCQ if t in only] if only else list(MCQ)
    raw_dir = args.raw_dir if args.raw_dir is not None else SAMPLES_DIR
    subjects = mcq.parse_subjects(getattr(args, "mcq_subjects", "default"))
    groups = mcq.parse_groups(getattr(args, "mcq_groups", ""))
    return mcq.requests(raw_dir, explicit, wanted, set(only or ()) | {t for t, p in explicit.items() if p},
                        subjects, groups, show=shown)


def prepare_mcq(requests: dict[str, mcq.McqRequest], info: dict, notes: list[str]) -> dict[str, tuple]:
    """Each benchmark's test/dev records and tallies by split name; its facts into `info`, notes into `notes`."""
    results = {task: mcq.BENCHMARKS[task].prepare(request) for task, request in requests.items()}
    mcq.check_subjects(requests, results)
    out: dict[str, tuple] = {}
    for task, r in results.items():
        info[task] = mcq.manifest_info(r, shown)
        notes += r.notes
        out.update(r.splits(task))
    return out
