"""python -I launch/guard.py <launcher pid> <command ...>: runs a training command (llamafactory-cli, which may
start torchrun and its workers) as its child, and takes that whole process tree down with SIGKILL when told to
stop (SIGTERM/SIGINT/SIGHUP) or when the launcher that started it dies, even by SIGKILL (Linux: the kernel's
parent-death signal). Without it, a killed launcher would leave torchrun's workers training on, in their own
sessions, writing into the folder a rerun resumes from.

Run as a plain script (-I: no user site, no PYTHONPATH) so it imports nothing but the standard library.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the name in (...) may hold spaces
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def dead(pid: int) -> bool:
    """Gone, or a zombie (which runs and writes nothing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie writes nothing
    except OSError:
        return True


def kill_tree(root: int, wait_s: float = 10.0) -> None:
    """SIGSTOP every descendant first (a stopped process cannot start another), then SIGKILL all of them, and
    wait until they are gone, so nothing writes into the run's folder after this returns."""
    killed: set[int] = set()
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in descendants(root):
            try:
                os.kill(pid, sig)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not all(dead(pid) for pid in killed):
        time.sleep(0.05)


def die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(128 + signal.SIGTERM)


def main(argv: list[str]) -> int:
    parent, command = int(argv[0]), argv[1:]
    child: subprocess.Popen | None = None

    def stop(signum, _frame):
        kill_tree(os.getpid())
        os._exit(128 + signum)  # not child.wait(): the interrupted wait in main() holds Popen's lock

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    die_with_parent(parent)
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"error: cannot start {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    code = child.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
