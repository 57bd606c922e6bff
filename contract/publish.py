"""One way to publish a set of files all or nothing: build the set in a new folder, then one atomic rename
makes it current. data_prep's prepared data and eval's report files are published through here.

`Sets(parent, name)` keeps the sets called `name` under `parent` in hidden siblings:
    .<name>.stage-<random>   a set being built (a kill leaves it; nobody reads it)
    .<name>.gen-<id>         a published generation, when the set is a whole folder
    .<name>.commit-<random>  a built set whose files are being moved into a shared folder
and there are two ways to make a built folder current, by what else lives where the set is read:
- the set is a whole folder (data_prep's data/sft): `<parent>/<name>` is a symlink; `seal` renames the built
  folder to a generation and `swap` replaces the symlink in one rename. Readers need nothing: they see the
  old folder or the new one.
- the set is some files in a folder that holds other files too (eval's report beside its predictions):
  `move_in` renames the built folder to `.commit-` (the commit point), then renames each file over its
  target. `recover` - run by every writer before it starts, and by readers - finishes a `.commit-` folder a
  kill left and removes `.stage-` ones, so what a reader then sees is the complete old set or the new one.
One writer at a time (`locked`: flock on `parent`, dropped by the kernel on a kill, no lock file). Every
file and folder gets the umask's mode (0644/0755 under umask 022). A full disk, a read-only folder or a
folder we may not write is a contract.files.WriteError naming the folder and the space the set needs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .files import explained, follow_umask

WRITING, COMMITTED = "writing", "committed"


class Busy(RuntimeError):
    """Another process is publishing into the same folder (locked(..., wait=False))."""


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:  # a new file: 0666 less the umask
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(folder: Path, wait: bool = True, what: str = "the files"):
    """Hold the publishing lock of `folder` (created if missing) for the block; Busy if `wait` is False and
    another process holds it."""
    folder = Path(folder)
    with explained(what, folder, None, "nothing was changed"):
        folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise Busy(f"another process is writing in {folder}") from exc
        yield
    finally:
        os.close(fd)  # closing drops the lock


class Sets:
    """The sets called `name` published under `parent` (call its methods while holding `locked(parent)`)."""

    def __init__(self, parent: Path, name: str, what: str = "the files"):
        self.parent, self.name, self.what = Path(os.path.abspath(parent)), name, what
        self.link = self.parent / name
        self._stage, self._gen, self._commit = f".{name}.stage-", f".{name}.gen-", f".{name}.commit-"
        self._tmp_link = f".{name}.link-"

    # -- building ------------------------------------------------------------------------------------------
    def new_stage(self, needed: int | Callable[[], int] | None = None) -> Path:
        """A fresh, empty folder to build a set in (mode from the umask, not mkdtemp's 0700); `needed`: the
        set's size, for the sentence when even that fails."""
        with explained(self.what, self.parent, needed, "nothing was changed"):
            self.parent.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=self._stage, dir=self.parent))
            follow_umask(stage)
        return stage

    def write(self, stage: Path, files: dict[str, bytes]) -> None:
        """Write `files` (paths relative to the set) into `stage`, each flushed to disk; a failure removes the
        stage and, for a full disk or a read-only folder, is a WriteError for the whole set."""
        needed = sum(len(data) for data in files.values())
        try:
            with explained(self.what, self.parent, needed, "the previous files are kept"):
                for rel, data in files.items():
                    target = stage / rel
                    if target.parent != stage:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        follow_umask(target.parent)
                    _write_durably(target, data)
                for folder in {(stage / rel).parent for rel in files}:
                    _fsync_dir(folder)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise

    # -- shape 1: the set is a whole folder behind the symlink <parent>/<name> ---------------------------------
    def current(self) -> Path | None:
        """The generation `<parent>/<name>` points at (or `<parent>/<name>` itself when it is a real folder,
        the layout before generations)."""
        if self.link.is_symlink():
            target = self.parent / os.readlink(self.link)
            return target if target.is_dir() else None
        return self.link if self.link.is_dir() else None

    def seal(self, stage: Path, digest: str, same) -> Path:
        """Rename the built folder to its content name `.<name>.gen-<digest>` (identical sets give identical
        trees). `same(gen)` says whether an existing generation of that name holds this very set: if it is the
        current one the built folder is dropped and the current generation returned."""
        gen = self.parent / f"{self._gen}{digest}"
        if gen.exists():
            current = gen == self.current()
            if current and same(gen):
                shutil.rmtree(stage)
                return gen
            if not current:
                shutil.rmtree(gen)
            else:
                gen = self.parent / f"{self._gen}{digest}-{os.getpid()}"
        os.rename(stage, gen)
        return gen

    def swap(self, gen: Path) -> Path | None:
        """Point `<parent>/<name>` at `gen` with one rename; returns the folder it pointed at before."""
        previous = self.current()
        link = self.parent / f"{self._tmp_link}{os.getpid()}"
        link.unlink(missing_ok=True)
        os.symlink(gen.name, link)  # relative: the parent folder can be moved
        if previous == self.link:
            # a real folder from before this layout: moved aside once (the one non-atomic step, first run only)
            previous = self.parent / f"{self._gen}legacy-{os.getpid()}"
            os.rename(self.link, previous)
        os.replace(link, self.link)
        return previous

    # -- shape 2: the set's files live in <parent>, beside other files ------------------------------------------
    def move_in(self, stage: Path, order: Iterable[str]) -> None:
        """Commit the built set: rename `stage` to `.<name>.commit-...` (the commit point), then rename each
        file, in `order` (paths relative to the set), over its target in `parent`."""
        order = list(order)
        for rel in order:  # what could stop the moves is checked (and the folders made) before the commit point
            target = self.parent / rel
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(stage, ignore_errors=True)
                raise IsADirectoryError(errno.EISDIR, f"{target} is a folder; the set has a file of that name")
            if not target.parent.is_dir():
                with explained(self.what, self.parent, None, "the previous files are kept"):
                    target.parent.mkdir(parents=True, exist_ok=True)
        commit = self.parent / (self._commit + stage.name[len(self._stage):])
        os.rename(stage, commit)
        _fsync_dir(self.parent)
        self._finish(commit, order)

    def _finish(self, commit: Path, order: list[str]) -> None:
        for rel in order:
            if (commit / rel).is_file():
                os.replace(commit / rel, self.parent / rel)
        for folder in sorted({(self.parent / rel).parent for rel in order}):
            _fsync_dir(folder)
        shutil.rmtree(commit)
        _fsync_dir(self.parent)

    # -- what a killed run left ----------------------------------------------------------------------------------
    def pending(self) -> str | None:
        """COMMITTED or WRITING when a kill left a set half-published here (None: nothing to do)."""
        names = [p.name for p in self.parent.iterdir()] if self.parent.is_dir() else []
        if any(n.startswith(self._commit) for n in names):
            return COMMITTED
        return WRITING if any(n.startswith(self._stage) for n in names) else None

    def recover(self, last: Iterable[str] = ()) -> str | None:
        """Finish every set a kill left committed (its files moved in; names in `last` moved last), remove the
        built folders, generations and temp links nobody uses; returns what it found (COMMITTED, WRITING, None)."""
        if not self.parent.is_dir():
            return None
        found, current, last = None, self.current(), list(last)
        for entry in sorted(self.parent.iterdir()):
            name = entry.name
            if name.startswith(self._commit) and entry.is_dir():
                files = sorted((p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file()),
                               key=lambda rel: (rel in last, rel))
                self._finish(entry, files)
                found = COMMITTED
            elif name.startswith(self._stage):
                shutil.rmtree(entry, ignore_errors=True)
                found = found or WRITING
            elif name.startswith(self._gen) and entry != current:
                shutil.rmtree(entry, ignore_errors=True)
            elif name.startswith(self._tmp_link):
                entry.unlink(missing_ok=True)
        return found
