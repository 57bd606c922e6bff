"""The general:domain mix (issue 19): contract/mix.py's meaning of a ratio, and launch_config.yaml recording the mix
a run trains on (records of each kind, counted from the manifest), the same for a single run and a sweep's run."""

from __future__ import annotations

import pytest

import launch
from contract import mix
from contract.prepare import prepare_into
from data_prep.discover import SAMPLES_DIR
from data_prep.synthetic.general import ALPACA_FILE, FIREFLY_FILE, FOLDER, SHAREGPT_FILE

POOL = [SAMPLES_DIR / FOLDER / name for name in (ALPACA_FILE, SHAREGPT_FILE, FIREFLY_FILE)]


@pytest.mark.parametrize("text, ratio", [("1:1", (1.0, 1.0)), (" 2 : 1 ", (2.0, 1.0)), ("0:1", (0.0, 1.0)),
                                         ("1:0", (1.0, 0.0)), ("0.5:1", (0.5, 1.0))])
def test_parse_ratio(text, ratio):
    assert mix.parse_ratio(text) == ratio


@pytest.mark.parametrize("text", ["0:0", "1", "a:b", "-1:1", "1:1:1", "", "inf:1", "1e400:1"])
def test_bad_ratio_is_one_sentence(text):
    with pytest.raises(mix.RatioError, match="mixing ratio"):
        mix.parse_ratio(text)


def test_ratio_meaning():
    assert mix.parse_ratios("1:0,1:1,0:1") == [(1, 0), (1, 1), (0, 1)]
    with pytest.raises(mix.RatioError, match="twice"):
        mix.parse_ratios("1:1,2:2")
    assert mix.general_ratio((1, 1)) == 1 and mix.general_ratio((1, 2)) == 0.5
    assert mix.general_ratio((1, 0)) == 1  # general only, as many records as the domain set
    assert mix.general_ratio((0, 1)) is None
    assert mix.datasets((0, 1)) == ["med_dialog", "med_norm", "med_mrg"]
    assert mix.datasets((1, 0)) == ["med_general"]
    assert mix.datasets((1, 1)) == ["med_dialog", "med_norm", "med_mrg", "med_general"]
    assert mix.label((0.5, 1.0)) == "0.5:1" and mix.run_name((1.0, 0.0)) == "mix_1-0"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("mixed")
    args = ["--dialog-limit", "100", "--norm-limit", "100", "--mrg-limit", "100", "--general-ratio", "0.5"]
    prepare_into(out, tiny_model, [*args, *(a for p in POOL for a in ("--general", str(p)))])
    return out


def test_launch_config_records_the_mix(mixed):
    plan = launch.build("train", "lora", {"dataset_dir": str(mixed), "dataset": ",".join(mix.datasets((1, 2)))},
                        profile="tiny")
    assert "mix general:domain 150:300 records (0.50:1); data_prep --general-ratio 0.5" in plan.notes
    only_domain = launch.build("train", "lora", {"dataset_dir": str(mixed)}, profile="tiny")
    assert "mix general:domain 0:300 records (0.00:1)" in only_domain.notes


def test_interleaving_is_flagged_as_another_mix(mixed):
    plan = launch.build("train", "lora", {"dataset_dir": str(mixed), "dataset": "med_dialog,med_general",
                                          "mix_strategy": "interleave_under", "interleave_probs": "0.5,0.5"},
                        profile="tiny")
    note = next(n for n in plan.notes if n.startswith("mix "))
    assert "warning: mix_strategy interleave_under" in note
