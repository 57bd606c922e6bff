"""What the pipeline needs to know about one prepared task, as its module declares it (`TASK = PrepTask(...)` at
the bottom of dialog.py, norm.py, ...): how its raw files are found below --raw-dir, its command-line options,
how a path given on the command line becomes its source, how it is prepared, what the manifest records about its
source, and any extra files it writes beside its splits. data_prep/tasks.py registers the modules; the pipeline
and the CLI loop over that registry (LLaMA-Factory keeps its dataset converters the same way)."""

from __future__ import annotations

from argparse import Namespace, _ArgumentGroup
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def shown(path: Path) -> str:
    """Paths in the manifest relative to the working directory where possible (no machine paths)."""
    path = Path(path).absolute()
    return path.relative_to(Path.cwd()).as_posix() if path.is_relative_to(Path.cwd()) else str(path)


def shown_paths(src) -> list[str] | str:
    return [shown(p) for p in src] if isinstance(src, list) else shown(src)


@dataclass(frozen=True)
class PrepTask:
    name: str  # as contract.datasets.TASKS names it: its splits are <name>_train / <name>_test
    # (--raw-dir as a discover.RawDir, notes) -> the source found below it, or None; what it skipped or chose goes
    # into notes
    find: Callable[[object, list[str]], object]
    # (the "sources" group, the "sizes" group) -> adds --<name> PATH and the task's own options
    add_arguments: Callable[[_ArgumentGroup, _ArgumentGroup], None]
    prepare: Callable[[object, Namespace], object]  # (source, CLI options) -> a split result (train/test + tallies)
    source_info: Callable[[object, object], dict]  # (source, result) -> the manifest's sources entry
    from_path: Callable[[Path], object] = lambda path: path  # --<name> PATH -> the source `prepare` takes
    extra_files: Callable[[object], dict] = lambda result: {}  # file name -> JSON object or records, beside the splits
    extra_files_key: str = "extra_files"  # where the manifest's sources entry lists them with their sha256
