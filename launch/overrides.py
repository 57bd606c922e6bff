"""`key=value` overrides from the command line into typed values (checked against LLaMA-Factory in validate.py)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import LaunchError

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def parse_value(text: str) -> Any:
    """YAML scalar semantics, plus '1e-4' as a float (YAML 1.1 reads it as a string, LF would not convert)."""
    value = yaml.safe_load(text) if text.strip() else None
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    return value


def parse_overrides(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key or not _KEY.match(key):
            raise LaunchError(f"Override '{item}' is not of the form key=value (e.g. learning_rate=2e-4).")
        out[key] = parse_value(text)
    return out
