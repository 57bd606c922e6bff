"""What happened to every raw record: per-split tallies (read == written + skipped by reason) and a dataset's
prepared splits. Files are written through contract.files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_SKIP_EXAMPLES = 5


@dataclass
class Tally:
    """What happened to every raw record of one output split: read == written + sum(skipped)."""

    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, record_id: str = "", n: int = 1) -> None:
        self.skipped[reason] += n
        if record_id and len(self.examples.setdefault(reason, [])) < MAX_SKIP_EXAMPLES:
            self.examples[reason].append(record_id)


@dataclass
class SplitResult:
    """One dataset prepared: its train and test records, the tally of each, and facts about the sources."""

    train: list[dict]
    test: list[dict]
    train_tally: Tally
    test_tally: Tally
    info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # for the manifest's notes (e.g. a test split cut short)
