"""Environment variables: the offline environment, and reading a boolean variable the way the library that
acts on it reads it (so a check of ours never disagrees with what the library then does)."""

from __future__ import annotations

import os
from collections.abc import Mapping

# What the launcher sets for a run on a local model: no hub requests from the child.
HUB_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
# Tests, benchmarks and the demo: no hub, no telemetry, no version check, no W&B, no tokenizer threads
# fighting the test's own processes.
OFFLINE_ENV = {
    **HUB_OFFLINE,
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "WANDB_DISABLED": "true",
    "WANDB_MODE": "disabled",
    "DISABLE_VERSION_CHECK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

# huggingface_hub (and transformers through it) read these; everything else we test is read by LLaMA-Factory.
HUB_PREFIXES = ("HF_", "TRANSFORMERS_")
HUB_TRUE = frozenset({"1", "ON", "YES", "TRUE"})  # huggingface_hub.constants.ENV_VARS_TRUE_VALUES
LLAMAFACTORY_TRUE = ("true", "y", "1")  # llamafactory.extras.misc.is_env_enabled


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Is boolean variable `name` on in `environ` (default os.environ)? huggingface_hub's rule for HF_* and
    TRANSFORMERS_* (case-insensitive 1/on/yes/true), LLaMA-Factory's for the rest (true/y/1, any case);
    neither strips spaces, so neither do we."""
    value = (os.environ if environ is None else environ).get(name)
    if name.startswith(HUB_PREFIXES):
        return value is not None and value.upper() in HUB_TRUE
    return (value if value is not None else "0").lower() in LLAMAFACTORY_TRUE


HUB_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # huggingface_hub reads the first, else the second


def hub_offline_by(environ: Mapping[str, str] | None = None) -> str | None:
    """The variable that puts huggingface_hub offline in `environ` (for a message naming it), None when online."""
    environ = os.environ if environ is None else environ
    name = next((n for n in HUB_OFFLINE_VARS if environ.get(n)), None)  # an empty value counts as unset
    return name if name is not None and environ[name].upper() in HUB_TRUE else None


def hub_offline(environ: Mapping[str, str] | None = None) -> bool:
    """huggingface_hub's offline mode: HF_HUB_OFFLINE, or TRANSFORMERS_OFFLINE when that is unset or empty."""
    return hub_offline_by(environ) is not None


VERBOSE = "VERBOSE"  # ours: third-party INFO lines in the launcher's and eval's logs
VERBOSE_TRUE = ("1", "true", "yes", "on")


def verbose(environ: Mapping[str, str] | None = None) -> bool:
    """VERBOSE=1 (or true/yes/on, any case, spaces ignored: the Makefile passes it through as typed)."""
    return (os.environ if environ is None else environ).get(VERBOSE, "").strip().lower() in VERBOSE_TRUE
