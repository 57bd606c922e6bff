"""The report's answer to "what did fine-tuning cost": per checkpoint the medical-exam and general accuracy with
deltas vs the base, retention (general accuracy as a share of the base's) beside the domain gain (the mean
change of the generative tasks' primary metrics); per-subject and per-exam tables; the trade-off chart panel."""

from __future__ import annotations

from ..tasks import GENERATIVE, TASKS
from .score import group_accuracy, retention


def _mcq_tasks(summary: dict) -> list[str]:
    return [t for t in summary["tasks"] if TASKS[t].kind != GENERATIVE]


def domain_gain(summary: dict, name: str) -> float | None:
    """Mean change vs the base of the primary metric over the generative tasks both were scored on."""
    base = summary["checkpoints"].get(summary["base"], {}).get("tasks", {})
    mine = summary["checkpoints"][name]["tasks"]
    deltas = [mine[t][TASKS[t].primary_metric] - base[t][TASKS[t].primary_metric]
              for t in mine if TASKS[t].kind == GENERATIVE and t in base
              and mine[t].get(TASKS[t].primary_metric) is not None and base[t].get(TASKS[t].primary_metric) is not None]
    return sum(deltas) / len(deltas) if deltas else None


def cost_rows(summary: dict) -> dict[str, dict]:
    """{checkpoint: {medical, general, retention, domain_gain}} (percentages / points; None where not scored)."""
    tasks = _mcq_tasks(summary)
    rows = {}
    for name, info in summary["checkpoints"].items():
        groups = group_accuracy({t: info["tasks"][t] for t in tasks if t in info["tasks"]})
        rows[name] = {**groups, "domain_gain": domain_gain(summary, name)}
    base = rows.get(summary["base"], {})
    for row in rows.values():
        row["retention"] = retention(row.get("general"), base.get("general"))
    return rows


def _num(value, base=None, delta=False) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} ({value - base:+.2f})" if delta and base is not None else f"{value:.2f}"


def cost_markdown(summary: dict) -> str:
    if not _mcq_tasks(summary):
        return ""
    rows = cost_rows(summary)
    base = rows.get(summary["base"], {})
    primaries = ", ".join(f"{t} {TASKS[t].primary_metric}" for t in summary["tasks"] if TASKS[t].kind == GENERATIVE)
    lines = ["## What fine-tuning cost", "",
             "| checkpoint | medical-exam accuracy | general accuracy | retention | domain gain |",
             "|---|---:|---:|---:|---:|"]
    tasks = _mcq_tasks(summary)
    unscored = [n for n, info in summary["checkpoints"].items() if not any(t in info["tasks"] for t in tasks)]
    for name, row in rows.items():
        if name in unscored:
            continue
        is_base = name == summary["base"]
        lines.append(f"| {name} | {_num(row.get('medical'), base.get('medical'), not is_base)} | "
                     f"{_num(row.get('general'), base.get('general'), not is_base)} | {_num(row.get('retention'))} | "
                     f"{'—' if is_base else _num(row.get('domain_gain'))} |")
    lines += ["", "Accuracy: correct items / items over every scored multiple-choice item of the group (medical: the "
              "exam and medicine subjects; general: the retention check). Retention: general accuracy as a "
              f"percentage of `{summary['base']}`'s (100 = nothing forgotten). Domain gain: the mean change vs the base "
              f"of {primaries or 'the generative tasks'} (points). Scoring: "
              f"{summary['settings'].get('multiple_choice', '')}; a random guess scores 25 on 4 options, 20 on 5."
              + (f" Not scored on the benchmarks: {', '.join(unscored)} (see their 'scored on' column)." if unscored
                 else ""), ""]
    return "\n".join(lines) + "\n" + subject_tables(summary)


def subject_tables(summary: dict) -> str:
    """Per benchmark: subjects (CMB: exam_type) x checkpoints."""
    parts = []
    names = list(summary["checkpoints"])
    for task in _mcq_tasks(summary):
        scored = [n for n in names if task in summary["checkpoints"][n]["tasks"]]
        if not scored:
            continue
        key = "per_exam_type" if task == "cmb" else "per_subject"
        rows = {}
        for n in scored:
            for label, m in summary["checkpoints"][n]["tasks"][task].get(key, {}).items():
                rows.setdefault(label, {})[n] = m
                for exam_class, acc in m.get("per_exam_class", {}).items():  # CMB: its classes under each type
                    rows.setdefault(f"{label} / {exam_class}", {})[n] = {"accuracy": acc}
        lines = [f"#### {task} per {'exam_type (the mean of its exam_class accuracies) and exam_class' if task == 'cmb' else 'subject'}",
                 "", "| " + ("exam_type" if task == "cmb" else "subject") + " | " + " | ".join(scored) + " |",
                 "|---|" + "---:|" * len(scored)]
        for label, by_name in rows.items():
            cells = [_num(by_name[n]["accuracy"]) if n in by_name else "—" for n in scored]
            n_items = next((m.get("n") for m in by_name.values() if m.get("n")), None)
            lines.append(f"| {label}{f' (n={n_items})' if n_items else ''} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n" if parts else ""


def draw_tradeoff(ax, summary: dict) -> None:
    """Domain gain (x) against general-accuracy change (y), one point per checkpoint, the base at the origin."""
    rows = cost_rows(summary)
    base = rows.get(summary["base"], {})
    ax.axhline(0, color="gray", lw=0.8)
    ax.axvline(0, color="gray", lw=0.8)
    ax.scatter([0], [0], marker="*", s=160, color="black", zorder=3)
    ax.annotate(summary["base"], (0, 0), textcoords="offset points", xytext=(6, 6), fontsize=8)
    for name, row in rows.items():
        if name == summary["base"] or row.get("general") is None or base.get("general") is None:
            continue
        x, y = row.get("domain_gain") or 0.0, row["general"] - base["general"]
        ax.scatter([x], [y], s=40, zorder=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel("domain gain (points, mean of primary metrics)")
    ax.set_ylabel("general accuracy change (points)")
    ax.set_title("what fine-tuning cost")
    ax.grid(alpha=0.3)
