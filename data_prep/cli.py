"""`python -m data_prep`: raw published files (or the bundled samples) -> LLaMA-Factory-ready SFT data."""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import os
import sys
from pathlib import Path

from . import dialog, general, mrg, norm, publish, qa, registry, text, triage
from .discover import SAMPLES_DIR, dialog_source, discover
from .errors import PrepError
from .quality import MAX_RECORD_CHARS, Screen, TokenCounter, recommend_cutoff, screening, token_profile
from .writer import Tally, write_json, write_jsonl

DEFAULT_MODEL = "models/tiny-qwen2"
ALL = ("dialog", "norm", "mrg", "triage", "qa")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m data_prep",
        description="Prepare the dialog, norm and mrg SFT datasets and register them for LLaMA-Factory. "
        "With no source arguments the bundled synthetic samples are used.",
    )
    src = ap.add_argument_group("sources")
    src.add_argument("--raw-dir", type=Path, help="find the published files by name anywhere below this folder")
    src.add_argument("--dialog", type=Path, help="train_0001_of_0001.json, a Toyhom CSV, or a folder of them")
    src.add_argument("--norm", type=Path, help="folder with yidu-n7k train.xlsx, val.xlsx (answer.xlsx, code.txt)")
    src.add_argument("--mrg", type=Path, help="folder with IMCS-V2_train.json and IMCS-V2_dev.json")
    src.add_argument("--triage", type=Path, help="Toyhom CSVs (file or folder; default: those under --raw-dir), "
                     "or the seed's jsonl {text, label: [...]}: a file, or a folder with train.json(l) "
                     "[+ test.json(l), label2idx.json]")
    src.add_argument("--triage-level", choices=triage.LEVELS, default="folder",
                     help="Toyhom label: department folder (default, 6 classes) or the department column")
    src.add_argument("--qa", type=Path, help="seed 000's chatbot train.txt (dialogues split by a blank line)")
    src.add_argument("--text", type=Path, help="a .csv/.jsonl corpus for continued pre-training (med_text)")
    src.add_argument("--text-column", default="text", help="its text column (default text)")
    src.add_argument("--only", help=f"comma-separated subset of {','.join(ALL)} (each then required)")
    src.add_argument("--general", type=Path, help="general-domain alpaca .json/.jsonl to mix in (general_train)")
    src.add_argument("--general-ratio", type=float, default=1.0,
                     help="general records per domain train record (default 1.0, the seed's 1:1)")
    out = ap.add_argument_group("outputs")
    out.add_argument("--out-dir", type=Path, default=Path("data/sft"), help="default data/sft")
    out.add_argument("--dataset-info", type=Path, default=Path("dataset_info.json"),
                     help="LLaMA-Factory registration to update (default ./dataset_info.json)")
    out.add_argument("--model", default=DEFAULT_MODEL,
                     help=f"tokenizer for token statistics: local path or hub id (default {DEFAULT_MODEL})")
    sizes = ap.add_argument_group("sizes (0 = all)")
    sizes.add_argument("--dialog-limit", type=int, default=5000, help="dialog train records (seed: 5000)")
    sizes.add_argument("--dialog-test-size", type=int, default=100, help="dialog test records held out (100)")
    sizes.add_argument("--norm-limit", type=int, default=5000)
    sizes.add_argument("--norm-test-limit", type=int, default=100)
    sizes.add_argument("--norm-test-source", choices=("val", "answer"), default="val",
                       help="workbook for norm_test: val.xlsx (the seed) or the labelled answer.xlsx")
    sizes.add_argument("--mrg-limit", type=int, default=5000)
    sizes.add_argument("--mrg-test-limit", type=int, default=100)
    sizes.add_argument("--triage-limit", type=int, default=5000, help="triage train questions")
    sizes.add_argument("--triage-test-size", type=int, default=100,
                       help="triage test questions held out (100; a seed folder's test file is used as is)")
    sizes.add_argument("--qa-limit", type=int, default=0, help="qa train dialogues (default all, as the seed)")
    sizes.add_argument("--qa-test-size", type=int, default=100, help="qa test dialogues held out (100)")
    sizes.add_argument("--qa-max-len", type=int, default=qa.DEFAULT_MAX_LEN,
                       help="skip dialogues longer than this ([CLS]u1[SEP]u2[SEP]... in characters; the "
                       f"seed's n_ctx {qa.DEFAULT_MAX_LEN}; 0 = keep all)")
    sizes.add_argument("--max-record-chars", type=int, default=MAX_RECORD_CHARS,
                       help=f"skip records longer than this in characters, counted as too_long "
                       f"(default {MAX_RECORD_CHARS}; 0 = no cap)")
    ap.add_argument("--seed", type=int, default=42, help="shuffle seed (the seed recipe's 42)")
    ap.add_argument("--token-sample", type=int, default=20_000,
                    help="splits larger than this get token stats from a seeded sample of this many records "
                    "plus the longest ones (default 20000; 0 = tokenize every record)")
    return ap


def shown(path: Path) -> str:
    """Paths in the manifest relative to the working directory where possible (no machine paths)."""
    path = Path(path).absolute()
    return path.relative_to(Path.cwd()).as_posix() if path.is_relative_to(Path.cwd()) else str(path)


def resolve_sources(args) -> tuple[dict[str, object], list[str]]:
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only and any(s not in ALL for s in only):
        raise PrepError("--only", args.only, f"a comma-separated subset of {','.join(ALL)}")
    wanted = only or list(ALL)
    explicit = {"dialog": args.dialog, "norm": args.norm, "mrg": args.mrg, "triage": args.triage, "qa": args.qa}
    for name, path in explicit.items():
        if path is not None and not path.exists():
            raise PrepError(path, f"--{name}", "an existing file or folder", found="nothing there")
    raw_dir = args.raw_dir if args.raw_dir is not None else SAMPLES_DIR
    if not raw_dir.is_dir():
        raise PrepError(raw_dir, "--raw-dir", "a folder holding the downloaded raw files", found="no such folder")
    found = discover(raw_dir) if any(explicit[n] is None for n in wanted) else None
    notes = list(found.notes) if found else []
    sources: dict[str, object] = {}
    for name in wanted:
        src = explicit[name]
        if src is not None:
            src = dialog_source(src) if name == "dialog" else triage.source(src) if name == "triage" else src
        elif found is not None:
            src = getattr(found, name)
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
    registry.read(args.dataset_info)  # a broken registration fails the run before anything is written
    counter = load_counter(args.model)
    with screening(Screen(counter.control_tokens, args.max_record_chars)):
        return _prepare(args, sources, notes, counter)


def _prepare(args, sources: dict, notes: list[str], counter: TokenCounter) -> dict:
    splits: dict[str, tuple[list[dict], Tally]] = {}
    info: dict[str, dict] = {}
    if "dialog" in sources:
        r = dialog.prepare(sources["dialog"], args.dialog_limit, args.dialog_test_size, args.seed)
        src = sources["dialog"]
        info["dialog"] = {"path": [shown(p) for p in src] if isinstance(src, list) else shown(src), **r.info}
        splits["dialog_train"], splits["dialog_test"] = (r.train, r.train_tally), (r.test, r.test_tally)
    if "norm" in sources:
        r = norm.prepare(sources["norm"], args.norm_limit, args.norm_test_limit, args.norm_test_source)
        info["norm"] = {**r.info, "train": shown(Path(r.info["train"])), "test": shown(Path(r.info["test"]))}
        splits["norm_train"], splits["norm_test"] = (r.train, r.train_tally), (r.test, r.test_tally)
    if "mrg" in sources:
        r = mrg.prepare(sources["mrg"], args.mrg_limit, args.mrg_test_limit)
        info["mrg"] = {"train": shown(sources["mrg"] / "IMCS-V2_train.json"),
                       "test": shown(sources["mrg"] / "IMCS-V2_dev.json")}
        splits["mrg_train"], splits["mrg_test"] = (r.train, r.train_tally), (r.test, r.test_tally)
    extra_files: dict[str, object] = {}
    if "triage" in sources:
        src = sources["triage"]
        r = triage.prepare(src, args.triage_level, args.triage_limit, args.triage_test_size, args.seed)
        paths = src if isinstance(src, list) else [p for p in (src.train, src.test, src.label2idx) if p]
        info["triage"] = {"path": [shown(p) for p in paths], **r.info}
        splits["triage_train"], splits["triage_test"] = (r.train, r.train_tally), (r.test, r.test_tally)
        extra_files.update(triage.classifier_files(r))
    if "qa" in sources:
        r = qa.prepare(sources["qa"], args.qa_limit, args.qa_test_size, args.seed, args.qa_max_len)
        info["qa"] = {"path": shown(sources["qa"]), **r.info}
        splits["qa_train"], splits["qa_test"] = (r.train, r.train_tally), (r.test, r.test_tally)
    if args.text is not None:
        recs, tally = text.prepare(args.text, args.text_column)
        info["text"] = {"path": shown(args.text), "column": args.text_column}
        splits["text_train"] = (recs, tally)
    if args.general is not None:
        domain = sum(len(splits[s][0]) for s in ("dialog_train", "norm_train", "mrg_train") if s in splits)
        recs, tally = general.prepare(args.general, args.general_ratio, domain, args.seed)
        info["general"] = {"path": shown(args.general), "ratio": args.general_ratio, "domain_train": domain}
        splits["general_train"] = (recs, tally)
    if not splits:
        raise PrepError(args.raw_dir or SAMPLES_DIR, "sources", "at least one dataset's raw files", found="none")

    profiles = {name: token_profile(counter, recs, args.token_sample, args.seed, desc=f"tokens {name}")
                for name, (recs, _) in splits.items()}

    for name, (recs, tally) in splits.items():
        if tally.read != len(recs) + sum(tally.skipped.values()):
            raise RuntimeError(f"{name}: record accounting is off ({tally.read} read, {len(recs)} kept, "
                               f"{dict(tally.skipped)} skipped); nothing was written")

    # Staged, then published as one set (publish.py): a kill leaves the old set or the new one, never a mix.
    out_dir: Path = args.out_dir
    info_dir = Path(os.path.abspath(args.dataset_info)).parent
    info_paths = [args.dataset_info]
    if Path(os.path.abspath(out_dir)).is_relative_to(info_dir / "data"):
        # LLaMA-Factory's web UI looks in `data/` by default: register the same files there too.
        info_paths.append(info_dir / "data" / "dataset_info.json")
    datasets: dict[str, dict] = {}
    with publish.Staging(out_dir, info_paths) as stage:
        for name, (recs, tally) in splits.items():
            sha = write_jsonl(stage.dir / f"{name}.jsonl", recs)
            if not recs:  # LLaMA-Factory cannot load an empty dataset: leave it unregistered
                notes.append(f"{name}: no records left; written empty and not registered")
            datasets[name] = {
                "path": Path(os.path.relpath(os.path.abspath(out_dir / f"{name}.jsonl"), info_dir)).as_posix(),
                "read": tally.read,
                "written": len(recs),
                "skipped": dict(sorted(tally.skipped.items())),
                "skip_examples": {k: v for k, v in sorted(tally.examples.items())},
                "sha256": sha,
                "tokens": profiles[name][0],
            }
            if profiles[name][1] < len(recs):
                datasets[name]["tokens_counted"] = profiles[name][1]
                notes.append(f"{name}: token stats from {profiles[name][1]} of {len(recs)} records (--token-sample)")
        for name, content in extra_files.items():  # the classifier's files: same records as triage_{train,test}
            path = stage.dir / name
            if isinstance(content, dict):
                write_json(path, content)
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                sha = write_jsonl(path, content)
            info["triage"].setdefault("classifier_files", {})[name] = sha
        kept, kept_sources, kept_notes = stage.carry_over({publish.task_of(n) for n in [*datasets, *extra_files]})
        datasets.update(kept)
        info.update(kept_sources)
        notes += kept_notes
        # pt text is packed into blocks of cutoff_len: it has no say in the SFT cutoff
        sft_tokens = [d["tokens"] for n, d in datasets.items() if n != "text_train"]
        cutoff = recommend_cutoff(sft_tokens, counter.max_positions)
        if cutoff < recommend_cutoff(sft_tokens):
            notes.append(f"recommended cutoff_len held at the model's max_position_embeddings {cutoff} "
                         f"(the longest records' p99 is {max(t['p99'] for t in sft_tokens)} tokens)")
        manifest = {
            "datasets": datasets,
            "recommended_cutoff_len": cutoff,
            "max_position_embeddings": counter.max_positions,
            "max_record_chars": args.max_record_chars,
            "seed": args.seed,
            "tokenizer": shown(Path(args.model)) if Path(args.model).exists() else args.model,
            "sources": info,
            "notes": notes,
        }
        written = {name: out_dir / f"{name}.jsonl" for name, d in datasets.items() if d["written"]}
        registered = {name: e["file_name"] for name, e in registry.entries(written, out_dir).items()}
        stage.commit(manifest, registered, lambda info_path: registry.update(info_path, written))
    return manifest


def report(manifest: dict) -> str:
    lines = [f"{'dataset':<14}{'read':>8}{'written':>9}  {'tokens p50/p90/p99/max':<24} skipped"]
    for name, d in manifest["datasets"].items():
        t = d["tokens"]
        skipped = ", ".join(f"{k} {v}" for k, v in d["skipped"].items()) or "-"
        toks = f"{t['p50']}/{t['p90']}/{t['p99']}/{t['max']}"
        lines.append(f"{name:<14}{d['read']:>8}{d['written']:>9}  {toks:<24} {skipped}")
    lines += [f"note: {n}" for n in manifest["notes"]]
    lines.append(f"recommended cutoff_len: {manifest['recommended_cutoff_len']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        manifest = run(args)
    except PrepError as exc:
        print(f"data_prep: error: {exc}", file=sys.stderr)
        return 2
    print(report(manifest))
    print(f"wrote {shown(args.out_dir)}/*.jsonl, manifest.json and {shown(args.dataset_info)}")
    return 0
