"""`make demo`: the whole medsft job on the bundled samples, on CPU, offline, in a few minutes.

    data_prep (bundled synthetic raw files) -> LoRA SFT and QLoRA SFT of the tiny Qwen2 model through the
    launcher's tiny profile (the recipes' dialog/norm/mrg data plus triage and seed 000's qa) -> merge the
    LoRA adapter -> seed 000's GPT-2 chatbot trained from scratch (LLaMA-Factory, tiny GPT-2 with a BERT
    vocab) -> seed 004's BERT triage classifier (scripts/train_triage_bert.py) -> eval of base vs every
    trained checkpoint on the five test sets, each scored where it applies -> reports/demo/report.md.

The tiny models start from random weights, so "before" is noise; what the runs learn in a few minutes (the
doctor's reply style, the report's JSON keys, the chatbot's answer lists, department labels) is what the
before/after tables show. The same steps with the real models are the README's "Real run on a CUDA box".

    python scripts/demo.py [--workdir DIR] [--steps N] [--gpt2-steps N] [--bert-epochs N] [--limit N] [--ci]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from contract.datasets import DATASETS, MCQ, TRAIN, split
from contract.env import OFFLINE_ENV
from contract.models import TINY_BERT_NAME, TINY_BERT_VOCAB, TINY_GPT2_SCRATCH, TINY_MODEL
from contract.paths import DATASET_INFO, REPO_ROOT, REPORTS_DIR, SAVES_DIR, SFT_DIR, repo_relative
from contract.prepare import prepare_command
from launch.triage_bert import run_folder

# The tiny model starts from random weights: a LoRA learning rate far above the real recipe's 1e-4 is what
# lets it learn visibly in a couple of minutes of CPU (measured: LoRA loss 7.4 -> 1.9 in 300 steps of batch 8).
# Random batches, whatever a recipe says: with group_by_length, batches of one task at a time left the tiny
# model learning nothing on mrg in 300 steps (measured, 30 test samples: JSON valid 0% grouped vs 46.7% random).
TINY_TRAIN = {"per_device_train_batch_size": 8, "learning_rate": 1e-2, "logging_steps": 10, "warmup_ratio": 0.05,
              "train_sampling_strategy": "random"}
# The recipes' datasets plus triage and seed 000's qa, so the Qwen rows meet the GPT-2 and BERT rows on
# every test set. The price in 300 steps (measured): no valid mrg JSON any more; with triage alone added it is
# the same, and triage and qa score lower.
ADAPTER_DATASETS = ",".join(DATASETS[split(task, TRAIN)] for task in ("dialog", "norm", "mrg", "triage", "qa"))
# Seed 000's GPT-2 from scratch (the recipe's med_qa + med_dialog): the seed's lr 2.6e-5 is for 4 epochs of
# the real corpus; a randomly initialised tiny GPT-2 needs a far larger one to learn in a few hundred steps
# (measured, 300 steps: qa ROUGE-L 1.1 at 1e-3, 32.6 at 2e-3).
GPT2_TRAIN = {"per_device_train_batch_size": 8, "learning_rate": 2e-3, "warmup_steps": 10, "logging_steps": 10}
TASKS = ["dialog", "qa", "norm", "mrg", "triage", *MCQ]  # + what fine-tuning cost: the multiple-choice benchmarks
# Budgets above the longest test label (tiny tokenizers: Qwen's and the BERT vocab's are both near one token
# per character) so a model that learned to stop is never cut off.
DEMO_NEW_TOKENS = {"norm": 48, "dialog": 128, "mrg": 192, "qa": 48, "triage": 16}  # labels: max 21, 67, 107, 30, 5


def bitsandbytes_runs() -> tuple[bool, str]:
    """QLoRA needs a working bitsandbytes 4-bit kernel; on CPU that is bitsandbytes >= 0.44's CPU backend."""
    try:
        import bitsandbytes as bnb
        import torch

        layer = bnb.nn.Linear4bit(8, 8, quant_type="nf4")
        layer = layer.to("cuda" if torch.cuda.is_available() else "cpu")
        layer(torch.ones(1, 8, dtype=layer.compute_dtype or torch.float32, device=layer.weight.device))
        return True, f"bitsandbytes {bnb.__version__}"
    except Exception as exc:  # any failure means: no QLoRA here, said plainly, LoRA still runs
        return False, f"{type(exc).__name__}: {exc}"


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: on a shared machine, wall time says little."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class Demo:
    def __init__(self, workdir: Path, steps: int, limit: int, gpt2_steps: int, bert_epochs: int):
        self.workdir = workdir.resolve()
        self.steps, self.limit, self.gpt2_steps, self.bert_epochs = steps, limit, gpt2_steps, bert_epochs
        self.timings: list[tuple[str, float, float]] = []  # (stage, wall s, CPU s)
        self.data_dir = self.workdir / SFT_DIR  # prepare_command's layout: the workdir is the dataset_dir
        self.report_dir = self.place(REPORTS_DIR) / "demo"
        os.environ.update(OFFLINE_ENV)  # this process and every child it starts stay offline
        # The tiny models are 64 wide: a second torch thread costs more in synchronisation than it computes
        # (measured on a busy 2-core machine: GPT-2 from scratch, 300 steps, 26 s CPU on one thread, 126 s on
        # two). Set before torch is imported here or in any child; OMP_NUM_THREADS=N overrides.
        os.environ.setdefault("OMP_NUM_THREADS", "1")

    def place(self, path: str | Path) -> Path:
        """Map a repo-root path chosen by a recipe into the demo's workdir."""
        path = Path(path)
        return self.workdir / (path.relative_to(REPO_ROOT) if path.is_absolute() else path)

    @contextlib.contextmanager
    def stage(self, name: str):
        print(f"\n==> {name}", flush=True)
        start, cpu = time.perf_counter(), cpu_seconds()
        yield
        wall, used = time.perf_counter() - start, cpu_seconds() - cpu
        self.timings.append((name.split(":")[0].split(" (")[0], wall, used))
        print(f"    {name}: {wall:.1f} s ({used:.1f} s CPU)", flush=True)

    def run_logged(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> str:
        """Run a child process, keep its full log, stop the demo with the log's tail if it fails."""
        log.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
        output = result.stdout + result.stderr
        log.write_text(output, encoding="utf-8")
        if result.returncode != 0:
            sys.exit(f"demo: `{' '.join(argv)}` failed (exit {result.returncode}); full log: {log}\n{output[-3000:]}")
        return output

    def prepare_data(self) -> None:
        with self.stage(f"data: bundled samples -> {SFT_DIR.as_posix()} + {DATASET_INFO}"):
            out = self.run_logged(prepare_command(self.workdir, TINY_MODEL), self.report_dir / "logs" / "data_prep.log")
            print("\n".join("    " + line for line in out.strip().splitlines()[-14:]))

    def train_recipe(self, recipe: str, overrides: dict, env: dict[str, str] | None = None) -> tuple[Path, str]:
        """A recipe through the launcher's tiny profile, its output and data moved into the workdir."""
        import launch

        output_dir = self.place(launch.build("train", recipe, profile="tiny").output_dir)
        plan = launch.build("train", recipe, profile="tiny", overrides={
            **overrides, "output_dir": str(output_dir), "dataset_dir": str(self.workdir)})
        log = self.run_launch(plan, output_dir / "train.log", env)
        losses = [line for line in log.splitlines() if "'loss'" in line or '"loss"' in line]
        if losses:
            print(f"    first log: {losses[0].strip()[-110:]}\n    last log:  {losses[-1].strip()[-110:]}")
        return output_dir, log

    def train(self, method: str) -> Path:
        with self.stage(f"train {method} (tiny profile, {self.steps} steps)"):
            # LLaMA-Factory says "Quantizing model to 4 bit" at INFO, which the launcher keeps quiet by default
            output_dir, log = self.train_recipe(method, {**TINY_TRAIN, "max_steps": self.steps,
                                                         "dataset": ADAPTER_DATASETS},
                                                {"LLAMAFACTORY_VERBOSITY": "INFO"} if method == "qlora" else None)
            if method == "qlora" and "Quantizing model to 4 bit" not in log:
                sys.exit(f"demo: the QLoRA run did not report 4-bit quantization; see {output_dir / 'train.log'}")
            print(f"    adapter: {output_dir}")
            return output_dir

    def train_gpt2_scratch(self) -> Path:
        with self.stage(f"train gpt2-scratch (seed 000, GPT-2 from scratch, {self.gpt2_steps} steps)"):
            output_dir, _ = self.train_recipe("gpt2_chinese_scratch_full_sft",
                                              {**GPT2_TRAIN, "max_steps": self.gpt2_steps})
            print(f"    model: {output_dir}")
            return output_dir

    def train_bert(self) -> Path:
        with self.stage(f"train bert (seed 004, triage classifier, {self.bert_epochs} epochs)"):
            output_dir = run_folder(self.place(SAVES_DIR), TINY_BERT_NAME)
            out = self.run_logged(
                [sys.executable, "scripts/train_triage_bert.py", "--profile", "tiny", "--overwrite",
                 "--data-dir", str(self.data_dir), "--output-dir", str(output_dir),
                 "--epochs", str(self.bert_epochs)],
                output_dir.parent / "triage.train.log")
            print(f"    {out.strip().splitlines()[-1]}")
            return output_dir

    def export(self, method: str, adapter: Path) -> Path:
        import launch

        with self.stage(f"export: merge the {method} adapter into the base"):
            plan = launch.build("export", method, profile="tiny")
            export_dir = self.place(plan.output_dir)
            plan = launch.build("export", method, profile="tiny",
                                overrides={"adapter_name_or_path": str(adapter), "export_dir": str(export_dir)})
            self.run_launch(plan, export_dir.parent / f"{export_dir.name}.export.log")
            print(f"    merged model: {export_dir}")
            return export_dir

    def run_launch(self, plan, log: Path, env: dict[str, str] | None = None) -> str:
        from launch.plan import write_config

        write_config(plan)  # the resolved YAML lands in the run's output dir, as `python -m launch` does
        return self.run_logged(plan.argv, log, env={**plan.env_for_child(), **(env or {})})

    def evaluate(self, checkpoints: dict[str, Path]) -> Path:
        from eval import EvalOptions, markdown_table, run_eval

        with self.stage(f"eval: {', '.join(checkpoints)} on {'/'.join(TASKS)} (n<={self.limit} each)"):
            report_dir = run_eval(EvalOptions(
                checkpoints={name: str(path) for name, path in checkpoints.items()},
                tasks=TASKS,
                data_dir=self.data_dir,
                out_dir=self.report_dir,
                limit=self.limit,
                max_new_tokens=DEMO_NEW_TOKENS,
            ))
        print(f"\nReport: {report_dir / 'report.md'}  (chart: {report_dir / 'chart.png'})\n")
        print(markdown_table(report_dir))
        return report_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT,
                        help="where data/, saves/ and reports/ go (default: the repo root)")
    parser.add_argument("--steps", type=int, default=300, help="LoRA / QLoRA training steps (batch 8)")
    parser.add_argument("--gpt2-steps", type=int, default=300, help="GPT-2-from-scratch training steps (batch 8)")
    parser.add_argument("--bert-epochs", type=int, default=30, help="BERT triage classifier epochs")
    parser.add_argument("--limit", type=int, default=30, help="test samples per task")
    parser.add_argument("--ci", action="store_true", help="fewest steps and samples: checks the wiring only")
    args = parser.parse_args(argv)
    if args.ci:
        args.steps, args.gpt2_steps, args.bert_epochs, args.limit = 2, 2, 1, 3
    missing = [repo_relative(p) for p in (TINY_MODEL, TINY_BERT_VOCAB, TINY_GPT2_SCRATCH) if not p.is_dir()]
    if missing:
        print(f"demo: {', '.join(missing)} missing: run `make tiny-model tiny-gpt2` (or `make demo`)", file=sys.stderr)
        return 2
    demo = Demo(args.workdir, args.steps, args.limit, args.gpt2_steps, args.bert_epochs)
    started, cpu = time.perf_counter(), cpu_seconds()

    demo.prepare_data()
    checkpoints = {"base": TINY_MODEL}
    checkpoints["lora"] = demo.train("lora")
    ok, why = bitsandbytes_runs()
    if ok:
        checkpoints["qlora"] = demo.train("qlora")
    else:
        print(f"\n==> QLoRA skipped: bitsandbytes 4-bit does not run here ({why})")
    checkpoints["lora-merged"] = demo.export("lora", checkpoints["lora"])
    checkpoints["gpt2-scratch"] = demo.train_gpt2_scratch()
    checkpoints["bert"] = demo.train_bert()
    demo.evaluate(checkpoints)

    total, total_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print("Timings (wall, CPU): " + ", ".join(f"{name} {wall:.0f} s ({used:.0f} s)" for name, wall, used in demo.timings)
          + f"; total {total:.0f} s ({total_cpu:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
