"""How many records a sampled test split takes (dialog, triage, qa: the tasks whose test set is drawn from the
same raw file; norm and mrg read their own test files).

The requested size (--dialog-test-size ...) is held out when at least as many records stay for training, as
on the bundled samples and any real download. A smaller file used to lose everything to test (seed 000's
five dialogues: four usable, all four held out, nothing to train on); now test is cut so training keeps the
requested number, but never below a fifth of the records, and training keeps at least one."""

from __future__ import annotations

TEST_SHARE_FLOOR = 5  # a small file still gives a fifth of its records to test (rounded down)


def test_count(usable: int, requested: int) -> int:
    """Records to hold out for test from `usable` records when `requested` were asked for."""
    if usable <= 0 or requested <= 0:
        return 0
    return min(requested, max(usable // TEST_SHARE_FLOOR, usable - requested))


def note(task: str, usable: int, requested: int, flag: str) -> str | None:
    """The manifest note saying what was done, when the test split got fewer records than asked for."""
    n = test_count(usable, requested)
    if usable <= 0 or n == requested:
        return None
    if n == usable // TEST_SHARE_FLOOR:
        return (f"{task}: only {usable} usable record(s), too few for {flag} {requested}: a fifth ({n}) held out "
                f"for test, {usable - n} kept for training")
    return (f"{task}: {usable} usable records: {n} held out for test instead of {flag} {requested}, so that "
            f"training keeps {usable - n}")
