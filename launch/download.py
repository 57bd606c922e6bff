"""`make model`: download the base model into models/ once, so every later run works offline."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from contract.env import env_flag, verbose
from contract.models import BASE_MODEL_ID
from contract.paths import MODELS_DIR

from .errors import LaunchError


def download_plan(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Which model, from which hub, into which directory (MODEL= a hub id overrides the default)."""
    environ = dict(os.environ if environ is None else environ)
    repo_id = environ.get("MODEL", "").strip() or BASE_MODEL_ID
    if Path(repo_id).exists() or repo_id.startswith((".", "/")) or repo_id.count("/") != 1:
        raise LaunchError(f"MODEL={repo_id} is not a hub id of the form owner/name; `make model` downloads from "
                          "a hub (a local model dir needs no download: pass MODEL= to the other targets).")
    hub = "modelscope" if env_flag("USE_MODELSCOPE_HUB", environ) else "huggingface"
    return {"repo_id": repo_id, "hub": hub, "local_dir": str(MODELS_DIR / repo_id.split("/")[-1])}


def snapshot(repo_id: str, hub: str, local_dir: str) -> str:
    """The network boundary: one snapshot download into local_dir; returns the directory."""
    if hub == "modelscope":
        try:
            from modelscope import snapshot_download
        except ImportError as exc:
            raise LaunchError("USE_MODELSCOPE_HUB=1 needs the modelscope package: pip install modelscope.") from exc
        if not verbose():  # its per-retry warnings bury the one sentence that matters
            for name in ("modelscope", "modelscope_hub"):
                logging.getLogger(name).setLevel(logging.ERROR)
        return snapshot_download(repo_id, local_dir=local_dir)
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id=repo_id, local_dir=local_dir)


def _unreachable(plan: dict[str, str], exc: BaseException) -> LaunchError:
    other = "Hugging Face (unset USE_MODELSCOPE_HUB)" if plan["hub"] == "modelscope" else "ModelScope (USE_MODELSCOPE_HUB=1)"
    return LaunchError(f"Could not download {plan['repo_id']} from {plan['hub']}: the hub is unreachable or refused "
                       f"({type(exc).__name__}). Retry where {plan['hub']} is reachable, try {other}, or copy the "
                       f"model folder to this machine and pass MODEL=<that folder> to the targets (no download "
                       f"needed); nothing was left in {plan['local_dir']}.")


def download(environ: dict[str, str] | None = None, dry_run: bool = False) -> Path:
    plan = download_plan(environ)
    print(f"model: {plan['repo_id']} from {plan['hub']} -> {plan['local_dir']}")
    if dry_run:
        return Path(plan["local_dir"])
    local_dir = Path(plan["local_dir"])
    existed = local_dir.exists()
    try:
        path = Path(snapshot(**plan))
    except LaunchError:
        raise
    except Exception as exc:  # hub clients raise many network/HTTP types; to the user they mean the same
        if not existed:  # a failed first download leaves an empty or partial folder that looks like a model dir
            shutil.rmtree(local_dir, ignore_errors=True)
        raise _unreachable(plan, exc) from None
    if not (path / "config.json").is_file():
        raise LaunchError(f"Download finished but {path} has no config.json; delete it and rerun `make model`.")
    print(f"saved to {path}; recipes now use it instead of the hub id (offline).")
    return path
