"""Recognising degenerate outputs."""

import json

import pytest

from eval.degenerate import degenerate_reason, repeated_tail


@pytest.mark.parametrize("text, looped", [
    ("好的" * 20, True),
    ("x" * 32, True),
    ("x" * 31, False),  # too short to call it a loop
    ("哈哈哈哈", False),
    ("前面都正常。" + "我不知道。" * 8 + "我不", True),  # the last repetition cut short
    ("您好,这种情况要考虑湿疹。建议保持皮肤清洁湿润,如果症状加重请及时就医。", False),
    (json.dumps({"主诉": "咳嗽三天。", "现病史": "", "辅助检查": "", "既往史": "", "诊断": "感冒。", "建议": "多喝水。"},
                ensure_ascii=False, indent=2), False),
    ("", False),
])
def test_repeated_tail(text, looped):
    assert repeated_tail(text) is looped


def test_degenerate_reason_priority():
    assert degenerate_reason("  \n", "length") == "empty"
    assert degenerate_reason("啊" * 40, "length") == "repetition"
    assert degenerate_reason("正常回答", "length") == "truncated"
    assert degenerate_reason("正常回答", "stop") is None
    assert degenerate_reason("正常回答", None) is None  # unknown finish (other tools' files)
