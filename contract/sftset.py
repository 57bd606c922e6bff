"""Is a prepared-data folder one complete data_prep output? (readers: launch, eval; writer: data_prep)

data_prep publishes a set — every jsonl, the classifier files, manifest.json, and the med_* entries of
each dataset_info.json — by staging it in a sibling folder and swapping one symlink (see
data_prep/publish.py). The manifest, written last into the staged folder, lists the sha256 and size of
every other file of the set and which dataset names must be registered for which file. A reader checks
those instead of trusting file names: a folder mixing two runs, a truncated file or a registration that
points elsewhere is reported as a sentence, with the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import dataset_info
from .dataset_info import DatasetInfoError
from .files import sha256_file
from .manifest import read as read_manifest
from .paths import MANIFEST

__all__ = ["FIX", "MANIFEST", "read_manifest", "sha256_file", "verify", "verify_files", "verify_registration"]
FIX = "rerun `make data` (python -m data_prep) to write a complete set"


def verify_files(out_dir: Path, manifest: dict) -> list[str]:
    """Every file the manifest lists exists with its size and sha256."""
    problems = []
    for name, want in sorted(manifest["files"].items()):
        path = Path(out_dir) / name
        if not isinstance(want, dict) or not path.is_file():
            problems.append(f"{path} is missing")
        elif path.stat().st_size != want.get("bytes") or sha256_file(path) != want.get("sha256"):
            problems.append(f"{path} is not the file manifest.json describes (another run's, or cut short)")
    return problems


def _same_file(a: Path, b: Path) -> bool:
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b)) or (
        os.path.realpath(a) == os.path.realpath(b))


def verify_registration(info_path: Path, out_dir: Path, manifest: dict) -> list[str]:
    """The dataset_info.json at `info_path` registers exactly the manifest's datasets of `out_dir`."""
    info_path, out_dir = Path(info_path), Path(out_dir)
    try:
        info = dataset_info.read(info_path)
    except DatasetInfoError as exc:
        return [str(exc)]
    except OSError as exc:
        return [f"{info_path} is not readable ({exc})"]
    problems = []
    registered = manifest.get("registered", {})
    for name, file_name in sorted(registered.items()):
        entry = info.get(name)
        where = entry.get("file_name") if isinstance(entry, dict) else None
        if not isinstance(where, str) or not _same_file(info_path.parent / where, out_dir / file_name):
            problems.append(f"{info_path}: '{name}' should register {out_dir / file_name}")
    real_out = os.path.realpath(out_dir)
    for name, entry in sorted(info.items()):
        where = entry.get("file_name") if isinstance(entry, dict) else None
        if name in registered or not isinstance(where, str):
            continue
        if os.path.dirname(os.path.realpath(info_path.parent / where)) == real_out:
            problems.append(f"{info_path}: '{name}' points into {out_dir} but that run did not write it")
    return problems


def verify(out_dir: Path, info_paths: list[Path] = ()) -> list[str]:
    """Problems that make `out_dir` (and the given dataset_info.json files) not one complete set; [] if none."""
    manifest, why = read_manifest(out_dir)
    if manifest is None:
        return [why]
    problems = verify_files(out_dir, manifest)
    for info_path in info_paths:
        if Path(info_path).is_file():
            problems += verify_registration(Path(info_path), Path(out_dir), manifest)
    return problems
