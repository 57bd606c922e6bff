"""`python -m eval run ...` scores checkpoints; `python -m eval score ...` scores a predictions file."""

from __future__ import annotations

import argparse
import sys

from contract.datasets import MCQ_SHOTS
from contract.env import verbose
from contract.files import WriteError
from contract.models import BASE_MODEL_ID, LOCAL_BASE_MODEL
from contract.paths import LAUNCH_CONFIG, SFT_DIR

from . import logs
from .checkpoints import SAVES, CheckpointError, parse_spec, shown
from .inputs import InputError
from .options import BACKENDS, DEFAULT_BATCH_SIZE, DEFAULT_RUN, MCQ_STYLES, REPORTS, EvalOptions
from .prompts import DEFAULT_TEMPLATE
from .report import markdown_tables
from .runner import run_eval, score_file
from .tasks import GENERATIVE, TASKS


def _bertscore_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bertscore-model", help="Chinese BERT for BERTScore: hub id (cached) or local dir; "
                        "without it bertscore_f1 is reported as skipped")
    parser.add_argument("--bertscore-layers", type=int, help="layer to use (required for a local directory)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--verbose", action="store_true", default=verbose(),
                        help="show the libraries' INFO lines too (default: VERBOSE=1 in the environment)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="generate with checkpoints and write a before/after report")
    run.add_argument("--checkpoint", action="append", metavar="NAME=PATH",
                     help="model dir, hub id, adapter dir or merged export (repeatable); default: the base "
                     "model plus every checkpoint under --saves")
    run.add_argument("--base", help=f"base model (default: $MODEL, else {shown(LOCAL_BASE_MODEL)} if present, "
                     f"else the hub id {BASE_MODEL_ID}); with --checkpoint it is added as 'base'")
    run.add_argument("--saves", default=str(SAVES), help=f"where to look for checkpoints (default: {SAVES})")
    run.add_argument("--tasks", help=f"comma list of {','.join(TASKS)} (default: each one whose test file "
                     "is in --data-dir; the report names the others)")
    run.add_argument("--limit", type=int, help="use only the first N test samples per task (multiple choice: per "
                     "subject)")
    run.add_argument("--data-dir", default=str(SFT_DIR), help="directory of the *_test.jsonl files")
    run.add_argument("--run", default=DEFAULT_RUN, help=f"report name: the report goes to {REPORTS}/RUN")
    run.add_argument("--out", help="report directory (overrides --run); rerunning with it resumes")
    run.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    run.add_argument("--max-new-tokens", help="per task, e.g. norm=64,mrg=2048 (defaults: "
                     + ", ".join(f"{t}={s.max_new_tokens}" for t, s in TASKS.items()) + ")")
    run.add_argument("--backend", default="auto", choices=BACKENDS,
                     help="auto: vLLM when installed and a GPU is visible, else transformers")
    run.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    run.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="default: bf16 on GPU, fp32 on CPU")
    run.add_argument("--template", default=DEFAULT_TEMPLATE, help="LLaMA-Factory template for checkpoints "
                     f"without a saved {LAUNCH_CONFIG}, e.g. the base model (default: {DEFAULT_TEMPLATE}); runs use "
                     "their own")
    run.add_argument("--system", help=f"system prompt for checkpoints without a saved {LAUNCH_CONFIG} (default: "
                     "the template's); runs use the one they were trained with")
    run.add_argument("--mcq-style", default=EvalOptions.mcq_style, choices=MCQ_STYLES,
                     help="multiple-choice scoring: harness = lm-evaluation-harness's likelihood of ' A'..' D' "
                     "(default); official = C-Eval/CMMLU's next-token logit of the bare letter; generate = CMB's "
                     "prompt, greedy answer, CMB's extraction (multiple-answer items always); cloze = each option's "
                     "text scored after the bare question (for small models that cannot answer by letter)")
    run.add_argument("--mcq-shots", type=int, default=MCQ_SHOTS, help="few-shot items from the dev split "
                     f"(default: {MCQ_SHOTS}; the papers also run 0)")
    run.add_argument("--mcq-chat", action="store_true", help="multiple-choice prompts through each checkpoint's "
                     "chat template (lm-eval's apply_chat_template); default: raw text")
    _bertscore_args(run)

    score = sub.add_parser("score", help="score an existing predictions file (ours or LLaMA-Factory's "
                           "generated_predictions.jsonl)")
    score.add_argument("--task", required=True, choices=[t for t, s in TASKS.items() if s.kind == GENERATIVE])
    score.add_argument("--predictions", required=True)
    score.add_argument("--test", help="the test jsonl the predictions were made from (mrg: all references)")
    score.add_argument("--out", help="where to write metrics.json (default: beside the predictions)")
    _bertscore_args(score)
    return parser


def run_options(args: argparse.Namespace) -> EvalOptions:
    """`eval run`'s flags as the options of one run."""
    return EvalOptions(
        checkpoints=dict(parse_spec(spec) for spec in args.checkpoint) if args.checkpoint else None,
        tasks=args.tasks, data_dir=args.data_dir, out_dir=args.out or REPORTS / args.run, limit=args.limit,
        base=args.base, saves_dir=args.saves, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
        backend=args.backend, device=args.device, dtype=args.dtype, bertscore_model=args.bertscore_model,
        bertscore_layers=args.bertscore_layers, system=args.system, template=args.template,
        mcq_style=args.mcq_style, mcq_shots=args.mcq_shots, mcq_chat=args.mcq_chat)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.verbose)
    try:
        if args.command == "run":
            out = run_eval(run_options(args))
            from . import markdown_table

            print(markdown_table(out))
            print(f"report: {out / 'report.md'}")
        else:
            summary = score_file(args.task, args.predictions, args.test, args.out, args.bertscore_model,
                                 args.bertscore_layers)
            print(markdown_tables(summary))
    except (InputError, CheckpointError, ValueError, WriteError) as exc:  # WriteError: full disk, read-only
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. --out names a file, or a folder we may not write
        where = f"{exc.filename}: " if exc.filename else ""  # a hub or network OSError names no file
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the caches keep every finished batch, so a rerun picks up from there
        print("\ninterrupted: the batches finished so far are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    logs.set_library_verbosity(verbose())
    sys.exit(main())
