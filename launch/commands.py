"""The launcher's commands (`python -m launch <command>`), and the group the profiles and the plan treat alike."""

from __future__ import annotations

COMMANDS = ("train", "export", "predict", "chat", "api", "webchat", "webui")
SERVE_COMMANDS = ("chat", "api", "webchat")  # a model answering a user: no output folder, generation settings only
