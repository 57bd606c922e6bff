"""Check `key=value` overrides against LLaMA-Factory's own argument dataclasses before anything starts.

LLaMA-Factory builds its dataclasses with `parse_dict`, which does not convert or check types: a typo'd key is
reported only after imports, and `learning_rate=abc` surfaces minutes later as a torch TypeError. Here every
override goes through the argparse parser transformers derives from the same dataclasses (the type and choice
conversion `llamafactory-cli train ... key=value` would apply), plus range rules for values argparse accepts
but no run can use. Every problem is one sentence naming the key.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import math
from typing import Any

from .errors import LaunchError

NULL_TEXTS = ("null", "None", "~", "")

# Values argparse accepts but no run can use: (lowest allowed, whether the lowest itself is allowed).
POSITIVE = (0, False)
NON_NEGATIVE = (0, True)
RANGES: dict[str, tuple[float, bool]] = {
    "learning_rate": POSITIVE, "num_train_epochs": POSITIVE, "per_device_train_batch_size": POSITIVE,
    "per_device_eval_batch_size": POSITIVE, "gradient_accumulation_steps": POSITIVE, "cutoff_len": POSITIVE,
    "lora_rank": POSITIVE, "lora_alpha": POSITIVE, "logging_steps": POSITIVE, "save_steps": POSITIVE,
    "max_samples": POSITIVE, "max_new_tokens": POSITIVE,
    "warmup_ratio": NON_NEGATIVE, "weight_decay": NON_NEGATIVE, "lora_dropout": NON_NEGATIVE,
    "max_grad_norm": NON_NEGATIVE, "temperature": NON_NEGATIVE, "top_p": NON_NEGATIVE, "top_k": NON_NEGATIVE,
    "repetition_penalty": POSITIVE, "preprocessing_num_workers": POSITIVE, "dataloader_num_workers": NON_NEGATIVE,
}
AT_MOST_ONE = ("warmup_ratio", "lora_dropout", "top_p")


class _Refused(Exception):
    pass


@functools.lru_cache(maxsize=2)
def _actions(train: bool) -> dict[str, argparse.Action]:
    """dest -> argparse action of LLaMA-Factory's train (train/predict) or inference (export/chat/api) arguments."""
    from llamafactory.hparams import parser as lf_parser
    from transformers import HfArgumentParser

    parser = HfArgumentParser(lf_parser._TRAIN_ARGS if train else lf_parser._INFER_ARGS)

    def refuse(message: str) -> None:  # argparse would print usage and exit; we want the sentence
        raise _Refused(message)

    parser.error = refuse
    return {action.dest: action for action in parser._actions if action.option_strings and action.dest != "help"}


def _convert(action: argparse.Action, text: str) -> Any:
    if action.nargs == 0:  # a store_true flag: only booleans make sense
        if text.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise _Refused(f"expected true or false, got '{text}'")
        return text.strip().lower() in ("true", "1", "yes")
    try:
        value = action.type(text) if action.type else text
    except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
        kind = getattr(action.type, "__name__", "value")
        expected = {"float": "a number (e.g. 2e-4)", "int": "a whole number",
                    "string_to_bool": "true or false"}.get(kind, f"a valid {kind}")
        raise _Refused(f"expected {expected}, got '{text}'") from exc
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(str(c) for c in action.choices)
        raise _Refused(f"'{text}' is not one of: {choices}")
    return value


def _check_range(key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):  # float("nan") parses, and trains on nothing
        raise _Refused(f"must be a finite number, got {value}")
    rule = RANGES.get(key)
    if rule is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    low, inclusive = rule
    if value < low or (value == low and not inclusive):
        raise _Refused(f"must be {'at least' if inclusive else 'greater than'} {low}, got {value}")
    if key in AT_MOST_ONE and value > 1:
        raise _Refused(f"must be at most 1, got {value}")


def problems(command: str, overrides: list[str]) -> list[str]:
    """One sentence per override that LLaMA-Factory would reject or could not use."""
    actions = _actions(command in ("train", "predict"))
    out = []
    for item in overrides:
        key, _, text = item.partition("=")
        action = actions.get(key)
        if action is None:
            close = difflib.get_close_matches(key, actions, n=1, cutoff=0.75)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            out.append(f"'{key}' is not a LLaMA-Factory argument for {command}.{hint}")
            continue
        if text.strip() in NULL_TEXTS:
            if action.default is not None and action.nargs != 0:
                out.append(f"{key}={text}: this argument cannot be empty (default {action.default}).")
            continue
        try:
            _check_range(key, _convert(action, text.strip()))
        except _Refused as exc:
            out.append(f"{key}={text}: {exc}.")
    return out


def validate_overrides(command: str, overrides: list[str]) -> None:
    """Raise one LaunchError listing every bad override (nothing has started or been written yet)."""
    if not overrides or command == "webui":
        return
    found = problems(command, overrides)
    if found:
        raise LaunchError(" ".join(found))
