"""Test-only, loaded by every Python process of a run whose PYTHONPATH holds this folder: pauses the process at a
chosen moment, so a test can kill or interrupt a real training run exactly there (the run's own code unchanged).

  MEDSFT_PAUSE_OPEN=<path end>  pause as the process opens a file ending so for writing (checkpoint-8/rng_state.pth:
                                in the middle of saving checkpoint-8, its weights and optimizer written)
  MEDSFT_PAUSE_STEP=<N>         pause when the trainer ends step N (before logging or saving it: between saves)
  MEDSFT_PAUSED=<folder>        the paused process creates <folder>/<pid> and sleeps until killed
"""

import os
import sys
import time

_OPEN = os.environ.get("MEDSFT_PAUSE_OPEN")
_STEP = os.environ.get("MEDSFT_PAUSE_STEP")
_FLAG = os.environ.get("MEDSFT_PAUSED")


def _pause() -> None:
    with open(os.path.join(_FLAG, str(os.getpid())), "w"):
        pass
    while True:
        time.sleep(3600)


def _patch_step_end() -> None:
    module = sys.modules.get("transformers.trainer_callback")
    handler = getattr(module, "CallbackHandler", None)
    if handler is None or getattr(handler, "_medsft_pause", False):
        return
    original = handler.on_step_end

    def on_step_end(self, args, state, control):
        result = original(self, args, state, control)
        if state.global_step == int(_STEP):
            _pause()
        return result

    handler.on_step_end = on_step_end
    handler._medsft_pause = True


def _hook(event: str, args: tuple) -> None:
    if _STEP:
        _patch_step_end()
    if _OPEN and event == "open" and isinstance(args[0], str) and args[0].endswith(_OPEN):
        if isinstance(args[1], str) and any(m in args[1] for m in "wax"):
            _pause()


if _FLAG and (_OPEN or _STEP):
    sys.addaudithook(_hook)
