"""One error type for raw input that cannot be used, worded so a user can act on it."""

from __future__ import annotations

from pathlib import Path


class PrepError(Exception):
    """A source is unusable: says which file, which record (or position) and what was expected."""

    def __init__(self, file: str | Path, record: str, expected: str, found: str = "", hint: str = ""):
        self.file, self.record, self.expected, self.found = str(file), record, expected, found
        parts = [f"{file}: {record}: expected {expected}"]
        if found:
            parts.append(f"found {found}")
        if hint:
            parts.append(hint)
        super().__init__("; ".join(parts))
