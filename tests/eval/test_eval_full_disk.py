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


def test_eval_run_on_a_full_disk_keeps_its_predictions_and_resumes(tmp_path, monkeypatch, tiny_model,
                                                                   counting_generator, capsys):
    import eval.routes as routes

    generators = []

    def make_generator(*args):
        generators.append(counting_generator())
        return generators[-1]

    monkeypatch.setattr(routes, "make_generator", make_generator)
    data = tmp_path / "data"
    data.mkdir()

    def test_set(n: int) -> None:  # long references: the cache's rows carry them
        rows = [{"instruction": f"原始词:术语{i}", "input": "", "output": f"标准术语{i}" + "术" * 3000} for i in range(n)]
        (data / "norm_test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                              encoding="utf-8")

    with small_tmpfs(tmp_path / "disk", "16m") as disk:
        out = disk / "report"
        args = ["run", "--checkpoint", f"base={tiny_model}", "--tasks", "norm", "--data-dir", str(data),
                "--out", str(out), "--max-new-tokens", "norm=4", "--batch-size", "4"]
        test_set(3)
        assert main(args) == 0
        report = {rel: data for rel, data in files(out).items() if not rel.endswith("predictions.jsonl")}
        capsys.readouterr()

        test_set(400)  # about 3.6 MB of cache rows: more than the disk holds
        filler = fill(disk, leave=400 * 1024)
        assert main(args) == 2
        sentence = the_sentence(capsys.readouterr().err, "error: ")
        assert sentence.startswith(f"error: Cannot write the predictions cache in {out / 'base' / 'norm'}: ")
        assert "No space left on device" in sentence and "the next run resumes" in sentence
        assert stated_size(sentence) > 3 << 20
        assert {rel: data for rel, data in files(out).items() if not rel.endswith("predictions.jsonl")} == report
        kept = cached_rows(out / "base" / "norm" / "predictions.jsonl")
        assert kept >= 3  # what was generated before the disk filled is still there

        filler.unlink()  # room again: the same command resumes from the cache
        assert main(args) == 0
        assert generators[-1].samples == 400 - kept
        assert cached_rows(out / "base" / "norm" / "predictions.jsonl") == 400


def cached_rows(path: Path) -> int:
    rows = set()
    for line in path.read_bytes().split(b"\n"):
        try:
            rows.add(json.loads(line)["index"])
        except (ValueError, KeyError, TypeError):
            continue  # a line torn when the disk filled: dropped by the next run
    return len(rows)
