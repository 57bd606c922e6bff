"""python -m launch.webserve webui | webchat <config.yaml>: LLaMA-Factory's web UI or web chat with a login.

LLaMA-Factory 0.9.5 starts gradio itself (webui.interface.run_web_ui / run_web_demo) and offers no way to pass
gradio's `auth`, so this does what those two functions do - fix_proxy, create_ui() or create_web_demo(),
queue().launch() - and adds auth from WEBUI_AUTH=user:password. Beyond loopback (or with a GRADIO_SHARE public
link) a login is required: the web UI can train, export and delete runs, and the chat spends the machine."""

from __future__ import annotations

import ipaddress
import os
import sys

WEB_COMMANDS = ("webui", "webchat")
DEFAULT_HOST = "127.0.0.1"


class AuthError(ValueError):
    """WEBUI_AUTH is malformed, or a login is required and missing."""


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
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.argv = [sys.argv[0], *argv[1:]]  # LLaMA-Factory's web chat reads its config from sys.argv[1]
    from llamafactory.webui.interface import create_ui, create_web_demo

    print("Visit http://ip:port for Web UI, e.g., http://127.0.0.1:7860" + (" (login: WEBUI_AUTH)" if auth else ""))
    fix_proxy(ipv6_enabled=ipv6)
    app = create_ui() if command == "webui" else create_web_demo()
    app.queue().launch(share=share, server_name=host, inbrowser=True, auth=auth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
