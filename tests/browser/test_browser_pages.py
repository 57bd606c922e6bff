"""The web UI and the web chat as a person sees them, in headless Chromium on loopback.

One real tiny LoRA run (seconds) is trained into a scratch saves/ folder; `make webui PROFILE=tiny` is started
there (as the launcher would: seeded user config, same command and environment) and `make webchat` over that
run with a login. Each page is loaded, left to settle, read as a person reads it, and screenshotted to
reports/browser/ (docs/img/ holds copies for docs/serving.md)."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
import yaml

import launch
from contract.models import BASE_MODEL_ID, BASE_MODEL_NAME, TINY_MODEL, TINY_MODEL_NAME
from launch.plan import seed_webui_config
from tests.browser.conftest import error_badges, page_errors, screenshot, settled, visible_texts, wait_for
from tests.launch.conftest import Server, base_environ, group_alive, http, port_closed

pytestmark = pytest.mark.slow

QUESTION = "主题:头痛\n内容:我头痛两天了，需要去医院吗？"
DISCLAIMER = "你的回答仅供参考，不能替代医生面诊。"  # the end of the chat recipe's system prompt
LOGIN = ("ann", "pw-s3cret")
GENERIC_LABELS = {"Dropdown", "Slider", "Checkbox", "Textbox", "Run", "Image", "Video", "Audio"}
MAX_CHARS, MAX_NEW_TOKENS = 400, 16  # the web chat's bounds in this test (SERVE_*), small enough to reach


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, prepared_data):
    """A folder holding saves/tiny-qwen2/lora/sft: a real 4-step LoRA run of the tiny profile."""
    work = tmp_path_factory.mktemp("webpages")
    run_dir = work / "saves" / TINY_MODEL_NAME / "lora" / "sft"
    plan = launch.build("train", "lora", {"dataset_dir": str(prepared_data), "output_dir": str(run_dir),
                                          "max_samples": 40}, "tiny", environ=base_environ())
    assert launch.run(plan, in_process=True) == 0
    assert (run_dir / "adapter_model.safetensors").is_file()
    (work / "models").mkdir()
    (work / "models" / TINY_MODEL_NAME).symlink_to(TINY_MODEL)  # the repo's layout: saves/ beside models/
    return work


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    """Two distinct free loopback ports, for the web UI and the web chat: both servers start at once, and two
    separate free_port() calls can return the same port while neither server has bound it yet."""
    with socket.socket() as first, socket.socket() as second:
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        return first.getsockname()[1], second.getsockname()[1]


class PageServer(Server):
    """A launcher plan's server started the way launch.run starts it, but in `cwd` (the scratch folder)."""

    def __init__(self, plan, log):
        self.log = log
        self.handle = open(log, "wb")
        self.proc = subprocess.Popen(plan.argv, env=plan.env_for_child(), cwd=plan.cwd, stdout=self.handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)


def start(server: Server, port: int) -> str:
    url = f"http://127.0.0.1:{port}/"
    server.wait_until(lambda: http("GET", url, timeout=5)[0] == 200, timeout=240)
    return url


def read_webui(driver, model_name: str, model_path: str, run: str) -> list[str]:
    """Wait for the web UI to show `model_name` with `model_path` and settle; check what a person reads; open the
    checkpoint box as a person would, wait for `run` in it (the list fills in after the model's events) and
    return the runs it lists."""
    wait_for(driver, lambda: "检查点路径" in visible_texts(driver, "label, span"), what="the web UI's labels")
    wait_for(driver, lambda: model_path in {e.get_attribute("value") for e in driver.find_elements("css selector",
                                                                                                  "textarea")},
             what=f"{model_name}'s path, filled in from its name")
    wait_for(driver, lambda: settled(driver), what="the web UI settling")
    labels = set(visible_texts(driver, "label, span[data-testid='block-info']"))
    assert {"语言", "模型名称", "模型路径", "微调方法", "检查点路径", "对话模板"} <= labels, labels
    assert not error_badges(driver), error_badges(driver)
    values = {e.get_attribute("value") for e in driver.find_elements("css selector", "input")}
    assert {model_name, "lora", "qwen"} <= values, values  # model name, method, chat template
    driver.find_element("xpath", "//*[normalize-space(text())='检查点路径']/following::input[1]").click()
    wait_for(driver, lambda: run in visible_texts(driver, "ul.options li"), what=f"{run} in the checkpoint list")
    runs = visible_texts(driver, "ul.options li")
    assert not error_badges(driver), error_badges(driver)
    assert not page_errors(driver), page_errors(driver)  # only the offline CDN requests failed
    return runs


def test_webui_lists_the_runs_of_the_preselected_model(webchat_server, browser, workdir, ports, tmp_path):
    # webchat_server: the chat page boots in the background meanwhile (both spend their start importing)
    port = ports[0]
    plan = launch.build("webui", profile="tiny", environ=base_environ(PORT=str(port), BROWSER="true"))
    plan.cwd = workdir  # LLaMA-Factory's web UI reads ./saves and ./llamaboard_cache
    seed_webui_config(plan)
    server = PageServer(plan, tmp_path / "webui.log")
    try:
        browser.get(start(server, port))
        assert read_webui(browser, TINY_MODEL_NAME, f"models/{TINY_MODEL_NAME}", "sft") == ["sft"]
        screenshot(browser, "webui")
        # a first `make webui` without the profile: Qwen2.5-0.5B-Instruct and its saves/ runs (the web UI reads
        # its user config on every page load; the run is the tiny one's files, enough for the listing)
        (workdir / "llamaboard_cache" / "user_config.yaml").unlink()
        shutil.copytree(workdir / "saves" / TINY_MODEL_NAME, workdir / "saves" / BASE_MODEL_NAME)
        default = launch.build("webui", environ=base_environ())
        default.cwd = workdir
        seeded = yaml.safe_load(seed_webui_config(default).read_text())
        browser.get(f"http://127.0.0.1:{port}/")
        path = seeded["path_dict"].get(BASE_MODEL_NAME, BASE_MODEL_ID)  # the hub id until `make model`
        assert read_webui(browser, BASE_MODEL_NAME, path, "sft") == ["sft"]
        screenshot(browser, "webui-default")
    finally:
        server.stop()
    assert not group_alive(server.proc.pid) and port_closed(port)
    log = server.log.read_text()
    assert "not in the list of choices" not in log and "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="module")
def webchat_server(workdir, ports, tmp_path_factory):
    """`make webchat ARGS=lora PROFILE=tiny` over the tiny run, with a login and small request bounds (started,
    not yet waited for)."""
    port = ports[1]
    env = base_environ(PORT=str(port), WEBUI_AUTH=":".join(LOGIN), BROWSER="true",
                       SERVE_MAX_INPUT_CHARS=str(MAX_CHARS), SERVE_MAX_NEW_TOKENS=str(MAX_NEW_TOKENS))
    adapter = workdir / "saves" / TINY_MODEL_NAME / "lora" / "sft"
    server = Server(["webchat", "lora", "--profile", "tiny", f"adapter_name_or_path={adapter}"], env,
                    tmp_path_factory.mktemp("webchat") / "webchat.log")
    try:
        yield server, port
    finally:
        server.stop()
    assert not group_alive(server.proc.pid) and port_closed(port)
    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]


@pytest.fixture
def webchat(webchat_server) -> str:
    return start(*webchat_server)


def log_in(driver, url: str, user: str, password: str) -> None:
    driver.get(url)
    fields = wait_for(driver, lambda: [e for e in driver.find_elements("css selector", "input") if e.is_displayed()],
                      what="the login form")
    fields[0].send_keys(user)
    driver.find_element("css selector", "input[type='password']").send_keys(password)
    next(b for b in driver.find_elements("css selector", "button") if b.text.strip() == "Login").click()


def test_webchat_refuses_a_wrong_login_in_the_browser(browser, webchat):
    log_in(browser, webchat, LOGIN[0], "wrong-password")
    wait_for(browser, lambda: "Incorrect Credentials" in browser.page_source, what="the refusal")
    assert "发送" not in visible_texts(browser, "button")  # still the login form, no chat
    assert "WEBUI_AUTH" in browser.page_source  # our login message says which login
    assert not page_errors(browser, allowed=("/login - Failed to load resource: the server responded with a "
                                             "status of 400",))
    screenshot(browser, "webchat-login-refused")


def test_webchat_is_labelled_and_answers(browser, webchat):
    log_in(browser, webchat, *LOGIN)
    wait_for(browser, lambda: "发送" in visible_texts(browser, "button"), what="the chat page after the login")
    wait_for(browser, lambda: settled(browser), what="the chat page settling")
    labels = set(visible_texts(browser, "label, span[data-testid='block-info'], button"))
    assert {"对话", "您的问题", "系统提示词（来自配方）", "最大生成长度（token）", "温度", "Top-p 采样", "发送",
            "清空对话"} <= labels, labels
    assert not labels & GENERIC_LABELS, labels & GENERIC_LABELS  # nothing left with gradio's placeholder name
    assert "医疗问诊助手" in browser.title
    page = browser.find_element("css selector", "body").text
    assert "适配器: saves/tiny-qwen2/lora/sft" in page and "微型模型" in page  # which run, and what to expect
    system = browser.find_element("css selector", "#system textarea").get_attribute("value")
    assert system.endswith(DISCLAIMER) and "医疗问诊助手" in system
    assert not browser.find_elements("css selector", "input[type='file']")  # a text model: no media uploads
    tokens = browser.find_element("xpath", "//*[normalize-space(text())='最大生成长度（token）']/following::input[1]")
    assert tokens.get_attribute("value") == str(MAX_NEW_TOKENS)  # the tiny profile's 32, capped by the bound
    assert not error_badges(browser)

    browser.find_element("css selector", "#query textarea").send_keys(QUESTION)
    browser.find_element("css selector", "#send").click()
    bot = "#chatbot [data-testid='bot']"
    answer = wait_for(browser, lambda: settled(browser) and visible_texts(browser, bot), timeout=120,
                      what="the answer")
    assert answer[-1], answer
    assert "头痛两天" in " ".join(visible_texts(browser, "#chatbot [data-testid='user']"))
    assert browser.find_element("css selector", "#query textarea").get_attribute("value") == ""
    assert not error_badges(browser), error_badges(browser)
    assert not page_errors(browser), page_errors(browser)
    screenshot(browser, "webchat")

    # a follow-up that takes the conversation past SERVE_MAX_INPUT_CHARS is refused with a sentence
    browser.find_element("css selector", "#query textarea").send_keys("我还想问" * 90)
    browser.find_element("css selector", "#send").click()
    notice = wait_for(browser, lambda: " ".join(visible_texts(browser, "#notice")), what="the refusal notice")
    assert notice.startswith("未发送：The messages are") and f"at most {MAX_CHARS}" in notice, notice
    assert len(visible_texts(browser, bot)) == 1  # nothing was generated for it
