"""The one aiohttp session an outbound client keeps from ``start()`` to ``close()``.

aiohttp wants a session made inside the running loop, so it is opened in ``start()``, not
in ``__init__``; a call before that is a programming error, said by name.
"""

from __future__ import annotations

import aiohttp
from aiohttp.client import DEFAULT_TIMEOUT


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
