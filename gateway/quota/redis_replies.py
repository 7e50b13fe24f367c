"""Redis replies as text: bytes unless the client was made with ``decode_responses``, and
the features that share the quota store's client cannot know which."""

from __future__ import annotations


def reply_text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
