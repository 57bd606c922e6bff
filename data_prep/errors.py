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


def require_file(path: Path, expected: str) -> None:
    """PrepError unless `path` is a non-empty regular file (a folder or a zero-byte file is said as such)."""
    path = Path(path)
    if path.is_dir():
        raise PrepError(path, "whole file", expected, found="a directory with that name")
    if not path.is_file():
        raise PrepError(path, "whole file", expected, found="no such file")
    if path.stat().st_size == 0:
        raise PrepError(path, "whole file", expected, found="an empty file (0 bytes)")
