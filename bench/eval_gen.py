"""Benchmark: eval's generator vs the seed's `get_output` loop, same model, prompts and max_new_tokens.

The seed (course notes, evaluation section) renders each prompt with the chat template, then calls
`model.generate` on batches of 16 in file order and decodes. Ours renders with LLaMA-Factory's
template, sorts by prompt length, decodes greedily in larger batches and caches to predictions.jsonl.
Both decode greedily, so the answers must be identical; the bench fails if any differs.

By default the model is the tiny offline Qwen2 after a short full fine-tune (in-process, on the
bundled samples) so that it answers and emits <|im_end|> like a real SFT model; `--model` takes a
real one. Last line: `eval generation speedup: <X>x (ours <s> s, seed <s> s, n=<N>)`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   "DISABLE_VERSION_CHECK": "1", "WANDB_DISABLED": "true", "TOKENIZERS_PARALLELISM": "false"})


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


def prepare_data(tmp: Path, tiny_model: Path) -> Path:
    subprocess.run([sys.executable, "-m", "data_prep", "--out-dir", str(tmp / "data" / "sft"), "--dataset-info",
                    str(tmp / "dataset_info.json"), "--model", str(tiny_model)], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    return tmp


def train_tiny(tmp: Path, dataset_dir: Path, tiny_model: Path, steps: int, datasets: str) -> Path:
    from llamafactory.train.tuner import run_exp

    out = tmp / "tiny-sft"
    run_exp({"model_name_or_path": str(tiny_model), "stage": "sft", "do_train": True, "finetuning_type": "full",
             "dataset": datasets, "dataset_dir": str(dataset_dir), "template": "qwen", "cutoff_len": 384,
             "output_dir": str(out), "overwrite_output_dir": True, "per_device_train_batch_size": 16,
             "max_steps": steps, "learning_rate": 3e-3, "lr_scheduler_type": "constant", "logging_steps": 50,
             "save_strategy": "no", "report_to": "none", "use_cpu": True, "disable_tqdm": True, "seed": 0})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model dir or hub id (default: tiny Qwen2 trained briefly here)")
    parser.add_argument("--data-dir", help="directory with *_test.jsonl (default: data_prep on the bundled samples)")
    parser.add_argument("--tasks", default="norm,dialog,mrg")
    parser.add_argument("--n", type=int, default=100, help="prompts per task")
    parser.add_argument("--train-steps", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=None, help="ours (default: eval's default)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both (default 1: "
                        "stable timings on a shared machine)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from eval.backends import TransformersGenerator, pick_device, pick_dtype
    from eval.predictions import generate_cached
    from eval.prompts import PromptRenderer
    from eval.runner import DEFAULT_BATCH_SIZE
    from eval.tasks import TASKS, parse_tasks
    from eval.testdata import load_test_set, user_content

    torch.set_num_threads(args.threads)
    tasks = parse_tasks(args.tasks)
    tmp = Path(tempfile.mkdtemp(prefix="eval-gen-bench-"))
    tiny = REPO / "models" / "tiny-qwen2"
    data_dir = Path(args.data_dir) if args.data_dir else prepare_data(tmp, tiny) / "data" / "sft"
    t0 = time.perf_counter()
    model_path = args.model or str(train_tiny(tmp, data_dir.parent.parent, tiny, args.train_steps,
                                              ",".join(f"med_{t}" for t in tasks)))
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

    seed_total = ours_total = 0.0
    n_total = mismatches = 0
    for task in tasks:
        records = load_test_set(data_dir / TASKS[task].test_file, task, args.n)
        budget = TASKS[task].max_new_tokens
        texts = [seed_tok.apply_chat_template([{"role": "user", "content": user_content(r)}],
                                              add_generation_prompt=True, tokenize=False) for r in records]
        start = time.perf_counter()
        seed_out = seed_get_output(texts, seed_tok, model, batch_size=16, max_new_tokens=budget)
        seed_s = time.perf_counter() - start

        prompts = [renderer.encode(user_content(r)) for r in records]
        start = time.perf_counter()
        rows = generate_cached(tmp / task / "predictions.jsonl", "bench", prompts, [r["output"] for r in records],
                               lambda: ours_gen, budget, batch_size, tokenizer.decode, desc=f"ours {task}")
        ours_s = time.perf_counter() - start
        differ = sum(row["predict"] != s for row, s in zip(rows, seed_out, strict=True))
        stopped = sum(row["finish_reason"] == "stop" for row in rows)
        print(f"{task}: n={len(records)} max_new_tokens={budget} seed {seed_s:.2f} s, ours {ours_s:.2f} s "
              f"({seed_s / ours_s:.2f}x); answers ending in a stop token {stopped}/{len(rows)}; differing {differ}")
        seed_total, ours_total = seed_total + seed_s, ours_total + ours_s
        n_total, mismatches = n_total + len(records), mismatches + differ

    print(f"device {device}, dtype {dtype}, torch threads {torch.get_num_threads()}, our batch size {batch_size}")
    if mismatches:
        print(f"FAIL: {mismatches} answers differ between the seed loop and ours")
    print(f"eval generation speedup: {seed_total / ours_total:.2f}x (ours {ours_total:.2f} s, "
          f"seed {seed_total:.2f} s, n={n_total})")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
