"""A small tmpfs for the full-disk and read-only tests: mounted for one test, skipped with the reason where this
machine does not let us mount (CI runs the tests as root in a container that may)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "3m"):
    """`path` as a tmpfs of `size`, unmounted afterwards; pytest.skip where mounting is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs the tests as root)")
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    path.mkdir(parents=True, exist_ok=True)
    result = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only(path: Path, on: bool = True) -> None:
    result = _mount("-o", f"remount,{'ro' if on else 'rw'}", str(path))
    assert result.returncode == 0, result.stderr


def fill(path: Path, leave: int) -> Path:
    """Write a filler file so that about `leave` bytes stay free on `path`'s file system."""
    filler = path / "filler.bin"
    size = max(shutil.disk_usage(path).free - leave, 0)
    with open(filler, "wb") as handle:
        handle.truncate(0)
        block = b"\0" * (1 << 16)
        while size > 0:
            handle.write(block[:min(size, len(block))])
            size -= len(block)
    return filler


def stated_size(message: str) -> float:
    """The bytes a WriteError sentence says were needed ("it needs about 1.2 MB")."""
    number, unit = re.search(r"it needs about ([\d.]+) (bytes|KB|MB|GB)", message).groups()
    return float(number) * {"bytes": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[unit]


def the_sentence(stderr: str, prefix: str) -> str:
    """The one error line (starting with `prefix`) a CLI printed, after checking it printed no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, stderr
    return lines[0]
