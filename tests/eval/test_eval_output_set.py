"""Output sets are all or nothing: a run killed at any step of its commit leaves, once recovered, either
the complete old set or the complete new one, and no temp files; a failed write keeps the old set."""

import json
import os

import pytest

import contract.publish as publish
import eval.routes as routes
import eval.runner as runner
from eval import EvalOptions
from eval.__main__ import main
from eval.output_set import pending, recover, write_output_set
from eval.report import markdown_table, metrics_json


def summary(value: float) -> dict:
    return {"base": "m", "tasks": ["norm"], "settings": {},
            "checkpoints": {"m": {"path": "p", "tasks": {"norm": {"n": 1, "exact_match": value, "zero_scored": {}}}}}}


def contents(tag: str, value: float) -> dict[str, bytes]:
    return {"scores.jsonl": f"{tag} scores\n".encode(), "report.md": f"{tag} report\n".encode(),
            "lora/norm/scores.jsonl": f"{tag} lora\n".encode(), "metrics.json": metrics_json(summary(value))}


OLD, NEW = contents("old", 10.0), contents("new", 20.0)


def on_disk(out) -> dict[str, bytes]:
    return {rel: (out / rel).read_bytes() for rel in OLD}


def leftovers(out) -> list[str]:
    """Files a commit works with before they are in place: its build folder, or the committed folder
    whose files are being moved (contract.publish)."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and ".eval-set." in str(p))


def commit_killed_at(out, step: int) -> int:
    """Commit NEW in a child process that dies (SIGKILL-like, no cleanup) at its `step`-th durable
    write, rename or directory sync; returns the child's exit status (0: it finished)."""
    pid = os.fork()
    if pid == 0:
        try:
            count = {"n": 0}

            def dying(real):
                def wrapper(*args, **kwargs):
                    count["n"] += 1
                    if count["n"] == step:
                        os._exit(9)
                    return real(*args, **kwargs)
                return wrapper

            publish._write_durably = dying(publish._write_durably)
            publish._fsync_dir = dying(publish._fsync_dir)
            publish.os.replace = dying(os.replace)
            publish.os.rename = dying(os.rename)
            write_output_set(out, NEW)
        finally:
            os._exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_kill_at_any_step_leaves_the_old_or_the_new_set(tmp_path):
    outcomes = []
    for step in range(1, 100):
        out = tmp_path / f"kill{step}"
        write_output_set(out, OLD)
        code = commit_killed_at(out, step)
        mid_commit = pending(out) is not None  # what a reader sees before anyone recovers
        table = markdown_table(out)  # a reader: finishes or undoes the cut-short commit first
        found = on_disk(out)
        assert found in (OLD, NEW), f"step {step}: a mixed set"
        assert leftovers(out) == [] and pending(out) is None
        assert ("| m | 20.00 |" if found == NEW else "| m | 10.00 |") in table
        outcomes.append((found == NEW, mid_commit))
        if code == 0:
            break
    else:
        pytest.fail("the commit never finished")
    assert outcomes[0][0] is False and outcomes[-1] == (True, False)
    assert (False, True) in outcomes  # killed while building the set: the reader saw it, the old set stayed
    assert (True, True) in outcomes  # killed after the commit point: the reader completed the new set


def test_a_later_commit_cleans_what_a_killed_one_left(tmp_path):
    out = tmp_path / "out"
    write_output_set(out, OLD)
    assert commit_killed_at(out, 2) != 0  # dies while writing the second file of the set
    assert leftovers(out) and pending(out) is not None
    write_output_set(out, NEW)
    assert on_disk(out) == NEW and leftovers(out) == [] and pending(out) is None
    assert recover(out) is None


def test_a_failed_write_keeps_the_old_set(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_output_set(out, OLD)
    real, calls = publish._write_durably, []

    def full_disk(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(publish, "_write_durably", full_disk)
    with pytest.raises(OSError):
        write_output_set(out, NEW)
    assert on_disk(out) == OLD and leftovers(out) == [] and pending(out) is None


def test_paths_must_stay_inside_the_folder(tmp_path):
    with pytest.raises(ValueError, match="must stay inside"):
        write_output_set(tmp_path, {"../x": b""})


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_eval_score_keeps_its_old_set_when_writing_fails(tmp_path, monkeypatch, capsys):
    preds = tmp_path / "p.jsonl"
    write_jsonl(preds, [{"prompt": "p", "predict": "胃镜检查", "label": "胃镜检查"}])
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--out", str(tmp_path / "out")]) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    write_jsonl(preds, [{"prompt": "p", "predict": "肝穿刺", "label": "胃镜检查"}])
    monkeypatch.setattr(publish, "_write_durably", lambda path, data: (_ for _ in ()).throw(
        OSError(28, "No space left on device", str(path))))
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--out", str(tmp_path / "out")]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_eval_run_writes_scores_and_report_as_one_set(tmp_path, monkeypatch, tiny_model, counting_generator):
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "norm_test.jsonl", [{"instruction": f"原始词:{w}", "input": "", "output": w}
                                           for w in ("胃镜", "肝穿刺", "阑尾切除术")])
    monkeypatch.setattr(routes, "make_generator", lambda *args: counting_generator())
    out = tmp_path / "report"
    options = EvalOptions(checkpoints={"base": str(tiny_model)}, tasks="norm", data_dir=data, out_dir=out,
                          max_new_tokens={"norm": 4})
    runner.run_eval(options)
    set_files = ["base/norm/scores.jsonl", "chart.png", "metrics.json", "report.md", "worst_samples.md"]
    before = {rel: (out / rel).read_bytes() for rel in set_files}

    write_jsonl(data / "norm_test.jsonl", [{"instruction": "原始词:胃镜", "input": "", "output": "胃镜检查"}])
    real, calls = publish._write_durably, []

    def failing(path, data):
        calls.append(path)
        if len(calls) == 3:  # the new scores.jsonl and chart are already written
            raise OSError(5, "Input/output error", str(path))
        real(path, data)

    monkeypatch.setattr(publish, "_write_durably", failing)
    with pytest.raises(OSError):
        runner.run_eval(options)
    assert {rel: (out / rel).read_bytes() for rel in set_files} == before
    assert leftovers(out) == [] and pending(out) is None

    monkeypatch.setattr(publish, "_write_durably", real)
    runner.run_eval(options)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["checkpoints"]["base"]["tasks"]["norm"]["n"] == 1
    assert len((out / "base/norm/scores.jsonl").read_text(encoding="utf-8").splitlines()) == 1
