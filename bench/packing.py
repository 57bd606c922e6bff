"""Packing benchmark: the LoRA recipe (tiny profile) on the prepared data, one epoch each in three ways,
interleaved, each repeated (--repeats, median counts):

- unpacked: random batches, each padded to its longest sample (the baseline);
- neat_packing: samples packed into cutoff_len rows with block-diagonal attention (LLaMA-Factory's
  `packing` + `neat_packing`; note that packing drops samples longer than cutoff_len);
- grouped: random batches of similar length (`train_sampling_strategy: group_by_length`, transformers'
  LengthGroupedSampler), so little padding and no row longer than needed.

Counts every batch the trainer actually receives (LLaMA-Factory's collator is wrapped): trained tokens are
the non-pad tokens, the padded waste is pad / all tokens; speed is trained tokens per second of train_runtime.
The last line compares unpacked with the way the LoRA recipe batches (read from the recipe):
`packing speedup: <X>x (padded waste <p>% -> <q>%)`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from contract.env import OFFLINE_ENV
from contract.models import TINY_MODEL
from contract.paths import RECIPE_DIR
from contract.prepare import prepare_into

os.environ.update(OFFLINE_ENV)

MODES = {  # mode -> the recipe keys it sets
    "unpacked": {"packing": False, "neat_packing": False, "train_sampling_strategy": "random"},
    "neat_packing": {"packing": True, "neat_packing": True, "train_sampling_strategy": "random"},
    "grouped": {"packing": False, "neat_packing": False, "train_sampling_strategy": "group_by_length"},
}
RECIPE = RECIPE_DIR / "qwen2_5_0_5b_lora_sft.yaml"


def recipe_mode() -> str:
    """Which of MODES the LoRA recipe uses."""
    import yaml

    config = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    if config.get("packing"):
        return "neat_packing" if config.get("neat_packing") else "packing (cross-sample attention)"
    return "grouped" if config.get("train_sampling_strategy") == "group_by_length" else "unpacked"


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
    overrides.update(MODES[mode])
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
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternate the modes' runs this many times and take each one's median, so warm-up "
                             "and a busy machine do not favour any side")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 keeps a shared machine from skewing one side)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="medsft-packing-") as tmp:
        tmp = Path(tmp)
        data_dir = tmp / "prepared"  # the dataset_dir: dataset_info.json and data/sft
        prepare_into(data_dir, TINY_MODEL)
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for repeat in range(args.repeats):
            for mode in MODES:
                runs[mode].append(train_once(data_dir, tmp / f"run-{mode}-{repeat}", mode, args.batch, args.cutoff,
                                             args.max_samples))
    print(f"torch threads {torch.get_num_threads()}, batch {args.batch} rows, one epoch, "
          f"{args.max_samples or 'all'} records per dataset, median of {args.repeats} interleaved runs per mode")
    speed, waste = {}, {}
    for mode, results in runs.items():
        r = results[0]  # batches and token counts are the same in every repeat (seeded)
        speed[mode] = statistics.median(x["real"] / x["runtime"] for x in results)
        waste[mode] = 100 * (1 - r["real"] / r["total"])
        runtimes = ", ".join(f"{x['runtime']:.1f}" for x in results)
        print(f"{mode:>12}: {r['batches']} batches, cutoff {r['cutoff']}, trained tokens {r['real']}, "
              f"all tokens {r['total']}, waste {waste[mode]:.1f}%, runs {runtimes} s, {speed[mode]:.0f} trained tokens/s "
              f"({speed[mode] / speed['unpacked']:.2f}x)")
    # the recipe's own batching when it sets one, else the option its comment recommends for long runs
    chosen = recipe_mode() if recipe_mode() != "unpacked" else "grouped"
    if chosen not in MODES:
        sys.exit(f"{RECIPE.name} batches as {chosen!r}: not one of {', '.join(MODES)}")
    print(f"the LoRA recipe batches as: {recipe_mode()}; headline: {chosen}")
    print(f"packing speedup: {speed[chosen] / speed['unpacked']:.2f}x "
          f"(padded waste {waste['unpacked']:.1f}% -> {waste[chosen]:.1f}%)")


if __name__ == "__main__":
    main()
