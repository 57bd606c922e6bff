"""One evaluation run's options: the CLI and Python callers get the same defaults, and values that cannot work are
refused when the options are built (exit 2 from the CLI, before any model or test file is read)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval import EvalOptions
from eval.__main__ import build_parser, main, run_options
from eval.tasks import TASKS


def test_the_cli_defaults_are_the_options_defaults():
    assert run_options(build_parser().parse_args(["run"])) == EvalOptions()
    defaults = EvalOptions()
    assert (defaults.data_dir, defaults.out_dir, defaults.saves_dir) == (Path("data/sft"), Path("reports/eval"),
                                                                         Path("saves"))
    assert defaults.budget == {task: spec.max_new_tokens for task, spec in TASKS.items()}


def test_every_flag_reaches_its_option(tmp_path):
    argv = ["run", "--checkpoint", "a=x", "--checkpoint", "b=y", "--base", "m", "--saves", "s", "--tasks", "norm,mrg",
            "--limit", "3", "--data-dir", "d", "--out", str(tmp_path), "--batch-size", "5", "--max-new-tokens",
            "norm=7", "--backend", "transformers", "--device", "cpu", "--dtype", "float32", "--template", "default",
            "--system", "你好", "--bertscore-model", "bert", "--bertscore-layers", "2", "--mcq-style", "official",
            "--mcq-shots", "0", "--mcq-chat"]
    options = run_options(build_parser().parse_args(argv))
    assert options == EvalOptions(checkpoints={"a": "x", "b": "y"}, base="m", saves_dir=Path("s"), tasks="norm,mrg",
                                  limit=3, data_dir=Path("d"), out_dir=tmp_path, batch_size=5, max_new_tokens="norm=7",
                                  backend="transformers", device="cpu", dtype="float32", template="default",
                                  system="你好", bertscore_model="bert", bertscore_layers=2, mcq_style="official",
                                  mcq_shots=0, mcq_chat=True)
    assert options.checkpoint_specs() == ["a=x", "b=y"] and options.budget["norm"] == 7
    unset = {f.name for f in fields(EvalOptions) if f.init} - {"checkpoints"}
    assert all(getattr(options, name) != getattr(EvalOptions(), name) for name in unset)  # no flag went missing
    assert run_options(build_parser().parse_args(["run", "--run", "r1"])).out_dir == Path("reports/r1")


@given(budget=st.dictionaries(st.sampled_from(list(TASKS)), st.integers(0, 4096)))
def test_a_budget_as_text_or_mapping_overrides_only_the_tasks_it_names(budget):
    text = ",".join(f"{task}={n}" for task, n in budget.items())
    want = {task: budget.get(task, spec.max_new_tokens) for task, spec in TASKS.items()}
    assert EvalOptions(max_new_tokens=text).budget == EvalOptions(max_new_tokens=budget).budget == want


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "0"], "batch size must be >= 1, got 0"),
    (["--limit", "0"], "limit must be >= 1, got 0"),
    (["--max-new-tokens", "norm=x"], "--max-new-tokens 'norm=x': expected TASK=N pairs"),
    (["--max-new-tokens", "summary=8"], "--max-new-tokens 'summary=8': expected TASK=N pairs"),
])
def test_impossible_values_exit_2_before_anything_is_read(flags, message, tmp_path, capsys):
    missing = tmp_path / "no-data"  # neither the data nor the base model is looked at
    assert main(["run", "--data-dir", str(missing), "--base", str(tmp_path / "no-model"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and str(missing) not in err
    with pytest.raises(ValueError, match="must be >= 1|expected TASK=N"):
        EvalOptions(**{"batch_size": 0} if "batch" in message else {"limit": 0} if "limit" in message
                    else {"max_new_tokens": flags[1]})


def test_options_are_named_not_positional():
    with pytest.raises(TypeError):
        EvalOptions({"base": "m"})  # the 16 settings are keywords: no argument lands in the wrong one
