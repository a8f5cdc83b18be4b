"""The one token redaction: servers sometimes echo a request back, and the token must never reach a message."""

from __future__ import annotations


def redact(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text
