"""A training run under the launcher: llamafactory-cli (and torchrun, and its workers) run below guard.py in their
own session, so a Ctrl-C in the terminal reaches the launcher alone. The launcher then has guard.py kill the
whole tree (nothing is left training, nothing prints a traceback) and ends with one sentence saying where the
run got to and how to resume it: exit 130 for Ctrl-C (128 + the signal, as a shell reports it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoints import last_complete
from .errors import LaunchError
from .resume import stopped_sentence

if TYPE_CHECKING:
    from .plan import Plan

GUARD = Path(__file__).with_name("guard.py")
STOPPED_BY = {signal.SIGINT: "interrupted", signal.SIGTERM: "stopped by SIGTERM",
              signal.SIGHUP: "stopped by SIGHUP (the terminal closed)"}


def run_training(plan: Plan) -> int:
    """Run a train plan's command below guard.py; its exit code, or 128 + the signal that stopped it."""
    if not (Path(plan.argv[0]).is_file() or shutil.which(plan.argv[0])):
        raise LaunchError(f"{plan.argv[0]} not found: install medsft's dependencies (make setup) "
                          "or activate the environment that has llamafactory.")
    received: list[int] = []
    guard: list[subprocess.Popen] = []

    def stop(signum, _frame):
        received.append(signum)
        if guard:
            guard[0].send_signal(signal.SIGTERM)  # guard.py kills the tree, then exits

    previous = {sig: signal.signal(sig, stop) for sig in STOPPED_BY}
    try:
        guard.append(subprocess.Popen([sys.executable, "-I", str(GUARD), str(os.getpid()), *plan.argv],
                                      env=plan.env_for_child(), cwd=plan.cwd, stdin=subprocess.DEVNULL,
                                      start_new_session=True))
        if received:  # a signal came while it was starting
            guard[0].send_signal(signal.SIGTERM)
        code = guard[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.stdout.flush()
    if received:
        print(f"launch: {stopped_sentence(plan, STOPPED_BY[received[0]])}", file=sys.stderr)
        return 128 + received[0]
    if code != 0 and plan.output_dir is not None and last_complete(plan.output_dir)[0] is not None:
        print(f"launch: {stopped_sentence(plan, f'training failed (exit {code})')}", file=sys.stderr)
    return code
