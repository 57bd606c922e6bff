"""Build `models/tiny-qwen2-general`: the tiny Qwen2 pre-trained for about a minute of CPU on the synthetic general
corpus (data_prep/synthetic/general.py: exam items with their answer letters, facts as sentences), meant to give
the demo's mixing sweep a base that knows something general and could forget it.

`models/tiny-qwen2` starts from random weights and knows nothing, so it has nothing to forget; this one is the
same architecture and tokenizer, trained causally (no chat template): exam items on their answer, sentences on
every token; deterministic on CPU (seeded, one thread). Measured: it learns the corpus's text (loss 3.3 -> 0.42)
but still answers the general exam items at chance (docs/recipes.md, the demo's sweep).

    python scripts/build_general_base.py [--base models/tiny-qwen2] [--out models/tiny-qwen2-general] [--steps N]
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from pathlib import Path

# ~1 minute of one CPU thread (measured: 300 steps, 54 s CPU); enough for the facts, see docs/recipes.md for what
# it does and does not learn
STEPS, BATCH, LR, TEXTS, SEED = 300, 32, 3e-3, 6000, 0
ANSWER_CUE = "答案："
STAMP = "medsft_general_base.json"  # what it was trained on and how, beside the weights


def encode(tok, text: str) -> tuple[list[int], list[int]]:
    """(input ids, labels): an exam item learns its answer only (what follows the last 答案：), as a solved item
    in a textbook teaches the answer, not the question; a sentence learns every token."""
    head, cue, answer = text.rpartition(ANSWER_CUE)
    if not cue:
        ids = tok(text)["input_ids"] + [tok.eos_token_id]
        return ids, list(ids)
    prompt, target = tok(head + cue)["input_ids"], tok(answer)["input_ids"] + [tok.eos_token_id]
    return prompt + target, [-100] * len(prompt) + target


def train(base: Path, out: Path, texts: list[str], steps: int = STEPS, batch: int = BATCH, lr: float = LR,
          seed: int = SEED) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # 64 wide: a second thread costs more in synchronisation than it computes
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    encoded = [encode(tok, t) for t in texts]
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    model.train()
    started, losses = time.perf_counter(), []
    for step in range(steps):
        rows = rng.sample(encoded, batch)
        width = max(len(row) for row, _ in rows)
        ids = torch.full((batch, width), tok.pad_token_id, dtype=torch.long)
        labels = torch.full((batch, width), -100, dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for i, (row, label) in enumerate(rows):
            ids[i, :len(row)], labels[i, :len(row)] = torch.tensor(row), torch.tensor(label)
            mask[i, :len(row)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    record = {"base": base.name, "corpus": "data_prep.synthetic.general.corpus", "texts": len(texts),
              "steps": steps, "batch": batch, "learning_rate": lr, "seed": seed,
              "loss_first_50": round(sum(losses[:50]) / len(losses[:50]), 4),
              "loss_last_50": round(sum(losses[-50:]) / len(losses[-50:]), 4),
              "train_seconds": round(time.perf_counter() - started, 1)}
    tmp = out.with_name(out.name + ".partial")  # a kill mid-write leaves no half model under the final name
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    for extra in ("chat_template.jinja", "generation_config.json"):
        if (base / extra).exists() and not (tmp / extra).exists():
            shutil.copy2(base / extra, tmp / extra)
    (tmp / STAMP).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return record

