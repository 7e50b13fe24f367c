"""A bounded map whose entries also expire: the in-process layer of every shared cache. Pure."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedTTLCache(Generic[V]):
    """An LRU map whose entries also expire. Pure: ``now`` is always a parameter."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._max = max_entries

    def get(self, key: str, now: float) -> V | None:
        """The live value at ``key``, marking it recently used; None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: str, value: V, until: float) -> None:
        """Keep ``value`` until ``until``; the least recently used entry goes when full."""
        self._entries.pop(key, None)
        self._entries[key] = (value, until)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def until(self, key: str) -> float | None:
        """When the entry at ``key`` expires (whether or not it already has), if there is one."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None
