"""The one atomic writer: a file is either the old one or the complete new one, never half-written.

Every package writes its single files through here (data_prep's outputs and registrations, eval's
predictions and reports, the launcher's resolved configs: launch_config.yaml). Sets of files that must change
together are a level above: contract/publish.py. A written file gets the mode any tool's new file gets (0666
less the umask: 0644 under umask 022), not a temp file's 0600. A full disk, a read-only folder or a folder we
may not write is a WriteError: one sentence naming the folder and about how much space was needed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

# Errors a user fixes by making room or choosing another folder (not by changing the data)
NO_ROOM = {errno.ENOSPC: "no space left", errno.EDQUOT: "the disk quota is used up",
           errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied"}


def umask() -> int:
    """This process's umask, read without changing it (Linux reports it in /proc; elsewhere set and restored)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def follow_umask(path: Path) -> None:
    """Give `path` the mode a new file (0666) or folder (0777) gets under the umask: 0644 / 0755 under 022."""
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask())


def human_size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


class WriteError(OSError):
    """Files could not be written for want of room or permission; str() is one sentence a user acts on."""

    def __init__(self, cause: OSError, what: str, folder: Path, needed: int | None, kept: str = ""):
        self.folder, self.needed, self.what = Path(folder), needed, what
        # a WriteError about one file of a set becomes one about the set: its reason, not its sentence
        self.reason = reason = (cause.reason if isinstance(cause, WriteError)
                                else cause.strerror or NO_ROOM.get(cause.errno, str(cause)))
        sizes = [f"it needs about {human_size(needed)}"] if needed is not None else []
        free = _free(self.folder)
        if free is not None and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            sizes.append(f"{human_size(free)} is free there")
        fix = ("choose a folder you can write" if cause.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
               else "free some space or choose another folder")
        self.sentence = (f"Cannot write {what} in {self.folder}: {reason}"
                         + (f" ({', '.join(sizes)})" if sizes else "") + f"; {kept + ': ' if kept else ''}{fix}.")
        super().__init__(cause.errno, self.sentence)

    def __str__(self) -> str:
        return self.sentence


def _free(folder: Path) -> int | None:
    for candidate in (folder, *folder.parents):  # the folder may not exist yet
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


@contextlib.contextmanager
def explained(what: str, folder: Path, needed: int | Callable[[], int] | None = None, kept: str = ""):
    """Turn a full disk / read-only / permission OSError raised in the block into a WriteError about `what` in
    `folder`; `needed` (bytes, or a function computing them, called only then) says how much room it wanted,
    `kept` what stayed as it was."""
    try:
        yield
    except WriteError:
        raise
    except OSError as exc:
        if exc.errno not in NO_ROOM:
            raise
        raise WriteError(exc, what, folder, needed() if callable(needed) else needed, kept) from exc


@contextlib.contextmanager
def atomic_path(path: Path):
    """A temp path beside `path`, `.<name>.<random>.tmp<suffix>` (the suffix kept, so writers that infer the
    format from it work), that replaces `path` only when the block finishes; removed when it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        follow_umask(Path(tmp))  # mkstemp makes it 0600
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb", encoding: str | None = None):
    """An open handle (`mode` "wb" or "w") whose contents replace `path` when the block finishes."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    with explained(path.name, path.parent, len(data), "the file there is unchanged"), atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    """Indented UTF-8 JSON with a final newline: the format of manifest.json and dataset_info.json."""
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _comment(line: object) -> str:
    """One `# ` comment line YAML can read: the item's own line breaks become spaces, characters YAML does not
    allow in a file are written escaped (\\x08)."""
    text = " ".join(str(line).splitlines())
    return "# " + "".join(ch if ch == "\t" or ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                          for ch in text)


def write_yaml(path: Path, data, header: Sequence[str] = (), **dump_options) -> None:
    """UTF-8 YAML after `header` as comment lines, one per item; `dump_options` go to yaml.safe_dump. Text stays
    readable (Chinese unescaped) unless that would not load back equal (PyYAML writes some characters, e.g.
    U+0085, raw and then reads them as line breaks): then everything non-ASCII is escaped."""
    text = yaml.safe_dump(data, allow_unicode=True, **dump_options)
    if yaml.safe_load(text) != data:
        text = yaml.safe_dump(data, allow_unicode=False, **dump_options)
    write_text(path, "".join(_comment(line) + "\n" for line in header) + text)


def write_jsonl(path: Path, records: list[dict]) -> str:
    """One JSON object per line (UTF-8, not ASCII-escaped); returns the sha256 of the bytes written."""
    digest = hashlib.sha256()
    path = Path(path)
    with (explained(path.name, path.parent, lambda: jsonl_size(records), "the file there is unchanged"),
          atomic_open(path) as f):
        for data in _jsonl_chunks(records):
            digest.update(data)
            f.write(data)
    return digest.hexdigest()


def _jsonl_chunks(records: list[dict]):
    encode = json.JSONEncoder(ensure_ascii=False).encode  # same bytes as json.dumps(r, ensure_ascii=False)
    for start in range(0, len(records), 4096):  # bounded chunks: fast, small memory
        yield "".join(encode(r) + "\n" for r in records[start:start + 4096]).encode("utf-8")


def jsonl_size(records: list[dict]) -> int:
    """The bytes write_jsonl writes for `records` (computed when a full disk has to say how much it wanted)."""
    return sum(len(chunk) for chunk in _jsonl_chunks(records))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
