"""Where each catalog route comes from: the page cited in the comment on its pattern line. Pure.

catalog.yaml writes ``- pattern: /rest/images  # marketing/community-management/shares/images-api``;
YAML drops comments, so they are read from the text beside the loaded catalog. A cited path
ending in ``[?]`` is a route (or rule) no LinkedIn page confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

UNCONFIRMED = "[?]"
_PATTERN_LINE = re.compile(r"^\s*-\s*pattern:\s*(\S+)\s*(?:#\s*(.*?))?\s*$")


def route_sources(text: str) -> Mapping[str, str]:
    """Route pattern -> the comment on its pattern line ('' where there is none)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _PATTERN_LINE.match(line)
        if match:
            found[match.group(1)] = (match.group(2) or "").strip()
    return MappingProxyType(found)


def is_unconfirmed(source: str) -> bool:
    """True when the cited source carries the ``[?]`` mark."""
    return UNCONFIRMED in source
