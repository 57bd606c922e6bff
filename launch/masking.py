"""Hide secrets in what the launcher prints (--dry-run): API keys, web UI passwords, hub tokens.

A name is secret when one of its _-separated words is a secret word, so API_KEY, HF_TOKEN, WANDB_API_KEY,
WEBUI_AUTH and LLaMA-Factory's hf_hub_token / ms_hub_token / om_hub_token all are, and TOKENIZERS_PARALLELISM
or MASTER_PORT are not."""

from __future__ import annotations

from typing import Any

SECRET_WORDS = {"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "AUTH", "CREDENTIALS", "APIKEY"}
MASK = "****"  # fixed width: the length of a secret is not shown either


def is_secret_name(name: str) -> bool:
    return any(word in SECRET_WORDS for word in name.upper().replace("-", "_").split("_"))


def mask_value(name: str, value: Any) -> Any:
    """The value to print for `name`: unchanged, or masked (user:password keeps the user name)."""
    if not is_secret_name(name) or value is None or value == "":
        return value
    if name.upper() == "WEBUI_AUTH" and isinstance(value, str) and ":" in value:
        return f"{value.split(':', 1)[0]}:{MASK}"
    return MASK


def masked_mapping(data: dict[str, Any]) -> dict[str, Any]:
    return {key: mask_value(key, value) for key, value in data.items()}
