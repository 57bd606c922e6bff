"""The before/after report: metrics.json, report.md (tables with deltas vs the base), chart.png and
worst_samples.md, written as one output set (all or nothing, see output_set.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from .mcq.report import cost_markdown, cost_rows, draw_tradeoff
from .output_set import recover, write_output_set
from .tasks import NOT_PERCENT, TASKS

WORST_PER_TABLE = 5


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _cell(value, base_value, is_base: bool) -> str:
    if value is None or is_base or base_value is None:
        return _fmt(value)
    return f"{value:.2f} ({value - base_value:+.2f})"


def _zero_scored(metrics: dict) -> str:
    counts = metrics.get("zero_scored") or {}
    return ", ".join(f"{reason} {count}" for reason, count in counts.items()) or "0"


def markdown_tables(summary: dict) -> str:
    """Checkpoint x metric table per task; later checkpoints show their delta vs the base row."""
    base = summary["base"]
    parts = []
    for task in summary["tasks"]:
        headline = TASKS[task].headline
        rows = [(name, info["tasks"][task]) for name, info in summary["checkpoints"].items() if task in info["tasks"]]
        if not rows:
            continue
        base_metrics = summary["checkpoints"].get(base, {}).get("tasks", {}).get(task, {})
        lines = [f"### {task} (n={rows[0][1]['n']})", "",
                 "| checkpoint | " + " | ".join(headline) + " | zero-scored |",
                 "|---|" + "---:|" * len(headline) + "---|"]
        for name, metrics in rows:
            cells = [_cell(metrics.get(m), base_metrics.get(m), name == base) for m in headline]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {_zero_scored(metrics)} |")
        skipped = {metrics.get("bertscore_skipped") for _, metrics in rows} - {None}
        for reason in sorted(skipped):
            lines += ["", f"bertscore_f1 skipped: {reason}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def per_label_tables(summary: dict) -> str:
    """A label-set task's (triage's) precision / recall / F1 / support per label, one table per checkpoint."""
    parts = []
    for name, info in summary["checkpoints"].items():
        for task, metrics in info["tasks"].items():
            per_label = metrics.get("per_label") if task in TASKS and TASKS[task].label_set else None
            if not per_label:
                continue
            lines = [f"#### {task} per label — {name}", "", "| label | precision | recall | f1 | support |",
                     "|---|---:|---:|---:|---:|"]
            lines += [f"| {label} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |"
                      for label, m in per_label.items()]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n" if parts else ""


def markdown_table(report_dir: Path) -> str:
    """The tables of a finished report, read back from its metrics.json (finishing a commit cut short)."""
    recover(report_dir)
    return markdown_tables(json.loads((Path(report_dir) / "metrics.json").read_text(encoding="utf-8")))


def chart_metrics(task: str) -> tuple[str, ...]:
    """The headline metrics a chart panel shows: the percentages (one shared 0-100 axis)."""
    return tuple(m for m in TASKS[task].headline if m not in NOT_PERCENT)


def all_zero(summary: dict, task: str) -> bool:
    """Every checkpoint scored on `task` got 0 (or no value) on every charted metric."""
    scored = [info["tasks"][task] for info in summary["checkpoints"].values() if task in info["tasks"]]
    return bool(scored) and all(not metrics.get(m) for metrics in scored for m in chart_metrics(task))


def panel_note(summary: dict, task: str) -> str | None:
    """What an empty chart panel means, written into it, so that it does not read as a drawing fault."""
    if task in summary.get("not_evaluated", {}):
        return f"{task} not evaluated:\nno {TASKS[task].test_file}\n(see report.md)"
    if all_zero(summary, task):
        return f"every checkpoint scored 0 on {task}\n(see report.md)"
    return None


def coverage_notes(summary: dict) -> str:
    """Tasks the report has no scores for, and tasks on which no checkpoint scored at all, with why."""
    lines = [f"- **{task}** was not evaluated: {why}." for task, why in summary.get("not_evaluated", {}).items()]
    for task in summary["tasks"]:
        if not all_zero(summary, task):
            continue
        unusable, compared = [], 0
        for name, info in summary["checkpoints"].items():
            metrics = info["tasks"].get(task)
            if metrics is not None:
                count = sum((metrics.get("zero_scored") or {}).values())
                compared += metrics["n"] - count
                unusable.append(f"{name} {count} of {metrics['n']}" + (f" ({_zero_scored(metrics)})" if count else ""))
        rest = "; every other answer was compared with the reference and matched nothing" if compared else ""
        lines.append(f"- **{task}**: no checkpoint scored above 0 on {', '.join(chart_metrics(task))}, which is why "
                     f"its chart panel is empty. Answers set to 0 as unusable (see below): {'; '.join(unusable)}"
                     f"{rest}.")
    return "\n".join(lines) + "\n" if lines else ""


METRIC_NOTES = """\
All scores are percentages (0-100) except mean_length (characters). Outputs that are empty, end
in an endless repetition, hit max_new_tokens without a stop token, or (mrg) are not a JSON report
score 0 on every per-sample metric and are counted under "zero-scored".

""" + "\n".join(spec.notes for spec in TASKS.values() if spec.notes) + "\n"


def scored_on(summary: dict, info: dict) -> str:
    """The tasks a checkpoint was scored on, a budget its context cut short, and the tasks left out with why
    (a classifier answers triage only; a model trained from scratch, its training datasets' tasks)."""
    budgets, asked = info.get("max_new_tokens") or {}, summary["settings"].get("max_new_tokens") or {}
    parts = [task + (f" (max_new_tokens {budgets[task]}: its context)" if task in budgets and task in asked
                     and budgets[task] < asked[task] else "") for task in info["tasks"]]
    text = ", ".join(parts) or "nothing"
    by_reason: dict[str, list[str]] = {}
    for task, why in (info.get("not_scored") or {}).items():
        by_reason.setdefault(why, []).append(task)
    return text + "".join(f"; not {', '.join(tasks)}: {why}" for why, tasks in by_reason.items())


def render_report(summary: dict) -> str:
    settings = summary["settings"]
    lines = ["# Evaluation report", "", f"Deltas are against `{summary['base']}`.", "", "## Checkpoints", "",
             "| name | path | base model (adapters) | prompt (template, system) | scored on |", "|---|---|---|---|---|"]
    for name, info in summary["checkpoints"].items():
        base = "`" + info["base"] + "`" if info.get("base") else ""
        lines.append(f"| {name} | `{info['path']}` | {base} | {info.get('prompt', '')} | {scored_on(summary, info)} |")
    lines += ["", "## Results", "", markdown_tables(summary), coverage_notes(summary), per_label_tables(summary),
              cost_markdown(summary), METRIC_NOTES, "![scores per task](chart.png)", "",
              "Five worst-scored samples per task and checkpoint: [worst_samples.md](worst_samples.md).", "",
              "## Settings", ""]
    for key, value in settings.items():
        lines.append(f"- {key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}")
    return "\n".join(lines) + "\n"


def render_worst(summary: dict, worst: dict) -> str:
    def clip(text: str, limit: int = 400, tail: bool = False) -> str:
        text = text.replace("\n", "⏎")
        if len(text) <= limit:
            return text
        # prompts end with the part that differs per sample; answers start with it
        return f"(…{len(text) - limit} chars) " + text[-limit:] if tail else text[:limit] + f" (…{len(text) - limit} chars)"

    lines = ["# Worst-scored samples", ""]
    for task in summary["tasks"]:
        for name, rows in worst.get(task, {}).items():
            lines += [f"## {task} — {name}", ""]
            for row in rows:
                reason = f", zero-scored: {row['reason']}" if row.get("reason") else ""
                lines += [f"**#{row['index']}** score {row['score']:.2f}{reason}", "",
                          f"- prompt: {clip(row['prompt'], tail=True)}", f"- predict: {clip(row['predict'])}",
                          f"- label: {clip(row['label'])}", ""]
    return "\n".join(lines)


def chart_figure(summary: dict):
    """A bar chart panel per task, checkpoints side by side; a panel with no bars says why."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [t for t in summary["tasks"] if any(t in i["tasks"] for i in summary["checkpoints"].values())]
    tasks = scored + list(summary.get("not_evaluated", {}))
    names = list(summary["checkpoints"])
    tradeoff = any(row.get("general") is not None for row in cost_rows(summary).values()) and len(names) > 1
    fig, axes = plt.subplots(1, len(tasks) + tradeoff, figsize=(5.5 * (len(tasks) + tradeoff), 4.2), squeeze=False)
    if tradeoff:
        draw_tradeoff(axes[0][-1], summary)
    width = 0.8 / max(len(names), 1)
    for ax, task in zip(axes[0][:len(tasks)], tasks, strict=True):
        note = panel_note(summary, task)
        if note:
            ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="dimgray")
        metrics = [m for m in chart_metrics(task)
                   if any(i["tasks"].get(task, {}).get(m) is not None for i in summary["checkpoints"].values())]
        for k, name in enumerate(names):
            values = [summary["checkpoints"][name]["tasks"].get(task, {}).get(m) or 0.0 for m in metrics]
            ax.bar([x + k * width for x in range(len(metrics))], values, width, label=name)
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(metrics))])
        ax.set_xticklabels(metrics, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_title(task)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("score (%)")
    axes[0][max(len(scored), 1) - 1].legend(fontsize=8)  # on the last panel with bars
    fig.tight_layout()
    return fig


def render_chart(summary: dict) -> bytes:
    """chart_figure as PNG bytes."""
    return png_bytes(chart_figure(summary))


def png_bytes(fig) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def metrics_json(summary: dict) -> bytes:
    return (json.dumps(summary, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def report_files(summary: dict, worst: dict) -> dict[str, bytes]:
    return {"metrics.json": metrics_json(summary), "worst_samples.md": render_worst(summary, worst).encode("utf-8"),
            "chart.png": render_chart(summary), "report.md": render_report(summary).encode("utf-8")}


def write_report(out_dir: Path, summary: dict, worst: dict, extra: dict[str, bytes] | None = None) -> Path:
    """The report files plus `extra` (e.g. per-checkpoint scores.jsonl), as one output set."""
    write_output_set(out_dir, {**(extra or {}), **report_files(summary, worst)})
    return Path(out_dir) / "report.md"


def worst_rows(rows: list[dict], samples_by_index: dict, k: int = WORST_PER_TABLE) -> list[dict]:
    ranked = sorted(rows, key=lambda r: (r["score"], r["index"]))[:k]
    return [{**r, "prompt": samples_by_index[r["index"]].prompt, "predict": samples_by_index[r["index"]].predict,
             "label": samples_by_index[r["index"]].label} for r in ranked]
