"""`make mix-sweep`: the course notes' general:domain table as a measured experiment (issue 19).

For each ratio (default the notes' 1:0, 1:1, 0:1) it prepares the same domain data and the same general pool
mixed at that ratio (data_prep --general-ratio, contract/mix.py says what a ratio means), trains the method
(LoRA by default) through the launcher into saves/<model>/<method>/mix_<G>-<D> (where the web UI lists runs),
then scores the base and every run on the domain tasks and the general / medical multiple-choice tasks
(python -m eval's run_eval, cached) and writes reports/mix_sweep/: report.md (ratio x domain score, general
accuracy, medical-exam accuracy, retention vs base; each run's settings; the commit), tradeoff.png, sweep.json.

A rerun resumes: a run whose folder holds this sweep's stamp with the same settings is not trained again, and
eval reuses its finished predictions.

    python scripts/mix_sweep.py [--ratios 1:0,1:1,0:1] [--method lora] [--profile tiny] [--base MODEL]
                                [--general FILE ...] [--prep-args "..."] [--train-args "k=v ..."] [--demo] [--ci]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from contract import mix
from contract.datasets import DATASETS, DOMAIN, MCQ, TEST, split, split_file
from contract.env import OFFLINE_ENV
from contract.files import write_json
from contract.models import BASE_MODEL_ID, LOCAL_BASE_MODEL, TINY_GENERAL, TINY_MODEL
from contract.paths import MANIFEST, REPO_ROOT, REPORTS_DIR, SFT_DIR, repo_relative
from contract.prepare import prepare_command
from eval.mcq.prompts import DEFAULT_STYLE as MCQ_DEFAULT_STYLE
from eval.mcq.prompts import STYLES as MCQ_STYLES

GENERAL_SAMPLES = [REPO_ROOT / "data_prep" / "samples" / "general" / name
                   for name in ("alpaca_gpt4_data_zh.json", "sharegpt_zh.json", "firefly_zh.jsonl")]
STAMP = "mix_sweep_run.json"  # written into a run's folder after it trained: what it was trained with
MIX_DIR = Path("data") / "mix"  # per-ratio prepared sets (dataset_dir of each run), under the workdir
# The demo: the tiny general base (make tiny-general) with the demo's LoRA settings (scripts/demo.py's TINY_TRAIN:
# a learning rate far above the real recipe's, random batches), domain data cut so the bundled general pool covers
# 1:1, few test samples. Chosen for the 5-minute budget, not for the result.
DEMO_TRAIN = {"per_device_train_batch_size": 8, "learning_rate": 1e-2, "logging_steps": 10, "warmup_ratio": 0.05,
              "train_sampling_strategy": "random", "max_steps": 150}
DEMO_PREP = ["--dialog-limit", "200", "--norm-limit", "200", "--mrg-limit", "200"]
DEMO_NEW_TOKENS = {"norm": 48, "dialog": 96, "mrg": 160}
DEMO_MCQ_STYLE = "cloze"
SETTING_KEYS = ("model_name_or_path", "finetuning_type", "dataset", "learning_rate", "max_steps", "num_train_epochs",
                "per_device_train_batch_size", "gradient_accumulation_steps", "lora_rank", "lora_alpha",
                "cutoff_len", "lr_scheduler_type", "seed")


def git_commit() -> str:
    """HEAD, with +dirty when the working tree differs from it (the report then says so)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def trained_data_sha(folder: Path, names: list[str]) -> str:
    """One digest of the sha256s the manifest lists for the train files a run reads."""
    manifest = json.loads((folder / SFT_DIR / MANIFEST).read_text(encoding="utf-8"))
    split_of = {name: s for s, name in DATASETS.items()}
    shas = [manifest["datasets"][split_of[n]]["sha256"] for n in names]
    return hashlib.sha256(" ".join(shas).encode()).hexdigest()[:16]


class Sweep:
    def __init__(self, args):
        self.args = args
        self.workdir = args.workdir.resolve()
        self.report_dir = self.place(REPORTS_DIR) / "mix_sweep"
        self.logs = self.report_dir / "logs"
        if args.profile == "tiny":  # offline; 64-wide models: one thread beats two (scripts/demo.py measured it)
            os.environ.update(OFFLINE_ENV)
            os.environ.setdefault("OMP_NUM_THREADS", "1")

    def place(self, path: str | Path) -> Path:
        path = Path(path)
        return self.workdir / (path.relative_to(REPO_ROOT) if path.is_absolute() else path)

    def run_logged(self, argv: list[str], log: Path, env: dict | None = None) -> str:
        log.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        if result.returncode != 0:
            sys.exit(f"mix-sweep: `{shlex.join(argv)}` failed (exit {result.returncode}); log: {log}\n"
                     f"{(result.stdout + result.stderr)[-3000:]}")
        return result.stdout

    def prepare(self, name: str, ratio: tuple[float, float] | None) -> Path:
        """data_prep into data/mix/<name>: the same domain data for every ratio, the pool at the ratio's size."""
        folder = self.place(MIX_DIR / name)
        extra = [*self.args.prep_extra]
        general_ratio = mix.general_ratio(ratio) if ratio else None
        if general_ratio is not None:
            for path in self.args.general:
                extra += ["--general", str(path)]
            extra += ["--general-ratio", repr(general_ratio)]
        self.run_logged(prepare_command(folder, self.args.tokenizer, extra), self.logs / f"prep_{name}.log")
        return folder

    def train(self, ratio: tuple[float, float]) -> dict:
        import launch
        from launch.prepared import mix_counts
        from launch.validate import validate_overrides

        name = mix.run_name(ratio)
        default_out = launch.build("train", self.args.method, profile=self.args.profile).output_dir
        output_dir = self.place(default_out).parent / name
        folder = self.prepare(name, ratio)
        overrides = {**self.args.train_overrides, "dataset": ",".join(mix.datasets(ratio)),
                     "dataset_dir": str(folder), "output_dir": str(output_dir)}
        if self.args.base:
            overrides["model_name_or_path"] = str(self.args.base)
        kv = [f"{k}={v}" for k, v in overrides.items()]
        validate_overrides("train", kv)  # a bad key or value: the launcher's sentence, before anything runs
        plan = launch.build("train", self.args.method, kv, profile=self.args.profile)
        general, domain, _ = mix_counts(plan.config) or (0, 0, None)
        settings = {k: plan.config[k] for k in SETTING_KEYS if plan.config.get(k) is not None}
        settings["data_sha256"] = trained_data_sha(folder, mix.datasets(ratio))  # same settings, other data: retrain
        run = {"ratio": mix.label(ratio), "checkpoint": name, "general_share": mix.general_share(ratio),
               "output_dir": repo_relative(output_dir) if output_dir.is_relative_to(REPO_ROOT) else str(output_dir),
               "records": {"general": general, "domain": domain}, "mix": mix.describe(general, domain),
               "settings": settings}
        stamp = output_dir / STAMP
        if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")).get("settings") == settings:
            print(f"==> {run['ratio']}: finished earlier in {run['output_dir']}, kept", flush=True)
            return {**json.loads(stamp.read_text(encoding="utf-8")), "path": str(output_dir)}
        print(f"==> {run['ratio']}: training {self.args.method} on {run['mix']}", flush=True)
        started = time.perf_counter()
        stamp.unlink(missing_ok=True)
        # The launcher's own command line, as `make train-<method> ARGS=...` runs it: preflight, launch_config.yaml
        # with the mix in its header, and an interrupted run resumes; --overwrite replaces a finished run whose
        # settings or data were other than these (no stamp to match).
        profile = ["--profile", self.args.profile] if self.args.profile else []
        argv = [sys.executable, "-m", "launch", "--overwrite", "train", self.args.method, *profile, *kv]
        output_dir.mkdir(parents=True, exist_ok=True)
        self.run_logged(argv, output_dir.parent / f"{name}.train.log")
        run["train_seconds"] = round(time.perf_counter() - started, 1)
        print(f"    {run['train_seconds']} s -> {run['output_dir']}", flush=True)
        write_json(stamp, run)  # atomic: a kill leaves no half stamp, so the run is redone, never half-trusted
        return {**run, "path": str(output_dir)}

    def evaluate(self, base: str, runs: list[dict]) -> dict:
        from eval import EvalOptions, run_eval

        data = self.prepare("test", None) / SFT_DIR
        tasks = [t for t in (*DOMAIN, *MCQ) if (data / split_file(split(t, TEST))).is_file()]
        print(f"==> eval: base + {len(runs)} runs on {', '.join(tasks)}", flush=True)
        out = run_eval(EvalOptions(
            checkpoints={"base": base, **{run["checkpoint"]: run["path"] for run in runs}}, tasks=tasks,
            data_dir=data, out_dir=self.report_dir / "eval", limit=self.args.limit,
            max_new_tokens=self.args.max_new_tokens, mcq_shots=self.args.mcq_shots, mcq_style=self.args.mcq_style))
        return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def parse_args(argv: list[str] | None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ratios", default=",".join(mix.DEFAULT_RATIOS), help="general:domain list (default 1:0,1:1,0:1)")
    ap.add_argument("--method", default="lora", help="train method or recipe (default lora)")
    ap.add_argument("--profile", choices=["tiny"], help="tiny: the offline tiny model on CPU")
    ap.add_argument("--base", type=Path, help="base model for every run (default: the recipe's / the profile's)")
    ap.add_argument("--general", type=Path, action="append",
                    help="general pool file (repeatable; default: the bundled alpaca, ShareGPT and firefly samples)")
    ap.add_argument("--prep-args", default="", help="more data_prep arguments, e.g. \"--raw-dir raw --model M\"")
    ap.add_argument("--train-args", default="", help="key=value overrides for every run")
    ap.add_argument("--workdir", type=Path, default=REPO_ROOT, help="where data/, saves/, reports/ go (default: repo)")
    ap.add_argument("--limit", type=int, help="test samples per task (default all)")
    ap.add_argument("--mcq-shots", type=int, default=5, help="few-shot items per multiple-choice question (5)")
    ap.add_argument("--mcq-style", choices=MCQ_STYLES, help="multiple-choice scoring (python -m eval run --help; "
                    "default harness, the demo's cloze)")
    ap.add_argument("--demo", action="store_true",
                    help="the demo: tiny profile, the tiny general base (make tiny-general), demo LoRA settings, "
                    "domain data cut to 200 per task, 20 test samples, multiple choice 0-shot cloze")
    ap.add_argument("--ci", action="store_true", help="with --demo: fewest steps and samples (wiring only)")
    args = ap.parse_args(argv)
    try:
        args.ratio_list = mix.parse_ratios(args.ratios)
    except mix.RatioError as exc:
        ap.error(str(exc))
    args.general = args.general or GENERAL_SAMPLES
    args.prep_extra = shlex.split(args.prep_args)
    from launch.overrides import parse_overrides

    args.train_overrides = parse_overrides(shlex.split(args.train_args))
    args.tokenizer, args.max_new_tokens = TINY_MODEL, None
    if args.demo or args.ci:
        args.profile, args.base = "tiny", args.base or TINY_GENERAL
        args.prep_extra = [*DEMO_PREP, *args.prep_extra]
        args.train_overrides = {**DEMO_TRAIN, **args.train_overrides}
        args.limit, args.mcq_shots, args.max_new_tokens = args.limit or 20, 0, DEMO_NEW_TOKENS
        # the tiny base answers the letter formulations at chance but knows facts as text (docs/recipes.md)
        args.mcq_style = args.mcq_style or DEMO_MCQ_STYLE
        if args.ci:
            args.train_overrides["max_steps"], args.limit = 4, 3
    else:
        args.mcq_style = args.mcq_style or MCQ_DEFAULT_STYLE
    if args.profile != "tiny":  # token statistics (cutoff_len) with the model that trains
        local = LOCAL_BASE_MODEL if (LOCAL_BASE_MODEL / "config.json").is_file() else BASE_MODEL_ID
        args.tokenizer = args.base or os.environ.get("MODEL") or local
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile == "tiny" and args.base and not (Path(args.base) / "config.json").is_file():
        print(f"mix-sweep: {args.base} is not built: run `make tiny-general`", file=sys.stderr)
        return 2
    for path in args.general:
        if not Path(path).is_file():
            print(f"mix-sweep: general pool file {path} does not exist", file=sys.stderr)
            return 2
    try:
        return sweep_all(args)
    except KeyboardInterrupt:  # Ctrl-C reaches the launcher and eval too; each keeps what it finished
        print("\nmix-sweep: interrupted; rerun the same command: finished runs are kept, an interrupted one resumes "
              "from its last checkpoint, eval reuses its cached rows", file=sys.stderr)
        return 130


def sweep_all(args) -> int:
    """Train every ratio, evaluate, write the report (main's checks done)."""
    import launch
    from launch.errors import LaunchError

    sweep = Sweep(args)
    started = time.perf_counter()
    try:
        runs = [sweep.train(ratio) for ratio in args.ratio_list]
    except LaunchError as exc:  # a recipe, override or data problem: the launcher's sentence, no traceback
        print(f"mix-sweep: {exc}", file=sys.stderr)
        return 2

    base = str(args.base) if args.base else str(launch.build("train", args.method, profile=args.profile)
                                                 .config["model_name_or_path"])
    summary = sweep.evaluate(base, runs)
    from eval.sweep_report import write_sweep_report

    meta = {"method": args.method, "base": repo_relative(Path(base)) if Path(base).is_absolute()
            and Path(base).is_relative_to(REPO_ROOT) else base, "commit": git_commit(),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "profile": args.profile,
            "eval_report": str(sweep.report_dir / "eval" / "report.md"), "limit": args.limit,
            "mcq_shots": args.mcq_shots, "mcq_style": args.mcq_style}
    report = write_sweep_report(sweep.report_dir, summary, [{k: v for k, v in r.items() if k != "path"} for r in runs],
                                meta)
    print(report.read_text(encoding="utf-8"))
    print(f"Report: {report} (chart: {report.parent / 'tradeoff.png'}); {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
