"""Cached, resumable generation: one `predictions.jsonl` per checkpoint and task.

Every finished batch is appended (and flushed to disk) at once, so an interrupted run loses at most
the batch in flight; the next run keeps lines whose cache key (model fingerprint + generation
settings) and prompt hash match, and generates only the rest. When all samples are done the file
is rewritten in test-file order, atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from contract.files import explained, write_jsonl

logger = logging.getLogger(__name__)


def cache_key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def prompt_hash(prompt_ids: list[int]) -> str:
    return hashlib.sha256(json.dumps(prompt_ids).encode()).hexdigest()[:16]


def load_cached(path: Path, key: str, hashes: list[str]) -> tuple[dict[int, dict], int]:
    """Usable cached rows by index, and how many lines were dropped (other key or prompt, torn line)."""
    kept, dropped = {}, 0
    if not path.is_file():
        return kept, dropped
    with path.open("rb") as handle:  # bytes: a line torn mid-character must not stop the others being read
        for line in handle:
            try:
                row = json.loads(line)
                index = row["index"]
                usable = row["key"] == key and 0 <= index < len(hashes) and row["prompt_sha"] == hashes[index]
            except (ValueError, KeyError, TypeError):  # ValueError: bad JSON or UTF-8
                usable = False  # e.g. a line torn by a kill or a full disk mid-write
            if usable:
                kept[index] = row
            else:
                dropped += 1
    return kept, dropped


def _room(done: dict[int, dict], total: int) -> int:
    if not done:
        return 0
    mean = sum(len(json.dumps(r, ensure_ascii=False).encode()) + 1 for r in done.values()) / len(done)
    return int(mean * (2 * total - len(done)))


def cached_rows(path: Path, key: str, hashes: list[str], compute: Callable[[list[int]], list[dict]],
                batch_size: int, order: Callable[[int], object] | None = None, desc: str = "generate",
                unit: str = "sample", what: str = "the predictions cache") -> list[dict]:
    """A row for every input (identified by its hash), computing only those not already in `path` under `key`.
    `compute(indices)` returns the rows' payloads for a batch; each finished batch is appended and synced at once.
    `order`: the sort key of what is left (e.g. longest prompts first). `compute` is not called when everything is
    cached (so a fully cached checkpoint is never loaded)."""
    done, dropped = load_cached(path, key, hashes)
    if dropped:
        logger.warning("%s: ignoring %d cached line(s) from other settings, prompts or a torn write", path, dropped)
        write_jsonl(path, [done[i] for i in sorted(done)])
    todo = sorted((i for i in range(len(hashes)) if i not in done), key=order)
    if todo:
        # a full disk: the rows so far stay (the next run resumes); the room is about the rows still to come
        # plus the final in-order rewrite, at the mean size of those written
        def room():
            return explained(what, path.parent, lambda: _room(done, len(hashes)),
                             "what was made so far is kept and the next run resumes from it")

        with room():
            path.parent.mkdir(parents=True, exist_ok=True)
        with room(), path.open("a", encoding="utf-8") as handle, tqdm(total=len(hashes), initial=len(done),
                                                                     desc=desc, unit=unit) as bar:
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                for i, payload in zip(chunk, compute(chunk), strict=True):
                    done[i] = {"index": i, "prompt_sha": hashes[i], "key": key, **payload}
                    handle.write(json.dumps(done[i], ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                bar.update(len(chunk))
    rows = [done[i] for i in range(len(hashes))]
    write_jsonl(path, rows)
    return rows


@dataclass(frozen=True)
class Generation:
    """What one checkpoint generates for one task: the prompts (token ids) with their gold answers, the
    new-token budget, the batch size, and how a prompt is shown in the predictions file."""

    prompts: list[list[int]]
    labels: list[str]
    max_new_tokens: int
    batch_size: int
    decode_prompt: Callable[[list[int]], str]


def generate_cached(path: Path, key: str, job: Generation, get_generator: Callable[[], object],
                    desc: str = "generate") -> list[dict]:
    """Prediction rows for every prompt of `job`, generating only those not already cached under `key`.
    `get_generator` is called only when something is left to generate (so a fully cached
    checkpoint is never loaded)."""
    prompts = job.prompts

    def generate(chunk: list[int]) -> list[dict]:
        outputs = get_generator().generate([prompts[i] for i in chunk], job.max_new_tokens)
        return [{"prompt": job.decode_prompt(prompts[i]), "predict": out.text, "label": job.labels[i],
                 "finish_reason": out.finish_reason, "new_tokens": out.new_tokens}
                for i, out in zip(chunk, outputs, strict=True)]

    # Longest prompts first: similar lengths share a batch (little padding) and memory peaks early.
    return cached_rows(path, key, [prompt_hash(ids) for ids in prompts], generate, job.batch_size,
                       order=lambda i: (-len(prompts[i]), i), desc=desc)
