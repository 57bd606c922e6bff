"""Benchmark: eval's generator vs the seed's `get_output` loop and vs LLaMA-Factory's own `do_predict`
(`predict_with_generate`), same model, prompts and max_new_tokens, all greedy.

The seed (course notes, evaluation section) renders each prompt with the chat template, then calls
`model.generate` on batches of 16 in file order and decodes. LLaMA-Factory's predict reads the registered
test split (`med_<task>_test`, first --n records), batches it in file order (per_device_eval_batch_size of
the repo's predict recipe) and writes generated_predictions.jsonl; its time here is the time spent inside
`generate` (its data loading and BLEU/ROUGE are left out, which favours it), and its whole
`predict_runtime` is printed as well. Ours renders with LLaMA-Factory's template, sorts by prompt length,
decodes greedily in larger batches and caches to predictions.jsonl (the cache is removed before each
repeat). Each side runs --repeats times, interleaved, and the median counts. Ours and the seed's answers
must be identical (the bench fails if any differs); LLaMA-Factory's are compared and counted.

By default the model is the tiny offline Qwen2 after a short full fine-tune (in-process, on the
bundled samples) so that it answers and emits <|im_end|> like a real SFT model; `--model` takes a
real one. Last line: `eval generation speedup: <X>x (ours <s> s, seed <s> s, n=<N>; vs LLaMA-Factory
predict <Y>x, <s> s)`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from contract.datasets import DATASETS, TEST, TRAIN, split
from contract.env import OFFLINE_ENV
from contract.models import TINY_MODEL
from contract.paths import RECIPE_DIR, SFT_DIR
from contract.prepare import prepare_into

os.environ.update(OFFLINE_ENV)


def seed_get_output(datas, tokenizer, model, batch_size=16, max_new_tokens=2000):
    """The seed's loop as written there (batch 16, file order, decode after the padded prompt)."""
    outputs = []
    for i in range(0, len(datas), batch_size):
        batch_data = datas[i:i + batch_size]
        inputs = tokenizer(batch_data, return_tensors="pt", padding=True, truncation=True).to(model.device)
        output_sequences = model.generate(**inputs, max_new_tokens=max_new_tokens)
        processed = [output_sequences[j][len(inputs[j]):] for j in range(len(output_sequences))]
        outputs.extend(tokenizer.batch_decode(processed, skip_special_tokens=True))
    return outputs


def train_tiny(tmp: Path, dataset_dir: Path, tiny_model: Path, steps: int, datasets: str) -> Path:
    from llamafactory.train.tuner import run_exp

    out = tmp / "tiny-sft"
    run_exp({"model_name_or_path": str(tiny_model), "stage": "sft", "do_train": True, "finetuning_type": "full",
             "dataset": datasets, "dataset_dir": str(dataset_dir), "template": "qwen", "cutoff_len": 384,
             "output_dir": str(out), "overwrite_output_dir": True, "per_device_train_batch_size": 16,
             "max_steps": steps, "learning_rate": 3e-3, "lr_scheduler_type": "constant", "logging_steps": 50,
             "save_strategy": "no", "report_to": "none", "use_cpu": True, "disable_tqdm": True, "seed": 0})
    return out


def lf_batch_size() -> int:
    """per_device_eval_batch_size of the repo's predict recipe (what `make predict` uses)."""
    import yaml

    recipe = RECIPE_DIR / "qwen2_5_0_5b_lora_predict.yaml"
    return int(yaml.safe_load(recipe.read_text(encoding="utf-8"))["per_device_eval_batch_size"])


def lf_predict(model_path: str, dataset_dir: Path, task: str, n: int, max_new_tokens: int, batch: int,
               out: Path) -> tuple[float, float, list[str]]:
    """LLaMA-Factory's do_predict in-process: (seconds inside generate, predict_runtime, predictions)."""
    import time as _time

    from llamafactory.train.tuner import run_exp
    from transformers import GenerationMixin

    spent = [0.0]
    original = GenerationMixin.generate

    def timed_generate(self, *args, **kwargs):
        start = _time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += _time.perf_counter() - start

    GenerationMixin.generate = timed_generate
    try:
        run_exp({"model_name_or_path": model_path, "stage": "sft", "do_predict": True, "finetuning_type": "full",
                 "eval_dataset": DATASETS[split(task, TEST)], "dataset_dir": str(dataset_dir), "template": "qwen",
                 "cutoff_len": 4096, "max_samples": n, "output_dir": str(out), "overwrite_output_dir": True,
                 "per_device_eval_batch_size": batch, "predict_with_generate": True, "do_sample": False,
                 "max_new_tokens": max_new_tokens, "report_to": "none", "use_cpu": True, "disable_tqdm": True})
    finally:
        GenerationMixin.generate = original
    runtime = json.loads((out / "predict_results.json").read_text(encoding="utf-8"))["predict_runtime"]
    with (out / "generated_predictions.jsonl").open(encoding="utf-8") as handle:
        predictions = [json.loads(line)["predict"] for line in handle]
    return spent[0], float(runtime), predictions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model dir or hub id (default: tiny Qwen2 trained briefly here)")
    parser.add_argument("--data-dir", help="directory with *_test.jsonl (default: data_prep on the bundled samples)")
    parser.add_argument("--tasks", default="norm,dialog,mrg")
    parser.add_argument("--n", type=int, default=100, help="prompts per task")
    parser.add_argument("--train-steps", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=None, help="ours (default: eval's default)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for all (default 1: "
                        "stable timings on a shared machine)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (interleaved); the median counts")
    parser.add_argument("--skip-llamafactory", action="store_true", help="leave out LLaMA-Factory's predict")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (data, trained model, outputs)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eval-gen-bench-"))  # prepared data, the trained model, outputs
    try:
        return run(args, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> int:
    """The bench in `tmp`; 1 when ours and the seed's answers differ."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from eval.hf_generator import TransformersGenerator
    from eval.inputs import load_test_set, user_content
    from eval.loading import pick_device, pick_dtype
    from eval.options import DEFAULT_BATCH_SIZE
    from eval.predictions import Generation, generate_cached
    from eval.prompts import PromptRenderer
    from eval.tasks import TASKS, parse_tasks

    torch.set_num_threads(args.threads)
    tasks = parse_tasks(args.tasks)
    if not args.data_dir:
        prepare_into(tmp)  # tmp is the dataset_dir: tmp/dataset_info.json, tmp/data/sft
    data_dir = Path(args.data_dir) if args.data_dir else tmp / SFT_DIR
    t0 = time.perf_counter()
    model_path = args.model or str(train_tiny(tmp, data_dir.parent.parent, TINY_MODEL, args.train_steps,
                                              ",".join(DATASETS[split(t, TRAIN)] for t in tasks)))
    if not args.model:
        print(f"trained the tiny model for {args.train_steps} steps in {time.perf_counter() - t0:.1f} s")

    device = pick_device()
    dtype = pick_dtype(device)
    seed_tok = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype)).to(device).eval()
    model.generation_config.do_sample = False  # greedy for both, so the answers must agree
    for key in ("temperature", "top_p", "top_k", "repetition_penalty"):
        setattr(model.generation_config, key, None)

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    renderer = PromptRenderer(tokenizer)
    ours_gen = TransformersGenerator(model, tokenizer, renderer.stop_token_ids())  # the same loaded weights
    batch_size = args.batch_size or DEFAULT_BATCH_SIZE

    lf_batch = lf_batch_size()
    totals = {"seed": 0.0, "ours": 0.0, "lf": 0.0, "lf_runtime": 0.0}
    n_total = mismatches = lf_same = 0
    for task in tasks:
        records = load_test_set(data_dir / TASKS[task].test_file, task, args.n)
        budget = TASKS[task].max_new_tokens
        texts = [seed_tok.apply_chat_template([{"role": "user", "content": user_content(r)}],
                                              add_generation_prompt=True, tokenize=False) for r in records]
        prompts = [renderer.encode(user_content(r)) for r in records]
        times: dict[str, list[float]] = {"seed": [], "ours": [], "lf": [], "lf_runtime": []}
        for repeat in range(args.repeats):
            start = time.perf_counter()
            seed_out = seed_get_output(texts, seed_tok, model, batch_size=16, max_new_tokens=budget)
            times["seed"].append(time.perf_counter() - start)

            cache = tmp / task / "predictions.jsonl"
            cache.unlink(missing_ok=True)  # time the generation, not the cache
            start = time.perf_counter()
            job = Generation(prompts, [r["output"] for r in records], budget, batch_size, tokenizer.decode)
            rows = generate_cached(cache, "bench", job, lambda: ours_gen, desc=f"ours {task}")
            times["ours"].append(time.perf_counter() - start)

            if not args.skip_llamafactory:
                lf_s, lf_runtime, lf_out = lf_predict(model_path, data_dir.parent.parent, task, len(records), budget,
                                                      lf_batch, tmp / f"lf-{task}-{repeat}")
                times["lf"].append(lf_s)
                times["lf_runtime"].append(lf_runtime)
        median = {side: statistics.median(values) if values else 0.0 for side, values in times.items()}
        differ = sum(row["predict"] != s for row, s in zip(rows, seed_out, strict=True))
        stopped = sum(row["finish_reason"] == "stop" for row in rows)
        print(f"{task}: n={len(records)} max_new_tokens={budget}; median of {args.repeats}: seed {median['seed']:.2f} s, "
              f"ours {median['ours']:.2f} s ({median['seed'] / median['ours']:.2f}x); runs seed "
              f"{', '.join(f'{t:.2f}' for t in times['seed'])}, ours {', '.join(f'{t:.2f}' for t in times['ours'])}; "
              f"answers ending in a stop token {stopped}/{len(rows)}; differing from the seed {differ}")
        if not args.skip_llamafactory:
            same = sum(row["predict"] == p for row, p in zip(rows, lf_out, strict=True))
            print(f"{task}: LLaMA-Factory predict (batch {lf_batch}) in generate {median['lf']:.2f} s "
                  f"({median['lf'] / median['ours']:.2f}x ours), predict_runtime {median['lf_runtime']:.2f} s; runs "
                  f"{', '.join(f'{t:.2f}' for t in times['lf'])}; identical to ours {same}/{len(rows)}")
            lf_same += same
        totals = {side: totals[side] + median[side] for side in totals}
        n_total, mismatches = n_total + len(records), mismatches + differ

    print(f"device {device}, dtype {dtype}, torch threads {torch.get_num_threads()}, our batch size {batch_size}, "
          f"median of {args.repeats} interleaved runs per side")
    if mismatches:
        print(f"FAIL: {mismatches} answers differ between the seed loop and ours")
    lf_part = "" if args.skip_llamafactory else (
        f"; vs LLaMA-Factory predict {totals['lf'] / totals['ours']:.2f}x, {totals['lf']:.2f} s, "
        f"identical {lf_same}/{n_total}")
    print(f"eval generation speedup: {totals['seed'] / totals['ours']:.2f}x (ours {totals['ours']:.2f} s, "
          f"seed {totals['seed']:.2f} s, n={n_total}{lf_part})")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
