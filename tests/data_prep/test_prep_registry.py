"""The task registry is the only place the pipeline and the command line learn about tasks: neither names one, and
every registered task brings what the pipeline asks of it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contract.datasets import TASKS
from data_prep import cli, pipeline
from data_prep.tasks import REGISTRY


def task_mentions(path: Path) -> list[str]:
    """Every string literal or name in the module that is a task's name or starts with one (norm_limit, "--norm")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        words = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = node.value.replace("-", " ").replace("_", " ").split()
        elif isinstance(node, ast.Name | ast.Attribute):
            words = (node.id if isinstance(node, ast.Name) else node.attr).split("_")
        found += [f"line {node.lineno}: {w}" for w in words if w in TASKS]
    return found


@pytest.mark.parametrize("module", [pipeline, cli], ids=["pipeline", "cli"])
def test_pipeline_and_cli_name_no_task(module):
    assert task_mentions(Path(module.__file__)) == []


def test_the_mention_guard_can_fail(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('x = args.norm_limit\ny = "--mrg"\nz = "fine"\n', encoding="utf-8")
    assert task_mentions(source) == ["line 1: norm", "line 2: mrg"]


def test_every_task_is_registered_with_what_the_pipeline_needs():
    assert tuple(REGISTRY) == TASKS
    parser = cli.build_parser()
    options = {a.dest for a in parser._actions}
    for name, task in REGISTRY.items():
        assert task.name == name and name in options  # --<name> PATH comes from the task's add_arguments
        assert callable(task.find) and callable(task.prepare) and callable(task.source_info)
