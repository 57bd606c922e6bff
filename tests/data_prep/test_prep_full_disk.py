"""data_prep on a full disk and in a read-only folder, as a user runs it: exit status 2, one sentence naming the
folder and about how much room the set needs, the previous set intact and nothing of the failed run left."""

from __future__ import annotations

import json
from pathlib import Path

from contract.sftset import verify
from tests.data_prep.test_prep_publish import info_paths, leftovers, state
from tests.small_disk import fill, read_only, small_tmpfs, stated_size, the_sentence


def set_bytes(root: Path) -> int:
    files = json.loads((root / "data" / "sft" / "manifest.json").read_text())["files"]
    return sum(f["bytes"] for f in files.values())


def test_a_full_disk_and_a_read_only_folder_are_one_sentence_and_keep_the_previous_set(tmp_path, prep):
    """`prep` runs `python -m data_prep` (its main(), in this process: no second tokenizer load per run)."""
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        root = disk / "ds"
        assert prep("--only", "norm", "--norm-limit", "5", root=root)[0] == 0
        before = state(root)
        filler = fill(disk, leave=200 * 1024)  # the samples' full set is about 800 KB

        code, _, _, stderr = prep(root=root)
        assert code == 2, stderr
        sentence = the_sentence(stderr, "data_prep: error: ")
        assert sentence.startswith(f"data_prep: error: Cannot write the prepared data in {root / 'data'}: ")
        assert "No space left on device" in sentence, sentence
        assert "the previous set is kept" in sentence and "free some space" in sentence
        needed = stated_size(sentence)
        assert state(root) == before and leftovers(root) == [] and verify(root / "data" / "sft", info_paths(root)) == []

        read_only(disk)
        try:
            code, _, _, stderr = prep(root=root)
            assert code == 2, stderr
            sentence = the_sentence(stderr, "data_prep: error: ")
            assert "Read-only file system" in sentence and str(root / "data") in sentence
            assert "choose a folder you can write" in sentence
            assert state(root) == before
        finally:
            read_only(disk, on=False)

        filler.unlink()  # room again: the same command now publishes, and the size it stated was about right
        assert prep(root=root)[0] == 0
        assert 0.7 * set_bytes(root) <= needed <= 1.3 * set_bytes(root), (needed, set_bytes(root))
        assert leftovers(root) == []
