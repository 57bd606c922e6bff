"""The CI-sized `make mix-sweep PROFILE=tiny` (issue 19): two ratios on the demo data, trained, evaluated and reported
(table + chart + each run's settings + the commit); a rerun keeps the finished runs; each run's launch_config.yaml
records its mix; and the report's pieces (eval/sweep_report.py) from a hand-made summary."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from contract.models import TINY_GENERAL
from eval.sweep_report import sweep_markdown, sweep_rows
from tests.conftest import REPO_ROOT

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def general_base(tiny_model):
    """models/tiny-qwen2-general (`make tiny-general`), built on demand (about a minute)."""
    if not (TINY_GENERAL / "config.json").is_file():
        subprocess.run([sys.executable, "scripts/build_general_base.py"], cwd=REPO_ROOT, check=True,
                       capture_output=True)
    return TINY_GENERAL


def sweep(workdir):
    return subprocess.run([sys.executable, "scripts/mix_sweep.py", "--ci", "--ratios", "1:1,0:1",
                           "--workdir", str(workdir)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_sweep_ci_trains_evaluates_reports_and_resumes(tmp_path, general_base):
    result = sweep(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report_dir = tmp_path / "reports" / "mix_sweep"
    report = (report_dir / "report.md").read_text(encoding="utf-8")
    assert (report_dir / "tradeoff.png").read_bytes().startswith(PNG)
    data = json.loads((report_dir / "sweep.json").read_text(encoding="utf-8"))
    assert [r["ratio"] for r in data["rows"]] == ["base", "1:1", "0:1"]
    for row in data["rows"]:  # every measure scored for every row (retention needs a base above 0 on 6 items)
        assert all(row[k] is not None for k in ("general", "medical", "domain_score")), row
        assert (row["retention"] is None) == (data["rows"][0]["general"] == 0), row
    runs = {r["ratio"]: r for r in data["runs"]}
    assert runs["1:1"]["records"]["general"] == runs["1:1"]["records"]["domain"] > 0  # the pool covers the demo's 1:1
    assert runs["0:1"]["records"] == {"general": 0, "domain": runs["1:1"]["records"]["domain"]}  # same domain data
    # the demo scores multiple choice by the option texts (the tiny base cannot answer by letter), and says so
    assert data["meta"]["mcq_style"] == "cloze" and "Multiple choice scored cloze, 0-shot" in report
    assert data["meta"]["commit"] and "| 1:1 |" in report and "| 0:1 |" in report and data["meta"]["commit"] in report
    saves = tmp_path / "saves" / "tiny-qwen2" / "lora"  # where the web UI lists runs
    for name, ratio in (("mix_1-1", "1:1"), ("mix_0-1", "0:1")):
        config_text = (saves / name / "launch_config.yaml").read_text(encoding="utf-8")
        assert f"# mix {runs[ratio]['mix']}" in config_text
        config = yaml.safe_load(config_text)
        assert ("med_general" in config["dataset"]) == (ratio == "1:1")
        assert config["model_name_or_path"] == str(TINY_GENERAL)
    again = sweep(tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert again.stdout.count("finished earlier") == 2 and "training lora" not in again.stdout
    assert json.loads((report_dir / "sweep.json").read_text(encoding="utf-8"))["rows"] == data["rows"]


def summary() -> dict:
    def ckpt(rouge, general, medical):
        return {"tasks": {"dialog": {"rouge-l": rouge}, "cmmlu": {
            "groups": {"general": {"correct": general, "n": 10}, "medical": {"correct": medical, "n": 10}}}}}
    return {"base": "base", "tasks": ["dialog", "cmmlu"], "not_evaluated": {},
            "checkpoints": {"base": ckpt(10.0, 8, 3), "mix_1-1": ckpt(30.0, 6, 5), "mix_0-1": ckpt(40.0, 2, 6)},
            "settings": {"multiple_choice": "harness, 0-shot, raw text"}}


RUNS = [{"ratio": r, "checkpoint": c, "general_share": s, "records": {"general": g, "domain": 100},
         "output_dir": f"saves/x/lora/{c}", "mix": "m", "settings": {"learning_rate": 0.01}}
        for r, c, s, g in (("1:1", "mix_1-1", 0.5, 100), ("0:1", "mix_0-1", 0.0, 0))]


def test_rows_take_domain_score_accuracies_and_retention_from_the_summary():
    rows = {r["ratio"]: r for r in sweep_rows(summary(), RUNS)}
    assert rows["base"]["general"] == 80 and rows["base"]["retention"] == 100 and rows["base"]["domain_gain"] is None
    assert rows["1:1"]["general"] == 60 and rows["1:1"]["retention"] == 75 and rows["1:1"]["medical"] == 50
    assert rows["0:1"]["general"] == 20 and rows["0:1"]["retention"] == 25 and rows["0:1"]["domain_gain"] == 30
    text = sweep_markdown(summary(), RUNS, {"method": "lora", "base": "b", "commit": "abc", "started": "now",
                                             "eval_report": "e"})
    assert "| 0:1 | 0:100 | 40.00 | 40.00 | 30.00 | 20.00 | 60.00 | 25.00 |" in text
    assert "learning_rate=0.01" in text and "abc" in text


def test_ctrl_c_is_one_sentence_saying_a_rerun_resumes(monkeypatch, capsys, tiny_model):
    import scripts.mix_sweep as mix_sweep

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(mix_sweep, "sweep_all", interrupted)
    assert mix_sweep.main(["--demo", "--base", str(tiny_model)]) == 130
    err = capsys.readouterr().err
    assert "mix-sweep: interrupted; rerun the same command" in err and "Traceback" not in err
