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
