"""All-or-nothing output sets: the files one `eval score` / `eval run` writes (scores.jsonl, metrics.json,
worst_samples.md, report.md, chart.png) are replaced together, or not at all.

They share their folder with other files (cached predictions, or the checkpoint a predictions file sits in),
so they are published by contract.publish's second shape: built in `<out>/.eval-set.stage-*`, committed by
renaming that folder to `.eval-set.commit-*`, then moved over their targets, metrics.json last. `recover` (run
by every commit before it starts and by `markdown_table` before it reads) finishes a committed set and removes
an unfinished one, so a killed run leaves either its complete new set or the old one. One writer per output
folder (a lock on the folder).
"""

from __future__ import annotations

import logging
from pathlib import Path

from contract.publish import COMMITTED, Sets, locked

logger = logging.getLogger(__name__)

SET_NAME = "eval-set"
LAST = ("metrics.json",)  # renamed last: the file a reader of a finished report starts from


def _sets(out: Path) -> Sets:
    return Sets(out, SET_NAME, what="the evaluation's output files")


def pending(out: str | Path) -> str | None:
    """"committed" or "writing" while a commit is under way or was cut short in `out`; None otherwise."""
    return _sets(Path(out)).pending()


def _recover_locked(out: Path) -> str | None:
    state = _sets(out).recover(LAST)
    if state is not None:
        logger.warning("%s: %s an output set a killed run left %s", out,
                       "finished" if state == COMMITTED else "removed the files of",
                       "committed" if state == COMMITTED else "unfinished")
    return state


def recover(out: str | Path) -> str | None:
    """Finish (committed) or undo (writing) a commit a killed run left in `out`; returns the state found."""
    out = Path(out)
    if pending(out) is None:
        return None
    with locked(out):
        return _recover_locked(out)


def _order(name: str) -> tuple[bool, str]:
    return name in LAST, name


def write_output_set(out: str | Path, files: dict[str, bytes]) -> None:
    """Replace the files `files` names (paths relative to `out`) with the given contents, all or nothing."""
    out = Path(out)
    order = sorted(files, key=_order)
    for rel in order:
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts:
            raise ValueError(f"output path {rel!r} must stay inside {out}")
    sets = _sets(out)
    with locked(out, what=sets.what):
        _recover_locked(out)
        stage = sets.new_stage(sum(len(data) for data in files.values()))
        sets.write(stage, {rel: files[rel] for rel in order})
        sets.move_in(stage, order)
