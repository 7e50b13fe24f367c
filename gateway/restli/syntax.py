"""Rest.li 2.0 structure shared by everything that reads keys and lists. Pure."""

from __future__ import annotations


def split_top_level(inner: str) -> list[str]:
    """Split the inside of a ``List(...)`` or ``(...)`` at commas outside parentheses.

    Tolerant: unbalanced text is split as far as it goes; callers that must refuse it check
    the balance first. An empty ``inner`` has no items.
    """
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in inner:
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    if current or items:
        items.append("".join(current))
    return items
