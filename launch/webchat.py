"""Our web chat page (`make webchat`): gradio's chat components over LLaMA-Factory's ChatModel.

LLaMA-Factory 0.9.5's own web demo (`llamafactory-cli webchat`, webui.interface.create_web_demo) cannot be
made right from outside with gradio 5.50: its components are built without labels and only get them when
the language dropdown changes, but that dropdown has no `value=None`, so gradio preselects "en", the load
event sets the same "en", no change fires and every control stays "Dropdown", "Slider", "Run"; it always
shows Image/Video/Audio uploads; its system box is empty (the recipe's prompt is applied but not shown); and
its sliders send LLaMA-Factory's own defaults (temperature 0.95, top_p 0.7, 1024 tokens) with every
question, overriding the recipe's. This page is built labelled, in WEBUI_LANG (zh by default), shows the
system prompt, has no media inputs (text only), starts its sliders at the recipe's settings, and applies
the API's request bounds (contract.serving: SERVE_MAX_INPUT_CHARS, SERVE_MAX_NEW_TOKENS, SERVE_TIMEOUT)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contract.models import TINY_GPT2_NAME, TINY_MODEL_NAME, max_positions
from contract.paths import SAVES_DIR
from contract.serving import ServeLimits

TEXTS = {
    "zh": {
        "title": "医疗问诊助手",
        "intro": "描述您的症状，助手会询问必要信息并给出建议。**回答仅供参考，不能替代医生面诊；"
                 "出现急症请立即就医。**",
        "model": "模型",
        "adapter": "适配器",
        "system": "系统提示词（来自配方）",
        "chatbot": "对话",
        "query": "您的问题",
        "placeholder": "例如：我头痛两天了，需要去医院吗？",
        "send": "发送",
        "clear": "清空对话",
        "settings": "生成设置",
        "max_new_tokens": "最大生成长度（token）",
        "temperature": "温度",
        "top_p": "Top-p 采样",
        "empty": "请先输入问题。",
        "refused": "未发送：",
        "login": "请输入 WEBUI_AUTH 设置的用户名和密码。",
        "tiny": "⚠️ 这是离线测试用的微型模型：回答没有医学意义，只证明整条流程能跑通。医疗问答请用真实模型（make model）。",
    },
    "en": {
        "title": "Medical consultation assistant",
        "intro": "Describe your symptoms; the assistant asks what it needs and gives advice. **Answers are for "
                 "reference only and do not replace a doctor; in an emergency seek care at once.**",
        "model": "Model",
        "adapter": "Adapter",
        "system": "System prompt (from the recipe)",
        "chatbot": "Conversation",
        "query": "Your question",
        "placeholder": "e.g. I have had a headache for two days; should I see a doctor?",
        "send": "Send",
        "clear": "Clear conversation",
        "settings": "Generation settings",
        "max_new_tokens": "Max new tokens",
        "temperature": "Temperature",
        "top_p": "Top-p",
        "empty": "Type a question first.",
        "refused": "Not sent: ",
        "login": "Log in with the user name and password set in WEBUI_AUTH.",
        "tiny": "⚠️ This is the offline tiny test model: its answers mean nothing medically and only prove the "
                "pipeline runs. Medical answers need the real model (make model).",
    },
}
TEMPERATURE = (0.01, 1.5)  # the sliders' ranges, checked again on the server
TOP_P = (0.01, 1.0)
QUEUE_SIZE = 16  # questions waiting for the one generation slot; more are told the queue is full


def load_chat_model(config: dict[str, Any]):
    """LLaMA-Factory's ChatModel for a resolved chat recipe (what `llamafactory-cli webchat` would load)."""
    from llamafactory.chat import ChatModel

    return ChatModel(dict(config))


class ChatSession:
    """One model's answers under the serving bounds; `reply` is the page's send handler."""

    def __init__(self, chat_model, limits: ServeLimits):
        engine = chat_model.engine
        self.chat_model = chat_model
        self.system = getattr(engine.template, "default_system", "") or ""
        generating = getattr(engine, "generating_args", {})
        config = getattr(getattr(engine, "model", None), "config", None)
        context = max_positions(config.to_dict()) if hasattr(config, "to_dict") else None
        self.limits = ServeLimits(limits.max_input_chars, limits.max_new_tokens, limits.timeout_s, context)
        self.tokenizer = getattr(engine, "tokenizer", None)
        if isinstance(generating, dict):
            generating["max_time"] = limits.timeout_s  # transformers stops the answer at the deadline
        self.defaults = {  # the recipe's sampling settings, as LLaMA-Factory parsed them
            "max_new_tokens": min(int(generating.get("max_new_tokens") or limits.max_new_tokens),
                                  limits.max_new_tokens),
            "temperature": float(generating.get("temperature", 0.7)),
            "top_p": float(generating.get("top_p", 0.8)),
        }

    def problem(self, messages: list[dict[str, str]], new_tokens: int,
                settings: tuple[tuple[str, object, tuple[float, float]], ...] = ()) -> str | None:
        """The bound a question breaks (a sentence), or None: characters first, before anything tokenizes;
        `settings`: (name, value, (lowest, highest)) for the sliders a client could send anything for."""
        texts = [m["content"] for m in messages]
        # an empty turn counts as one character, so a client cannot send a million of them for free
        problem = self.limits.check_chars(sum(max(len(text), 1) for text in texts))
        if problem:
            return problem
        for name, value, (low, high) in settings:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                return f"{name} must be a number from {low} to {high}, not {value!r:.40}."
        if self.tokenizer is not None and self.limits.context is not None:
            counted = sum(len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"])
            return self.limits.check_tokens(counted, new_tokens)
        return None

    def reply(self, question: str, history: list, max_new_tokens: float, temperature: float, top_p: float,
              texts: dict[str, str]) -> Iterator[tuple[list, str, str]]:
        """Yield (conversation, text left in the question box, notice) as the answer streams in."""
        question = (question or "").strip()
        history = [{"role": m.get("role"), "content": m.get("content")} for m in history or []
                   if isinstance(m, dict) and isinstance(m.get("content"), str)]
        if not question:
            yield history, "", texts["empty"]
            return
        messages = [m for m in history if m["role"] in ("user", "assistant")] + [{"role": "user", "content": question}]
        new_tokens, problem = self.limits.check_max_tokens(max_new_tokens)  # 16.0 is 16; 12.5, nan, "x" are not
        new_tokens = new_tokens or self.defaults["max_new_tokens"]
        problem = problem or self.problem(messages, new_tokens, (("temperature", temperature, TEMPERATURE),
                                                                 ("top_p", top_p, TOP_P)))
        if problem:
            yield history, question, texts["refused"] + problem  # the question stays, to shorten it
            return
        history = history + [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        yield history, "", ""
        for piece in self.chat_model.stream_chat(messages, self.system or None, max_new_tokens=new_tokens,
                                                 temperature=float(temperature), top_p=float(top_p)):
            history[-1]["content"] += piece
            yield history, "", ""


def _shown(path: object) -> str:
    """A model or run folder as a person knows it: from saves/ on (saves/<model>/<method>/<run>), else its name."""
    parts = Path(str(path)).parts
    return "/".join(parts[parts.index(SAVES_DIR.name):]) if SAVES_DIR.name in parts else Path(str(path)).name


def model_line(config: dict[str, Any], texts: dict[str, str]) -> str:
    model = _shown(config.get("model_name_or_path", ""))
    line = f"{texts['model']}: `{model}`"
    if config.get("adapter_name_or_path"):
        line += f" · {texts['adapter']}: `{_shown(config['adapter_name_or_path'])}`"
    if {TINY_MODEL_NAME, TINY_GPT2_NAME} & set(Path(model).parts):  # models/tiny-qwen2 or saves/tiny-qwen2/...
        line += f"\n\n{texts['tiny']}"
    return line


def create_chat_page(session: ChatSession, config: dict[str, Any], lang: str):
    """The page, labelled from its first paint (no load-time relabelling), in `lang` (zh or en)."""
    import gradio as gr

    texts = TEXTS[lang]
    with gr.Blocks(title=f"{texts['title']} · medsft", analytics_enabled=False) as page:
        gr.Markdown(f"# {texts['title']}\n{texts['intro']}\n\n{model_line(config, texts)}")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(type="messages", label=texts["chatbot"], height=380, elem_id="chatbot")
                query = gr.Textbox(label=texts["query"], placeholder=texts["placeholder"], lines=3,
                                   max_length=session.limits.max_input_chars, elem_id="query")
                notice = gr.Markdown(elem_id="notice")
                with gr.Row():
                    send = gr.Button(texts["send"], variant="primary", elem_id="send")
                    clear = gr.Button(texts["clear"], elem_id="clear")
            with gr.Column(scale=2):
                gr.Textbox(value=session.system, label=texts["system"], lines=6, interactive=False,
                           elem_id="system")
                with gr.Accordion(texts["settings"], open=True):
                    new_tokens = gr.Slider(1, session.limits.max_new_tokens, step=1,
                                           value=session.defaults["max_new_tokens"], label=texts["max_new_tokens"])
                    temperature = gr.Slider(*TEMPERATURE, step=0.01, value=session.defaults["temperature"],
                                            label=texts["temperature"])
                    top_p = gr.Slider(*TOP_P, step=0.01, value=session.defaults["top_p"], label=texts["top_p"])

        def reply(question, history, max_new_tokens, temperature_value, top_p_value):
            yield from session.reply(question, history, max_new_tokens, temperature_value, top_p_value, texts)

        inputs, outputs = [query, chatbot, new_tokens, temperature, top_p], [chatbot, query, notice]
        send.click(reply, inputs, outputs)
        query.submit(reply, inputs, outputs)
        clear.click(lambda: ([], "", ""), outputs=[chatbot, query, notice], queue=False)
    return page.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
