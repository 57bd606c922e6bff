"""`make demo`: the whole medsft job on the bundled samples, on CPU, offline, in a few minutes.

    data_prep (bundled synthetic raw files) -> LoRA SFT and QLoRA SFT of the tiny Qwen2 model through the
    launcher's tiny profile -> merge the LoRA adapter -> eval base vs every trained checkpoint on the three
    test sets -> reports/demo/report.md (printed at the end).

The tiny model has random weights, so "before" is noise; what the adapters learn in ~2 minutes (the
doctor's reply style, the report's JSON keys, term-list characters) is what the before/after table shows.
The same steps with the real model are the README's "Real run on a CUDA box".

    python scripts/demo.py [--workdir DIR] [--steps N] [--limit N] [--ci]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DISABLE_VERSION_CHECK": "1",
    "WANDB_MODE": "disabled",
}
# The tiny model starts from random weights: a LoRA learning rate far above the real recipe's 1e-4 is what
# lets it learn visibly in a couple of minutes of CPU (measured: LoRA loss 7.4 -> 1.9 in 300 steps of batch 8).
TINY_TRAIN = {"per_device_train_batch_size": 8, "learning_rate": 1e-2, "logging_steps": 10, "warmup_ratio": 0.05}
# Budgets above the longest test label (tiny tokenizer) so a model that learned to stop is never cut off.
DEMO_NEW_TOKENS = {"norm": 48, "dialog": 128, "mrg": 192}  # test labels: max 32, 67, 113 tokens


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


class Demo:
    def __init__(self, workdir: Path, steps: int, limit: int):
        self.workdir = workdir.resolve()
        self.steps = steps
        self.limit = limit
        self.timings: list[tuple[str, float]] = []
        os.environ.update(OFFLINE_ENV)  # this process and every child it starts stay offline

    def place(self, path: str | Path) -> Path:
        """Map a repo-root path chosen by a recipe into the demo's workdir."""
        path = Path(path)
        return self.workdir / (path.relative_to(REPO_ROOT) if path.is_absolute() else path)

    @contextlib.contextmanager
    def stage(self, name: str):
        print(f"\n==> {name}", flush=True)
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.timings.append((name, seconds))
        print(f"    {name}: {seconds:.1f} s", flush=True)

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
        with self.stage("data: bundled samples -> data/sft + dataset_info.json"):
            out = self.run_logged(
                [sys.executable, "-m", "data_prep", "--out-dir", str(self.workdir / "data" / "sft"),
                 "--dataset-info", str(self.workdir / "dataset_info.json"),
                 "--model", str(REPO_ROOT / "models" / "tiny-qwen2")],
                self.workdir / "reports" / "demo" / "logs" / "data_prep.log")
            print("\n".join("    " + line for line in out.strip().splitlines()[-10:]))

    def train(self, method: str) -> Path:
        import launch

        with self.stage(f"train {method} (tiny profile, {self.steps} steps)"):
            plan = launch.build("train", method, profile="tiny")
            output_dir = self.place(plan.output_dir)
            overrides = {**TINY_TRAIN, "max_steps": self.steps, "output_dir": str(output_dir),
                         "dataset_dir": str(self.workdir)}
            plan = launch.build("train", method, overrides=overrides, profile="tiny")
            log = self.run_launch(plan, output_dir / "train.log")
            if method == "qlora" and "Quantizing model to 4 bit" not in log:
                sys.exit(f"demo: the QLoRA run did not report 4-bit quantization; see {output_dir / 'train.log'}")
            losses = [line for line in log.splitlines() if "'loss'" in line or '"loss"' in line]
            if losses:
                print(f"    first log: {losses[0].strip()[:120]}\n    last log:  {losses[-1].strip()[:120]}")
            print(f"    adapter: {output_dir}")
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

    def run_launch(self, plan, log: Path) -> str:
        from launch.plan import write_config

        write_config(plan)  # the resolved YAML lands in the run's output dir, as `python -m launch` does
        return self.run_logged(plan.argv, log, env=plan.env_for_child())

    def evaluate(self, checkpoints: dict[str, Path]) -> Path:
        from eval.report import markdown_table
        from eval.runner import run_eval

        with self.stage(f"eval: {', '.join(checkpoints)} on dialog/norm/mrg (n<={self.limit} each)"):
            report_dir = run_eval(
                checkpoints={name: str(path) for name, path in checkpoints.items()},
                tasks=["dialog", "norm", "mrg"],
                data_dir=self.workdir / "data" / "sft",
                out_dir=self.workdir / "reports" / "demo",
                limit=self.limit,
                max_new_tokens=DEMO_NEW_TOKENS,
            )
        print(f"\nReport: {report_dir / 'report.md'}  (chart: {report_dir / 'chart.png'})\n")
        print(markdown_table(report_dir))
        return report_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT,
                        help="where data/, saves/ and reports/ go (default: the repo root)")
    parser.add_argument("--steps", type=int, default=300, help="training steps per method (batch 8)")
    parser.add_argument("--limit", type=int, default=30, help="test samples per task")
    parser.add_argument("--ci", action="store_true", help="fewest steps and samples: checks the wiring only")
    args = parser.parse_args(argv)
    if args.ci:
        args.steps, args.limit = 2, 3
    demo = Demo(args.workdir, args.steps, args.limit)
    started = time.perf_counter()

    demo.prepare_data()
    checkpoints = {"base": REPO_ROOT / "models" / "tiny-qwen2"}
    checkpoints["lora"] = demo.train("lora")
    ok, why = bitsandbytes_runs()
    if ok:
        checkpoints["qlora"] = demo.train("qlora")
    else:
        print(f"\n==> QLoRA skipped: bitsandbytes 4-bit does not run here ({why})")
    checkpoints["lora-merged"] = demo.export("lora", checkpoints["lora"])
    demo.evaluate(checkpoints)

    total = time.perf_counter() - started
    print("Timings: " + ", ".join(f"{name.split(':')[0]} {seconds:.0f} s" for name, seconds in demo.timings)
          + f"; total {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
