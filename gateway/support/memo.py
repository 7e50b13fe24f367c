"""A bounded memo for pure functions on the request path.

Classification and the decision are pure, and a gateway sees the same few shapes of call
again and again (one finder, one resource, one token): remembering their results saves
most of their cost. Entries leave oldest-first once the memo is full; nothing expires,
because a pure function's answer for the same facts never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[K, V] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The remembered value for ``key``, computing and keeping it on a miss."""
        try:
            return self._entries[key]
        except KeyError:
            pass
        value = compute()
        if len(self._entries) >= self._size:
            # dicts keep insertion order: the first key is the oldest.
            del self._entries[next(iter(self._entries))]
        self._entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)
