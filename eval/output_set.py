"""All-or-nothing output sets: the files one `eval score` / `eval run` writes (scores.jsonl, metrics.json,
worst_samples.md, report.md, chart.png) are replaced together, or not at all.

A commit is journaled in `<out>/.eval-commit.json`:
1. the journal lists the temp file of every output and says "writing";
2. every temp is written and flushed to disk;
3. the journal is atomically replaced by one that says "committed" (the commit point);
4. each temp is renamed over its output, metrics.json last;
5. the journal is removed.
A reader that finds the journal knows a commit is under way or was cut short. `recover` (run by every
commit before it starts and by `markdown_table` before it reads) finishes a committed set and deletes
the temps of an unfinished one, so a killed run leaves either its complete new set or the old one. One writer per output folder: an exclusive lock on `<out>/.eval-lock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

JOURNAL = ".eval-commit.json"
LOCK = ".eval-lock"
WRITING, COMMITTED = "writing", "committed"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_journal(out: Path, state: str, temps: dict[str, str]) -> None:
    tmp = out / f"{JOURNAL}.tmp"
    _write_durably(tmp, json.dumps({"state": state, "files": temps}, ensure_ascii=False).encode())
    os.replace(tmp, out / JOURNAL)
    _fsync_dir(out)


@contextlib.contextmanager
def _locked(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    with (out / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recover_locked(out: Path) -> str | None:
    journal = out / JOURNAL
    (out / f"{JOURNAL}.tmp").unlink(missing_ok=True)
    if not journal.is_file():
        return None
    try:
        entry = json.loads(journal.read_text(encoding="utf-8"))
        state, temps = entry["state"], dict(entry["files"])
    except (ValueError, KeyError, TypeError):
        logger.warning("%s: unreadable commit journal removed", journal)
        journal.unlink()
        return "unreadable"
    for final, temp in temps.items():
        # every path in the journal is relative to the folder it lives in
        target, source = out / final, out / temp
        if source.is_file():
            if state == COMMITTED:
                os.replace(source, target)
            else:
                source.unlink()
    journal.unlink()
    _fsync_dir(out)
    logger.warning("%s: %s an output set a killed run left %s", out,
                   "finished" if state == COMMITTED else "removed the temp files of",
                   "committed" if state == COMMITTED else "unfinished")
    return state


def recover(out: str | Path) -> str | None:
    """Finish (committed) or undo (writing) a commit a killed run left in `out`; returns the state found."""
    out = Path(out)
    if not ((out / JOURNAL).exists() or (out / f"{JOURNAL}.tmp").exists()):
        return None
    with _locked(out):
        return _recover_locked(out)


def _order(name: str) -> tuple[bool, str]:
    return name == "metrics.json", name  # metrics.json is renamed last


def write_output_set(out: str | Path, files: dict[str, bytes]) -> None:
    """Replace the files `files` names (paths relative to `out`) with the given contents, all or nothing."""
    out = Path(out)
    txn = uuid.uuid4().hex[:12]
    temps = {}
    for rel in sorted(files, key=_order):
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts:
            raise ValueError(f"output path {rel!r} must stay inside {out}")
        temps[rel] = str(rel_path.parent / f".{rel_path.name}.{txn}.tmp")
    with _locked(out):
        _recover_locked(out)
        _write_journal(out, WRITING, temps)
        try:
            for rel, temp in temps.items():
                (out / temp).parent.mkdir(parents=True, exist_ok=True)
                _write_durably(out / temp, files[rel])
        except BaseException:
            for temp in temps.values():  # nothing is committed: the old set stays as it was
                (out / temp).unlink(missing_ok=True)
            (out / JOURNAL).unlink(missing_ok=True)
            raise
        _write_journal(out, COMMITTED, temps)
        for rel, temp in temps.items():
            os.replace(out / temp, out / rel)
        for folder in {(out / rel).parent for rel in temps}:
            _fsync_dir(folder)
        (out / JOURNAL).unlink()
        _fsync_dir(out)
