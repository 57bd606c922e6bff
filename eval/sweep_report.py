"""The general:domain mixing sweep's report (issue 19): one row per ratio with the domain tasks' primary metrics and
their mean (the domain score), general and medical-exam accuracy and retention vs the base (eval/mcq/report.py's
cost_rows), the records each run trained on, and a chart: the trade-off (domain gain against general-accuracy
change, eval/mcq/report.py's draw_tradeoff, one point per ratio, the base at the origin) beside each measure
against the mix's general share. Each run's settings and the commit are in the report and sweep.json."""

from __future__ import annotations

import json
from pathlib import Path

from .mcq.report import cost_rows, draw_tradeoff
from .output_set import write_output_set
from .report import png_bytes
from .tasks import GENERATIVE, TASKS

REPORT, SWEEP_JSON, CHART = "report.md", "sweep.json", "tradeoff.png"


def _generative(summary: dict) -> list[str]:
    return [t for t in summary["tasks"] if TASKS[t].kind == GENERATIVE]


def sweep_rows(summary: dict, runs: list[dict]) -> list[dict]:
    """The base, then one row per run (`runs`: {ratio, checkpoint, general_share, records, settings})."""
    costs = cost_rows(summary)
    rows = []
    for run in [{"ratio": "base", "checkpoint": summary["base"], "general_share": None, "records": None}, *runs]:
        tasks = summary["checkpoints"].get(run["checkpoint"], {}).get("tasks", {})
        primary = {t: tasks.get(t, {}).get(TASKS[t].primary_metric) for t in _generative(summary)}
        scored = [v for v in primary.values() if v is not None]
        cost = costs.get(run["checkpoint"], {})
        rows.append({"ratio": run["ratio"], "checkpoint": run["checkpoint"], "general_share": run["general_share"],
                     "records": run["records"], "primary": primary,
                     "domain_score": sum(scored) / len(scored) if scored else None,
                     "domain_gain": None if run["ratio"] == "base" else cost.get("domain_gain"),
                     "general": cost.get("general"), "medical": cost.get("medical"), "retention": cost.get("retention")})
    return rows


def _num(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def sweep_markdown(summary: dict, runs: list[dict], meta: dict) -> str:
    rows = sweep_rows(summary, runs)
    tasks = _generative(summary)
    head = ["general:domain", "records trained (general:domain)",
            *[f"{t} {TASKS[t].primary_metric}" for t in tasks], "domain score", "domain gain",
            "general accuracy", "medical-exam accuracy", "retention"]
    lines = [f"# Mixing sweep: {meta['method']} on {meta['base']}", "",
             f"Commit {meta['commit']}; {meta['started']}; ratios {', '.join(r['ratio'] for r in runs)}.", "",
             "| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for row in rows:
        records = row["records"]
        trained = "—" if records is None else f"{records['general']}:{records['domain']}"
        lines.append("| " + " | ".join([row["ratio"], trained, *[_num(row["primary"][t]) for t in tasks],
                                        _num(row["domain_score"]), _num(row["domain_gain"]), _num(row["general"]),
                                        _num(row["medical"]), _num(row["retention"])]) + " |")
    lines += ["", f"Domain score: the mean of {', '.join(f'{t} {TASKS[t].primary_metric}' for t in tasks) or '—'}; "
              "domain gain: its change vs the base (points). General / medical-exam accuracy: correct / items over the "
              "multiple-choice items of that group; retention: general accuracy as a percentage of the base's. "
              f"Multiple choice scored {summary['settings'].get('multiple_choice', '')}. Mixing: data_prep's ratio, "
              "concatenated (contract/mix.py says what a ratio means).", "", f"![trade-off]({CHART})", "",
              "## Runs", ""]
    for run in runs:
        lines.append(f"- **{run['ratio']}** `{run['output_dir']}`: {run['mix']}; "
                     + ", ".join(f"{k}={v}" for k, v in run["settings"].items()))
    lines += ["", f"Full evaluation report (per task, per subject, worst samples): `{meta['eval_report']}`.", ""]
    return "\n".join(lines)


def sweep_figure(summary: dict, runs: list[dict]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    renamed = {**summary, "checkpoints": {}}  # the trade-off panel names each point by its ratio
    names = {run["checkpoint"]: run["ratio"] for run in runs}
    for name, info in summary["checkpoints"].items():
        renamed["checkpoints"][names.get(name, name)] = info
    draw_tradeoff(left, renamed)
    left.set_title("trade-off: one point per general:domain ratio")
    rows = [r for r in sweep_rows(summary, runs) if r["general_share"] is not None]
    rows.sort(key=lambda r: r["general_share"])
    base = sweep_rows(summary, [])[0]
    xs = [r["general_share"] for r in rows]
    for key, label, color in (("general", "general accuracy", "tab:blue"), ("medical", "medical-exam accuracy",
                              "tab:red"), ("domain_score", "domain score", "tab:green")):
        ys = [r[key] for r in rows]
        if all(y is None for y in ys):
            continue
        right.plot(xs, [float("nan") if y is None else y for y in ys], marker="o", color=color, label=label)
        if base[key] is not None:
            right.axhline(base[key], color=color, ls=":", lw=1)
    right.set_xticks(xs, [r["ratio"] for r in rows])
    right.set_xlabel("general:domain (dotted: the base)")
    right.set_ylabel("score")
    right.set_title("each measure by mix")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def render_chart(summary: dict, runs: list[dict]) -> bytes:
    return png_bytes(sweep_figure(summary, runs))


def write_sweep_report(out_dir: Path, summary: dict, runs: list[dict], meta: dict) -> Path:
    """report.md, sweep.json (rows, runs, meta) and tradeoff.png in `out_dir`, all or nothing."""
    data = {"meta": meta, "runs": runs, "rows": sweep_rows(summary, runs)}
    write_output_set(out_dir, {
        REPORT: sweep_markdown(summary, runs, meta).encode("utf-8"),
        SWEEP_JSON: (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        CHART: render_chart(summary, runs)})
    return Path(out_dir) / REPORT
