"""eval on a full disk and in a read-only folder, as a user runs it: exit status 2, one sentence naming the
folder and about how much room the report files need, the previous report intact and nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.__main__ import main
from tests.small_disk import fill, read_only, small_tmpfs, stated_size, the_sentence


@pytest.fixture
def score(capsys):
    """score(predictions, out) -> (exit status, stderr) of `python -m eval score --task norm ...`."""

    def run(predictions: Path, out: Path) -> tuple[int, str]:
        code = main(["score", "--task", "norm", "--predictions", str(predictions), "--out", str(out)])
        return code, capsys.readouterr().err

    return run


def predictions(path: Path, n: int) -> Path:
    rows = [{"prompt": f"原始词:{i}", "predict": "胃镜检查" * (1 + i % 7), "label": "胃镜检查"} for i in range(n)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_full_disk_and_a_read_only_folder_are_one_sentence_and_keep_the_previous_report(tmp_path, score):
    small, large = predictions(tmp_path / "small.jsonl", 3), predictions(tmp_path / "large.jsonl", 20_000)
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        out = disk / "report"
        assert score(small, out)[0] == 0
        before = files(out)
        fill(disk, leave=100 * 1024)  # the large set's scores.jsonl alone is a few MB

        code, stderr = score(large, out)
        assert code == 2, stderr
        sentence = the_sentence(stderr, "error: ")
        assert sentence.startswith(f"error: Cannot write the evaluation's output files in {out}: ")
        assert "No space left on device" in sentence and "the previous files are kept" in sentence
        assert stated_size(sentence) > 1 << 20
        assert files(out) == before  # the old report, and no build folder or temp file of the failed run

        read_only(disk)
        try:
            code, stderr = score(large, out)
            assert code == 2, stderr
            sentence = the_sentence(stderr, "error: ")
            assert "Read-only file system" in sentence and str(out) in sentence
            assert files(out) == before
        finally:
            read_only(disk, on=False)
