"""`make tiny-general`: models/tiny-qwen2-general, the tiny Qwen2 pre-trained on the synthetic general corpus
(data_prep/synthetic/general.py) by launch/tiny/general_base.py: the demo mixing sweep's base that knows something
general, so there is something to forget.

    python scripts/build_general_base.py [--base models/tiny-qwen2] [--out models/tiny-qwen2-general] [--steps N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract.models import TINY_GENERAL, TINY_MODEL
from contract.paths import repo_relative
from data_prep.synthetic.general import corpus
from launch.tiny.general_base import LR, STEPS, TEXTS, train


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, default=TINY_MODEL, help=f"default {repo_relative(TINY_MODEL)}")
    ap.add_argument("--out", type=Path, default=TINY_GENERAL, help=f"default {repo_relative(TINY_GENERAL)}")
    ap.add_argument("--steps", type=int, default=STEPS, help=f"optimizer steps (default {STEPS})")
    ap.add_argument("--lr", type=float, default=LR, help=f"peak learning rate (default {LR})")
    args = ap.parse_args(argv)
    if not (args.base / "config.json").is_file():
        print(f"{args.base}: no model there; run `make tiny-model` first", file=sys.stderr)
        return 2
    record = train(args.base, args.out, corpus(TEXTS), args.steps, lr=args.lr)
    print(f"wrote {args.out}: loss {record['loss_first_50']} -> {record['loss_last_50']} "
          f"in {record['train_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
