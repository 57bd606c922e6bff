"""Find the published raw files by name anywhere below a folder (covers the seed's download layout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
DIALOG_JSON = "train_0001_of_0001.json"
TOYHOM_HEADER = b"department,title,ask,answer"
NORM_FILES = ("train.xlsx", "val.xlsx", "answer.xlsx")
MRG_FILES = ("IMCS-V2_train.json", "IMCS-V2_dev.json")
QA_FILES = ("train.txt", "medical_train.txt")  # seed 000: Gpt2_Chatbot/data/train.txt


@dataclass
class Found:
    dialog: Path | list[Path] | None = None
    norm: Path | None = None
    mrg: Path | None = None
    triage: list[Path] | None = None  # Toyhom CSVs: their department folders and column are the labels
    qa: Path | None = None
    notes: list[str] = field(default_factory=list)


def _sorted_files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith(("~$", ".")))


def is_toyhom_csv(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf")
    return head.replace(b" ", b"").startswith(TOYHOM_HEADER)


def toyhom_csvs(folder: Path) -> list[Path]:
    return [p for p in _sorted_files(folder, "*.csv") if is_toyhom_csv(p)]


def discover(raw_dir: Path) -> Found:
    found = Found()
    jsons = _sorted_files(raw_dir, DIALOG_JSON)
    csvs = toyhom_csvs(raw_dir)
    if jsons:
        found.dialog = jsons[0]
        if len(jsons) > 1:
            found.notes.append(f"dialog: {len(jsons)} copies of {DIALOG_JSON}; using {jsons[0]}")
        if csvs:
            found.notes.append(f"dialog: using the JSON; {len(csvs)} Toyhom CSV file(s) also found, read for triage only")
    elif csvs:
        found.dialog = csvs
    found.triage = csvs or None
    found.norm = _complete_folder(raw_dir, "norm", NORM_FILES[:2], found.notes)
    found.mrg = _complete_folder(raw_dir, "mrg", MRG_FILES, found.notes)
    qas = [p for name in QA_FILES for p in _sorted_files(raw_dir, name)]
    if qas:
        found.qa = qas[0]
        if len(qas) > 1:
            found.notes.append(f"qa: {len(qas)} files named {' or '.join(QA_FILES)}; using {qas[0]}")
    return found


def _complete_folder(raw_dir: Path, dataset: str, names: tuple[str, ...], notes: list[str]) -> Path | None:
    """The first folder holding all of `names` (train and test source side by side); a folder holding only
    some of them is reported and left out, like a dataset that is absent."""
    # folders named like a raw file count too, so that the note can say what is wrong with them
    folders = sorted({p.parent for name in names for p in raw_dir.rglob(name) if p.is_file() or p.is_dir()})
    complete = [d for d in folders if all((d / name).is_file() for name in names)]
    for partial in (d for d in folders if d not in complete):
        missing = [name + (" (a folder of that name)" if (partial / name).is_dir() else "")
                   for name in names if not (partial / name).is_file()]
        notes.append(f"{dataset}: {partial} lacks {', '.join(missing)}; left out (pass --{dataset} to use it)")
    return complete[0] if complete else None


def dialog_source(path: Path) -> Path | list[Path]:
    """`--dialog` accepts the JSON file, one CSV, or a folder holding Toyhom CSVs (or the JSON)."""
    if path.is_dir():
        jsons = _sorted_files(path, DIALOG_JSON)
        if jsons:
            return jsons[0]
        return _sorted_files(path, "*.csv")  # asked for explicitly: a CSV with a wrong header is an error
    return path
