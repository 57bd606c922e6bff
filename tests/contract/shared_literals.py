"""Find copies of a shared fact outside contract/: string literals (docstrings and comments aside) that spell a
file name, dataset or split name, model path or id, or the six report fields the contract states.

    python tests/contract/shared_literals.py launch eval bench scripts   # file:line: fact, for each copy

The facts are read from the contract itself, so a fact added there is guarded here without an edit.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from contract import datasets, env, models, paths

ROOT = Path(__file__).resolve().parents[2]


def facts() -> dict[str, re.Pattern]:
    """Fact name -> the pattern of its spelling inside a string literal (whole names only)."""
    names = {
        **{f"dataset name {n}": n for n in [*datasets.DATASETS.values(), *datasets.PRETRAIN]},
        **{f"split name {s}": s for s in [*datasets.DATASETS, *datasets.PRETRAIN.values()]},
        **{f"file name {f}": f for f in (paths.DATASET_INFO, paths.MANIFEST, paths.LAUNCH_CONFIG,
                                          datasets.TRIAGE_CLS_TRAIN, datasets.TRIAGE_CLS_TEST,
                                          datasets.TRIAGE_LABEL2IDX)},
        **{f"model {m}": m for m in (models.BASE_MODEL_ID, models.BASE_MODEL_NAME, models.GPT2_MODEL_ID,
                                     models.GPT2_MODEL_NAME, models.TINY_MODEL_NAME, models.TINY_GPT2_NAME,
                                     models.TINY_GPT2.name, models.TINY_GPT2_SCRATCH.name,
                                     models.TINY_BERT_VOCAB.name, models.TINY_BERT_NAME)},
        **{f"offline variable {v}": v for v in env.HUB_OFFLINE},
    }
    # a name is copied only where it stands alone: med_qa is not in med_qa_test, tiny-gpt2 not in tiny-gpt2-x
    return {fact: re.compile(rf"(?<![\w.-]){re.escape(text)}(?![\w-])") for fact, text in names.items()}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _report_fields(node: ast.AST) -> bool:
    """A tuple/list/set of the six report fields, or one string holding all six in order."""
    fields = datasets.REPORT_FIELDS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return set(fields) <= set(values)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.search(".*?".join(map(re.escape, fields)), node.value, re.S) is not None
    return False


def copies(path: Path) -> Iterator[tuple[int, str]]:
    """(line, fact) for each literal in `path` that copies a fact."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree)
    patterns = facts()
    for node in ast.walk(tree):
        if _report_fields(node) and id(node) not in skip:
            yield node.lineno, "the six report fields"
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        for fact, pattern in patterns.items():
            if pattern.search(node.value):
                yield node.lineno, fact


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts)


def scan(folders: list[Path]) -> list[str]:
    out = []
    for folder in folders:
        for path in python_files(folder):
            rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
            out += [f"{rel}:{line}: {fact}" for line, fact in sorted(set(copies(path)))]
    return out


if __name__ == "__main__":
    print("\n".join(scan([ROOT / a for a in sys.argv[1:]])))
