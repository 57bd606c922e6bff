"""Greedy generation with vLLM, run inside vLLM's own environment (`make vllm`), never imported by eval.

vLLM pins a transformers that LLaMA-Factory cannot share, so eval starts this file with that environment's
interpreter (`python -I vllm_worker.py CONFIG_JSON`) and talks to it over pipes, one JSON object per line:

    -> (stdout) {"ready": true, "vllm": "<version>"}               once the engine is up
    <- (stdin)  {"prompts": [[ids...], ...], "max_new_tokens": N, "stop_ids": [...], "ignore_eos": false}
    -> (stdout) {"outputs": [{"token_ids": [...], "finish_reason": "stop"|"length"}, ...], "engine_s": S}
    -> (stdout) {"error": "<one sentence>"}                         instead of either reply, when it fails

engine_s is the time spent inside vLLM's LLM.generate (benches compare it with the client's). Token ids in,
token ids out: the main environment renders the prompts and decodes the answers with its own
tokenizer, so both backends' texts come from the same decoder. Everything vLLM prints goes to stderr.
Only the standard library and vLLM here: this runs beside a different transformers.
"""

from __future__ import annotations

import json
import os
import sys
import time


def build_engine(config: dict):
    from vllm import LLM

    kwargs = {"model": config["model"], "dtype": config["dtype"], "seed": 0, "skip_tokenizer_init": True,
              "enforce_eager": config.get("enforce_eager", False)}
    if config.get("max_model_len"):
        kwargs["max_model_len"] = config["max_model_len"]
    return LLM(**kwargs)


def generate(llm, request: dict) -> tuple[list[dict], float]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    stop_ids = [int(i) for i in request.get("stop_ids") or []]
    ignore_eos = bool(request.get("ignore_eos"))
    params = SamplingParams(temperature=0.0, max_tokens=int(request["max_new_tokens"]), detokenize=False,
                            stop_token_ids=[] if ignore_eos else stop_ids, ignore_eos=ignore_eos)
    prompts = [TokensPrompt(prompt_token_ids=ids) for ids in request["prompts"]]
    start = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    engine_s = time.perf_counter() - start
    replies = []
    for out in outputs:
        best = out.outputs[0]
        ids = list(best.token_ids)
        stopped = best.finish_reason == "stop" and not ignore_eos
        if stopped and ids and ids[-1] in stop_ids:
            ids.pop()  # the stop token itself is not part of the answer (as in the transformers backend)
        replies.append({"token_ids": ids, "finish_reason": "stop" if stopped else "length"})
    return replies, engine_s


def main() -> int:
    config = json.loads(sys.argv[1])
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # whatever vLLM or its libraries print goes to stderr: stdout carries the replies alone

    def reply(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")

    try:
        import vllm

        llm = build_engine(config)
    except Exception as exc:  # the client shows this sentence and the stderr tail
        reply({"error": f"the vLLM engine did not start: {type(exc).__name__}: {exc}"})
        return 1
    reply({"ready": True, "vllm": vllm.__version__})
    for line in sys.stdin:
        try:
            outputs, engine_s = generate(llm, json.loads(line))
            reply({"outputs": outputs, "engine_s": engine_s})
        except Exception as exc:
            reply({"error": f"vLLM generation failed: {type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":  # vLLM may start its engine by spawn, which re-imports this file
    sys.exit(main())
