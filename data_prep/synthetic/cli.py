"""python -m data_prep.synthetic [--out DIR] [--only qa]: write the bundled synthetic samples (scripts/make_samples.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from . import SAMPLES_DIR, qa, write_all
from .norm import XML_WRITER_SWITCH


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data_prep.synthetic",
                                 description="Write the bundled synthetic raw samples (data_prep/samples).")
    ap.add_argument("--out", type=Path, default=SAMPLES_DIR, help="default: data_prep/samples")
    ap.add_argument("--only", choices=["qa"], help="write one sample only (qa: the GPT-2 chatbot's train.txt)")
    args = ap.parse_args(argv)
    os.environ[XML_WRITER_SWITCH] = "False"  # before openpyxl's first import here: the committed xlsx bytes
    if args.only == "qa":
        print(f"wrote {qa.write(args.out)}")
    else:
        print(f"samples written under {write_all(args.out)}")
    return 0

