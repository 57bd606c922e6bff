"""Benchmark: our dialog prep vs the seed recipe's method on a corpus the size of the real one.

Builds a synthetic ModelScope-style dialog JSON array of 792,099 records (the real corpus size) from the
bundled samples: each record combines pieces of different sample records, so records are distinct apart
from ~5% exact duplicates (as in the real data) and dedup cannot shortcut the work. Then, on the same
file, same machine, one run each, in separate processes:

- ours: `python -m data_prep --only dialog --dialog FILE --dialog-limit 0`: every record read, checked,
  deduplicated and written; token stats as prep computes them by default (every record of a split up
  to --token-sample 20000; beyond that a seeded sample of 20000 plus the longest records, which the
  manifest and the printed note say), then again with --token-sample 0 (every record tokenized) for a
  second, printed ratio; `--exact` makes that the headline run;
- seed: the seed recipe's code for all records: json.load, shuffle, build the prompts, write with
  jsonlines, then one tokenizer call per record for the maximum length.

Both use the tokenizer of --model (default: the offline tiny model). The last line is
`prep speedup vs seed: <X>x (ours <s> s, seed <s> s, n=<N>, peak RSS <MB> MB)` (peak RSS is ours).

    python bench/prep.py [--n 792099] [--model models/tiny-qwen2] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_prep" / "samples" / "Chinese-medical-dialogue" / "data" / "train_0001_of_0001.json"
REAL_SIZE = 792_099

SEED_SCRIPT = r"""
import json, os, random, sys, jsonlines
from transformers import AutoTokenizer
read_file, output_dir, model = sys.argv[1], sys.argv[2], sys.argv[3]
tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=True)
random.seed(42)
with open(read_file, 'r') as f:
    datas = json.load(f)
random.shuffle(datas)
processed_datas = []
for data in datas:
    inp = '主题:{}\n内容:{}'.format(data['instruction'], data['input'])
    processed_datas.append({'instruction': inp, 'input': '', 'output': data['output']})
with jsonlines.open(os.path.join(output_dir, 'dialog_train.jsonl'), 'w') as f:
    for data in processed_datas:
        f.write(data)
max_len = 0
for data in processed_datas:
    now_len = len(tokenizer(data['instruction'] + '\n' + data['output'])['input_ids'])
    if now_len > max_len:
        max_len = now_len
print('max_len', max_len, 'records', len(processed_datas))
"""


def build_corpus(path: Path, n: int, seed: int = 0) -> int:
    """Write n records combining sample pieces; returns the file size in bytes."""
    samples = json.loads(SAMPLE.read_text(encoding="utf-8"))
    titles = sorted({s["instruction"] for s in samples})
    asks = sorted({s["input"].strip() for s in samples if s["input"].strip() not in ("", "无")})
    answers = sorted({s["output"] for s in samples})
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        previous = None
        for i in tqdm(range(n), desc="build corpus", unit="rec", unit_scale=True, mininterval=1):
            if previous is not None and rng.random() < 0.05:
                rec = previous  # ~5% exact duplicate rows, as in the real corpus
            else:
                ask = "".join(rng.choice(asks) for _ in range(rng.randint(1, 3)))
                answer = "".join(rng.choice(answers) for _ in range(rng.randint(1, 4)))
                rec = {"instruction": rng.choice(titles), "input": ask, "output": answer, "history": None}
            previous = rec
            text = json.dumps(rec, ensure_ascii=False, indent=4)
            f.write("    " + text.replace("\n", "\n    ") + (",\n" if i < n - 1 else "\n"))
        f.write("]\n")
    return path.stat().st_size


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Run cmd; return (wall seconds, peak RSS MB of that process, stdout+stderr tail)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{out[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=REAL_SIZE)
    ap.add_argument("--model", default=str(ROOT / "models" / "tiny-qwen2"))
    ap.add_argument("--keep", action="store_true", help="keep the generated corpus and outputs")
    ap.add_argument("--exact", action="store_true", help="ours tokenizes every record (--token-sample 0)")
    ap.add_argument("--skip-exact", action="store_true", help="skip the extra every-record-tokenized run")
    args = ap.parse_args(argv)

    out_root = ROOT / "bench" / "out"  # git-ignored; the corpus is ~0.5 GB, removed unless --keep
    out_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="prep-bench-", dir=out_root))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}
    try:
        corpus = work / "train_0001_of_0001.json"
        size = build_corpus(corpus, args.n)
        print(f"corpus: {args.n} records, {size / 1e6:.0f} MB")
        def ours(name: str, exact: bool) -> tuple[float, float, Path]:
            out = work / name
            cmd = [sys.executable, "-m", "data_prep", "--only", "dialog", "--dialog", str(corpus),
                   "--dialog-limit", "0", "--out-dir", str(out / "data" / "sft"),
                   "--dataset-info", str(out / "dataset_info.json"), "--model", args.model,
                   *(["--token-sample", "0"] if exact else [])]
            seconds, rss, log = timed(cmd, env)
            print("\n".join(log.strip().splitlines()[-6:]))
            return seconds, rss, out

        ours_s, ours_rss, ours_out = ours("ours", args.exact)
        # the same run with every record tokenized, so the sampled token stats' share of the gain is visible
        exact_s = None if args.exact or args.skip_exact else ours("ours-exact", True)[0]
        seed_out = work / "seed"
        seed_out.mkdir()
        seed_s, seed_rss, seed_log = timed([sys.executable, "-c", SEED_SCRIPT, str(corpus), str(seed_out), args.model],
                                           env)
        print(f"seed: {seed_log.strip().splitlines()[-1]} (peak RSS {seed_rss:.0f} MB)")
        manifest = json.loads((ours_out / "data" / "sft" / "manifest.json").read_text(encoding="utf-8"))
        d = manifest["datasets"]
        print(f"ours: dialog_train {d['dialog_train']['written']} + dialog_test {d['dialog_test']['written']} written, "
              f"skipped {d['dialog_train']['skipped']}, max tokens {d['dialog_train']['tokens']['max']}")
        if exact_s is not None:
            print(f"prep speedup vs seed, every record tokenized (--token-sample 0): {seed_s / exact_s:.1f}x "
                  f"(ours {exact_s:.1f} s, seed {seed_s:.1f} s)")
        print(f"prep speedup vs seed: {seed_s / ours_s:.1f}x (ours {ours_s:.1f} s, seed {seed_s:.1f} s, "
              f"n={args.n}, peak RSS {ours_rss:.0f} MB)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
