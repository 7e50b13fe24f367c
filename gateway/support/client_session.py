"""Outbound HTTP: sessions without cookies, answers read within a bound, and the one
session an outbound client keeps from ``start()`` to ``close()``.

aiohttp wants a session made inside the running loop, so it is opened in ``start()``, not
in ``__init__``; a call before that is a programming error, said by name.
"""

from __future__ import annotations

import aiohttp
from aiohttp.client import DEFAULT_TIMEOUT

from gateway.support.streams import read_up_to


def outbound_session(
    *,
    timeout: aiohttp.ClientTimeout | None = None,
    connector: aiohttp.BaseConnector | None = None,
    auto_decompress: bool = True,
) -> aiohttp.ClientSession:
    """A client session that keeps no cookies: every outbound session of the gateway.

    aiohttp's default jar keeps what a server sets (LinkedIn sets ``lidc`` and ``bcookie``
    on API and OAuth answers) and sends it with every later request of the session, whoever
    the caller: a header the gateway never classified, carried from one caller's call to
    another's.
    """
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        connector=connector,
        auto_decompress=auto_decompress,
    )


# How much of an answer is read when only its status matters (webhook receivers, the alert
# webhook): a short answer leaves its connection reusable, a longer one is cut there.
STATUS_ONLY_BYTES = 64 * 1024


class AnswerTooLarge(ValueError):
    """An answer longer than the gateway reads."""


async def read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, or ``AnswerTooLarge`` as soon as it passes ``limit`` bytes: a server
    that answers without end never fills memory."""
    data = await read_up_to(response.content, limit + 1)
    if len(data) > limit:
        response.close()
        raise AnswerTooLarge(f"the answer is longer than {limit} bytes")
    return data


async def skip_body(response: aiohttp.ClientResponse) -> None:
    """Read and drop at most ``STATUS_ONLY_BYTES`` of an answer whose status is all that
    matters; a longer one is not waited for."""
    try:
        await read_at_most(response, STATUS_ONLY_BYTES)
    except AnswerTooLarge:
        return


class SessionOwner:
    """Holds ``_timeout`` and the session; a subclass that needs another connector or
    options overrides ``_open``."""

    def __init__(self, timeout: aiohttp.ClientTimeout) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        return outbound_session(timeout=self._timeout)

    async def start(self) -> None:
        self._session = self._open()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def _started(self) -> aiohttp.ClientSession:
        assert self._session is not None, f"{type(self).__name__}.start() was not awaited"
        return self._session
