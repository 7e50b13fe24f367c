"""The request id: ``X-Request-Id`` taken from the caller when it is sane, else made here.

Every response of the gateway listener carries it (refusals too), and the access line logs
it beside LinkedIn's ``x-li-uuid``, so one call can be followed from the app through the
gateway to LinkedIn's support.
"""

from __future__ import annotations

import itertools
import re
import secrets

from aiohttp import web

HEADER = "X-Request-Id"
UPSTREAM_HEADER = "x-li-uuid"
MAX_CHARS = 128
# Bounded and printable, so a caller cannot write into a log line or a header what it likes.
SANE = re.compile(r"^[A-Za-z0-9._:+/=-]{1," + str(MAX_CHARS) + r"}$")
_KEY = web.RequestKey("request_id", str)
# A made id is this process's random prefix and a count: unique across processes and
# restarts without a system call per request, as uuid4 makes. An id names a call for
# correlation only; it grants nothing.
_PREFIX = secrets.token_hex(8)
_COUNT = itertools.count(1)


def sane(value: str | None) -> str | None:
    """``value`` when it is 1 to MAX_CHARS characters of ``A-Za-z0-9._:+/=-``, else None."""
    return value if value is not None and SANE.match(value) else None


def request_id(request: web.BaseRequest) -> str:
    """The request's id: the caller's ``X-Request-Id`` when sane, else a new one (32 hex
    digits: the process's random prefix and a counter)."""
    known = request.get(_KEY)
    if isinstance(known, str):
        return known
    made = sane(request.headers.get(HEADER)) or f"{_PREFIX}{next(_COUNT):016x}"
    request[_KEY] = made
    return made


async def stamp(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every response, streamed or refused, carries the id."""
    response.headers[HEADER] = request_id(request)
