"""python -m launch.webserve webui | webchat <config.yaml>: LLaMA-Factory's web UI, or our web chat page, with a
login.

LLaMA-Factory 0.9.5 starts gradio itself (webui.interface.run_web_ui) and offers no way to pass gradio's `auth`,
so this does what run_web_ui does - fix_proxy, create_ui(), queue().launch() - and adds auth from
WEBUI_AUTH=user:password. Beyond loopback (or with a GRADIO_SHARE public link) a login is required: the web UI
can train, export and delete runs, and the chat spends the machine.

The web UI's model-name dropdown accepts only LLaMA-Factory's own model names (and "Custom"), and its
checkpoint list reads saves/<model name>/<method>/: so our models' names (tiny-qwen2, the GPT-2s) are added to
LLaMA-Factory's model registry (register_model_group, as it adds its own) before the UI is built, each with its
path and chat template. Without that, a preselected tiny-qwen2 is refused by gradio and the page shows an Error
badge. The web chat is our own page (launch/webchat.py says which defects of LLaMA-Factory's demo it avoids).
WEBUI_LANG=zh|en picks the language of both (zh unless set)."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import yaml

from contract.models import (
    GPT2_MODEL_ID,
    GPT2_MODEL_NAME,
    TINY_GPT2,
    TINY_GPT2_NAME,
    TINY_MODEL,
    TINY_MODEL_NAME,
)
from contract.serving import LimitError, serve_limits

WEB_COMMANDS = ("webui", "webchat")
DEFAULT_HOST = "127.0.0.1"
LANG_VAR = "WEBUI_LANG"
WEB_LANGS = ("zh", "en")  # the web chat's texts; LLaMA-Factory's web UI has both too
DEFAULT_LANG = "zh"  # a Chinese medical assistant


class AuthError(ValueError):
    """WEBUI_AUTH is malformed, or a login is required and missing."""


class LangError(ValueError):
    """WEBUI_LANG names a language the pages do not have."""


def parse_lang(text: str | None) -> str | None:
    """WEBUI_LANG=zh|en (any case, spaces ignored) -> the language; unset or blank -> None."""
    if text is None or not text.strip():
        return None
    lang = text.strip().lower()
    if lang not in WEB_LANGS:
        raise LangError(f"{LANG_VAR}={text!r:.40} is not a language the web pages have; use one of "
                        f"{', '.join(WEB_LANGS)} (unset: {DEFAULT_LANG}).")
    return lang


def our_models() -> dict[str, tuple[str, str | None]]:
    """Model name -> (path or hub id, chat template) for the saves/<name>/ folders our recipes write that
    LLaMA-Factory's registry lacks (Qwen2.5-0.5B-Instruct is in it). GPT-2 keeps LLaMA-Factory's default
    template, as its scratch recipe does."""
    return {TINY_MODEL_NAME: (str(TINY_MODEL), "qwen"), GPT2_MODEL_NAME: (GPT2_MODEL_ID, None),
            TINY_GPT2_NAME: (str(TINY_GPT2), None)}


def register_our_models() -> None:
    """Add our model names to LLaMA-Factory's registry, so the web UI's model dropdown accepts them, fills in
    the path and template, and lists their saves/ runs (call before create_ui builds the dropdown)."""
    from llamafactory.extras.constants import (
        DEFAULT_TEMPLATE,
        SUPPORTED_MODELS,
        DownloadSource,
        register_model_group,
    )

    for name, (path, template) in our_models().items():
        if name in SUPPORTED_MODELS:
            continue
        register_model_group(models={name: {DownloadSource.DEFAULT: path}})
        if template:  # register_model_group sets a template only for names ending -Instruct/-Chat
            DEFAULT_TEMPLATE[name] = template


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """WEBUI_AUTH=user:password -> (user, password); unset or blank -> None. The password may contain ':'."""
    if text is None or not text.strip():
        return None
    user, sep, password = text.strip().partition(":")
    if not sep or not user or not password:
        raise AuthError("WEBUI_AUTH must be user:password (both non-empty), e.g. WEBUI_AUTH=medsft:<a long secret>.")
    return user, password


def check_access(command: str, host: str, auth: tuple[str, str] | None, share: bool) -> None:
    """Raise AuthError when the server would be reachable beyond this machine without a login."""
    if auth is not None or (is_loopback(host) and not share):
        return
    where = "a public gradio.live link (GRADIO_SHARE)" if share else host
    raise AuthError(f"Refusing to serve the {command} on {where} without a login: anyone who can reach it could "
                    "use it (the web UI can also train, export and delete runs). Set WEBUI_AUTH=user:password "
                    f"(the browser then asks for it), or keep the default HOST={DEFAULT_HOST}.")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in WEB_COMMANDS:
        print(f"usage: python -m launch.webserve {{{','.join(WEB_COMMANDS)}}} [config.yaml]", file=sys.stderr)
        return 2
    command = argv[0]
    from llamafactory.extras.misc import fix_proxy, is_env_enabled

    ipv6, share = is_env_enabled("GRADIO_IPV6"), is_env_enabled("GRADIO_SHARE")
    host = os.getenv("GRADIO_SERVER_NAME", "[::]" if ipv6 else "0.0.0.0")  # LLaMA-Factory's default
    try:
        auth = parse_auth(os.getenv("WEBUI_AUTH"))
        check_access(command, host, auth, share)
        lang = parse_lang(os.getenv(LANG_VAR)) or DEFAULT_LANG
        limits = serve_limits() if command == "webchat" else None
    except (AuthError, LangError, LimitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if command == "webchat" and len(argv) != 2:
        print("usage: python -m launch.webserve webchat <config.yaml>", file=sys.stderr)
        return 2
    fix_proxy(ipv6_enabled=ipv6)
    login = " (login: WEBUI_AUTH)" if auth else ""
    if command == "webui":
        from llamafactory.webui.interface import create_ui

        register_our_models()
        app, message = create_ui().queue(), None
        print("Visit http://ip:port for Web UI, e.g., http://127.0.0.1:7860" + login)
    else:
        from .webchat import TEXTS, ChatSession, create_chat_page, load_chat_model

        try:
            config = yaml.safe_load(Path(argv[1]).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            print(f"error: cannot read the chat config {argv[1]}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(config, dict):
            print(f"error: {argv[1]} is not a mapping of LLaMA-Factory arguments.", file=sys.stderr)
            return 2
        session = ChatSession(load_chat_model(config), limits)
        app, message = create_chat_page(session, config, lang), TEXTS[lang]["login"] if auth else None
        print(f"Web chat ({lang}){login}: {limits.max_input_chars:,} characters of messages, up to "
              f"{limits.max_new_tokens} new tokens, {limits.timeout_s:g} s per answer.")
    app.launch(share=share, server_name=host, inbrowser=True, auth=auth, auth_message=message, show_api=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
