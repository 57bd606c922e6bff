"""Published files follow the umask like any other tool's (0644 files, 0755 folders under umask 022; 0600/0700
under 077): data_prep's set and registrations, eval's report set, and contract's single-file writer. They used
to be a temp file's 0600/0700 whatever the umask, so a teammate could not read data/sft/."""

from __future__ import annotations

import os
import stat

import pytest

from contract.files import umask, write_text
from data_prep.cli import main as prep_main
from eval.output_set import write_output_set


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def mask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def modes(root) -> dict[str, int]:
    """Mode of everything under `root` (following the data/sft symlink), by relative path."""
    found = {}
    for folder, dirs, files in os.walk(root, followlinks=True):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = stat.S_IMODE(os.stat(path).st_mode)
    return found


def expected(path: str, root, mask: int) -> int:
    return (0o777 if os.path.isdir(os.path.join(root, path)) else 0o666) & ~mask


def test_umask_is_read_without_changing_it(mask):
    assert umask() == mask and umask() == mask


def test_the_single_file_writer_follows_the_umask(tmp_path, mask):
    write_text(tmp_path / "a" / "report.md", "x\n")
    assert stat.S_IMODE((tmp_path / "a" / "report.md").stat().st_mode) == 0o666 & ~mask


def test_data_prep_publishes_with_the_umask(tmp_path, tiny_model, mask, capsys):
    args = ["--out-dir", str(tmp_path / "data" / "sft"), "--dataset-info", str(tmp_path / "dataset_info.json"),
            "--model", str(tiny_model)]
    assert prep_main([*args, "--only", "norm,triage", "--norm-limit", "5", "--triage-limit", "5"]) == 0
    assert prep_main([*args, "--only", "norm", "--norm-limit", "4"]) == 0  # triage carried over (hard links)
    capsys.readouterr()
    found = modes(tmp_path)
    assert "data/sft/norm_train.jsonl" in found and "data/sft/triage_train.jsonl" in found
    assert "dataset_info.json" in found and "data/dataset_info.json" in found
    wrong = {p: oct(m) for p, m in found.items() if m != expected(p, tmp_path, mask)}
    assert wrong == {}


def test_eval_output_sets_follow_the_umask(tmp_path, mask):
    out = tmp_path / "report"
    write_output_set(out, {"metrics.json": b"{}\n", "base/norm/scores.jsonl": b"{}\n"})
    write_output_set(out, {"metrics.json": b"{}\n", "lora/norm/scores.jsonl": b"{}\n"})
    found = modes(out)
    assert set(found) >= {"metrics.json", "base", "base/norm/scores.jsonl", "lora/norm"}
    wrong = {p: oct(m) for p, m in found.items() if m != expected(p, out, mask)}
    assert wrong == {}
