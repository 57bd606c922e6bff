"""All-or-nothing outputs: after a kill at any moment the folder holds the previous complete set or the new
one (jsonl files, manifest, both dataset_info.json), readers can tell a mix, and the next run cleans up."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from contract.sftset import verify
from tests.conftest import OFFLINE_ENV, REPO_ROOT


def prep_cmd(root: Path, model: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "data_prep", "--out-dir", str(root / "data" / "sft"),
            "--dataset-info", str(root / "dataset_info.json"), "--model", str(model), *args]


def run_prep(root: Path, model: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(prep_cmd(root, model, *args), cwd=REPO_ROOT, env={**os.environ, **OFFLINE_ENV},
                          capture_output=True, text=True, timeout=300)


def info_paths(root: Path) -> list[Path]:
    return [root / "dataset_info.json", root / "data" / "dataset_info.json"]


def state(root: Path) -> dict[str, str]:
    """sha256 of every file a reader sees: data/sft/* (through the symlink) and both dataset_info.json."""
    sft = root / "data" / "sft"
    files = sorted(sft.iterdir()) if sft.is_dir() else []
    seen = {f"sft/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    seen.update({p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in info_paths(root) if p.is_file()})
    return seen


def leftovers(root: Path) -> list[str]:
    """What a finished run must not leave: staging folders, unused generations, temp links and files."""
    data = root / "data"
    current = os.readlink(data / "sft")
    odd = [p.name for p in data.iterdir() if p.name.startswith(".sft.") and p.name != current]
    odd += [p.name for folder in (root, data) for p in folder.glob(".*.tmp")]
    return odd


def test_only_one_dataset_keeps_the_others_registered_and_valid(tmp_path, tiny_model):
    root = tmp_path / "ds"
    assert run_prep(root, tiny_model).returncode == 0
    before = state(root)
    first = json.loads((root / "data" / "sft" / "manifest.json").read_text())
    result = run_prep(root, tiny_model, "--only", "norm", "--norm-limit", "3")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((root / "data" / "sft" / "manifest.json").read_text())
    assert manifest["datasets"]["norm_train"]["written"] == 3
    assert set(manifest["datasets"]) == set(first["datasets"])
    for name in first["datasets"]:
        if not name.startswith("norm_"):  # kept: same bytes, same counts, still registered
            assert state(root)[f"sft/{name}.jsonl"] == before[f"sft/{name}.jsonl"]
            assert manifest["datasets"][name] == first["datasets"][name]
    assert state(root)["dataset_info.json"] == before["dataset_info.json"]  # same registrations, same bytes
    assert set(json.loads((root / "dataset_info.json").read_text())) == set(manifest["registered"])
    assert verify(root / "data" / "sft", info_paths(root)) == []
    assert any(n.startswith("kept from the previous run") for n in manifest["notes"])
    assert leftovers(root) == []


def test_a_damaged_previous_file_is_not_carried_over(tmp_path, tiny_model):
    root = tmp_path / "ds"
    assert run_prep(root, tiny_model, "--only", "norm,mrg").returncode == 0
    mrg = root / "data" / "sft" / "mrg_train.jsonl"
    mrg.chmod(0o644)
    with open(mrg, "ab") as f:
        f.write(b'{"instruction": "x", "input": "", "output": "y"}\n')
    result = run_prep(root, tiny_model, "--only", "norm")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((root / "data" / "sft" / "manifest.json").read_text())
    assert set(manifest["datasets"]) == {"norm_train", "norm_test"}
    assert "med_mrg" not in json.loads((root / "dataset_info.json").read_text())
    assert any("previous mrg files not kept" in n and "mrg_train.jsonl" in n for n in manifest["notes"])
    assert verify(root / "data" / "sft", info_paths(root)) == []


def test_a_failed_run_leaves_the_previous_set(tmp_path, tiny_model):
    root = tmp_path / "ds"
    assert run_prep(root, tiny_model, "--only", "norm").returncode == 0
    before = state(root)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"instruction": "a", "input": "b", "output": "c"}, {', encoding="utf-8")
    result = run_prep(root, tiny_model, "--only", "dialog", "--dialog", str(broken))
    assert result.returncode == 2 and "broken.json: record 1" in result.stderr
    assert state(root) == before and leftovers(root) == []


def test_the_folder_of_the_layout_before_symlinks_is_replaced(tmp_path, tiny_model):
    root = tmp_path / "ds"
    old = root / "data" / "sft"
    old.mkdir(parents=True)
    (old / "dialog_train.jsonl").write_text("{}\n")
    (old / ".dialog_train.jsonl.abc.tmp").write_text("half")
    assert run_prep(root, tiny_model, "--only", "norm").returncode == 0
    assert old.is_symlink() and not (old / "dialog_train.jsonl").exists()
    assert verify(old, info_paths(root)) == [] and leftovers(root) == []


# Every file-system step of a run that publishes: a crash (os._exit, no cleanup, like kill -9) just before
# the Nth of them, for every N, must leave the old set or the new one.
CRASH_DRIVER = textwrap.dedent("""
    import os, shutil, sys
    limit, calls = int(sys.argv[1]), [0]
    def crashing(fn):
        def wrapper(*a, **k):
            calls[0] += 1
            if calls[0] == limit:
                os._exit(137)
            return fn(*a, **k)
        return wrapper
    for name in ("replace", "rename", "symlink", "link", "unlink"):
        setattr(os, name, crashing(getattr(os, name)))
    shutil.rmtree = crashing(shutil.rmtree)
    from data_prep.cli import main
    raise SystemExit(main(sys.argv[2:]))
""")


def test_a_crash_before_any_file_system_step_leaves_the_old_or_the_new_set(tmp_path, tiny_model):
    root = tmp_path / "ds"
    base = ["--only", "mrg", "--mrg-test-limit", "2"]  # small and quick: one run per crash point
    assert run_prep(root, tiny_model, *base, "--mrg-limit", "2").returncode == 0
    old = state(root)
    seen_old = seen_new = 0
    new = None
    for n in range(1, 60):
        cmd = [sys.executable, "-c", CRASH_DRIVER, str(n), *prep_cmd(root, tiny_model, *base, "--mrg-limit", "3")[3:]]
        result = subprocess.run(cmd, cwd=REPO_ROOT, env={**os.environ, **OFFLINE_ENV}, capture_output=True,
                                text=True, timeout=300)
        if result.returncode == 0:  # got through all its steps: this is the new set
            new = state(root)
            break
        assert result.returncode == 137, result.stderr
        now = state(root)
        assert verify(root / "data" / "sft", info_paths(root)) == [], f"crash before step {n}"
        if now == old:
            seen_old += 1
        else:
            seen_new += 1
            crashed_new = now
    assert new is not None and new != old
    assert seen_old >= 3  # crashes while staging (the old set stays) ...
    assert seen_new >= 1 and crashed_new == new  # ... and after the swap (the new set is complete)
    assert leftovers(root) == []  # the completed run removed what the crashed ones left


@pytest.mark.slow
def test_kill_9_at_many_moments(tmp_path, tiny_model):
    """A real prep run (about 40,000 dialogs, a few seconds) killed with SIGKILL at several moments."""
    rng = random.Random(7)
    raw = tmp_path / "raw" / "train_0001_of_0001.json"
    raw.parent.mkdir()
    records = [{"instruction": f"问题{i}", "input": f"孩子咳嗽{i}天," + "发烧" * rng.randint(1, 30),
                "output": f"您好,建议{i}" + "多喝水" * rng.randint(1, 60), "history": None} for i in range(40_000)]
    raw.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    root = tmp_path / "ds"
    args = ["--only", "dialog", "--dialog", str(raw), "--dialog-limit", "0", "--token-sample", "2000"]
    assert run_prep(root, tiny_model, *args, "--seed", "1").returncode == 0
    old = state(root)
    states = []
    # once while reading, then at growing delays after the run starts writing (its staging folder appears)
    for delay in (None, 0.0, 0.03, 0.1, 0.2, 0.4, 0.8):
        before = set((root / "data").glob(".sft.stage-*"))  # killed runs leave theirs (the next run cleans)
        proc = subprocess.Popen(prep_cmd(root, tiny_model, *args, "--seed", "2"), cwd=REPO_ROOT,
                                env={**os.environ, **OFFLINE_ENV}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if delay is None:
            time.sleep(1.0)
        else:
            while proc.poll() is None and not set((root / "data").glob(".sft.stage-*")) - before:
                time.sleep(0.002)
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        states.append(state(root))
        assert verify(root / "data" / "sft", info_paths(root)) == [], f"killed {delay} s into writing"
    assert run_prep(root, tiny_model, *args, "--seed", "2").returncode == 0
    new = state(root)
    assert new != old
    assert all(s in (old, new) for s in states), [s == old for s in states]
    print("kill states (True = old set):", [s == old for s in states])
    assert leftovers(root) == []
