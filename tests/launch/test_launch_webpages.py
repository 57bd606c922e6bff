"""The web pages' pieces without a browser: the chat page is labelled before any event runs (LLaMA-Factory's
demo labels only on a language change that never comes), its send handler keeps the serving bounds, WEBUI_LANG
is checked, and our model names are in LLaMA-Factory's registry for the web UI. tests/browser/ looks at the
pages themselves."""

from __future__ import annotations

import pytest
import yaml

import launch
from contract.models import TINY_MODEL, TINY_MODEL_NAME
from contract.serving import serve_limits
from launch.errors import LaunchError
from launch.plan import seed_webui_config
from launch.webchat import TEXTS, ChatSession, create_chat_page, load_chat_model
from launch.webserve import LangError, parse_lang, register_our_models
from tests.launch.conftest import base_environ


@pytest.fixture(scope="module")
def chat_config():
    return launch.build("webchat", "base", profile="tiny", environ=base_environ()).config


@pytest.fixture(scope="module")
def session(chat_config):
    return ChatSession(load_chat_model(chat_config), serve_limits({"SERVE_MAX_INPUT_CHARS": "200",
                                                                   "SERVE_MAX_NEW_TOKENS": "8"}))


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_chat_page_is_labelled_before_any_event(session, chat_config, lang):
    config = create_chat_page(session, chat_config, lang).get_config_file()
    shown = {c["props"].get("label") or c["props"].get("value") for c in config["components"]}
    texts = TEXTS[lang]
    assert {texts[k] for k in ("chatbot", "query", "system", "max_new_tokens", "temperature", "top_p", "send",
                               "clear", "settings")} <= shown
    assert not {c["type"] for c in config["components"]} & {"image", "video", "audio", "file", "dropdown"}
    events = {event for dependency in config["dependencies"] for _, event in dependency["targets"]}
    assert "load" not in events and {"click", "submit"} <= events  # nothing relabels the page after it shows
    system = next(c["props"]["value"] for c in config["components"] if c["props"].get("label") == texts["system"])
    assert system == chat_config["default_system"]  # the recipe's prompt, as LLaMA-Factory will use it
    sliders = {c["props"]["label"]: c["props"] for c in config["components"] if c["type"] == "slider"}
    assert sliders[texts["max_new_tokens"]]["maximum"] == 8 and sliders[texts["max_new_tokens"]]["value"] == 8
    assert sliders[texts["temperature"]]["value"] == chat_config["temperature"]  # the recipe's, not LF's 0.95
    assert sliders[texts["top_p"]]["value"] == chat_config["top_p"]


def _last(gen):
    *_, last = gen
    return last


@pytest.mark.slow
def test_send_answers_within_the_bounds(session):
    texts = TEXTS["en"]
    history, box, notice = _last(session.reply("我头痛两天了", [], 4, 0.7, 0.8, texts))
    assert notice == "" and box == ""
    assert [m["role"] for m in history] == ["user", "assistant"] and history[-1]["content"]
    history, box, notice = _last(session.reply("x" * 201, [], 4, 0.7, 0.8, texts))
    assert notice.startswith("Not sent: The messages are 201 characters; this server accepts at most 200")
    assert box == "x" * 201 and history == []  # the question stays in its box, nothing was generated
    assert _last(session.reply("hi", [], 9, 0.7, 0.8, texts))[2] == ("Not sent: max_tokens must be from 1 to 8 on "
                                                                     "this server (SERVE_MAX_NEW_TOKENS), not 9.")
    not_a_count = _last(session.reply("hi", [], float("nan"), 0.7, 0.8, texts))[2]
    assert "max_tokens must be a whole number from 1 to 8, not nan" in not_a_count
    assert "temperature must be a number from 0.01 to 1.5" in _last(session.reply("hi", [], 4, "hot", 0.8, texts))[2]
    assert "top_p must be a number" in _last(session.reply("hi", [], 4, 0.7, 7, texts))[2]
    assert _last(session.reply("   ", [], 4, 0.7, 0.8, texts))[2] == texts["empty"]
    # history counts: an earlier long turn makes the next short question too much
    long_turn = [{"role": "user", "content": "y" * 150}, {"role": "assistant", "content": "z" * 49}]
    assert "The messages are 201 characters" in _last(session.reply("ab", long_turn, 4, 0.7, 0.8, texts))[2]
    empty_turns = [{"role": role, "content": ""} for role in ("user", "assistant") * 100]  # a forged history
    assert "The messages are 201 characters" in _last(session.reply("x", empty_turns, 4, 0.7, 0.8, texts))[2]
    assert session.chat_model.engine.generating_args["max_time"] == session.limits.timeout_s  # the deadline


def test_webui_lang_is_checked_before_anything_starts():
    assert parse_lang(None) is None and parse_lang(" EN ") == "en" and parse_lang("zh") == "zh"
    with pytest.raises(LangError, match="WEBUI_LANG='fr' is not a language the web pages have; use one of zh, en"):
        parse_lang("fr")
    for command, target in (("webchat", "base"), ("webui", None)):
        with pytest.raises(LaunchError, match="WEBUI_LANG='klingon'"):
            launch.build(command, target, profile="tiny", environ=base_environ(WEBUI_LANG="klingon"))


def test_webui_seed_sets_the_language_and_a_relative_model_path(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / TINY_MODEL_NAME).symlink_to(TINY_MODEL)
    plan = launch.build("webui", profile="tiny", environ=base_environ())
    plan.cwd = tmp_path
    seeded = yaml.safe_load(seed_webui_config(plan).read_text())
    assert seeded["lang"] == "zh" and seeded["last_model"] == TINY_MODEL_NAME
    assert seeded["path_dict"][TINY_MODEL_NAME] == f"models/{TINY_MODEL_NAME}"  # as typed, from where it runs
    english = launch.build("webui", environ=base_environ(WEBUI_LANG="en"))
    english.cwd = tmp_path
    reseeded = yaml.safe_load(seed_webui_config(english).read_text())
    assert reseeded["lang"] == "en" and reseeded["last_model"] == TINY_MODEL_NAME  # only the language changed
    untouched = launch.build("webui", environ=base_environ())
    untouched.cwd = tmp_path
    assert seed_webui_config(untouched) is None  # no profile, no WEBUI_LANG: the user's choices stay


def test_our_model_names_are_in_llamafactorys_registry(tmp_path, monkeypatch):
    from llamafactory.extras.constants import SUPPORTED_MODELS
    from llamafactory.webui.common import get_model_path, get_template

    monkeypatch.chdir(tmp_path)  # no user config: the registry's own answer
    register_our_models()
    register_our_models()  # twice is harmless
    assert TINY_MODEL_NAME in SUPPORTED_MODELS and get_template(TINY_MODEL_NAME) == "qwen"
    assert get_model_path(TINY_MODEL_NAME) == str(TINY_MODEL)
    assert get_template("Qwen2.5-0.5B-Instruct") == "qwen"  # LLaMA-Factory's own entry is left as it was
