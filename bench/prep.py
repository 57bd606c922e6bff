"""Benchmark: our dialog prep with exact token statistics vs its floor (the bare batch tokenizer on the same texts),
and vs the seed recipe's method, with every record tokenized on all sides.

Builds a synthetic ModelScope-style dialog JSON array (default 100,000 records for the timed runs) from the
bundled samples: each record combines pieces of different sample records, so records are distinct apart
from ~5% exact duplicates (as in the real data) and dedup cannot shortcut the work. On the same file, in
separate processes, interleaved, --repeats times each (the median counts):

- ours: `python -m data_prep --only dialog --dialog FILE --dialog-limit 0 --token-sample 0`: every record
  read, checked, deduplicated, written and tokenized (batch encoding through the fast tokenizer);
- floor: the bare batch tokenizer (`tokenizers`' encode_batch_fast, the call prep makes, same chunks) on exactly
  the texts ours tokenized (prompt and answer of every record it wrote), timed around the tokenizer calls alone:
  no prep can get exact token statistics in less. Target: ours <= 1.25x the floor;
- seed: the seed recipe's code for all records: json.load, shuffle, build the prompts, write with
  jsonlines, then one tokenizer call per record for the maximum length (it reports its tokenizing time).
  Both sides do the same BPE work and tokenizing is most of the seed's time, so the seed ratio is bounded by
  physics (printed), not a target.

Then ours runs once on a corpus the size of the real one (792,099 records, --full-n; 0 skips it) for its
time and peak RSS (limit 2 GB), and once more at the timed size with prep's default sampled token statistics.

All use the tokenizer of --model (default: the offline tiny model). The last line is
`prep vs the bare tokenizer: <X>x (target <= 1.25x; ...), peak RSS <MB> MB on <N> records (limit 2048 MB); seed
<Y>x ours` (medians at the timed size; peak RSS is ours on the full-size corpus when that ran).

    python bench/prep.py [--n 100000] [--full-n 792099] [--repeats 3] [--model models/tiny-qwen2] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from contract.datasets import TEST, TRAIN, split
from contract.env import OFFLINE_ENV
from contract.models import TINY_MODEL
from contract.paths import MANIFEST, SFT_DIR
from contract.paths import REPO_ROOT as ROOT
from contract.prepare import prepare_command

SAMPLE = ROOT / "data_prep" / "samples" / "Chinese-medical-dialogue" / "data" / "train_0001_of_0001.json"
REAL_SIZE = 792_099

# The seed recipe's preparation as written there (its own output file name included), plus one timer.
SEED_SCRIPT = r"""
import json, os, random, sys, time, jsonlines
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
start = time.perf_counter()  # added for the bench: the tokenizing share of the seed's time
max_len = 0
for data in processed_datas:
    now_len = len(tokenizer(data['instruction'] + '\n' + data['output'])['input_ids'])
    if now_len > max_len:
        max_len = now_len
print('max_len', max_len, 'records', len(processed_datas), 'tokenize_s', round(time.perf_counter() - start, 2))
"""


# The floor: the tokenizer calls prep makes (data_prep/tokens.py TokenCounter.lengths), on the texts it wrote.
FLOOR_SCRIPT = r"""
import json, sys, time
from tokenizers import Tokenizer
model, files = sys.argv[1], sys.argv[2:]
records = [json.loads(line) for name in files for line in open(name, encoding="utf-8")]
tokenizer = Tokenizer.from_file(model + "/tokenizer.json")
start = time.perf_counter()
tokens = 0
for i in range(0, len(records), 8192):
    chunk = records[i:i + 8192]
    texts = [r["instruction"] + ("\n" + r["input"] if r["input"] else "") for r in chunk] + [r["output"] for r in chunk]
    tokens += sum(len(e.ids) for e in tokenizer.encode_batch_fast(texts, add_special_tokens=False))
print("records", len(records), "tokens", tokens, "floor_s", round(time.perf_counter() - start, 3))
"""
PEAK_RSS_LIMIT_MB = 2048
FLOOR_TARGET = 1.25


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
    ap.add_argument("--n", type=int, default=100_000, help="records of the corpus for the timed, repeated runs")
    ap.add_argument("--full-n", type=int, default=REAL_SIZE, help="records for ours' one full-size run (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=str(TINY_MODEL))
    ap.add_argument("--keep", action="store_true", help="keep the generated corpora and outputs")
    args = ap.parse_args(argv)

    out_root = ROOT / "bench" / "out"  # git-ignored; the full corpus is ~0.5 GB, removed unless --keep
    out_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="prep-bench-", dir=out_root))
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(ROOT)}

    def ours(corpus: Path, name: str, exact: bool = True) -> tuple[float, float, Path]:
        out = work / name
        cmd = prepare_command(out, args.model, ["--only", "dialog", "--dialog", str(corpus), "--dialog-limit", "0",
                                                *(["--token-sample", "0"] if exact else [])])
        seconds, rss, _ = timed(cmd, env)
        return seconds, rss, out

    def seed(corpus: Path, name: str) -> tuple[float, float, str]:
        out = work / name
        out.mkdir()
        seconds, rss, log = timed([sys.executable, "-c", SEED_SCRIPT, str(corpus), str(out), args.model], env)
        return seconds, rss, log.strip().splitlines()[-1]

    try:
        corpus = work / "train_0001_of_0001.json"
        size = build_corpus(corpus, args.n)
        print(f"corpus: {args.n} records, {size / 1e6:.0f} MB")
        runs: dict[str, list[float]] = {"ours": [], "seed": [], "floor": []}
        rss_at_n, seed_line, floor_line = 0.0, "", ""
        for repeat in range(args.repeats):
            seconds, rss, ours_out = ours(corpus, f"ours-{repeat}")
            runs["ours"].append(seconds)
            rss_at_n = max(rss_at_n, rss)
            written = [str(ours_out / SFT_DIR / f"{split('dialog', part)}.jsonl") for part in (TRAIN, TEST)]
            _, _, floor_line = timed([sys.executable, "-c", FLOOR_SCRIPT, args.model, *written], env)
            floor_line = floor_line.strip().splitlines()[-1]
            runs["floor"].append(float(floor_line.split("floor_s")[-1]))
            seconds, _, seed_line = seed(corpus, f"seed-{repeat}")
            runs["seed"].append(seconds)
        ours_s, seed_s = statistics.median(runs["ours"]), statistics.median(runs["seed"])
        floor_s = statistics.median(runs["floor"])
        tokenize_s = float(seed_line.split("tokenize_s")[-1]) if "tokenize_s" in seed_line else float("nan")
        manifest = json.loads((ours_out / SFT_DIR / MANIFEST).read_text(encoding="utf-8"))
        train, test = (manifest["datasets"][split("dialog", part)] for part in (TRAIN, TEST))
        print(f"ours: {split('dialog', TRAIN)} {train['written']} + {split('dialog', TEST)} {test['written']} "
              f"written, skipped {train['skipped']}, max tokens {train['tokens']['max']}; "
              f"runs {', '.join(f'{t:.1f}' for t in runs['ours'])} s (peak RSS {rss_at_n:.0f} MB)")
        print(f"floor (bare batch tokenizer on the same texts): {floor_line}; runs "
              f"{', '.join(f'{t:.2f}' for t in runs['floor'])} s")
        print(f"seed: {seed_line}; runs {', '.join(f'{t:.1f}' for t in runs['seed'])} s")
        print(f"seed's tokenizing: {tokenize_s:.1f} of {seed_s:.1f} s ({100 * tokenize_s / seed_s:.0f}%); the same "
              f"tokenizer work on {os.cpu_count()} cores bounds ours at {seed_s / (tokenize_s / os.cpu_count()):.1f}x")
        sampled_s = ours(corpus, "ours-sampled", exact=False)[0]
        print(f"ours with prep's default sampled token stats (--token-sample 20000): {sampled_s:.1f} s "
              f"({seed_s / sampled_s:.1f}x the seed)")
        rss = rss_at_n
        if args.full_n:
            full = work / "full.json"
            build_corpus(full, args.full_n)
            full_s, rss, _ = ours(full, "ours-full")
            print(f"ours on the full-size corpus (n={args.full_n}, every record tokenized): {full_s:.1f} s, "
                  f"peak RSS {rss:.0f} MB")
        ratio = ours_s / floor_s
        full_n = args.full_n or args.n
        print(f"prep vs the bare tokenizer: {ratio:.2f}x (target <= {FLOOR_TARGET}x: "
              f"{'met' if ratio <= FLOOR_TARGET else 'missed'}; ours {ours_s:.1f} s, floor {floor_s:.1f} s, n={args.n}), "
              f"peak RSS {rss:.0f} MB on {full_n} records (limit {PEAK_RSS_LIMIT_MB} MB: "
              f"{'met' if rss <= PEAK_RSS_LIMIT_MB else 'missed'}); seed {seed_s / ours_s:.1f}x ours ({seed_s:.1f} s)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
