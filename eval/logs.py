"""Console logging of `python -m eval`: every line once; our own INFO lines, third-party INFO only with VERBOSE=1.

Why lines came twice: huggingface_hub gives its loggers their own stderr handler and still lets records
propagate, so a handler on the root logger printed each of its retry warnings a second time (transformers
does the same when $CI is set). The root handler here skips records a library handler has printed already.
"""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(levelname)s %(name)s: %(message)s"
# the libraries' own verbosity knobs, read when they set up their loggers (at first use, after main() starts)
LIBRARY_VERBOSITY = ("TRANSFORMERS_VERBOSITY", "HF_HUB_VERBOSITY", "LLAMAFACTORY_VERBOSITY")


def printed_by_a_library(record: logging.LogRecord) -> bool:
    """True when a handler between the record's logger and the root has already printed it."""
    logger = logging.getLogger(record.name)
    while logger is not None and logger is not logging.root:
        if logger.handlers:
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (as logging's own last-resort handler does), so a
    replaced stderr (pytest's capture, a notebook) never leaves it writing to a closed stream."""

    def __init__(self):
        super().__init__()
        self.addFilter(lambda record: not printed_by_a_library(record))
        self.setFormatter(logging.Formatter(FORMAT))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def set_library_verbosity(verbose: bool) -> None:
    """Process start only (it edits the environment): the libraries' INFO on or off, unless the user set
    their knob already (llamafactory logs INFO by default)."""
    for name in LIBRARY_VERBOSITY:
        os.environ.setdefault(name, "info" if verbose else "warning")


def configure(verbose: bool) -> None:
    """One root handler (replacing an earlier one of ours); eval's INFO always, other loggers' INFO only
    when verbose."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    root.addHandler(StderrHandler())
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("eval").setLevel(logging.INFO)
