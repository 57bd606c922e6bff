"""Finding published raw files by name anywhere below a folder (covers the seed's download layout): the helpers
each task's `find` uses (data_prep/taskspec.py), and the bundled samples' folder."""

from __future__ import annotations

import functools
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
TOYHOM_HEADER = b"department,title,ask,answer"


def sorted_files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith(("~$", ".")))


def is_toyhom_csv(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf")
    return head.replace(b" ", b"").startswith(TOYHOM_HEADER)


class RawDir:
    """A --raw-dir as the tasks' `find` functions see it in one run: a search made for one task is not made again for
    another (dialog and triage both look for the Toyhom CSVs, reading each CSV's header)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._files: dict[str, list[Path]] = {}

    def files(self, pattern: str) -> list[Path]:
        if pattern not in self._files:
            self._files[pattern] = sorted_files(self.path, pattern)
        return self._files[pattern]

    @functools.cached_property
    def toyhom_csvs(self) -> list[Path]:
        """The Chinese-medical-dialogue department CSVs below it."""
        return [p for p in self.files("*.csv") if is_toyhom_csv(p)]


def first_file(raw: RawDir, task: str, names: tuple[str, ...], notes: list[str]) -> Path | None:
    """The first file named one of `names` below `raw` (in that order of preference); more than one is noted."""
    found = [p for name in names for p in raw.files(name)]
    if len(found) > 1:
        notes.append(f"{task}: {len(found)} {'copies of' if len(names) == 1 else 'files named'} "
                     f"{' or '.join(names)}; using {found[0]}")
    return found[0] if found else None


def complete_folder(raw: RawDir, task: str, names: tuple[str, ...], notes: list[str]) -> Path | None:
    """The first folder holding all of `names` (train and test source side by side); a folder holding only
    some of them is reported and left out, like a dataset that is absent."""
    # folders named like a raw file count too, so that the note can say what is wrong with them
    folders = sorted({p.parent for name in names for p in raw.path.rglob(name) if p.is_file() or p.is_dir()})
    complete = [d for d in folders if all((d / name).is_file() for name in names)]
    for partial in (d for d in folders if d not in complete):
        missing = [name + (" (a folder of that name)" if (partial / name).is_dir() else "")
                   for name in names if not (partial / name).is_file()]
        notes.append(f"{task}: {partial} lacks {', '.join(missing)}; left out (pass --{task} to use it)")
    return complete[0] if complete else None
