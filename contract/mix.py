"""What a general:domain mixing ratio means, said once for data_prep, launch and the mixing sweep (issue 19).

`G:D` (the course notes' 1:0, 1:1, 0:1) is the ratio of general to domain training records, mixed by data_prep
and concatenated by LLaMA-Factory (mix_strategy concat, its default; bench/mix_strategy.py measures why not
interleave_probs):
- D > 0: every domain train record, plus round(G / D x domain records) general ones (data_prep --general-ratio
  G/D: the first ones of the pool's seeded shuffle, so a smaller ratio's records are a subset of a larger one's);
  G = 0 trains on the domain datasets alone.
- D = 0: general records only, as many as the domain set has (--general-ratio 1): the same amount of data.
A pool smaller than the ratio asks for gives fewer general records: data_prep says so in its notes and the run's
launch_config.yaml records the mix it actually trained on (records of each kind)."""

from __future__ import annotations

import math
import re

from .datasets import DATASETS, DOMAIN, GENERAL, TRAIN, split

GENERAL_DATASET = DATASETS[split(GENERAL, TRAIN)]  # med_general
DOMAIN_DATASETS = tuple(DATASETS[split(task, TRAIN)] for task in DOMAIN)  # the recipes' med_dialog,med_norm,med_mrg
DEFAULT_RATIOS = ("1:0", "1:1", "0:1")  # the course notes' table
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


class RatioError(ValueError):
    pass


def parse_ratio(text: str) -> tuple[float, float]:
    """'1:1' -> (1.0, 1.0). RatioError (one sentence) for anything else, 0:0 and non-finite values included."""
    found = _RATIO.match(str(text))
    if not found:
        raise RatioError(f"mixing ratio {text!r}: expected GENERAL:DOMAIN with numbers >= 0, like 1:1 or 1:0")
    general, domain = float(found[1]), float(found[2])
    if not (math.isfinite(general) and math.isfinite(domain)) or general == domain == 0:
        raise RatioError(f"mixing ratio {text!r}: at least one side must be above 0")
    return general, domain


def parse_ratios(text: str) -> list[tuple[float, float]]:
    """'1:0,1:1,0:1' -> [(1, 0), (1, 1), (0, 1)]; duplicates (1:1 and 2:2 are the same mix) refused."""
    ratios = [parse_ratio(part) for part in str(text).split(",") if part.strip()]
    if not ratios:
        raise RatioError("mixing ratios: none given (e.g. 1:0,1:1,0:1)")
    keys = [general_share(r) for r in ratios]
    if len(set(keys)) != len(keys):
        raise RatioError(f"mixing ratios {text!r}: the same mix is listed twice")
    return ratios


def general_share(ratio: tuple[float, float]) -> float:
    return ratio[0] / (ratio[0] + ratio[1])


def label(ratio: tuple[float, float]) -> str:
    """(1.0, 1.0) -> '1:1' (integers without the .0), the name a sweep's run and row get."""
    return ":".join(f"{v:g}" for v in ratio)


def run_name(ratio: tuple[float, float]) -> str:
    """A folder-safe name: mix_1-1."""
    return "mix_" + label(ratio).replace(":", "-")


def general_ratio(ratio: tuple[float, float]) -> float | None:
    """data_prep's --general-ratio for the mix (general records per domain record); None: no general data."""
    general, domain = ratio
    if general == 0:
        return None
    return 1.0 if domain == 0 else general / domain


def datasets(ratio: tuple[float, float], domain: tuple[str, ...] = DOMAIN_DATASETS) -> list[str]:
    """The `dataset` list a run of this mix trains on."""
    general, dom = ratio
    return [*(domain if dom > 0 else ()), *((GENERAL_DATASET,) if general > 0 else ())]


def describe(general_records: int, domain_records: int) -> str:
    """What a run actually trained on, as records of each kind and their ratio."""
    if domain_records == 0:
        return f"general:domain {general_records}:0 records (general only)"
    return f"general:domain {general_records}:{domain_records} records ({general_records / domain_records:.2f}:1)"
