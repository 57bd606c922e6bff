"""`python -m data_prep`: the command line. It parses the arguments, runs the pipeline (data_prep/pipeline.py)
and prints what was written; a PrepError is one sentence on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract.datasets import GENERAL, MCQ, PT_TEXT, TRAIN, split
from contract.files import WriteError
from contract.paths import DATASET_INFO, MANIFEST, SFT_DIR

from .errors import PrepError
from .pipeline import ALL, DEFAULT_MODEL, run, shown
from .quality import MAX_RECORD_CHARS
from .tasks import REGISTRY


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m data_prep",
        description=f"Prepare the SFT datasets ({', '.join(REGISTRY)}) and register them for LLaMA-Factory. "
        "With no source arguments the bundled synthetic samples are used.",
    )
    # the groups first (help shows them in this order), then each registered task adds its options to two of them
    src = ap.add_argument_group("sources")
    mcq = ap.add_argument_group(
        "multiple-choice benchmarks (<task>_test.jsonl scored, <task>_dev.jsonl few-shot pool; not SFT data, never "
        "registered; found below --raw-dir unless given)")
    out = ap.add_argument_group("outputs")
    sizes = ap.add_argument_group("sizes (0 = all)")
    src.add_argument("--raw-dir", type=Path, help="find the published files by name anywhere below this folder")
    for task in REGISTRY.values():
        task.add_arguments(src, sizes)
    src.add_argument("--text", type=Path, help=f"a .csv/.jsonl corpus for continued pre-training ({PT_TEXT})")
    src.add_argument("--text-column", default="text", help="its text column (default text)")
    src.add_argument("--only", help=f"comma-separated subset of {','.join((*ALL, *MCQ))} (each then required)")
    src.add_argument("--general", type=Path, action="append",
                     help=f"general-domain data to mix in ({split(GENERAL, TRAIN)}): alpaca or ShareGPT .json/.jsonl, "
                     "firefly .jsonl; repeat for a pool of several files")
    src.add_argument("--general-ratio", type=float, default=1.0,
                     help="general records per domain train record (default 1.0, the seed's 1:1)")
    mcq.add_argument("--cmmlu", type=Path, help="CMMLU download: the folder holding data/{dev,test}/<subject>.csv")
    mcq.add_argument("--ceval", type=Path, help="C-Eval download (ceval-exam): the folder holding "
                     "{dev,val}/<subject>_{dev,val}.csv (test/ has no answers and is never scored)")
    mcq.add_argument("--cmb", type=Path, help="CMB download: a folder holding CMB-Exam/CMB-test/"
                     "CMB-test-choice-question-merge.json with CMB-test-choice-answer.json, and CMB-Exam/CMB-val/"
                     "CMB-val-merge.json (the few-shot pool; scored instead when there is no answer file)")
    mcq.add_argument("--cmexam", type=Path, help="CMExam download: the folder holding data/test_with_annotations.csv "
                     "(or test.csv) and val.csv")
    mcq.add_argument("--medqa", type=Path, help="MedQA download: the folder holding "
                     "data_clean/questions/Mainland/{dev,test}.jsonl")
    mcq.add_argument("--mcq-subjects", default="default",
                     help="CMMLU/C-Eval subjects, comma-separated file names (anatomy, physician ...), 'default' "
                     "(the medical subjects + chinese_history/modern_chinese_history and high_school_mathematics) "
                     "and/or 'all' (every subject downloaded); default: default")
    mcq.add_argument("--mcq-groups", default="", metavar="SUBJECT=GROUP,...",
                     help="put subjects in the medical or general group (over the defaults; a subject outside "
                     "them is general in CMMLU/C-Eval, everything in CMB/CMExam/MedQA is medical)")
    out.add_argument("--out-dir", type=Path, default=SFT_DIR, help=f"default {SFT_DIR.as_posix()}")
    out.add_argument("--dataset-info", type=Path, default=Path(DATASET_INFO),
                     help=f"LLaMA-Factory registration to update (default ./{DATASET_INFO})")
    out.add_argument("--model", default=DEFAULT_MODEL,
                     help=f"tokenizer for token statistics: local path or hub id (default {DEFAULT_MODEL})")
    sizes.add_argument("--max-record-chars", type=int, default=MAX_RECORD_CHARS,
                       help=f"skip records longer than this in characters, counted as too_long "
                       f"(default {MAX_RECORD_CHARS}; 0 = no cap)")
    ap.add_argument("--seed", type=int, default=42, help="shuffle seed (the seed recipe's 42)")
    ap.add_argument("--token-sample", type=int, default=20_000,
                    help="splits larger than this get token stats from a seeded sample of this many records "
                    "plus the longest ones (default 20000; 0 = tokenize every record)")
    return ap


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
    except (PrepError, WriteError) as exc:  # WriteError: a full disk or read-only folder, said in one sentence
        print(f"data_prep: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # publish.py: the folder holds the old set or the new one, never a mix
        print(f"\ndata_prep: interrupted; {shown(args.out_dir)} holds the previous complete set or the new one, never a "
              "mix; rerun the same command", file=sys.stderr)
        return 130
    print(report(manifest))
    print(f"wrote {shown(args.out_dir)}/*.jsonl, {MANIFEST} and {shown(args.dataset_info)}")
    return 0
