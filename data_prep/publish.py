"""All-or-nothing outputs: a run's files appear together or not at all.

`out_dir` (data/sft) is a symlink to a sibling generation folder (`.sft.gen-<hash>`). A run stages every
file in a fresh sibling folder, writes manifest.json there last (sha256 and size of every other file,
and the dataset names each dataset_info.json must register), renames the folder to its content hash
and swaps the symlink with one rename: a kill at any moment leaves the previous folder or the new one
behind `out_dir`, never a mix. The dataset_info.json files are rewritten right after the swap, each
atomically; their med_* entries name the stable `out_dir/<file>` paths, so they change only when the
set of datasets changes, and `contract.sftset.verify` tells a reader when a kill fell between the swap
and those two writes. Datasets this run did not produce are carried over from the previous set (hard
links) when their files still match its manifest. The next run (under a lock) removes what a killed
run left: staging folders, old generations, temp files.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from contract import manifest as manifests
from contract.datasets import task_of
from contract.files import sha256_file
from contract.paths import MANIFEST
from contract.sftset import verify_files

from .errors import PrepError


class Staging:
    """`with Staging(out_dir, info_paths) as stage:` write into `stage.dir`, then `stage.commit(...)`."""

    def __init__(self, out_dir: Path, info_paths: list[Path]):
        self.out_dir = Path(os.path.abspath(out_dir))
        self.parent, self.name = self.out_dir.parent, self.out_dir.name
        self.info_paths = [Path(os.path.abspath(p)) for p in info_paths]
        self.dir: Path | None = None
        self._lock = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Staging:
        self.parent.mkdir(parents=True, exist_ok=True)
        # flock on the parent folder itself: no lock file to leave behind; the kernel drops it on kill -9
        self._lock = os.open(self.parent, os.O_RDONLY)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._lock)
            raise PrepError(self.out_dir, "output folder", "no other data_prep run writing it",
                            found="another run holds its lock", hint="wait for it to finish") from exc
        self.clean_leftovers()
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.name}.stage-", dir=self.parent))
        return self

    def __exit__(self, *exc) -> None:
        if self.dir is not None and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)  # failed before commit: the old set stays
        os.close(self._lock)

    def current(self) -> Path | None:
        """The generation folder `out_dir` points at (or `out_dir` itself, the layout before symlinks)."""
        if self.out_dir.is_symlink():
            target = self.parent / os.readlink(self.out_dir)
            return target if target.is_dir() else None
        return self.out_dir if self.out_dir.is_dir() else None

    def clean_leftovers(self) -> None:
        """What a killed run left: staging folders, generations nobody points at, temp links and files."""
        current = self.current()
        for entry in self.parent.iterdir():
            if entry.name.startswith((f".{self.name}.stage-", f".{self.name}.gen-")) and entry != current:
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(f".{self.name}.link-"):
                entry.unlink(missing_ok=True)
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
        datasets = {k: v for k, v in old.get("datasets", {}).items() if task_of(k) in tasks}
        sources = {k: v for k, v in old.get("sources", {}).items() if k in tasks}
        return datasets, sources, [f"kept from the previous run (not prepared this time): {', '.join(tasks)}"]

    # -- commit --------------------------------------------------------------------------------------
    def commit(self, manifest: dict, registered: dict[str, str], register) -> None:
        """Write the manifest (listing every staged file), swap `out_dir` to the staged set, then call
        `register(info_path)` for each dataset_info.json and drop the previous generation."""
        manifests.seal(self.dir, manifest, registered)
        gen = self._seal(sha256_file(self.dir / MANIFEST)[:16])
        previous = self._point_at(gen)
        for info_path in self.info_paths:
            register(info_path)
        if previous is not None and previous != gen:
            shutil.rmtree(previous, ignore_errors=True)

    def _seal(self, digest: str) -> Path:
        """Rename the staged folder to its content name (identical reruns give identical trees)."""
        gen = self.parent / f".{self.name}.gen-{digest}"
        if gen.exists():
            published, _ = manifests.read(gen)
            if gen == self.current() and published is not None and not verify_files(gen, published):
                shutil.rmtree(self.dir)  # the same set is already published
                self.dir = None
                return gen
            if gen != self.current():
                shutil.rmtree(gen)
            else:
                gen = self.parent / f".{self.name}.gen-{digest}-{os.getpid()}"
        os.rename(self.dir, gen)
        self.dir = None
        return gen

    def _point_at(self, gen: Path) -> Path | None:
        """Swap `out_dir` to `gen`; return the folder it pointed at before."""
        previous = self.current()
        link = self.parent / f".{self.name}.link-{os.getpid()}"
        link.unlink(missing_ok=True)
        os.symlink(gen.name, link)  # relative: the data folder can be moved
        if previous == self.out_dir:
            # a real folder from before this layout: moved aside once (the one non-atomic step, first run only)
            previous = self.parent / f".{self.name}.gen-legacy-{os.getpid()}"
            os.rename(self.out_dir, previous)
        os.replace(link, self.out_dir)
        return previous
