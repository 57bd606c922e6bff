"""Size limits: one absurdly long record is a counted skip that costs little memory, and the recommended
cutoff_len never exceeds the model's max_position_embeddings (4096 for the tiny model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import OFFLINE_ENV, REPO_ROOT

GOOD = [{"instruction": f"问题{i}", "input": f"孩子咳嗽{i}天", "output": f"您好,建议{i}多喝水", "history": None}
        for i in range(20)]
PEAK_RSS = ("import resource, sys\nfrom data_prep.cli import main\ncode = main(sys.argv[1:])\n"
            "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)")


def test_a_50_mb_field_is_a_counted_skip_in_bounded_memory(tmp_path, tiny_model):
    raw = tmp_path / "train_0001_of_0001.json"
    huge = {"instruction": "t", "input": "q", "output": "长" * (50 * 1024 * 1024 // 3), "history": None}
    raw.write_text(json.dumps([*GOOD, huge], ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "data" / "sft"
    result = subprocess.run([sys.executable, "-c", PEAK_RSS, "--only", "dialog", "--dialog", str(raw),
                             "--dialog-test-size", "2", "--out-dir", str(out),
                             "--dataset-info", str(tmp_path / "dataset_info.json"), "--model", str(tiny_model)],
                            cwd=REPO_ROOT, env={**os.environ, **OFFLINE_ENV}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["datasets"]["dialog_train"]["skipped"] == {"too_long": 1}
    assert manifest["recommended_cutoff_len"] == 128
    peak_kb = int(result.stdout.split("peak_rss_kb ")[1])
    assert peak_kb < 1024 * 1024, f"peak RSS {peak_kb} KB"  # 6 GB before the cap; about 125 MB with it


def test_recommended_cutoff_is_held_at_max_positions(prep, tmp_path):
    raw = tmp_path / "raw.json"
    long = [{**GOOD[0], "instruction": f"长文{i}", "output": f"{i}" + "".join(chr(0x4E00 + (i * 7919 + j) % 20000) for j in range(6000))}
            for i in range(3)]
    raw.write_text(json.dumps(GOOD + long, ensure_ascii=False), encoding="utf-8")
    code, _, manifest, err = prep("--only", "dialog", "--dialog", str(raw), "--dialog-test-size", "1",
                                  "--max-record-chars", "0")
    assert code == 0, err
    assert max(d["tokens"]["max"] for d in manifest["datasets"].values()) > 4096
    assert manifest["max_position_embeddings"] == 4096 and manifest["recommended_cutoff_len"] == 4096
    assert any("held at the model's max_position_embeddings 4096" in n for n in manifest["notes"])
    code, _, manifest, err = prep("--only", "dialog", "--dialog", str(raw), "--dialog-test-size", "1",
                                  "--max-record-chars", "5000")
    assert code == 0 and manifest["datasets"]["dialog_train"]["skipped"] == {"too_long": 3}
