"""Can a hub id be loaded? Asked once before any model loads, so that a model that is neither downloaded nor
reachable is one sentence at once, not a minute of download retries followed by a traceback."""

from __future__ import annotations

from contract.env import HUB_OFFLINE_VARS, hub_offline_by

PROBE_TIMEOUT_S = 10


def offline() -> bool:
    """huggingface_hub's own reading of HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE (what its downloads obey)."""
    from huggingface_hub import is_offline_mode

    return is_offline_mode()


def cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def unavailable(repo_id: str) -> str | None:
    """Why `repo_id` cannot be loaded now, or None: it is in the local cache, or the hub answers for it.
    Offline, nothing is asked; online, one request without retries (the download client retries a dead
    network for about a minute per file)."""
    if cached(repo_id):
        return None
    if offline():
        return f"is not in the local cache and the hub is offline ({hub_offline_by() or HUB_OFFLINE_VARS[0]})"
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(repo_id, timeout=PROBE_TIMEOUT_S)
    except Exception as exc:  # network and HTTP errors come in many types; to the user they mean the same
        return f"is not in the local cache and the hub did not answer for it ({type(exc).__name__})"
    return None
