"""The report's 'What fine-tuning cost' section and chart panel, from a summary as run_eval builds it."""

from __future__ import annotations

import pytest

from eval.mcq.report import cost_markdown, cost_rows
from eval.mcq.score import benchmark_metrics
from eval.report import chart_figure, render_report


def _rows(spec: dict[tuple[str, str], tuple[int, int]], **extra) -> list[dict]:
    rows = []
    for (subject, group), (correct, n) in spec.items():
        rows += [{"subject": subject, "group": group, "correct": k < correct, "reason": None, **extra}
                 for k in range(n)]
    return rows


def _summary() -> dict:
    base = benchmark_metrics(_rows({("anatomy", "medical"): (5, 20), ("history", "general"): (10, 20)}), "cmmlu")
    tuned = benchmark_metrics(_rows({("anatomy", "medical"): (8, 20), ("history", "general"): (6, 20)}), "cmmlu")
    cmb = benchmark_metrics(_rows({("x", "medical"): (2, 10)}, exam_type="医师考试", exam_class="临床"), "cmb")
    return {"base": "base", "tasks": ["norm", "cmmlu", "cmb"], "not_evaluated": {},
            "checkpoints": {"base": {"path": "b", "tasks": {"norm": {"micro_f1": 10.0, "n": 5}, "cmmlu": base}},
                            "lora": {"path": "l", "tasks": {"norm": {"micro_f1": 40.0, "n": 5}, "cmmlu": tuned,
                                                            "cmb": cmb}}},
            "settings": {"multiple_choice": "harness, 5-shot, raw text"}}


def test_cost_rows_deltas_retention_and_domain_gain():
    rows = cost_rows(_summary())
    assert rows["base"]["medical"] == pytest.approx(25.0) and rows["base"]["general"] == pytest.approx(50.0)
    assert rows["lora"]["medical"] == pytest.approx(100 * 10 / 30)  # cmmlu 8/20 + cmb 2/10
    assert rows["lora"]["general"] == pytest.approx(30.0) and rows["lora"]["retention"] == pytest.approx(60.0)
    assert rows["lora"]["domain_gain"] == pytest.approx(30.0)  # norm micro_f1 40 - 10
    text = cost_markdown(_summary())
    assert "| lora | 33.33 (+8.33) | 30.00 (-20.00) | 60.00 | 30.00 |" in text
    assert "| base | 25.00 | 50.00 | 100.00 | — |" in text
    assert "| 医师考试 / 临床 (n=" not in text and "| 医师考试 / 临床 |" in text and "#### cmmlu per subject" in text


def test_report_has_the_section_and_the_chart_a_tradeoff_panel():
    summary = _summary()
    assert "## What fine-tuning cost" in render_report(summary)
    fig = chart_figure(summary)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[-1] == "what fine-tuning cost" and len(titles) == len(summary["tasks"]) + 1
    points = fig.axes[-1].collections  # the base's star at the origin, then lora at (domain gain, general change)
    assert [tuple(c.get_offsets()[0]) for c in points] == [(0.0, 0.0), (30.0, -20.0)]


def test_a_checkpoint_not_scored_on_the_benchmarks_is_named_not_tabled():
    summary = _summary()
    summary["checkpoints"]["bert"] = {"path": "c", "tasks": {"norm": {"micro_f1": 90.0, "n": 5}}}
    text = cost_markdown(summary)
    assert "| bert |" not in text and "Not scored on the benchmarks: bert" in text


def test_no_multiple_choice_no_section():
    summary = _summary()
    summary["tasks"] = ["norm"]
    assert cost_markdown(summary) == "" and "What fine-tuning cost" not in render_report(summary)
