"""Strict CSV reading shared by the Toyhom department files and `--text` corpora: decoded as UTF-8 or GB18030,
every row with the line it starts on, and a quote left open is an error naming that line, never rows swallowed
into one field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from .errors import PrepError

ENCODINGS = ("utf-8-sig", "gb18030")  # Toyhom publishes GB18030; a user may have re-saved as UTF-8
MAX_ROW_LINES = 200  # a real answer spans a few lines; hundreds mean a quote left open


def decode(path: Path) -> tuple[str, str]:
    """(text, encoding) of a text file in UTF-8 or GB18030, or an error naming where each encoding fails."""
    data = path.read_bytes()
    errors = []
    for enc in ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            errors.append(f"{enc} fails at line {line} (byte {exc.start})")
    raise PrepError(path, "whole file", "text in UTF-8 or GB18030 (as Toyhom publishes)", found="; ".join(errors))


def rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """(line the row starts on, fields) for every non-blank row, the header included (line 1)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise PrepError(path, f"line {line}", "a well-formed CSV row", found=f"{exc} at line {reader.line_num}",
                            hint="a quote opened in this row and never closed?") from exc
        if not row:  # a blank line is not a record
            continue
        if reader.line_num - line >= MAX_ROW_LINES:
            # Quoted fields may hold newlines, but not this many: a stray quote that a later quote closed.
            raise PrepError(path, f"line {line}", f"a row of at most {MAX_ROW_LINES} lines",
                            found=f"one row running to line {reader.line_num}", hint="a quote left open?")
        yield line, row
