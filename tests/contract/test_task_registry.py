"""The task registries are the only place the pipelines learn about tasks: data_prep's pipeline and command line
and eval's runner, input checks and report name none (docstrings aside), and every registered task brings what its
pipeline asks of it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contract.datasets import TASKS
from data_prep import cli, pipeline
from data_prep.tasks import REGISTRY
from eval import inputs, report, runner
from eval.tasks import TASKS as EVAL_TASKS


def task_mentions(path: Path) -> list[str]:
    """Every string literal or name in the module that is a task's name or starts with one (norm_limit, "--norm")."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        words = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = node.value.replace("-", " ").replace("_", " ").split()
        elif isinstance(node, ast.Name | ast.Attribute):
            words = (node.id if isinstance(node, ast.Name) else node.attr).split("_")
        found += [f"line {node.lineno}: {w}" for w in words if w in TASKS]
    return found


@pytest.mark.parametrize("module", [pipeline, cli, runner, inputs, report],
                         ids=["data_prep.pipeline", "data_prep.cli", "eval.runner", "eval.inputs", "eval.report"])
def test_the_pipelines_name_no_task(module):
    assert task_mentions(Path(module.__file__)) == []


def test_the_mention_guard_can_fail(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""norm: a docstring"""\nx = args.norm_limit\ny = "--mrg"\nz = "fine"\n'
                      'def f():\n    """mrg"""\n    return "triage"\n', encoding="utf-8")
    assert task_mentions(source) == ["line 2: norm", "line 3: mrg", "line 7: triage"]


def test_every_task_is_registered_with_what_the_pipeline_needs():
    assert tuple(REGISTRY) == TASKS and set(TASKS) <= set(EVAL_TASKS)  # each prepared task is scored
    parser = cli.build_parser()
    options = {a.dest for a in parser._actions}
    for name, task in REGISTRY.items():
        assert task.name == name and name in options  # --<name> PATH comes from the task's add_arguments
        assert callable(task.find) and callable(task.prepare) and callable(task.source_info)
