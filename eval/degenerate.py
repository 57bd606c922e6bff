"""Recognise degenerate model outputs, which score 0 and are counted by reason instead."""

from __future__ import annotations

EMPTY = "empty"
REPETITION = "repetition"
TRUNCATED = "truncated"
INVALID_JSON = "invalid_json"
# mrg: a report whose value is not a string (null, number, list, object); the official scorer crashes on it
NON_STRING_VALUE = "non_string_value"

# A loop must span at least this many characters and repeat its unit at least 4 times.
MIN_LOOP_CHARS = 32
MIN_LOOP_REPEATS = 4
MAX_LOOP_UNIT = 64


def repeated_tail(text: str) -> bool:
    """True when the text ends in a loop: some unit of 1..64 characters repeated until the end,
    the typical failure of greedy decoding (the last repetition may be cut short)."""
    text = text.rstrip()
    n = len(text)
    for unit in range(1, min(MAX_LOOP_UNIT, n // MIN_LOOP_REPEATS) + 1):
        periodic = 0  # trailing characters equal to the one `unit` places before them
        while periodic < n - unit and text[n - 1 - periodic] == text[n - 1 - periodic - unit]:
            periodic += 1
        span = periodic + unit
        if span >= MIN_LOOP_CHARS and span >= MIN_LOOP_REPEATS * unit:
            return True
    return False


def degenerate_reason(predict: str, finish_reason: str | None) -> str | None:
    """Why an output is unusable, or None. `finish_reason` is "stop", "length" or None when unknown
    (files from other tools do not record it)."""
    if not predict.strip():
        return EMPTY
    if repeated_tail(predict):
        return REPETITION
    if finish_reason == "length":
        return TRUNCATED
    return None
