"""manifest.json, beside the prepared files: what a data_prep run wrote (counts, skips by reason, token
statistics, the recommended cutoff_len) and the fingerprint of every file of the set. data_prep writes it
through `dataset_entry`, `build` and `seal`; launch reads the cutoff through `cutoff`; `contract.sftset`
checks a folder against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .files import sha256_file, write_json
from .paths import MANIFEST


@dataclass(frozen=True)
class SplitCounts:
    """What became of one split's records: read == written + sum(skipped); up to a few record ids per
    skip reason."""

    read: int
    written: int
    skipped: dict[str, int]
    skip_examples: dict[str, list]


@dataclass(frozen=True)
class RunSettings:
    """The settings a data_prep run was made with, recorded beside its counts."""

    cutoff: int  # the recommended cutoff_len
    max_positions: int | None  # the tokenizer's model's max_position_embeddings, when known
    max_record_chars: int
    seed: int
    tokenizer: str


def dataset_entry(path: str, counts: SplitCounts, sha256: str, tokens: dict[str, int],
                  tokens_counted: int | None = None) -> dict:
    """One split's record: `path` as registered (relative to the dataset_info.json folder), its counts,
    token p50/p90/p99/max (`tokens_counted`: how many records they were counted on, when not all)."""
    entry = {"path": path, "read": counts.read, "written": counts.written, "skipped": dict(sorted(counts.skipped.items())),
             "skip_examples": dict(sorted(counts.skip_examples.items())), "sha256": sha256, "tokens": tokens}
    if tokens_counted is not None:
        entry["tokens_counted"] = tokens_counted
    return entry


def build(datasets: dict[str, dict], settings: RunSettings, sources: dict, notes: list[str]) -> dict:
    """The run's manifest before `seal` adds the file list (key order is part of the byte-identical output)."""
    return {
        "datasets": datasets,
        "recommended_cutoff_len": settings.cutoff,
        "max_position_embeddings": settings.max_positions,
        "max_record_chars": settings.max_record_chars,
        "seed": settings.seed,
        "tokenizer": settings.tokenizer,
        "sources": sources,
        "notes": notes,
    }


def seal(folder: Path, manifest: dict, registered: dict[str, str]) -> dict:
    """Write `folder`/manifest.json listing the size and sha256 of every other file in `folder` and which
    dataset name must register which file; returns what was written."""
    folder = Path(folder)
    files = {path.name: {"sha256": sha256_file(path), "bytes": path.stat().st_size}
             for path in sorted(folder.iterdir()) if path.name != MANIFEST}
    sealed = {**manifest, "files": files, "registered": dict(sorted(registered.items()))}
    write_json(folder / MANIFEST, sealed)
    return sealed


def read(folder: Path) -> tuple[dict | None, str | None]:
    """(manifest, None), or (None, why it cannot be used)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None, f"{path} does not exist"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError covers JSONDecodeError and undecodable bytes
        return None, f"{path} is not readable JSON ({exc})"
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return None, f"{path} lists no files (written by an older data_prep?)"
    return data, None


def cutoff(manifest: dict) -> tuple[object, object, str]:
    """(recommended_cutoff_len, max_position_embeddings, tokenizer it was counted with), unchecked: the
    reader decides what is usable."""
    return (manifest.get("recommended_cutoff_len"), manifest.get("max_position_embeddings"),
            str(manifest.get("tokenizer", "")))
