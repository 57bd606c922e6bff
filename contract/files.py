"""The one atomic writer: a file is either the old one or the complete new one, never half-written.

Every package writes its single files through here (data_prep's outputs and registrations, eval's
predictions and reports, the launcher's resolved configs: launch_config.yaml). Sets of files that must change
together are a level above: data_prep/publish.py and eval/output_set.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml


@contextlib.contextmanager
def atomic_path(path: Path):
    """A temp path beside `path`, `.<name>.<random>.tmp<suffix>` (the suffix kept, so writers that infer the
    format from it work), that replaces `path` only when the block finishes; removed when it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
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
    with atomic_path(path) as tmp:
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
    encode = json.JSONEncoder(ensure_ascii=False).encode  # same bytes as json.dumps(r, ensure_ascii=False)
    with atomic_open(path) as f:
        for start in range(0, len(records), 4096):  # bounded chunks: fast, small memory
            data = "".join(encode(r) + "\n" for r in records[start:start + 4096]).encode("utf-8")
            digest.update(data)
            f.write(data)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
