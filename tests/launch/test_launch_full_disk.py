"""The launcher on a full disk and in a read-only folder: one sentence naming the folder (and about how much it
needed), exit status 2, no traceback, nothing started."""

from __future__ import annotations

import os

import pytest

import launch
import launch.plan
from contract.files import WriteError
from launch.cli import main
from tests.launch.conftest import base_environ
from tests.small_disk import fill, read_only, small_tmpfs, the_sentence


@pytest.fixture
def train(capsys, monkeypatch):
    """train(output_dir) -> (exit status, stderr) of `python -m launch train lora --profile tiny ...` (its main(),
    here; starting LLaMA-Factory would be a failure of the test, not a replaced test process)."""

    def refuse(*args):
        raise AssertionError("the launcher got as far as starting LLaMA-Factory")

    monkeypatch.setattr(os, "execve", refuse)

    def run(output_dir) -> tuple[int, str]:
        # --skip-preflight: no prepared data needed; the run folder is what fails
        code = main(["train", "lora", "--profile", "tiny", "--skip-preflight", f"output_dir={output_dir}"])
        return code, capsys.readouterr().err

    return run


def test_a_read_only_or_full_run_folder_is_one_sentence(tmp_path, train):
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        read_only(disk)
        try:
            code, stderr = train(disk / "run")
        finally:
            read_only(disk, on=False)
        assert code == 2
        sentence = the_sentence(stderr, "error: ")
        assert sentence.startswith("error: Cannot write ") and f" in {disk}" in sentence
        assert "Read-only file system" in sentence and "choose a folder you can write" in sentence

        (disk / "run").mkdir()
        fill(disk, leave=0)
        code, stderr = train(disk / "run")
        assert code == 2
        sentence = the_sentence(stderr, "error: ")
        assert "No space left on device" in sentence and str(disk / "run") in sentence
        assert not (disk / "run" / "launch_config.yaml").exists()


def test_the_resolved_config_on_a_full_disk_says_how_much_it_needed(tmp_path):
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        plan = launch.build("train", "lora", [f"output_dir={disk / 'run'}"], profile="tiny", environ=base_environ())
        (disk / "run").mkdir()
        fill(disk, leave=0)
        with pytest.raises(WriteError) as caught:
            launch.plan.write_config(plan)
        sentence = str(caught.value)
        assert sentence.startswith(f"Cannot write launch_config.yaml in {disk / 'run'}: No space left on device")
        assert "it needs about" in sentence and "the file there is unchanged" in sentence
        assert [p.name for p in (disk / "run").iterdir()] == []  # no temp file left
