"""The vLLM backend, as seen from eval's environment: a worker process in vLLM's own environment (`make vllm`,
see vllm_worker.py) gets prompt ids and returns answer ids; decoding and scoring stay here.

An adapter is merged into its base first (the same merge the transformers backend does, written to a temporary
folder the worker loads), rather than served through vLLM's LoRA support: both backends then run the same
weights, so their answers and scores are comparable; DoRA, QLoRA-trained and any other PEFT adapter work
alike; no rank or target-module limits apply; and no LoRA kernels run at every step. vLLM's LoRA serving pays
off with many adapters on one base at once, which eval never needs: it scores one checkpoint at a time.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections import deque
from pathlib import Path

from contract.env import OFFLINE_ENV, verbose
from contract.paths import REPO_ROOT

from .checkpoints import Checkpoint
from .generated import Generated

logger = logging.getLogger(__name__)
VLLM_ENV = REPO_ROOT / ".venv-vllm"  # `make vllm` builds it
VLLM_PYTHON = "VLLM_PYTHON"  # or this variable names the interpreter of another environment with vLLM
WORKER = Path(__file__).with_name("vllm_worker.py")
CPU_KV_CACHE_GIB = "4"  # vLLM's KV cache on CPU (it would reserve most of the memory); VLLM_CPU_KVCACHE_SPACE wins
STDERR_TAIL = 30  # lines of the worker's stderr kept for a failure message


class VllmError(RuntimeError):
    """The vLLM environment is missing, or its worker failed: one sentence, with what to do."""


def vllm_python() -> Path | None:
    """The interpreter of vLLM's environment: $VLLM_PYTHON, else the repo's .venv-vllm; None when absent."""
    named = os.environ.get(VLLM_PYTHON)
    python = Path(named) if named else VLLM_ENV / "bin" / "python"
    return python if python.is_file() else None


def missing_env_message() -> str:
    named = os.environ.get(VLLM_PYTHON)
    where = f"{VLLM_PYTHON}={named} is not a file" if named else f"{VLLM_ENV.name}/ does not exist"
    return (f"--backend vllm: vLLM's environment is missing ({where}): run `make vllm` to build it (vLLM pins a "
            "transformers that LLaMA-Factory cannot share, so it lives in its own environment)")


def worker_env(device: str) -> dict[str, str]:
    """The worker's environment: offline, quiet unless VERBOSE; on CPU the engine in-process (no extra process
    competing for the cores), every core for its threads, and a bounded KV cache."""
    env = {**os.environ, **OFFLINE_ENV, "VLLM_NO_USAGE_STATS": "1", "VLLM_DO_NOT_TRACK": "1"}
    env.pop("PYTHONPATH", None)  # eval's packages must not shadow the other environment's
    if not verbose():
        env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    if device == "cpu":
        env.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")  # it keeps one core for serving otherwise
        env.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))  # it drops to 1 thread otherwise
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
    return env


class VllmGenerator:
    """Greedy generation through the worker; `close()` stops it and removes a merged copy."""

    name = "vllm"

    def __init__(self, ckpt: Checkpoint, tokenizer, stop_ids: list[int], device: str, dtype: str,
                 ignore_eos: bool = False, compile_graphs: bool | None = None):
        python = vllm_python()
        if python is None:
            raise VllmError(missing_env_message())
        self.tokenizer, self.stop_ids, self.ignore_eos = tokenizer, stop_ids, ignore_eos
        self.merged, self.engine_s = None, 0.0  # engine_s: time inside vLLM's LLM.generate, summed (benches)
        if ckpt.is_adapter:
            self.merged = Path(tempfile.mkdtemp(prefix="medsft-vllm-merged-"))
            merge_adapter(ckpt, dtype, self.merged)
        # On CPU vLLM's torch.compile warm-up takes minutes on two cores; eager starts in seconds.
        eager = device == "cpu" if compile_graphs is None else not compile_graphs
        config = {"model": str(self.merged or ckpt.model_path), "dtype": dtype, "enforce_eager": eager}
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            [str(python), "-I", str(WORKER), json.dumps(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if verbose() else self.stderr, env=worker_env(device), text=True, encoding="utf-8")
        try:
            self.version = self._reply()["vllm"]
        except BaseException:
            self.close()
            raise
        logger.info("vLLM %s worker started (%s, %s)", self.version, python, config["model"])

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise VllmError(f"the vLLM worker exited (status {code}) without answering{self._stderr_tail()}")
        message = json.loads(line)
        if "error" in message:
            raise VllmError(f"{message['error']}{self._stderr_tail()}")
        return message

    def _stderr_tail(self) -> str:
        if self.stderr.closed or verbose():  # VERBOSE: it went to the terminal
            return ""
        self.stderr.seek(0)
        tail = [line.rstrip() for line in deque(self.stderr, maxlen=STDERR_TAIL) if line.strip()]
        return "; its last lines:\n" + "\n".join(tail) if tail else " (VERBOSE=1 shows its output)"

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generated]:
        request = {"prompts": batch, "max_new_tokens": max_new_tokens, "stop_ids": self.stop_ids,
                   "ignore_eos": self.ignore_eos}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died: _reply says how
        message = self._reply()
        outputs = message["outputs"]
        self.engine_s += message.get("engine_s", 0.0)
        if len(outputs) != len(batch):
            raise VllmError(f"the vLLM worker answered {len(outputs)} prompts of {len(batch)}")
        return [Generated(self.tokenizer.decode(out["token_ids"], skip_special_tokens=True), out["finish_reason"],
                          len(out["token_ids"])) for out in outputs]

    def close(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()  # end of requests: the worker leaves its loop and shuts vLLM down
                proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        if getattr(self, "stderr", None) is not None:
            self.stderr.close()
        if self.merged is not None:
            shutil.rmtree(self.merged, ignore_errors=True)


def merge_adapter(ckpt: Checkpoint, dtype: str, out: Path) -> None:
    """The adapter merged into its base, as the transformers backend merges it, saved to `out`."""
    import gc

    from .loading import load_model

    model = load_model(ckpt, "cpu", dtype)
    model.save_pretrained(out)
    del model
    gc.collect()
