"""python -m launch <command> [recipe|method|target] [key=value ...] [--profile tiny] [--dry-run]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract.files import NO_ROOM, WriteError
from contract.models import BASE_MODEL_NAME

from .commands import COMMANDS
from .download import download
from .errors import LaunchError
from .plan import build, run
from .preflight import finished_run_refusal, run_checks
from .profiles import PROFILES
from .resume import apply as apply_resume
from .resume import claim
from .resume import decide as decide_resume
from .validate import validate_overrides

EPILOG = f"""examples:
  python -m launch train lora                         LoRA SFT (saves/{BASE_MODEL_NAME}/lora/sft)
  python -m launch train qlora --profile tiny         the QLoRA recipe on the offline tiny model, CPU
  python -m launch train lora learning_rate=2e-4 num_train_epochs=3
  python -m launch export qlora                       merge onto the unquantized base
  python -m launch chat lora | api lora-merged | webchat full | webui
  python -m launch predict lora max_samples=50
  NPROC_PER_NODE=8 NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 python -m launch train full
  python -m launch model                              download {BASE_MODEL_NAME} into models/
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=[*COMMANDS, "model"])
    parser.add_argument("args", nargs="*", help="a recipe/method/target, then key=value overrides")
    parser.add_argument("--profile", choices=PROFILES, default=None,
                        help="tiny: offline tiny model, CPU-safe settings, few steps")
    parser.add_argument("--dry-run", action="store_true", help="print command, environment and config; run nothing")
    parser.add_argument("--skip-preflight", action="store_true", help="run even if preflight finds errors")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a finished run in the output folder (refused otherwise)")
    parser.add_argument("--restart", action="store_true",
                        help="train: start over, removing an interrupted run's checkpoints from the output folder "
                             "(without it, rerunning resumes from the last complete checkpoint)")
    return parser.parse_intermixed_args(argv)  # the Makefile puts --profile before key=value ARGS


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    plan = None
    try:
        if args.command == "model":
            download(dry_run=args.dry_run)
            return 0
        positional = [a for a in args.args if "=" not in a]
        overrides = [a for a in args.args if "=" in a]
        if len(positional) > 1:
            raise LaunchError(f"Expected at most one recipe/method/target, got {positional}.")
        validate_overrides(args.command, overrides)  # before anything is built, written or started
        plan = build(args.command, positional[0] if positional else None, overrides, args.profile)
        findings = run_checks(plan)
        for finding in findings:
            print(f"preflight {finding.level}: {finding.message}", file=sys.stderr)
        errors = [f for f in findings if f.level == "error"]
        finished = finished_run_refusal(plan)
        refusal = None if args.overwrite else finished
        # an interrupted run resumes; --restart, or --overwrite of a finished run, starts over
        resume = None if refusal else decide_resume(plan, restart=args.restart or finished is not None)
        if resume is not None:
            plan.notes += resume.notes
            refusal = resume.refusal
        if args.dry_run:
            print(plan.describe())
            if refusal:
                print(f"note: a real run would be refused: {refusal}", file=sys.stderr)
            return 0
        if refusal:
            raise LaunchError(refusal)
        if errors and not args.skip_preflight:
            print(f"preflight: {len(errors)} problem(s) above; nothing was run (--skip-preflight overrides).",
                  file=sys.stderr)
            return 2
        claim(plan)  # one launcher per train output folder
        if resume is not None:
            apply_resume(resume)
        for note in plan.notes:  # what the launcher decided (model, cutoff_len, profile, resume), before LF's log
            print(f"launch: {note}", file=sys.stderr)
        return run(plan, replace_process=True)
    except (LaunchError, WriteError) as exc:  # WriteError: the config could not be written (full disk, read-only)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # any other file the launcher writes before LLaMA-Factory starts
        if exc.errno not in NO_ROOM:
            raise
        where = Path(exc.filename).parent if exc.filename else getattr(plan, "output_dir", None) or Path.cwd()
        needed = len(plan.describe().encode()) if plan is not None else None  # about the config it writes
        print(f"error: {WriteError(exc, 'the run folder', where, needed, 'nothing was started')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("launch: interrupted before anything was started.", file=sys.stderr)
        return 130
