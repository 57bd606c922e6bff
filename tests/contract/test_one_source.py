"""Issue 10's floors and its one-source rule: contract imports none of data_prep/launch/eval, they import it and
never each other, nothing below imports scripts/ or bench/ (the top floor), those never import each other, no
file edits sys.path (issue 18), and no package, script or benchmark spells a shared fact itself:
`python tests/contract/shared_literals.py data_prep launch eval scripts bench` lists any copy; ALLOWED_COPIES
names the few that must stay, each with its reason."""

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


TOP_FLOOR = ("scripts", "bench")  # run as files; they import the packages, never each other


def test_nothing_below_imports_the_top_floor():
    top = set(TOP_FLOOR) | {p.stem for folder in TOP_FLOOR for p in python_files(ROOT / folder)}
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for package in PACKAGES
             for path in python_files(ROOT / package) for name in sorted(imported_packages(path) & top)]
    assert not wrong, "\n".join(wrong)


def test_no_script_or_benchmark_imports_another():
    """What two command lines share lives in a package: scripts/ and bench/ files import none of their kind."""
    top = {p.stem for folder in TOP_FLOOR for p in python_files(ROOT / folder)}
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for folder in TOP_FLOOR
             for path in python_files(ROOT / folder) for name in sorted(imported_packages(path) & top)]
    assert not wrong, "\n".join(wrong)


def sys_path_edits(path: Path) -> list[int]:
    """Lines of `path` that touch sys.path (insert, append, assignment ...): any use of the attribute."""
    return sorted(node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(node, ast.Attribute) and node.attr == "path"
                  and isinstance(node.value, ast.Name) and node.value.id == "sys")


def test_no_python_file_edits_sys_path():
    """The packages come from the editable install and `tests.*` from pytest's pythonpath: nothing in the repo
    reaches into another folder through sys.path."""
    files = [p for folder in (*PACKAGES, *TOP_FLOOR, "tests") for p in python_files(ROOT / folder)]
    wrong = [f"{path.relative_to(ROOT)}:{line}" for path in files for line in sys_path_edits(path)]
    assert not wrong, "sys.path edited at " + ", ".join(wrong)


def test_the_sys_path_guard_can_fail(tmp_path):
    source = tmp_path / "edit.py"
    source.write_text("import sys\nsys.path.insert(0, 'x')\nsys.path = []\nos.path.join('a')\n", encoding="utf-8")
    assert sys_path_edits(source) == [2, 3]


# (file, fact) -> why that literal stays (a copy here is not a second statement of the contract's fact)
ALLOWED_COPIES = {
    ("bench/prep.py", "split name dialog_train"):
        "SEED_SCRIPT quotes the seed recipe's preparation code as written, its own output file name included",
    ("scripts/demo.py", "model tiny-gpt2"):
        "`make tiny-gpt2`: the Makefile target that builds the tiny GPT-2 folders, named in an error message",
    ("launch/triage_bert.py", "model tiny-gpt2"):
        "`make tiny-gpt2`: the Makefile target that builds models/tiny-bert-vocab, named in an error message",
}


def copies_in(folder: str) -> set[tuple[str, str]]:
    """(file, fact) of every copy under `folder`."""
    return {(where.rsplit(":", 1)[0], fact) for where, fact in (line.split(": ", 1) for line in scan([ROOT / folder]))}


@pytest.mark.parametrize("package", ["data_prep", "launch", "eval", *TOP_FLOOR])
def test_package_copies_no_shared_fact(package):
    """data_prep writes through the contract; launch, eval, the scripts and the benchmarks read through it: none
    spells a shared fact itself, except the allowed copies."""
    found = copies_in(package)
    assert found - set(ALLOWED_COPIES) == set()
    assert {key for key in ALLOWED_COPIES if key[0].startswith(f"{package}/")} <= found  # no stale allowance


def test_eval_scores_every_task_the_contract_prepares():
    from contract import datasets
    from eval.tasks import TASKS

    assert set(TASKS) == set(datasets.TASKS) | set(datasets.MCQ)  # the SFT tasks and the multiple-choice benchmarks


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
