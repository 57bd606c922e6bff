"""What to evaluate: a hub id or model directory, a (Q)LoRA/DoRA adapter directory, a merged export, or a
sequence classifier; `make eval` finds the base model and every checkpoint under saves/. Each run's saved
launch config (launch_config.yaml, written by the launcher and by the triage classifier's trainer) says
which prompt template and system prompt it was trained with."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from contract.models import BASE_MODEL_ID, LOCAL_BASE_MODEL
from contract.paths import LAUNCH_CONFIG, REPO_ROOT, SAVES_DIR, repo_relative

from . import hub

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_WEIGHTS = ("*.safetensors", "pytorch_model*.bin")
# eval finds runs where it is run (`make eval` runs in the repo root): saves/, relative to the working directory
SAVES = Path(repo_relative(SAVES_DIR))


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with what to do about it."""


@dataclass(frozen=True)
class Checkpoint:
    name: str
    path: str  # model directory, hub id, or adapter directory
    base: str | None = None  # the model an adapter applies to
    launch_config: dict | None = None  # the run's saved launch config, when it has one

    @property
    def is_classifier(self) -> bool:
        """A sequence classifier (seed 004's BERT): scored on triage through its own predict path."""
        folder = Path(self.path)
        if not (folder / "config.json").is_file():
            return False
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or [])

    def prompt_settings(self, template: str, system: str | None) -> tuple[str, str | None]:
        """(template, system prompt) the run was trained with, from its launch config (LLaMA-Factory's
        `template` and `default_system`); the given defaults for a model without one (e.g. the base)."""
        if not self.launch_config:
            return template, system
        return self.launch_config.get("template") or template, self.launch_config.get("default_system")

    @property
    def is_adapter(self) -> bool:
        return self.base is not None

    @property
    def model_path(self) -> str:
        """Where the (base) weights and, unless the adapter ships one, the tokenizer come from."""
        return self.base or self.path

    @property
    def tokenizer_path(self) -> str:
        if self.is_adapter and (Path(self.path) / "tokenizer_config.json").is_file():
            return self.path  # LLaMA-Factory saves the (possibly fixed) tokenizer with the adapter
        return self.model_path

    def adapter_config(self) -> dict:
        return json.loads((Path(self.path) / "adapter_config.json").read_text(encoding="utf-8")) if self.is_adapter else {}

    def fingerprint(self) -> str:
        """Changes when the weights change: configs by content, weight files by name, size and mtime
        (hashing gigabytes of weights on every run would cost more than it saves)."""
        digest = hashlib.sha256()
        for location in filter(None, (self.path, self.base)):
            digest.update(location.encode())
            folder = Path(location)
            if not folder.is_dir():
                continue
            for pattern in ("config.json", "adapter_config.json", *_WEIGHTS, "adapter_model.*"):
                for file in sorted(folder.glob(pattern)):
                    stat = file.stat()
                    digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
                    if file.suffix == ".json":
                        digest.update(file.read_bytes())
        return digest.hexdigest()[:16]


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(any(folder.glob(p)) for p in _WEIGHTS)


def _check_loadable(name: str, location: str, what: str) -> None:
    """Local directories must hold a model; hub ids must be in the cache when offline."""
    if Path(location).is_dir():
        if not _has_weights(Path(location)):
            raise CheckpointError(f"checkpoint {name!r}: {what} {location} holds no config.json with "
                                  "*.safetensors/pytorch_model*.bin weights")
        return
    if not _HUB_ID.match(location):
        raise CheckpointError(f"checkpoint {name!r}: {what} {location} not found (not a directory, not a hub id)")
    reason = hub.unavailable(location)
    if reason:
        raise CheckpointError(f"checkpoint {name!r}: {what} {location} is not a local directory, and as a "
                              f"hub id it {reason}: run `make model`, or pass a local directory")


def _resolve_base(adapter_dir: Path, base: str) -> str:
    """An adapter's base as recorded by LLaMA-Factory: absolute, relative to the working directory,
    or a hub id."""
    if Path(base).is_dir() or _HUB_ID.match(base) and not Path(base).exists():
        return base
    raise CheckpointError(f"adapter {adapter_dir}: its base model {base!r} (adapter_config.json "
                          "base_model_name_or_path) is not a directory here; run from the directory it was "
                          "trained in, or edit that field to point at the base model")


def read_launch_config(folder: Path) -> dict | None:
    """The run's launch_config.yaml as a dict, None when there is none; CheckpointError when unreadable."""
    path = Path(folder) / LAUNCH_CONFIG
    if not path.is_file():
        return None
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not readable YAML ({str(exc).splitlines()[0]}); fix or delete it") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a mapping of launch settings, got {type(config).__name__}")
    return config


def resolve(name: str, location: str) -> Checkpoint:
    """A checkpoint from NAME and PATH, checked before anything is generated."""
    folder = Path(location)
    launch_config = read_launch_config(folder) if folder.is_dir() else None
    if folder.is_dir() and (folder / "adapter_config.json").is_file():
        config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
        base = config.get("base_model_name_or_path")
        if not base:
            raise CheckpointError(f"checkpoint {name!r}: {folder}/adapter_config.json has no base_model_name_or_path")
        ckpt = Checkpoint(name, str(folder), _resolve_base(folder, base), launch_config)
        _check_loadable(name, ckpt.base, "base model")
        return ckpt
    _check_loadable(name, location, "model")
    return Checkpoint(name, location, launch_config=launch_config)


def parse_spec(spec: str) -> tuple[str, str]:
    name, sep, location = spec.partition("=")
    if not sep or not name.strip() or not location.strip():
        raise CheckpointError(f"--checkpoint {spec!r}: expected NAME=PATH (PATH a model dir, hub id or adapter dir)")
    return name.strip(), location.strip()


def shown(path: Path) -> str:
    """A path as the user reads it in a message: repo-relative inside the repo (models/...), else as it is."""
    return repo_relative(path) if Path(path).is_relative_to(REPO_ROOT) else str(path)


def default_base(base: str | None = None) -> str:
    """--base, else $MODEL, else the repo's models/Qwen2.5-0.5B-Instruct (`make model`), else the hub id."""
    return base or os.environ.get("MODEL") or (str(LOCAL_BASE_MODEL) if LOCAL_BASE_MODEL.is_dir() else BASE_MODEL_ID)


def discover(saves: Path) -> list[tuple[str, str]]:
    """(name, path) of every adapter or full model under `saves`, named by relative path; the
    intermediate `checkpoint-N` folders of a run are skipped."""
    found = []
    if not Path(saves).is_dir():
        return found
    for root, dirs, _ in os.walk(saves):
        dirs[:] = sorted(d for d in dirs if not re.fullmatch(r"checkpoint-\d+", d))
        folder = Path(root)
        if (folder / "adapter_config.json").is_file() or _has_weights(folder):
            found.append((folder.relative_to(saves).as_posix(), str(folder)))
            dirs[:] = []
    return found


def _check_default_base(saves: Path, found: list) -> None:
    """No --base, no MODEL and no models/Qwen2.5-0.5B-Instruct: the hub id, if it is cached or reachable.
    Otherwise the user has not run `make model` yet: say so (and whether saves/ holds anything)."""
    reason = hub.unavailable(BASE_MODEL_ID)
    if reason:
        nothing_saved = "" if found else f"; and {no_checkpoints(saves)}"
        raise CheckpointError(f"base model: {shown(LOCAL_BASE_MODEL)} does not exist, and {BASE_MODEL_ID} {reason}: "
                              "run `make model` to download it (or `make eval PROFILE=tiny` for the offline tiny "
                              f"model; --base or MODEL= for another model){nothing_saved}")


def no_checkpoints(saves: Path) -> str:
    what = "the folder does not exist" if not Path(saves).is_dir() else "no adapter or model in it"
    return f"no checkpoints under {saves}/ ({what}): train one with `make train-lora` (or PROFILE=tiny)"


def collect(specs: list[str] | None = None, base: str | None = None, saves: Path = SAVES,
            ) -> list[Checkpoint]:
    """Checkpoints to evaluate, the reference ("base") first. With --checkpoint: those, plus --base
    when given. Without: the base model and everything under saves/."""
    pairs = [parse_spec(spec) for spec in specs or []]
    if pairs:
        if base:
            pairs.insert(0, ("base", base))
    else:
        found = discover(saves)
        if default_base(base) == BASE_MODEL_ID:
            _check_default_base(saves, found)
        pairs = [("base", default_base(base)), *found]
    names = [name for name, _ in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CheckpointError(f"checkpoint name(s) used twice: {', '.join(duplicates)}")
    return [resolve(name, location) for name, location in pairs]
