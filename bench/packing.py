"""Packing benchmark: the LoRA recipe (tiny profile) on the prepared data, one epoch each without packing,
with `packing` (samples packed into cutoff_len rows, attending across sample boundaries) and with
`neat_packing` (packed, block-diagonal attention: what SFT should use), measured side by side in one run.

Counts every batch the trainer actually receives (LLaMA-Factory's collator is wrapped): trained tokens are
the non-pad tokens, the padded waste is pad / all tokens; speed is trained tokens per second of train_runtime.
Last line: `packing speedup: <X>x (padded waste <p>% -> <q>%)`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="disabled",
                  DISABLE_VERSION_CHECK="1", TOKENIZERS_PARALLELISM="false")


def prepare(out: Path, model: Path) -> Path:
    cmd = [sys.executable, "-m", "data_prep", "--out-dir", str(out / "data" / "sft"),
           "--dataset-info", str(out / "dataset_info.json"), "--model", str(model)]
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return out


MODES = ("unpacked", "packing", "neat_packing")  # the last line compares the first and the last


class Counter:
    """Wraps the collator's __call__ to count real and padded tokens of every batch."""

    def __init__(self, pad_id: int):
        self.pad_id, self.real, self.total, self.batches = pad_id, 0, 0, 0

    def install(self, cls):
        original = cls.__call__
        counter = self

        def counted(self, features, *args, **kwargs):
            batch = original(self, features, *args, **kwargs)
            ids = batch["input_ids"]
            counter.real += int((ids != counter.pad_id).sum())
            counter.total += int(ids.numel())
            counter.batches += 1
            return batch

        cls.__call__ = counted
        return original


def train_once(data_dir: Path, out: Path, mode: str, batch: int, cutoff: int | None, max_samples: int) -> dict:
    from llamafactory.data import collator
    from transformers import AutoTokenizer

    import launch

    overrides = {"dataset_dir": str(data_dir), "output_dir": str(out), "max_steps": -1, "num_train_epochs": 1,
                 "per_device_train_batch_size": batch, "save_strategy": "no", "plot_loss": False,
                 "logging_steps": 50, "seed": 42, "max_samples": max_samples or None}
    if cutoff:
        overrides["cutoff_len"] = cutoff
    if mode != "unpacked":
        overrides.update(packing=True, neat_packing=mode == "neat_packing")
    plan = launch.build("train", "lora", overrides, profile="tiny")
    tokenizer = AutoTokenizer.from_pretrained(plan.config["model_name_or_path"])
    counter = Counter(tokenizer.pad_token_id)
    cls = collator.SFTDataCollatorWith4DAttentionMask
    original = counter.install(cls)
    try:
        launch.run(plan, in_process=True)
    finally:
        cls.__call__ = original
    runtime = json.loads((out / "train_results.json").read_text())["train_runtime"]
    return {"real": counter.real, "total": counter.total, "batches": counter.batches, "runtime": float(runtime),
            "cutoff": plan.config["cutoff_len"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4, help="per-device batch (rows) for both runs")
    parser.add_argument("--cutoff", type=int, default=None, help="cutoff_len (default: the tiny profile's)")
    parser.add_argument("--max-samples", type=int, default=120, help="records per dataset (0 = all)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="alternate unpacked/packed runs this many times and keep each one's fastest, so "
                             "warm-up and a busy machine do not favour either side")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 keeps a shared machine from skewing one side)")
    args = parser.parse_args()
    import torch

    from launch.paths import TINY_MODEL

    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="medsft-packing-") as tmp:
        tmp = Path(tmp)
        data_dir = prepare(tmp / "prepared", TINY_MODEL)
        runs: dict[str, dict] = {}
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for repeat in range(args.repeats):
            for mode in MODES:
                r = train_once(data_dir, tmp / f"run-{mode}-{repeat}", mode, args.batch, args.cutoff,
                               args.max_samples)
                times[mode].append(r["runtime"])
                if mode not in runs or r["runtime"] < runs[mode]["runtime"]:
                    runs[mode] = r
    print(f"torch threads {torch.get_num_threads()}, batch {args.batch} rows, one epoch, "
          f"{args.max_samples or 'all'} records per dataset, best of {args.repeats} alternating runs")
    for mode, r in runs.items():
        print(f"{mode:>12}: {r['batches']} batches, cutoff {r['cutoff']}, trained tokens {r['real']}, "
              f"all tokens {r['total']}, waste {100 * (1 - r['real'] / r['total']):.1f}%, "
              f"runs {', '.join(f'{t:.1f}' for t in times[mode])} s, {r['real'] / r['runtime']:.0f} trained tokens/s")
    plain, packed = runs["unpacked"], runs["neat_packing"]
    speedup = (packed["real"] / packed["runtime"]) / (plain["real"] / plain["runtime"])
    waste = [100 * (1 - r["real"] / r["total"]) for r in (plain, packed)]
    print(f"packing speedup: {speedup:.2f}x (padded waste {waste[0]:.1f}% -> {waste[1]:.1f}%)")


if __name__ == "__main__":
    main()
