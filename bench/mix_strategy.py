"""Mixing benchmark: what a general:domain ratio becomes in the examples a run trains on, mixed two ways.

- data_prep's ratio (what medsft uses): data_prep keeps round(ratio x domain train records) general records
  (--general-ratio) and LLaMA-Factory concatenates the datasets (mix_strategy concat, its default).
- LLaMA-Factory's interleaving: mix_strategy interleave_under / interleave_over with interleave_probs, one
  probability per dataset in the `dataset` list, drawn with the run's fixed seed.

It runs LLaMA-Factory's own merge_dataset on datasets of the demo's sizes (the bundled samples: dialog 242,
norm 300, mrg 296 train records; general pool 699) and counts, for a wanted 1:1, the examples of each kind and
how many distinct records of each were seen. The last line: `mix: ...`.

    python bench/mix_strategy.py [--domain 242,300,296] [--general 699]
"""

from __future__ import annotations

import argparse
from collections import Counter

from datasets import Dataset
from llamafactory.data.data_utils import merge_dataset
from llamafactory.hparams import DataArguments


def sets(domain: list[int], general: int, general_wanted: int | None = None) -> list[Dataset]:
    out = [Dataset.from_dict({"src": [f"d{i}"] * n, "row": list(range(n))}) for i, n in enumerate(domain)]
    g = general if general_wanted is None else min(general, general_wanted)
    return [*out, Dataset.from_dict({"src": ["general"] * g, "row": list(range(g))})]


def count(ds) -> tuple[int, int, int, int, int]:
    """(examples, general examples, domain examples, distinct general records, distinct domain records)"""
    kinds = Counter("general" if s == "general" else "domain" for s in ds["src"])
    distinct = Counter("general" if s == "general" else "domain" for s, _ in set(zip(ds["src"], ds["row"], strict=True)))
    return len(ds), kinds["general"], kinds["domain"], distinct["general"], distinct["domain"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="242,300,296", help="domain train records per dataset")
    ap.add_argument("--general", type=int, default=699, help="general records in the pool")
    args = ap.parse_args(argv)
    domain = [int(n) for n in args.domain.split(",")]
    n_domain = sum(domain)
    rows = []
    # data_prep's ratio 1:1: general capped at the domain count, then concat
    ds = merge_dataset(sets(domain, args.general, n_domain), DataArguments(mix_strategy="concat"), seed=42)
    rows.append(("data_prep --general-ratio 1, concat", *count(ds)))
    # LLaMA-Factory: 1:1 as probabilities. One per dataset: the domain half split by the domain sets' sizes.
    probs = [0.5 * n / n_domain for n in domain] + [0.5]
    for strategy in ("interleave_under", "interleave_over"):
        args_ = DataArguments(mix_strategy=strategy, interleave_probs=",".join(f"{p:.4f}" for p in probs))
        ds = merge_dataset(sets(domain, args.general), args_, seed=42)
        rows.append((f"{strategy}, probs {','.join(f'{p:.3f}' for p in probs)}", *count(ds)))
    print(f"{'mixing':<58}{'examples':>9}{'general':>9}{'domain':>8}{'distinct g':>11}{'distinct d':>11}")
    for name, total, g, d, dg, dd in rows:
        print(f"{name:<58}{total:>9}{g:>9}{d:>8}{dg:>11}{dd:>11}")
    concat, under, over = rows
    print(f"mix: 1:1 wanted; data_prep+concat trains {concat[2]}:{concat[3]} examples, every record once; "
          f"interleave_under {under[2]}:{under[3]} ({under[4]}/{args.general} general, {under[5]}/{n_domain} domain "
          f"records seen); interleave_over {over[2]}:{over[3]} (records repeated to {over[1]} examples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
