"""The bundled synthetic raw samples (data_prep/samples), written deterministically in the published file
formats, one module per source as data_prep reads them:

    dialog  ModelScope JSON array + Toyhom department CSVs (GB18030)    -> dialog, triage
    norm    yidu-n7k xlsx files + code.txt                               -> norm
    mrg     IMCS-V2-MRG train/dev JSON                                   -> mrg
    qa      the GPT-2 chatbot's train.txt                                -> qa
    mcq     CMMLU, C-Eval, CMB-Exam, CMExam, MedQA (our items)          -> the multiple-choice benchmarks
    general alpaca / ShareGPT / firefly general-domain SFT files         -> --general (the mixing sweep)
    tables  the disease table they share, and the seeded pick

Every text is generated from small templates (no real patient data). The files mimic the published formats
and their quirks (see the project's data notes) so the readers meet what users meet. The texts carry a signal
a tiny model can learn quickly: doctor answers always open with 您好 and give a 建议; standard terms come from a
small code.txt vocabulary and are contained in their raw term; every report has the six keys in order with
short formulaic values taken from the dialogue.

    python -m data_prep.synthetic [--out data_prep/samples]   (scripts/make_samples.py runs the same)

A test checks that this still writes the committed samples byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..discover import SAMPLES_DIR
from . import dialog, general, mcq, mrg, norm, qa

SEED = 20240601  # dialog, norm and mrg draw from SEED, SEED + 1, SEED + 2; qa has its own

__all__ = ["SAMPLES_DIR", "SEED", "write_all"]


def write_all(out: Path = SAMPLES_DIR) -> Path:
    """Write every bundled sample under `out`; return `out`."""
    out = Path(out)
    dialog.write_dialog(out, random.Random(SEED))
    norm.write_norm(out, random.Random(SEED + 1))
    mrg.write_mrg(out, random.Random(SEED + 2))
    qa.write(out)
    mcq.write(out)
    general.write(out)
    return out
