"""Issue 10's floors and its one-source rule: contract imports none of data_prep/launch/eval, they import it and
never each other, and data_prep and launch spell no shared fact themselves (the list for eval/bench/scripts is
`python tests/contract/shared_literals.py eval bench scripts`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.shared_literals import ROOT, python_files, scan

PACKAGES = ("contract", "data_prep", "launch", "eval")
ALLOWED = {  # package -> the other packages it may import
    "contract": set(),
    "data_prep": {"contract"},
    "launch": {"contract"},
    "eval": {"contract"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every absolute import in `path`, nested imports included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_floors(package):
    wrong = [f"{path.relative_to(ROOT)} imports {other}"
             for path in python_files(ROOT / package)
             for other in sorted(imported_packages(path) & (set(PACKAGES) - {package} - ALLOWED[package]))]
    assert not wrong, "\n".join(wrong)


def test_importing_the_contract_loads_no_package_above_it():
    modules = [p.stem for p in python_files(ROOT / "contract") if p.stem != "__init__"]
    code = (f"import sys\nfor m in {modules!r}: __import__('contract.' + m)\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'data_prep', 'launch', 'eval'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["data_prep", "launch"])
def test_package_copies_no_shared_fact(package):
    """data_prep writes through the contract and launch reads through it: neither spells a shared fact itself."""
    assert scan([ROOT / package]) == []


def test_the_scan_finds_every_kind_of_copy_and_skips_docstrings(tmp_path):
    """The guard above can fail: each kind of copy in a file is reported with its line."""
    source = tmp_path / "copies.py"
    source.write_text('"""dataset_info.json and med_dialog in a docstring are prose."""\n'
                      'INFO = "dataset_info.json"\n'
                      'NAMES = ["med_dialog", "med_qa_test"]\n'
                      'FILE = f"{root}/dialog_test.jsonl"\n'
                      'MODEL = "models/tiny-qwen2"\n'
                      'FIELDS = ("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议")\n'
                      'PROMPT = "分为主诉, 现病史, 辅助检查, 既往史, 诊断, 建议这六个章节"\n'
                      'ENV = {"HF_HUB_OFFLINE": "1"}\n'
                      'FINE = ["med_dialogue", "tiny-qwen2-large", "dialog_trainer", "诊断"]\n', encoding="utf-8")
    found = {line.split(": ", 1)[0].rsplit(":", 1)[1] + " " + line.split(": ", 1)[1] for line in scan([tmp_path])}
    assert found == {"2 file name dataset_info.json", "3 dataset name med_dialog", "3 dataset name med_qa_test",
                     "4 split name dialog_test", "5 model tiny-qwen2", "6 the six report fields",
                     "7 the six report fields", "8 offline variable HF_HUB_OFFLINE"}
