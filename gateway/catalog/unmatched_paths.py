"""What a call the catalog did not know is reported as. Pure.

The normalized path stands for every call of its shape: segments that look like resource
names stay, keys (numbers, URNs, complex keys) become ``{key}``: ``/rest/adAccounts/5/x``
and ``/rest/adAccounts/7/x`` are both ``/rest/adAccounts/{key}/x``. The path family, the
metric label, is ``<api>/<first segment>`` when that first segment starts a catalog route,
else ``<api>/other``: the label set stays as small as the catalog however many paths
callers invent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.catalog.model import Catalog

KEY = "{key}"
OTHER = "other"
# Longest normalized path kept (in segments and per segment); the rest is cut with "…".
MAX_SEGMENTS = 8
MAX_SEGMENT_LENGTH = 64
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def normalize(api: str, segments: Sequence[str]) -> str:
    """``/<api>/<segments>`` with every key-like segment replaced by ``{key}``."""
    shown = [
        seg if _NAME.match(seg) and len(seg) <= MAX_SEGMENT_LENGTH else KEY
        for seg in segments[:MAX_SEGMENTS]
    ]
    if len(segments) > MAX_SEGMENTS:
        shown.append("…")
    return "/" + "/".join([api, *shown])


def catalog_families(catalog: Catalog) -> frozenset[str]:
    """Every ``<api>/<first segment>`` the catalog's routes start with (case-folded)."""
    return frozenset(
        f"{route.api}/{route.segments[0].casefold()}" for route in catalog.routes if route.segments
    )


def path_family(api: str, segments: Sequence[str], known: frozenset[str]) -> str:
    """The metric label of an unmatched call: a catalog family, or ``<api>/other``."""
    first = segments[0].casefold() if segments else ""
    family = f"{api}/{first}"
    return family if family in known else f"{api}/{OTHER}"
