"""`python -m eval score` on a hand-made LLaMA-Factory generated_predictions.jsonl, and bad input."""

import json

import pytest

from eval.__main__ import main
from eval.inputs import InputError, load_test_set

REPORT = {"主诉": "咳嗽三天。", "现病史": "患儿三天前出现咳嗽。", "辅助检查": "暂缺。", "既往史": "",
          "诊断": "上呼吸道感染。", "建议": "多喝水。"}
SECOND = {**REPORT, "诊断": "感冒。"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_score_llamafactory_predictions_norm(tmp_path, capsys):
    preds = write_jsonl(tmp_path / "generated_predictions.jsonl", [
        {"prompt": "system\n...user\n原始词:胃镜\nassistant\n", "predict": "胃镜检查", "label": "胃镜检查"},
        {"prompt": "...", "predict": "阑尾切除术##其他", "label": "阑尾切除术"},
    ])
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    m = metrics["checkpoints"]["generated_predictions"]["tasks"]["norm"]
    assert m["exact_match"] == pytest.approx(50.0)
    assert m["micro_f1"] == pytest.approx(100 * 2 * 2 / (3 + 2))
    assert "| generated_predictions | 50.00 |" in capsys.readouterr().out
    assert (tmp_path / "out" / "worst_samples.md").is_file()


def test_score_mrg_takes_all_references_from_the_test_file(tmp_path):
    label = json.dumps(REPORT, ensure_ascii=False, indent=2)
    test = write_jsonl(tmp_path / "mrg_test.jsonl", [
        {"instruction": "对话...", "input": "", "output": label, "references": [REPORT, SECOND]}])
    preds = write_jsonl(tmp_path / "generated_predictions.jsonl", [
        {"prompt": "p", "predict": json.dumps(SECOND, ensure_ascii=False), "label": label}])
    assert main(["score", "--task", "mrg", "--predictions", str(preds)]) == 0
    alone = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert main(["score", "--task", "mrg", "--predictions", str(preds), "--test", str(test)]) == 0
    both = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    one_ref = alone["checkpoints"]["generated_predictions"]["tasks"]["mrg"]["cblue_rouge"]
    two_refs = both["checkpoints"]["generated_predictions"]["tasks"]["mrg"]["cblue_rouge"]
    assert one_ref < 100 and two_refs == pytest.approx((one_ref + 100) / 2, abs=1e-4)


def test_score_rejects_mismatched_or_bad_files(tmp_path, capsys):
    test = write_jsonl(tmp_path / "norm_test.jsonl", [{"instruction": "原始词:胃镜", "input": "", "output": "胃镜检查"}])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "p", "predict": "x", "label": "别的"}])
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--test", str(test)]) == 2
    assert "p.jsonl:1: label differs from test record 1" in capsys.readouterr().err
    (tmp_path / "bad.jsonl").write_text('{"predict": "x", "label": "y"}\n{oops\n', encoding="utf-8")
    assert main(["score", "--task", "norm", "--predictions", str(tmp_path / "bad.jsonl")]) == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err
    assert main(["score", "--task", "norm", "--predictions", str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl: file not found" in capsys.readouterr().err


def test_score_accepts_labels_cut_at_cutoff_len_and_scores_the_full_reference(tmp_path):
    """LLaMA-Factory writes labels cut at cutoff_len; the file is still ours and the full output is the reference."""
    test = write_jsonl(tmp_path / "norm_test.jsonl", [{"instruction": "原始词:胃镜", "input": "", "output": "胃镜检查##活检"}])
    preds = write_jsonl(tmp_path / "generated_predictions.jsonl", [
        {"prompt": "p", "predict": "胃镜检查##活检", "label": "胃镜检查"}])
    assert main(["score", "--task", "norm", "--predictions", str(preds), "--test", str(test)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["checkpoints"]["generated_predictions"]["tasks"]["norm"]["exact_match"] == 100


def test_test_set_errors_name_file_and_record(tmp_path):
    with pytest.raises(InputError, match="mrg_test.jsonl: test file not found.*make data"):
        load_test_set(tmp_path / "mrg_test.jsonl", "mrg")
    path = write_jsonl(tmp_path / "mrg_test.jsonl", [
        {"instruction": "x", "input": "", "output": json.dumps(REPORT, ensure_ascii=False)},
        {"instruction": "x", "input": "", "output": "not json"}])
    with pytest.raises(InputError, match="mrg_test.jsonl:2: `output` is not a JSON report"):
        load_test_set(path, "mrg")
    path = write_jsonl(tmp_path / "norm_test.jsonl", [{"instruction": "x", "output": "y"}])
    with pytest.raises(InputError, match="norm_test.jsonl:1: `input` must be a string"):
        load_test_set(path, "norm")


@pytest.mark.slow
def test_ctrl_c_mid_run_is_one_sentence_and_the_same_command_resumes(tmp_path, tiny_model, prepared_data):
    """A real SIGINT while `python -m eval run` generates: exit 130 with the resume sentence (no traceback), the
    finished batches kept; the same command then generates only the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import OFFLINE_ENV, REPO_ROOT

    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "eval", "run", "--base", str(tiny_model), "--tasks", "norm", "--batch-size", "2",
           "--data-dir", str(prepared_data / "data" / "sft"), "--out", str(out), "--max-new-tokens", "norm=64"]
    env = {**os.environ, **OFFLINE_ENV}
    cache = out / "base" / "norm" / "predictions.jsonl"
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.is_file() and len(cache.read_text(encoding="utf-8").splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "rerun the same command to resume" in err and "Traceback" not in err
    kept = cache.read_text(encoding="utf-8").splitlines()
    total = len((prepared_data / "data" / "sft" / "norm_test.jsonl").read_text(encoding="utf-8").splitlines())
    assert 2 <= len(kept) < total  # the finished batches, not the whole task

    again = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (out / "report.md").is_file()
    summary = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert summary["checkpoints"]["base"]["tasks"]["norm"]["n"] == total
    assert set(kept) <= set(cache.read_text(encoding="utf-8").splitlines())  # reused, not generated again
