"""A per-user 0700 folder for files other users must not read or replace (resolved chat/api configs).

A fixed shared path such as <tmp>/medsft-launch lets another user pre-create it, or plant a config for us to
run; so the folder is named by uid, created 0700, and used only if it is a real directory that we own and no
one else can enter."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import LaunchError


def private_dir(name: str = "medsft-launch", base: Path | None = None) -> Path:
    """<base or the temp dir>/<name>-<uid>, created 0700 if missing; LaunchError if it is not safely ours."""
    path = Path(base or tempfile.gettempdir()) / f"{name}-{os.getuid()}"
    try:
        os.mkdir(path, 0o700)  # atomic: either we create it with this mode, or it already exists
    except FileExistsError:
        pass
    info = os.lstat(path)  # lstat: a symlink planted here must not redirect us
    problem = None
    if not stat.S_ISDIR(info.st_mode):
        problem = "is not a directory (a symlink or file)"
    elif info.st_uid != os.getuid():
        problem = f"belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    elif info.st_mode & 0o077:
        problem = f"is open to other users (mode {stat.S_IMODE(info.st_mode):o})"
    if problem:
        raise LaunchError(f"{path} {problem}, so the launcher will not keep configs there: remove it "
                          f"(or `chmod 700 {path}` if it is yours) and run again.")
    return path
