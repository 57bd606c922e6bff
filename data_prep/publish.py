"""All-or-nothing outputs: a run's files appear together or not at all.

`out_dir` (data/sft) is a symlink to a sibling generation folder (`.sft.gen-<hash>`): contract.publish's
first shape. A run builds every file in a fresh sibling folder, writes manifest.json there last (sha256 and
size of every other file, and the dataset names each dataset_info.json must register), renames the folder to
its content hash and swaps the symlink with one rename: a kill at any moment leaves the previous folder or the
new one behind `out_dir`, never a mix. The dataset_info.json files are rewritten right after the swap, each
atomically; their med_* entries name the stable `out_dir/<file>` paths, so they change only when the set of
datasets changes, and `contract.sftset.verify` tells a reader when a kill fell between the swap and those two
writes. Datasets this run did not produce are carried over from the previous set (hard links) when their
files still match its manifest. The next run (under a lock) removes what a killed run left: staging folders,
old generations, temp files. A full disk or a read-only folder is one sentence (contract.files.WriteError)
naming the folder and about how much the set needs; the previous set stays.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from contract import manifest as manifests
from contract.datasets import task_of
from contract.files import NO_ROOM, WriteError, follow_umask, sha256_file
from contract.paths import MANIFEST
from contract.publish import Busy, Sets, locked
from contract.sftset import verify_files

from .errors import PrepError

WHAT = "the prepared data"


class Staging:
    """`with Staging(out_dir, info_paths) as stage:` write into `stage.dir`, then `stage.commit(...)`.
    `size()`, called only when the disk is full, says how many bytes the set needs."""

    def __init__(self, out_dir: Path, info_paths: list[Path], size: Callable[[], int] | None = None):
        self.out_dir = Path(os.path.abspath(out_dir))
        self.parent, self.name = self.out_dir.parent, self.out_dir.name
        self.info_paths = [Path(os.path.abspath(p)) for p in info_paths]
        self.sets = Sets(self.parent, self.name, WHAT)
        self.size = size
        self.dir: Path | None = None
        self.swapped = False
        self._lock: contextlib.ExitStack | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Staging:
        self._lock = contextlib.ExitStack()
        try:
            self._lock.enter_context(locked(self.parent, wait=False, what=WHAT))
        except Busy as exc:
            raise PrepError(self.out_dir, "output folder", "no other data_prep run writing it",
                            found="another run holds its lock", hint="wait for it to finish") from exc
        try:
            self.clean_leftovers()
            self.dir = self.sets.new_stage(self._needed)
        except BaseException:
            self._lock.close()
            raise
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if self.dir is not None and self.dir.exists():
                shutil.rmtree(self.dir, ignore_errors=True)  # failed before commit: the old set stays
            if isinstance(exc, OSError) and exc.errno in NO_ROOM and not self.swapped:  # the set's sentence
                raise WriteError(exc, WHAT, self.parent, self._needed(), "the previous set is kept") from exc
        finally:
            self._lock.close()

    def _needed(self) -> int | None:
        return self.size() if self.size is not None else None

    def current(self) -> Path | None:
        """The generation folder `out_dir` points at (or `out_dir` itself, the layout before symlinks)."""
        return self.sets.current()

    def clean_leftovers(self) -> None:
        """What a killed run left: staging folders, generations nobody points at, temp links and files."""
        current = self.current()
        self.sets.recover()
        # the atomic writer's temp files (.<name>.<random>.tmp<suffix>) beside the files this run rewrites
        temps = [(p.parent, f".{p.name}.*.tmp*") for p in self.info_paths]
        if current == self.out_dir:  # the layout before symlinks wrote its files in place
            temps.append((current, ".*.tmp*"))
        for folder, pattern in temps:
            for tmp in folder.glob(pattern) if folder.is_dir() else ():
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)

    # -- carrying datasets over ----------------------------------------------------------------------
    def carry_over(self, produced_tasks: set[str]) -> tuple[dict, dict, list[str]]:
        """Hard-link the previous set's files of tasks this run did not produce, if they still match its
        manifest. Returns (their manifest `datasets` entries, their `sources` entries, notes)."""
        current = self.current()
        if current is None:
            return {}, {}, []
        old, why = manifests.read(current)
        if old is None:
            return {}, {}, [f"previous set in {self.out_dir} not kept ({why})"]
        names = [n for n in old["files"] if task_of(n) not in produced_tasks]
        if not names:
            return {}, {}, []
        bad = verify_files(current, {"files": {n: old["files"][n] for n in names}})
        tasks = sorted({task_of(n) for n in names})
        if bad:
            return {}, {}, [f"previous {', '.join(tasks)} files not kept: {bad[0]}"]
        for name in names:
            try:
                os.link(current / name, self.dir / name)
            except OSError:  # another file system or no hard links: copy
                shutil.copy2(current / name, self.dir / name)
            follow_umask(self.dir / name)  # files of a set an older data_prep wrote 0600
        datasets = {k: v for k, v in old.get("datasets", {}).items() if task_of(k) in tasks}
        sources = {k: v for k, v in old.get("sources", {}).items() if k in tasks}
        return datasets, sources, [f"kept from the previous run (not prepared this time): {', '.join(tasks)}"]

    # -- commit --------------------------------------------------------------------------------------
    def commit(self, manifest: dict, registered: dict[str, str], register) -> None:
        """Write the manifest (listing every staged file), swap `out_dir` to the staged set, then call
        `register(info_path)` for each dataset_info.json and drop the previous generation."""
        manifests.seal(self.dir, manifest, registered)
        gen = self.sets.seal(self.dir, sha256_file(self.dir / MANIFEST)[:16], self._published)
        self.dir = None
        previous = self.sets.swap(gen)
        self.swapped = True  # from here a failure is about the registrations, not the set
        for info_path in self.info_paths:
            register(info_path)
        if previous is not None and previous != gen:
            shutil.rmtree(previous, ignore_errors=True)

    @staticmethod
    def _published(gen: Path) -> bool:
        """Does generation `gen` hold a complete set (its manifest matches its files)?"""
        published, _ = manifests.read(gen)
        return published is not None and not verify_files(gen, published)
